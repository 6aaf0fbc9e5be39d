package cgtest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/cgguard/cgguard/cgroupfs"
)

// leafTest is the test part of LeafName: per-test roots count from 1, so
// "<owner>-leaf-0" never names one.
const leafTest = "leaf"

// LeafName returns the name of the leaf cgroup that holds the test process
// o once Root has moved it out of the delegated cgroup it was in:
// "cgguard-<pid>-<starttime>-leaf-0". It is named like a per-test root,
// so Sweep (and cgguard sweep) keep it while o runs and
// remove it once o is gone.
func LeafName(o Owner) string { return RootName(o, leafTest, 0) }

// Delegation is what a delegated cgroup that holds (or held) the test
// process offers the per-test roots made in it. See Root, and
// InspectDelegation.
type Delegation struct {
	// Dir is the delegated cgroup, an absolute path.
	Dir string
	// Offered lists Dir's cgroup.controllers: what its children can be
	// given.
	Offered []string
	// Enabled lists Dir's cgroup.subtree_control: what its children have
	// now.
	Enabled []string
	// Others lists the processes in Dir's cgroup.procs other than this
	// one. cgtest never moves them, and while they are there the kernel
	// refuses to enable domain controllers in Dir.
	Others []int
	// Leaf is the absolute path of the leaf cgroup this process moves
	// into (see LeafName).
	Leaf string
	// Inside is true when this process is in Dir itself.
	Inside bool
	// Moved is true when this process is in Leaf already.
	Moved bool
}

// Controllers returns the controllers that per-test roots made in Dir
// get: every one Dir offers when this process is, or can move, out of
// Dir into its leaf; only those Dir enables already when other processes
// keep it from leaving.
func (d Delegation) Controllers() []string {
	if d.Moved || len(d.Others) > 0 || !d.Inside {
		return d.Enabled
	}
	return d.Offered
}

// Missing returns the controllers Dir offers but does not enable.
func (d Delegation) Missing() []string {
	var out []string
	for _, c := range d.Offered {
		if !slices.Contains(d.Enabled, c) {
			out = append(out, c)
		}
	}
	return out
}

// Advice says, when other processes share Dir with this one and some
// controllers are missing, which processes, what per-test roots lack
// because of them, and the command that gives the test binary a cgroup
// of its own. It is empty otherwise.
func (d Delegation) Advice() string {
	missing := d.Missing()
	if len(d.Others) == 0 || len(missing) == 0 {
		return ""
	}
	procs := make([]string, len(d.Others))
	for i, pid := range d.Others {
		procs[i] = fmt.Sprintf("pid %d %s", pid, describeProcess(pid))
	}
	return fmt.Sprintf("the delegated cgroup %s also holds %s: cgtest moves only its own process, and while others are there the kernel refuses to enable %q for per-test roots; give each test binary a cgroup of its own: %s",
		d.Dir, strings.Join(procs, ", "), strings.Join(missing, " "), cgroupfs.DelegateCommand)
}

// InspectDelegation reads the delegated cgroup dir (an absolute path
// under the cgroup2 mount) and where this process is: in dir, in its
// leaf, or elsewhere. It changes nothing. It fails for the cgroup2 mount
// itself (the root cgroup has no leaf to move into, and is never
// written), and when dir's interface files cannot be read.
func InspectDelegation(dir string) (Delegation, error) {
	d := Delegation{Dir: filepath.Clean(dir)}
	mnt, err := cgroupfs.Mountpoint()
	if err != nil {
		return d, err
	}
	if d.Dir == filepath.Clean(mnt) {
		return d, fmt.Errorf("cgtest: %s is the root of the cgroup2 hierarchy, not a delegated cgroup", d.Dir)
	}
	self, err := Self()
	if err != nil {
		return d, fmt.Errorf("cgtest: name the leaf of this process: %w", err)
	}
	d.Leaf = filepath.Join(d.Dir, LeafName(self))
	own, err := cgroupfs.SelfCgroup()
	if err != nil {
		return d, err
	}
	own = filepath.Join(mnt, own)
	d.Inside, d.Moved = own == d.Dir, own == d.Leaf
	read := func(file string) ([]string, error) {
		data, err := os.ReadFile(filepath.Join(d.Dir, file))
		if err != nil {
			return nil, fmt.Errorf("cgtest: read the delegated cgroup's %s: %w", file, err)
		}
		return strings.Fields(string(data)), nil
	}
	if d.Offered, err = read("cgroup.controllers"); err != nil {
		return d, err
	}
	if d.Enabled, err = read("cgroup.subtree_control"); err != nil {
		return d, err
	}
	pids, err := read("cgroup.procs")
	if err != nil {
		return d, err
	}
	for _, p := range pids {
		pid, err := strconv.Atoi(p)
		if err != nil {
			return d, fmt.Errorf("cgtest: %s/cgroup.procs lists %q, not a pid", d.Dir, p)
		}
		if pid != self.PID {
			d.Others = append(d.Others, pid)
		}
	}
	return d, nil
}

