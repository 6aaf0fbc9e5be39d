package cgtest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cgguard/cgguard/cgroupfs"
	"golang.org/x/sys/unix"
)

// ParentEnv names the environment variable that tells Root where to
// create per-test roots: the absolute path of a cgroup v2 directory the
// test may write, such as a subtree delegated to the user (see
// systemd-run --user --scope -p Delegate=yes). Without it, and without
// the Under option, Root asks cgroupfs.Discover: the root of the cgroup2
// mount for root, the process's own cgroup (if delegated) otherwise.
const ParentEnv = "CGGUARD_CGROUP_PARENT"

// RootOption configures Root.
type RootOption func(*rootConfig)

type rootConfig struct {
	under       string
	controllers []string
	groupOpts   []Option
}

// Under makes Root create the per-test root beneath dir, the absolute
// path of a cgroup v2 directory, instead of beneath $CGGUARD_CGROUP_PARENT
// or the cgroup2 mount.
func Under(dir string) RootOption {
	return func(c *rootConfig) { c.under = dir }
}

// RequireControllers makes Root skip the test unless every named
// controller ("cpuset", "cpu", "memory", ...) is available to the
// per-test root, and enabled for its children.
func RequireControllers(names ...string) RootOption {
	return func(c *rootConfig) { c.controllers = append(c.controllers, names...) }
}

// RootGroupOptions passes opts (Strict, Budget, ...) to the group that
// removes the per-test root itself.
func RootGroupOptions(opts ...Option) RootOption {
	return func(c *rootConfig) { c.groupOpts = append(c.groupOpts, opts...) }
}

// rootSeq numbers the roots of this process, so that a test run twice
// (-count=2) or two roots in one test never collide.
var rootSeq atomic.Int64

// Root gives the test its own, uniquely named parent cgroup on the real
// kernel, like t.TempDir:
// "cgguard-<pid>-<starttime>-ns<pidns>.<timens>-<test>-<n>" (see
// RootName; the owner in the name lets a later run reclaim it if this
// process dies before its cleanups run). It enables, in the root's own
// cgroup.subtree_control, every controller its cgroup.controllers offers,
// one by one (never in the cgroup2 mount's root), and returns a
// cgroupfs.Manager whose FS is opened at the root and whose parent is
// the root itself ("."); pass it to NewGroup. Manager.Setup then only
// touches the root. The root, and everything beneath it, is removed when
// the test ends, after every group made later in the test.
//
// The Manager drains tasks (the Drain policy, DrainTasks, RemoveCgroup)
// to the root's child DrainLeaf, made with the root: tasks drained from
// a group's cgroups keep running there until the root is removed, when
// the root's teardown empties it like any other cgroup of the root:
// it kills them, or, with RootGroupOptions(WithPolicy(Drain)), moves them
// to the directory the root was made in (which must then enable no
// domain controller for its children), where they keep running. Under
// Root, Drain thus matters for groups that end before the test does (in
// subtests) and for the test process itself.
//
// Without root, in a cgroup delegated to the user (systemd-run --user
// --scope -p Delegate=yes; see cgroupfs.DelegateCommand) that holds the test
// process, Root first moves the test process into a leaf of its own
// (LeafName) and enables, in the delegated cgroup, every controller it
// offers; per-test roots are made beside the leaf and get them all. The
// kernel leaves no other way: it enables domain controllers only in a
// cgroup that holds no process. This is the default, not an option,
// because without it a per-test root there gets no controller at all, and
// because the move changes nothing anyone else sees: it is the test
// process's own, within the cgroup delegated to it, once per process and
// logged. Root never moves another process: when the delegated cgroup
// holds others, it moves nothing, and a test that needs a missing
// controller skips naming them and the command that gives the test
// binary a cgroup of its own. The leaf stays until the process ends; a
// later Root there, or cgguard sweep, removes it.
//
// The first Root of a process in a directory also reclaims what dead
// test runs left there (see Sweep): roots whose owner process is gone,
// never a live run's, a foreign cgroup, or a root kept with
// TEST_NOCLEANUP=true (those stay until an explicit Sweep or cgguard
// sweep). What it reclaimed is logged.
//
// Root skips the test (t.Skipf) with the exact reason when cgroups
// cannot be made here: no cgroup2 mount, the directory is not cgroup2,
// no permission to create a cgroup (not root, no delegation), a
// read-only cgroup filesystem, or a controller named with
// RequireControllers missing. With NoSkipEnv set, each of these fails
// the test instead. If t.Skipf returns (a fake T), Root returns nil.
func Root(t T, opts ...RootOption) *cgroupfs.Manager {
	t.Helper()
	var cfg rootConfig
	for _, opt := range opts {
		opt(&cfg)
	}
	base, reason := rootBase(cfg)
	if reason != "" {
		skipf(t, "cgtest: cannot create test cgroups here: %s", reason)
		return nil
	}
	base = baseOutsideLeaf(base) // delegate.go
	baseFS, err := cgroupfs.Open(base)
	if err != nil {
		skipf(t, "cgtest: cannot use %s for test cgroups: %v", base, err)
		return nil
	}
	t.Cleanup(func() { _ = baseFS.Close() })
	sweepOnce(t, base, baseFS)
	fix := enterLeaf(t, base, baseFS) // delegate.go
	owner, err := Self()
	if err != nil {
		skipf(t, "cgtest: cannot name a per-test root cgroup: the start time of this process is unknown: %v", err)
		return nil
	}
	name := RootName(owner, t.Name(), int(rootSeq.Add(1)))
	if keepAll() {
		name += keptSuffix // so that no later run's Root reclaims it
	}
	guard := NewGroup(t, cgroupfs.NewManager(baseFS, "."), cfg.groupOpts...)
	if err := guard.adopt(name); err != nil {
		skipf(t, "cgtest: cannot create test cgroups under %s: %v", base, err)
		return nil
	}
	dir := filepath.Join(base, name)
	if reason := enableAll(baseFS, base, name, cfg.controllers, fix, t); reason != "" {
		skipf(t, "cgtest: %s", reason)
		return nil
	}
	rootFS, err := cgroupfs.Open(dir)
	if err != nil {
		skipf(t, "cgtest: cannot open the per-test root cgroup %s: %v", dir, err)
		return nil
	}
	t.Cleanup(func() { _ = rootFS.Close() })
	mgr, err := rootManager(rootFS, ".")
	if err != nil {
		skipf(t, "cgtest: cannot create test cgroups under %s: %v", dir, err)
		return nil
	}
	t.Cleanup(func() { drainLeaves.Delete(mgr) })
	return mgr
}

