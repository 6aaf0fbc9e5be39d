package cgtest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"golang.org/x/sys/unix"
)

// Group is a set of cgroups whose lifetime is bound to a test. Every cgroup it creates is removed when the test ends
// (see the package documentation for how). A Group is safe for use by
// several goroutines; its methods are serialized.
type Group struct {
	t   T
	ops *cgroupfs.Manager
	cfg config

	// self is where the test process was when the group was made, so
	// that teardown can put it back if the test moved itself into one
	// of the group's cgroups.
	self selfLocation

	// addMu serializes the cgroup I/O of AddCgroup and its kin, so that
	// two adds of one name cannot race. Teardown never takes it: an add
	// stuck in the kernel (a hung cpuset write) cannot hold the teardown
	// beyond its budget.
	addMu sync.Mutex
	// noCpuset is set, under addMu, once a read found that the
	// Manager's parent does not offer cpuset (nothingToEnable).
	noCpuset bool

	// mu guards the fields below. It is never held during cgroupfs I/O,
	// for the same reason.
	mu       sync.Mutex
	names    []string          // every cgroup created, in creation order
	tracked  map[string]bool   // names as a set
	killed   map[string]bool   // cgroups that had cgroup.kill written (see Start)
	ids      map[string]uint64 // identity of each cgroup when made (identity.go)
	ended    bool              // teardown has begun
	deadline time.Time         // end of the teardown budget, once begun
	// budgetCtx ends at deadline, stopCtx a grace after it: made by
	// the first teardown for all of them (teardownContext), cancelled
	// by the group's last cleanup.
	budgetCtx, stopCtx context.Context
	cancelCtxs         func()
}

// NewGroup returns an empty group bound to t, acting through ops: a
// Manager on the kernel (see Root) or on a fake FS such as fakefs. It
// does no cgroup I/O. A nil ops fails the test at the call (t.Fatalf);
// if Fatalf returns (a fake T), the group refuses every method.
func NewGroup(t T, ops *cgroupfs.Manager, opts ...Option) *Group {
	t.Helper()
	g := &Group{
		t:       t,
		ops:     ops,
		cfg:     newConfig(opts),
		tracked: make(map[string]bool),
		killed:  make(map[string]bool),
	}
	if ops == nil {
		t.Fatalf("cgtest: NewGroup: the Manager is nil; pass cgtest.Root(t), or cgroupfs.NewManager on a fake FS")
		g.ended = true
		return g
	}
	if _, real := ops.FS().(cgroupfs.DirOpener); real {
		// Only a real cgroupfs can hold the test process.
		g.self = whereAmI()
	}
	// Registered before any cgroup's cleanup, so it runs after all of
	// them: from then on the group refuses new work.
	t.Cleanup(func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.ended = true
		if g.cancelCtxs != nil {
			g.cancelCtxs()
		}
	})
	return g
}

// AddCgroup creates the cgroup name (a slash-separated name relative to
// the Manager's parent, like "workers/0") and writes cpus to its
// cpuset.cpus.
//
// When the Manager's parent offers cpuset (its cgroup.controllers lists
// it), creation enables cpuset in every level above the new cgroup, as
// ktstr's create_cgroup does. A group that found it not offered
// remembers that for its life: enable cpuset above the parent before
// the group's first add, not between adds.
//
// Every directory it creates is tracked the moment its mkdir succeeds:
// when a later step fails (enabling cpuset, writing cpus), AddCgroup
// returns the error and the cgroup is still removed when the test ends.
//
// An invalid name, or an empty cpus (a cgroup cannot run on no CPU; use
// AddCgroupNoCpuset to inherit the parent's CPUs), is an error before any
// I/O, as is a call after the test ended (ErrTestEnded). Adding a name
// the group already created again only writes cpus again. Adding the
// name of a cgroup that existed before the group created it fails with
// an error wrapping fs.ErrExist, as the group never removes what it did
// not create.
//
// A cgroup above name (the Manager's parent, or a level of name) that
// holds tasks and would become a thread root (it offers cpuset, which
// creation enables for its children) or already is one is refused
// before anything is created or written, with an error wrapping
// unix.EBUSY: the kernel would accept it, but make name an invalid
// domain that no process can be started in. Start tasks in leaf
// cgroups.
func (g *Group) AddCgroup(name string, cpus cgroupfs.CPUSet) error {
	g.t.Helper()
	if err := g.check(name); err != nil {
		return fmt.Errorf("cgtest: add cgroup: %w", err)
	}
	if cpus.IsEmpty() {
		return fmt.Errorf("cgtest: add cgroup %q: the cpu set is empty, and a cgroup cannot run on no CPU: %w; use AddCgroupNoCpuset to inherit the parent's CPUs", name, fs.ErrInvalid)
	}
	return g.add(name, &cpus)
}