// delegated remembers, per delegated cgroup, what this process found and
// did there: the test process moves at most once, and every Root after
// the first makes its per-test root beside the same leaf.
var delegated struct {
	sync.Mutex
	byDir  map[string]string // delegated cgroup -> advice ("" when done)
	leafOf map[string]string // leaf -> delegated cgroup
}

// baseOutsideLeaf returns the delegated cgroup when base is the leaf this
// process moved into: after the move, cgroupfs.Discover finds the process
// in its leaf, but per-test roots belong beside it, in the delegated
// cgroup, never inside a cgroup that holds a process.
func baseOutsideLeaf(base string) string {
	delegated.Lock()
	defer delegated.Unlock()
	if dir, ok := delegated.leafOf[filepath.Clean(base)]; ok {
		return dir
	}
	return base
}

// enterLeaf makes the controllers the delegated cgroup base offers
// available to per-test roots when base holds this process, the way
// container runtimes do without root: the kernel enables domain
// controllers (and, once children are populated, cpuset) only in a cgroup
// that holds no process, so the test process moves itself into a leaf
// cgroup of its own (LeafName) and then enables, one write each, what base
// offers in base's cgroup.subtree_control. Per-test roots are then made
// beside the leaf.
//
// It does nothing when base does not hold this process, is the cgroup2
// mount's root, or already enables all it offers. It never moves another
// process: when base holds others it moves nothing and returns the advice
// (Delegation.Advice) that a skip for a missing controller should give.
// The move is logged, and so is what fails.
func enterLeaf(t T, base string, fsys cgroupfs.FS) string {
	t.Helper()
	delegated.Lock()
	defer delegated.Unlock()
	base = filepath.Clean(base)
	if advice, done := delegated.byDir[base]; done {
		return advice
	}
	d, err := InspectDelegation(base)
	if err != nil || !d.Inside || len(d.Missing()) == 0 {
		return ""
	}
	if delegated.byDir == nil {
		delegated.byDir, delegated.leafOf = map[string]string{}, map[string]string{}
	}
	advice := d.Advice()
	if advice == "" {
		var moved bool
		if moved, advice = moveToLeaf(t, d, fsys, ".", os.Getpid()); moved {
			delegated.leafOf[d.Leaf] = d.Dir
		}
	} else {
		t.Logf("cgtest: %s", advice)
	}
	delegated.byDir[base] = advice
	return advice
}

// moveToLeaf moves the test process pid (os.Getpid(), which the tests
// replace with a fake task) from d.Dir, the directory dir of fsys, into
// d.Leaf, and enables every controller d.Dir offers. It reports whether
// the process moved, and what a skip for a missing controller should say
// when something failed ("" when all worked).
func moveToLeaf(t T, d Delegation, fsys cgroupfs.FS, dir string, pid int) (moved bool, advice string) {
	t.Helper()
	leaf := path.Join(dir, filepath.Base(d.Leaf))
	if err := fsys.Mkdir(leaf); err != nil && !errors.Is(err, fs.ErrExist) {
		t.Logf("cgtest: cannot make the leaf cgroup %s for this test process, so per-test roots get only %q: %v", d.Leaf, strings.Join(d.Enabled, " "), err)
		return false, fmt.Sprintf("the test process could not leave the delegated cgroup %s for a leaf of its own: %v", d.Dir, err)
	}
	// The test process's own pid, one decimal number, never "0": the
	// test process moving itself, as Group.leave moves it back.
	if err := fsys.WriteFile(leaf+"/cgroup.procs", []byte(strconv.Itoa(pid))); err != nil {
		_ = fsys.Rmdir(leaf)
		t.Logf("cgtest: cannot move this test process into %s, so per-test roots get only %q: %v", d.Leaf, strings.Join(d.Enabled, " "), err)
		return false, fmt.Sprintf("the test process could not move itself from the delegated cgroup %s into %s: %v", d.Dir, d.Leaf, err)
	}
	var failed []string
	for _, c := range d.Missing() {
		if err := fsys.WriteFile(path.Join(dir, "cgroup.subtree_control"), []byte("+"+c)); err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", c, err))
		}
	}
	t.Logf("cgtest: moved this test process (pid %d) from the delegated cgroup %s into %s and enabled %q there for per-test roots; a later run or cgguard sweep removes the leaf once this process is gone",
		pid, d.Dir, filepath.Base(d.Leaf), strings.Join(d.Missing(), " "))
	if len(failed) > 0 {
		msg := fmt.Sprintf("enabling controllers in %s/cgroup.subtree_control failed (with EBUSY: another process entered it meanwhile): %s", d.Dir, strings.Join(failed, "; "))
		t.Logf("cgtest: %s", msg)
		return true, msg
	}
	return true, ""
}