// DrainLeaf is the name of the cgroup, a child of every per-test root,
// that the Manager Root returns drains tasks to (cgroupfs.DrainTo): the
// per-test root itself enables every controller for its children, and
// so may hold no task when a domain controller (memory, io, pids) is
// among them (the no-internal-process rule). The name is taken: a group
// cannot add a cgroup of that name under Root. Manager.CleanupAll
// removes it with the other children of the root (and fails while it
// holds tasks, which are drained there); a Drain group's teardown makes
// it again when it needs it.
const DrainLeaf = "cgtest-drained"

// drainLeaves maps each live Manager that rootManager made to the FS
// path of its drain leaf, so that a teardown can make the leaf again.
var drainLeaves sync.Map

// remakeDrainLeaf makes the drain leaf of the group's Manager again if
// Root made the Manager and the leaf is gone (Manager.CleanupAll).
func (g *Group) remakeDrainLeaf() {
	if leaf, ok := drainLeaves.Load(g.ops); ok {
		_ = g.ops.FS().Mkdir(leaf.(string)) // EEXIST, the usual answer, is fine; a failure shows in the drain
	}
}

// rootManager makes the drain leaf of the per-test root dir, a cgroup
// of fsys, and returns the Manager of dir that drains to it. The root's
// own teardown removes the leaf with the root.
func rootManager(fsys cgroupfs.FS, dir string) (*cgroupfs.Manager, error) {
	leaf := DrainLeaf
	if dir != "." {
		leaf = dir + "/" + leaf
	}
	if err := fsys.Mkdir(leaf); err != nil {
		return nil, fmt.Errorf("create the cgroup for drained tasks: %w%s", err, shortHint(err))
	}
	mgr := cgroupfs.NewManager(fsys, dir, cgroupfs.DrainTo(leaf))
	drainLeaves.Store(mgr, leaf)
	return mgr, nil
}

// rootBase returns the directory per-test roots go beneath, or why
// there is none: the Under option, else $CGGUARD_CGROUP_PARENT, else
// where cgroupfs.Discover says this process may create cgroups (the
// cgroup2 mount for root, its own cgroup in a delegated subtree).
func rootBase(cfg rootConfig) (dir, reason string) {
	if cfg.under != "" {
		return cfg.under, ""
	}
	if env := os.Getenv(ParentEnv); env != "" {
		return env, ""
	}
	c, err := cgroupfs.Discover()
	if err != nil {
		return "", fmt.Sprintf("%v (or set %s to a writable cgroup2 directory, or test against fakefs)", err, ParentEnv)
	}
	if !c.CanCreate {
		return "", fmt.Sprintf("%s (or set %s to a writable cgroup2 directory, or test against fakefs)", c.Reason, ParentEnv)
	}
	return c.Parent, ""
}

