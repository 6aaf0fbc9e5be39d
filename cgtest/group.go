package cgtest

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
)

// Group is a set of cgroups whose lifetime is bound to a test: ktstr's
// CgroupGroup. Every cgroup it creates is removed when the test ends
// (see the package documentation for how). A Group is safe for use by
// several goroutines; its methods are serialized.
type Group struct {
	t   T
	ops cgroupfs.Ops
	ext cgroupfs.Extended // nil when ops does not implement it
	cfg config

	// self is where the test process was when the group was made, so
	// that teardown can put it back if the test moved itself into one
	// of the group's cgroups.
	self selfLocation

	mu       sync.Mutex
	names    []string          // every cgroup created, in creation order
	tracked  map[string]bool   // names as a set
	killed   map[string]bool   // cgroups that had cgroup.kill written (see Start)
	ids      map[string]uint64 // identity of each cgroup when made (identity.go)
	ended    bool              // teardown has begun
	deadline time.Time         // end of the teardown budget, once begun
}

// NewGroup returns an empty group bound to t, acting through ops. It
// does no cgroup I/O. When ops implements cgroupfs.Extended (as
// cgroupfs.Manager does), the group knows which directories it created,
// removes untracked children, and kills tasks; with a plain Ops it
// tracks only the names it was asked for, cannot tell whether they
// existed before, and empties cgroups with ops.RemoveCgroup alone.
func NewGroup(t T, ops cgroupfs.Ops, opts ...Option) *Group {
	t.Helper()
	g := &Group{
		t:       t,
		ops:     ops,
		cfg:     newConfig(opts),
		tracked: make(map[string]bool),
		killed:  make(map[string]bool),
	}
	g.ext, _ = ops.(cgroupfs.Extended)
	if g.ext != nil {
		if _, real := g.ext.FS().(cgroupfs.DirOpener); real {
			// Only a real cgroupfs can hold the test process.
			g.self = whereAmI()
		}
	}
	// Registered before any cgroup's cleanup, so it runs after all of
	// them: from then on the group refuses new work.
	t.Cleanup(func() {
		g.mu.Lock()
		g.ended = true
		g.mu.Unlock()
	})
	return g
}

// AddCgroup creates the cgroup name (a slash-separated name relative to
// the parent of the Ops, like "workers/0") and writes cpus to its
// cpuset.cpus.
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
// not create (with a plain Ops this cannot be told, see NewGroup).
func (g *Group) AddCgroup(name string, cpus cgroupfs.CPUSet) error {
	g.t.Helper()
	if err := checkName(name); err != nil {
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
	if err := checkName(name); err != nil {
		return fmt.Errorf("cgtest: add cgroup: %w", err)
	}
	return g.add(name, nil)
}

func (g *Group) add(name string, cpus *cgroupfs.CPUSet) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ended {
		return fmt.Errorf("cgtest: add cgroup %q: %w", name, ErrTestEnded)
	}
	var err error
	if g.ext != nil {
		err = g.createExtended(name)
	} else {
		err = g.createPlain(name)
	}
	if err != nil {
		return err
	}
	if cpus != nil {
		if err := g.ops.SetCpuset(name, *cpus); err != nil {
			return fmt.Errorf("cgtest: set the cpuset of cgroup %q to %q (the cgroup stays tracked and is removed when the test ends): %w", name, cpus.String(), err)
		}
	}
	return nil
}

// createExtended makes each missing level of name with its own mkdir,
// so that EEXIST tells, without a race, which levels existed before
// (those are never tracked). Then ops.CreateCgroup, which is
// idempotent, does what else a Manager does on creation (enabling
// cpuset on the levels above).
func (g *Group) createExtended(name string) error {
	fsys := g.ext.FS()
	for i, level := range levels(name) {
		p, err := g.ext.Path(level)
		if err != nil {
			return fmt.Errorf("cgtest: add cgroup %q: %w", name, err)
		}
		err = fsys.Mkdir(p)
		switch {
		case err == nil:
			g.track(level)
		case errors.Is(err, fs.ErrExist):
			if level == name && !g.tracked[name] {
				return fmt.Errorf("cgtest: add cgroup %q: %s already exists and this group did not create it, so it would not remove it either: %w; choose another name, or remove the stale cgroup first", name, p, err)
			}
		case errors.Is(err, fs.ErrNotExist) && i == 0:
			return fmt.Errorf("cgtest: add cgroup %q: the parent cgroup %s does not exist: %w; create it first (Ops.Setup) or use cgtest.Root", name, g.ops.ParentPath(), err)
		default:
			return fmt.Errorf("cgtest: add cgroup %q: mkdir %s: %w%s", name, p, err, shortHint(err))
		}
	}
	if g.nothingToEnable(name) {
		return nil
	}
	if err := g.ops.CreateCgroup(name); err != nil {
		return fmt.Errorf("cgtest: add cgroup %q (the cgroup stays tracked and is removed when the test ends): %w", name, err)
	}
	return nil
}

// nothingToEnable reports whether ops.CreateCgroup(name) would do
// nothing once every level of name exists: true when ops is a
// cgroupfs.Manager (whose CreateCgroup then only enables cpuset in the
// levels above each level) and the Manager's parent does not offer
// cpuset in its cgroup.controllers, as then no level beneath it can
// (a cgroup offers only what its parent enables). One read then
// replaces a read, a mkdir and a listing per level: creation costs
// about one mkdir, as it should (see BENCHMARKS.md). Any doubt (another
// Ops, an unreadable file) says false.
func (g *Group) nothingToEnable(name string) bool {
	if _, ok := g.ops.(*cgroupfs.Manager); !ok {
		return false
	}
	p, err := g.ext.Path(levels(name)[0])
	if err != nil {
		return false
	}
	file := "cgroup.controllers"
	if parent := path.Dir(p); parent != "." {
		file = parent + "/" + file
	}
	data, err := g.ext.FS().ReadFile(file)
	return err == nil && !slices.Contains(strings.Fields(string(data)), "cpuset")
}

// createPlain tracks name before asking ops to create it: removing a
// cgroup that was never made is harmless (RemoveCgroup ignores a
// missing one), leaking one that was half made is not.
func (g *Group) createPlain(name string) error {
	if !g.tracked[name] {
		g.track(name)
	}
	if err := g.ops.CreateCgroup(name); err != nil {
		return fmt.Errorf("cgtest: add cgroup %q (the name stays tracked and is removed when the test ends): %w", name, err)
	}
	return nil
}

// track records name and registers its removal. g.mu is held.
func (g *Group) track(name string) {
	if !g.tracked[name] {
		g.tracked[name] = true
		g.names = append(g.names, name)
	}
	// A new cgroup of a killed one's name is a new cgroup: spawning
	// into it is fine again.
	delete(g.killed, name)
	g.recordIdentity(name)
	g.t.Cleanup(func() { g.teardown(name) })
}

// Names returns every cgroup the group created and removes at the end of
// the test, in the order they were created: a nested name's missing
// levels come before it ("a/b" alone gives "a", "a/b"). Levels that
// existed before are not listed. With a plain Ops (see NewGroup) it is
// the names added, in the order first added.
func (g *Group) Names() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.names...)
}

// display returns the path of name for messages: the Ops' parent path
// joined with name.
func (g *Group) display(name string) string {
	return path.Join(g.ops.ParentPath(), name)
}