// AddCgroupNoCpuset creates the cgroup name like AddCgroup, without
// writing its cpuset: it inherits its parent's CPUs. The rules and
// errors are those of AddCgroup.
func (g *Group) AddCgroupNoCpuset(name string) error {
	g.t.Helper()
	if err := g.check(name); err != nil {
		return fmt.Errorf("cgtest: add cgroup: %w", err)
	}
	return g.add(name, nil)
}

// check refuses, before any I/O, a name the Manager cannot reach and a
// name cgroupfs.CheckName refuses for a new cgroup.
func (g *Group) check(name string) error {
	if _, err := g.ops.Path(name); err != nil {
		return err
	}
	return cgroupfs.CheckName(name)
}

func (g *Group) add(name string, cpus *cgroupfs.CPUSet) error {
	g.addMu.Lock()
	defer g.addMu.Unlock()
	if g.hasEnded() {
		return fmt.Errorf("cgtest: add cgroup %q: %w", name, ErrTestEnded)
	}
	if err := g.create(name); err != nil {
		return err
	}
	if cpus != nil {
		if err := g.ops.SetCpuset(name, *cpus); err != nil {
			return fmt.Errorf("cgtest: set the cpuset of cgroup %q to %q (the cgroup stays tracked and is removed when the test ends): %w", name, cpus.String(), err)
		}
	}
	return nil
}

// create makes each missing level of name with its own mkdir,
// so that EEXIST tells, without a race, which levels existed before
// (those are never tracked). Then ops.CreateCgroup, which is
// idempotent, does what else a Manager does on creation (enabling
// cpuset on the levels above).
func (g *Group) create(name string) error {
	fsys := g.ops.FS()
	skip := g.nothingToEnable(name)
	if !skip {
		if err := g.checkThreadRoots(name); err != nil {
			return err
		}
	}
	for i, level := range levels(name) {
		p, err := g.ops.Path(level)
		if err != nil {
			return fmt.Errorf("cgtest: add cgroup %q: %w", name, err)
		}
		err = fsys.Mkdir(p)
		switch {
		case err == nil:
			if err := g.track(level); err != nil {
				return fmt.Errorf("cgtest: add cgroup %q: %w", name, err)
			}
		case errors.Is(err, fs.ErrExist):
			if level == name && !g.isTracked(name) {
				return fmt.Errorf("cgtest: add cgroup %q: %s already exists and this group did not create it, so it would not remove it either: %w; choose another name, or remove the stale cgroup first", name, p, err)
			}
		case errors.Is(err, fs.ErrNotExist) && i == 0:
			return fmt.Errorf("cgtest: add cgroup %q: the parent cgroup %s does not exist: %w; create it first (Manager.Setup) or use cgtest.Root", name, g.ops.ParentPath(), err)
		default:
			return fmt.Errorf("cgtest: add cgroup %q: %w%s", name, err, shortHint(err))
		}
	}
	if skip {
		return nil
	}
	if err := g.ops.CreateCgroup(name); err != nil {
		return fmt.Errorf("cgtest: add cgroup %q (the cgroup stays tracked and is removed when the test ends): %w", name, err)
	}
	return nil
}

// nothingToEnable reports whether ops.CreateCgroup(name) would do
// nothing once every level of name exists: CreateCgroup then only
// enables cpuset in the levels above each level, and when the Manager's
// parent does not offer cpuset in its cgroup.controllers no level
// beneath it can (a cgroup offers only what its parent enables). One
// read then replaces a read, a mkdir and a listing per level, and the
// group remembers a "does not offer" (g.addMu is held): every later add
// costs about one mkdir per level (see BENCHMARKS.md). Any doubt (an
// unreadable file) says false, and is asked again next time.
func (g *Group) nothingToEnable(name string) bool {
	if g.noCpuset {
		return true
	}
	p, err := g.ops.Path(levels(name)[0])
	if err != nil {
		return false
	}
	file := "cgroup.controllers"
	if parent := path.Dir(p); parent != "." {
		file = parent + "/" + file
	}
	data, err := g.ops.FS().ReadFile(file)
	g.noCpuset = err == nil && !slices.Contains(strings.Fields(string(data)), "cpuset")
	return g.noCpuset
}