// adopt creates the top-level cgroup name with a single mkdir, tracking
// it like AddCgroupNoCpuset does, but without Manager.CreateCgroup: that
// would enable cpuset in the level above, which for a per-test root is
// the cgroup2 mount's root, a host-wide setting a test must not change.
func (g *Group) adopt(name string) error {
	g.addMu.Lock()
	defer g.addMu.Unlock()
	if g.hasEnded() {
		return ErrTestEnded
	}
	if err := g.ops.FS().Mkdir(name); err != nil {
		return fmt.Errorf("%w%s", err, shortHint(err))
	}
	return g.track(name)
}

// enableAll enables in the cgroup2 directory name's cgroup.subtree_control
// every controller its cgroup.controllers lists, one write each (a
// combined write fails whole when one controller is refused). It returns
// the reason to skip when a required controller is missing or cannot be
// enabled (ending with fix, when given, instead of the general advice),
// and logs the failure to enable any other.
func enableAll(fsys cgroupfs.FS, base, name string, required []string, fix string, t T) string {
	t.Helper()
	data, err := fsys.ReadFile(name + "/cgroup.controllers")
	if err != nil {
		return fmt.Sprintf("cannot read the controllers of the per-test root %s: %v", name, err)
	}
	avail := strings.Fields(string(data))
	for _, c := range required {
		if !slices.Contains(avail, c) && fix != "" {
			return fmt.Sprintf("the %s controller is not available to new cgroups here (the per-test root %s offers %q): %s", c, name, strings.Join(avail, " "), fix)
		}
		if !slices.Contains(avail, c) {
			return fmt.Sprintf("the %s controller is not available to new cgroups here (the per-test root %s offers %q, which its parent enables): %s", c, name, strings.Join(avail, " "), missingControllerHint(base, c))
		}
	}
	for _, c := range avail {
		err := fsys.WriteFile(name+"/cgroup.subtree_control", []byte("+"+c))
		if err == nil {
			continue
		}
		if slices.Contains(required, c) {
			return fmt.Sprintf("cannot enable the required %s controller in %s/cgroup.subtree_control: %v", c, name, err)
		}
		if !errors.Is(err, unix.ENOENT) {
			t.Logf("cgtest: the per-test root %s works without the %s controller: enabling it failed: %v", name, c, err)
		}
	}
	return ""
}

// missingControllerHint says how to get controller c enabled in the
// cgroup.subtree_control of base, the directory per-test roots are made
// in. The cgroup2 mount's root is host-wide: a test never writes it.
func missingControllerHint(base, c string) string {
	if mnt, err := cgroupfs.Mountpoint(); err == nil && filepath.Clean(base) == filepath.Clean(mnt) {
		return fmt.Sprintf("%s is the root of the cgroup2 mount, whose controllers are the host's to choose, not a test's; run in a VM (cmd/cgvm), or set %s to a cgroup that enables %s for its children (on a hybrid host where %s is bound to cgroup v1, only a VM or a unified host has it)", base, ParentEnv, c, c)
	}
	return fmt.Sprintf("enable it for the children of %s (write \"+%s\" to its cgroup.subtree_control), or set %s to a cgroup that does", base, c, ParentEnv)
}

// swept records the directories this process has swept, so that a
// suite of many tests pays for the sweep once per directory.
var swept sync.Map

// sweepOnce runs Sweep on the directory per-test roots are made in, the
// first time this process makes a root there, and logs what it found
// that was not live or foreign.
func sweepOnce(t T, base string, fsys cgroupfs.FS) {
	if _, done := swept.LoadOrStore(base, true); done {
		return
	}
	rep, err := sweep(fsys, ".", sweepConfig{budget: defaultBudget, skipKept: true})
	switch {
	case err != nil:
		t.Logf("cgtest: could not look for the per-test roots of dead test runs under %s: %v", base, err)
	case rep.Counts().Stale+rep.Counts().Unknown > 0:
		t.Logf("cgtest: reclaimed the per-test roots of dead test runs under %s:\n%s", base, rep)
	}
}
