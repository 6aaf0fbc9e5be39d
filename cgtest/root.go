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
// kernel, like t.TempDir: "cgguard-<pid>-<starttime>-<test>-<n>" (see
// RootName; the owner in the name lets a later run reclaim it if this
// process dies before its cleanups run). It enables, in the root's own
// cgroup.subtree_control, every controller its cgroup.controllers offers,
// one by one (never in the cgroup2 mount's root), and returns a
// cgroupfs.Manager whose FS is opened at the root and whose parent is
// the root itself ("."); pass it to NewGroup. Manager.Setup then only
// touches the root. The root, and everything beneath it, is removed when
// the test ends, after every group made later in the test.
//
// The first Root of a process in a directory also reclaims what dead
// test runs left there (see Sweep): roots whose owner process is gone,
// never a live run's or a foreign cgroup. What it reclaimed is logged.
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
	baseFS, err := cgroupfs.Open(base)
	if err != nil {
		skipf(t, "cgtest: cannot use %s for test cgroups: %v", base, err)
		return nil
	}
	t.Cleanup(func() { _ = baseFS.Close() })
	sweepOnce(t, base, baseFS)
	owner, err := Self()
	if err != nil {
		skipf(t, "cgtest: cannot name a per-test root cgroup: the start time of this process is unknown: %v", err)
		return nil
	}
	name := RootName(owner, t.Name(), int(rootSeq.Add(1)))
	guard := NewGroup(t, cgroupfs.NewManager(baseFS, "."), cfg.groupOpts...)
	if err := guard.adopt(name); err != nil {
		skipf(t, "cgtest: cannot create test cgroups under %s: %v", base, err)
		return nil
	}
	dir := filepath.Join(base, name)
	if reason := enableAll(baseFS, name, cfg.controllers, t); reason != "" {
		skipf(t, "cgtest: %s", reason)
		return nil
	}
	rootFS, err := cgroupfs.Open(dir)
	if err != nil {
		skipf(t, "cgtest: cannot open the per-test root cgroup %s: %v", dir, err)
		return nil
	}
	t.Cleanup(func() { _ = rootFS.Close() })
	return cgroupfs.NewManager(rootFS, ".")
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
// it like AddCgroupNoCpuset does, but without Ops.CreateCgroup: that
// would enable cpuset in the level above, which for a per-test root is
// the cgroup2 mount's root, a host-wide setting a test must not change.
func (g *Group) adopt(name string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ended {
		return ErrTestEnded
	}
	if err := g.ext.FS().Mkdir(name); err != nil {
		return fmt.Errorf("mkdir %s: %w%s", g.display(name), err, shortHint(err))
	}
	g.track(name)
	return nil
}

// enableAll enables in the cgroup2 directory name's cgroup.subtree_control
// every controller its cgroup.controllers lists, one write each (a
// combined write fails whole when one controller is refused). It returns
// the reason to skip when a required controller is missing or cannot be
// enabled, and logs the failure to enable any other.
func enableAll(fsys cgroupfs.FS, name string, required []string, t T) string {
	t.Helper()
	data, err := fsys.ReadFile(name + "/cgroup.controllers")
	if err != nil {
		return fmt.Sprintf("cannot read the controllers of the per-test root %s: %v", name, err)
	}
	avail := strings.Fields(string(data))
	for _, c := range required {
		if !slices.Contains(avail, c) {
			return fmt.Sprintf("the %s controller is not available to new cgroups here (the per-test root %s offers %q): enable it in the cgroup.subtree_control of the directory above, or, on a hybrid host where %s is bound to a cgroup v1 hierarchy, run in a VM or on a host with a unified cgroup2 hierarchy", c, name, strings.Join(avail, " "), c)
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
	rep, err := Sweep(fsys, ".")
	if err != nil || rep.Count(SweepStale)+rep.Count(SweepUnknown) > 0 {
		t.Logf("cgtest: reclaimed the per-test roots of dead test runs under %s (listing error: %v):\n%s", base, err, rep)
	}
}