// checkThreadRoots refuses, before any write, to create name when a
// cgroup above it (the Manager's parent, or a level of name) that is not
// the hierarchy's root holds tasks and either is a thread root already
// or offers cpuset without enabling it for its children, which
// CreateCgroup would do. The kernel allows both (cpuset is a threaded
// controller): the cgroup becomes a thread root, and every domain child
// of it an invalid domain that no process can be started in or moved to
// (EOPNOTSUPP). The error wraps EBUSY, the errno of the kernel's
// no-internal-process rule that this is a case of.
func (g *Group) checkThreadRoots(name string) error {
	type level struct{ dir, shown string }
	var above []level
	for _, l := range levels(name) {
		p, err := g.ops.Path(l)
		if err != nil {
			return nil // the mkdir reports it
		}
		if len(above) == 0 {
			above = append(above, level{path.Dir(p), g.ops.ParentPath()})
		}
		if l != name {
			above = append(above, level{p, g.display(l)})
		}
	}
	fsys := g.ops.FS()
	read := func(dir, file string) []string {
		data, _ := fsys.ReadFile(path.Join(dir, file))
		return strings.Fields(string(data))
	}
	for _, l := range above {
		// Missing (made below), unreadable (the mkdir says why) or
		// without tasks: nothing to refuse. The common case costs this
		// one read.
		pids := read(l.dir, "cgroup.procs")
		if len(pids) == 0 {
			continue
		}
		// The hierarchy's root has no cgroup.type: it may hold tasks
		// whatever it enables.
		typ := read(l.dir, "cgroup.type")
		var why string
		switch {
		case len(typ) == 0:
			continue
		case strings.Join(typ, " ") == "domain threaded":
			why = "is a thread root already (it holds tasks, and threaded controllers are enabled for its children)"
		case slices.Contains(read(l.dir, "cgroup.controllers"), "cpuset") && !slices.Contains(read(l.dir, "cgroup.subtree_control"), "cpuset"):
			why = "would become a thread root when cpuset is enabled for its children, as creating a cgroup beneath it does"
		default:
			continue
		}
		return fmt.Errorf("cgtest: add cgroup %q: %s holds tasks (pids %s) and %s, making %q an invalid domain, which no process can be started in or moved to (EOPNOTSUPP): %w; "+
			"a cgroup with children should hold no task: add the leaf cgroups first and start the tasks in a leaf, or move the tasks out of it (Manager.MoveTask) before adding cgroups beneath it",
			name, l.shown, strings.Join(pids, " "), why, name, unix.EBUSY)
	}
	return nil
}

// track records name, just created, and registers its removal. When
// the teardown began while the mkdir was under way (an add stuck in the
// kernel outlived the test), no cleanup would run any more: track then
// removes name itself and returns an error wrapping ErrTestEnded.
func (g *Group) track(name string) error {
	if g.register(name) {
		return nil
	}
	err := fmt.Errorf("%s was created after the group's teardown began: %w", g.display(name), ErrTestEnded)
	p, rerr := g.ops.Path(name)
	if rerr == nil {
		rerr = g.ops.FS().Rmdir(p)
	}
	if rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
		return fmt.Errorf("%w, and removing it failed: %w; remove it by hand", err, rerr)
	}
	return fmt.Errorf("%w; it was removed again", err)
}

// register records name and registers its teardown, unless the group's
// teardown has begun (it then returns false).
func (g *Group) register(name string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ended {
		return false
	}
	if !g.tracked[name] {
		g.tracked[name] = true
		g.names = append(g.names, name)
	}
	// A new cgroup of a killed one's name is a new cgroup: spawning
	// into it is fine again.
	delete(g.killed, name)
	g.recordIdentity(name)
	g.t.Cleanup(func() { g.teardown(name) })
	return true
}

func (g *Group) hasEnded() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.ended
}

func (g *Group) isTracked(name string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.tracked[name]
}

// Names returns every cgroup the group created and removes at the end of
// the test, in the order they were created: a nested name's missing
// levels come before it ("a/b" alone gives "a", "a/b"). Levels that
// existed before are not listed.
func (g *Group) Names() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.names...)
}

// display returns the path of name for messages: the Manager's parent
// path joined with name.
func (g *Group) display(name string) string {
	return path.Join(g.ops.ParentPath(), name)
}
