package cgroupfs_test

import (
	"context"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/fakefs"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestManagerPaths(t *testing.T) {
	fsys := newFake()
	for _, tc := range []struct {
		parent, name, want, parentPath string
	}{
		{".", "a", "a", "/"},
		{".", "a/b", "a/b", "/"},
		{"ktstr", "a/b", "ktstr/a/b", "/ktstr"},
		{"x/y", "z", "x/y/z", "/x/y"},
		{"p", "odd name-with.dots..", "p/odd name-with.dots..", "/p"},
	} {
		m := cgroupfs.NewManager(fsys, tc.parent)
		got, err := m.Path(tc.name)
		assert.Check(t, err)
		assert.Check(t, is.Equal(got, tc.want), "NewManager(%q).Path(%q)", tc.parent, tc.name)
		assert.Check(t, is.Equal(m.ParentPath(), tc.parentPath), "NewManager(%q).ParentPath()", tc.parent)
	}
	assert.Check(t, cgroupfs.NewManager(fsys, ".").FS() == fsys, "FS() did not return the FS given")
	assert.Check(t, is.Len(fsys.Log(), 0), "Path and ParentPath did I/O")
}

func TestSetupEnablesEachControllerOnEveryLevel(t *testing.T) {
	fsys := newFake("cpuset", "cpu", "memory")
	ops := &opLog{fsys: fsys}
	m := cgroupfs.NewManager(fsys, "a/b")
	assert.NilError(t, m.Setup(true), "Setup(true)")
	got := writes(ops.next())
	want := []string{
		`write cgroup.subtree_control "+cpuset"`,
		`write cgroup.subtree_control "+cpu"`,
		`write a/cgroup.subtree_control "+cpuset"`,
		`write a/cgroup.subtree_control "+cpu"`,
		`write a/b/cgroup.subtree_control "+cpuset"`,
		`write a/b/cgroup.subtree_control "+cpu"`,
	}
	assert.Check(t, is.DeepEqual(got, want), "Setup(true) writes")
	// Everything is enabled now: a second Setup writes nothing.
	assert.NilError(t, m.Setup(true), "second Setup(true)")
	assert.Check(t, is.Len(writes(ops.next()), 0), "second Setup(true) wrote again")
}

func TestSetupWritesOnlyListedControllers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rootCtl []string
		cpu     bool
		want    []string
	}{
		{"host v2 without cpuset or cpu", []string{"hugetlb"}, true, nil},
		{"cpu missing: cpuset still enabled (ktstr's fault 8)", []string{"cpuset"}, true, []string{
			`write cgroup.subtree_control "+cpuset"`,
			`write p/cgroup.subtree_control "+cpuset"`,
		}},
		{"cpu not asked for", []string{"cpuset", "cpu"}, false, []string{
			`write cgroup.subtree_control "+cpuset"`,
			`write p/cgroup.subtree_control "+cpuset"`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := newFake(tc.rootCtl...)
			ops := &opLog{fsys: fsys}
			assert.NilError(t, cgroupfs.NewManager(fsys, "p").Setup(tc.cpu), "Setup")
			assert.Check(t, is.DeepEqual(writes(ops.next()), tc.want), "writes")
			assert.Check(t, is.Contains(fsys.Snapshot().Paths(), "p"), "Setup did not create the parent")
		})
	}
}

func TestSetupGoesOnPastEnableFailures(t *testing.T) {
	fsys := newFake("cpuset", "cpu")
	ops := &opLog{fsys: fsys}
	// The kernel refuses enabling in a threaded or "domain invalid"
	// cgroup with EOPNOTSUPP.
	fsys.Fail(fakefs.OpWrite, "a/cgroup.subtree_control", unix.EOPNOTSUPP, -1)
	err := cgroupfs.NewManager(fsys, "a/b").Setup(true)
	cgroupfs.WantErrContains(t, err, unix.EOPNOTSUPP, `(write "+cpuset"): write a/cgroup.subtree_control`, `(write "+cpu"): write a/cgroup.subtree_control`, "cgroup.type")
	// The root still got both, each in its own write, and the parent exists.
	got := writes(ops.next())
	for _, w := range []string{`write cgroup.subtree_control "+cpuset"`, `write cgroup.subtree_control "+cpu"`} {
		assert.Check(t, is.Contains(got, w), "writes")
	}
	assert.Check(t, is.Contains(fsys.Snapshot().Paths(), "a/b"), "parent a/b not created")
}

func TestSetupStopsWhenTheParentCannotBeCreated(t *testing.T) {
	fsys := newFake("cpuset")
	ops := &opLog{fsys: fsys}
	fsys.Fail(fakefs.OpMkdir, "p", unix.EACCES, -1)
	err := cgroupfs.NewManager(fsys, "p").Setup(false)
	cgroupfs.WantErrContains(t, err, unix.EACCES, "setup of parent cgroup p", "mkdir p", "delegated")
	// Context once: "mkdir p: mkdir p: ..." and advice said twice misled.
	for _, once := range []string{"mkdir p", "permission denied", "delegated"} {
		assert.Check(t, is.Equal(strings.Count(err.Error(), once), 1), "Setup error says %q more or less than once: %v", once, err)
	}
	assert.Check(t, is.Len(writes(ops.next()), 0), "Setup wrote after failing to create the parent")
}

func TestCreateCgroupNested(t *testing.T) {
	fsys := newFake("cpuset", "cpu")
	ops := &opLog{fsys: fsys}
	m := cgroupfs.NewManager(fsys, "p")
	assert.NilError(t, m.Setup(false))
	ops.next()
	assert.NilError(t, m.CreateCgroup("x/y/z"), "CreateCgroup")
	// cpuset is enabled on every level above the leaf, before the level
	// below is made (the parent already had it from Setup).
	want := []string{
		`mkdir p/x`,
		`write p/x/cgroup.subtree_control "+cpuset"`,
		`mkdir p/x/y`,
		`write p/x/y/cgroup.subtree_control "+cpuset"`,
		`mkdir p/x/y/z`,
	}
	var got []string
	for _, e := range ops.next() {
		if strings.HasPrefix(e, "mkdir ") || strings.HasPrefix(e, "write ") {
			got = append(got, e)
		}
	}
	assert.Check(t, is.DeepEqual(got, want), "CreateCgroup mkdirs and writes")
	for _, name := range []string{"x", "x/y", "x/y/z"} {
		ok, err := m.Exists(name)
		assert.Check(t, err)
		assert.Check(t, ok, "Exists(%q)", name)
	}
	// The leaf has cpuset files.
	assert.Check(t, m.SetCpuset("x/y/z", cgroupfs.NewCPUSet(0, 1)), "SetCpuset on the new leaf")
	ops.next()

	// Idempotent: again, and for an existing prefix.
	assert.Check(t, m.CreateCgroup("x/y/z"), "second CreateCgroup")
	assert.Check(t, m.CreateCgroup("x"), "CreateCgroup of an existing intermediate")
	assert.Check(t, is.Len(writes(ops.next()), 0), "CreateCgroup of existing cgroups wrote")
}

func TestCreateCgroupWithoutCpusetWritesNothing(t *testing.T) {
	fsys := newFake("hugetlb") // the host's v2 here
	ops := &opLog{fsys: fsys}
	m := cgroupfs.NewManager(fsys, ".")
	assert.NilError(t, m.CreateCgroup("a/b"), "CreateCgroup")
	assert.Check(t, is.Len(writes(ops.next()), 0), "CreateCgroup wrote where cpuset is not available")
	assert.Check(t, is.DeepEqual(fsys.Snapshot().Paths(), []string{"a", "a/b"}), "cgroups")
}

func TestCreateCgroupMakesAMissingParent(t *testing.T) {
	fsys := newFake()
	m := cgroupfs.NewManager(fsys, "p/q")
	assert.NilError(t, m.CreateCgroup("a"), "CreateCgroup without Setup")
	assert.Check(t, is.DeepEqual(fsys.Snapshot().Paths(), []string{"p", "p/q", "p/q/a"}), "cgroups")
}

// The kernel answers EEXIST for cgroup.procs, which reads as a stale
// cgroup, and makes memory.max where memory is not enabled, which later
// blocks enabling it: both are refused before any I/O, saying why.
func TestCreateCgroupRefusesInterfaceFileNames(t *testing.T) {
	fsys := newFake()
	m := cgroupfs.NewManager(fsys, ".")
	assert.NilError(t, m.CreateCgroup("a"))
	before := len(fsys.Log())
	cgroupfs.WantErrContains(t, m.CreateCgroup("a/cgroup.procs"), cgroupfs.ErrInvalidName, "a/cgroup.procs", "interface files")
	cgroupfs.WantErrContains(t, m.CreateCgroup("memory.max/x"), cgroupfs.ErrInvalidName, "memory controller", "choose a name")
	cgroupfs.WantErrContains(t, cgroupfs.NewManager(fsys, "cpu.x").Setup(false), cgroupfs.ErrInvalidName, "cpu controller")
	assert.Check(t, is.Len(fsys.Log()[before:], 0), "refused names reached the filesystem")
}

func TestCreateCgroupReportsEnableFailuresAndStillCreates(t *testing.T) {
	fsys := newFake("cpuset")
	m := cgroupfs.NewManager(fsys, ".")
	assert.NilError(t, m.CreateCgroup("a"))
	remove := fsys.Fail(fakefs.OpWrite, "a/cgroup.subtree_control", unix.EBUSY, -1)
	err := m.CreateCgroup("a/b")
	cgroupfs.WantErrContains(t, err, unix.EBUSY, "cpuset", "a/cgroup.subtree_control", "no-internal-process")
	remove()
	ok, _ := m.Exists("a/b")
	assert.Check(t, ok, "a/b not created after the enable failure")
}

func TestCpusetWrites(t *testing.T) {
	fsys := newFake("cpuset")
	ops := &opLog{fsys: fsys}
	m := cgroupfs.NewManager(fsys, "p")
	assert.NilError(t, m.Setup(false))
	assert.NilError(t, m.CreateCgroup("a"))
	ops.next()
	steps := []struct {
		do   func() error
		want string
	}{
		{func() error { return m.SetCpuset("a", cgroupfs.NewCPUSet(0, 1)) }, `write p/a/cpuset.cpus "0-1"`},
		{func() error { return m.SetCpuset("a", cgroupfs.NewCPUSet(0, 1, 3, 5, 6, 7)) }, `write p/a/cpuset.cpus "0-1,3,5-7"`},
		{func() error { return m.ClearCpuset("a") }, `write p/a/cpuset.cpus "\n"`},
		{func() error { return m.SetCpusetMems("a", cgroupfs.NewCPUSet(0)) }, `write p/a/cpuset.mems "0"`},
		{func() error { return m.ClearCpusetMems("a") }, `write p/a/cpuset.mems "\n"`},
	}
	for _, s := range steps {
		assert.Check(t, s.do(), "%s", s.want)
		assert.Check(t, is.DeepEqual(writes(ops.next()), []string{s.want}), "writes")
	}

	// An empty set is refused before any I/O: the kernel would ignore it.
	cgroupfs.WantErrContains(t, m.SetCpuset("a", cgroupfs.CPUSet{}), fs.ErrInvalid, "p/a/cpuset.cpus", "ClearCpuset")
	cgroupfs.WantErrContains(t, m.SetCpusetMems("a", cgroupfs.CPUSet{}), fs.ErrInvalid, "p/a/cpuset.mems", "ClearCpusetMems")
	assert.Check(t, is.Len(ops.next(), 0), "an empty set did I/O")

	// No cpuset in the parent's subtree_control: ENOENT, with the reason.
	fsys2 := newFake()
	m2 := cgroupfs.NewManager(fsys2, ".")
	assert.NilError(t, m2.CreateCgroup("a"))
	cgroupfs.WantErrContains(t, m2.SetCpuset("a", cgroupfs.NewCPUSet(0)), fs.ErrNotExist, `set cpuset.cpus to "0": write a/cpuset.cpus`, "cpuset is not enabled")
	cgroupfs.WantErrContains(t, m2.ClearCpuset("a"), fs.ErrNotExist, "clear cpuset.cpus", "a/cpuset.cpus")
}

func TestMoveTask(t *testing.T) {
	fsys := newFake()
	ops := &opLog{fsys: fsys}
	m := cgroupfs.NewManager(fsys, ".")
	for _, n := range []string{"a", "b"} {
		assert.NilError(t, m.CreateCgroup(n))
	}
	pid := spawn(t, fsys, "a")
	ops.next()
	assert.NilError(t, m.MoveTask("b", pid), "MoveTask")
	assert.Check(t, is.DeepEqual(writes(ops.next()), []string{`write b/cgroup.procs "` + strconv.Itoa(pid) + `"`}), "writes")
	pids, err := m.Procs("b")
	assert.Check(t, err)
	assert.Check(t, is.DeepEqual(pids, []int{pid}), "Procs(b)")
	assert.NilError(t, fsys.Exit(pid))
	cgroupfs.WantErrContains(t, m.MoveTask("a", pid), unix.ESRCH, "move pid "+strconv.Itoa(pid)+" into cgroup a", "process is gone")
}

func TestMoveTasks(t *testing.T) {
	fsys := newFake("cpuset")
	ops := &opLog{fsys: fsys}
	m := cgroupfs.NewManager(fsys, ".")
	assert.NilError(t, m.CreateCgroup("a"))
	p1, gone, p3 := spawn(t, fsys, "."), spawn(t, fsys, "."), spawn(t, fsys, ".")
	assert.NilError(t, fsys.Exit(gone))

	// ESRCH is skipped, and the pids after it still move.
	assert.NilError(t, m.MoveTasks("a", []int{p1, gone, p3}), "MoveTasks with a gone pid")
	pids, _ := m.Procs("a")
	assert.Check(t, is.DeepEqual(pids, []int{p1, p3}), "Procs(a)")

	// A transient EBUSY (a sched_ext scheduler refusing for a moment) is
	// retried.
	p4 := spawn(t, fsys, ".")
	fsys.Fail(fakefs.OpWrite, "a/cgroup.procs", unix.EBUSY, 1)
	ops.next()
	assert.NilError(t, m.MoveTasks("a", []int{p4}), "MoveTasks with one EBUSY")
	assert.Check(t, is.Len(writes(ops.next()), 2), "writes to cgroup.procs: one EBUSY, one retry")

	// Any other error stops at once, naming the pid; later pids are not tried.
	p5, p6 := spawn(t, fsys, "."), spawn(t, fsys, ".")
	fsys.Fail(fakefs.OpWrite, "a/cgroup.procs", unix.EACCES, -1)
	ops.next()
	cgroupfs.WantErrContains(t, m.MoveTasks("a", []int{p5, p6}), unix.EACCES, "pid "+strconv.Itoa(p5), "permission denied")
	assert.Check(t, is.Len(writes(ops.next()), 1), "MoveTasks went on after EACCES")
}

func TestMoveTasksGivesUpOnPersistentEBUSY(t *testing.T) {
	fsys := newFake("memory")
	ops := &opLog{fsys: fsys}
	m := cgroupfs.NewManager(fsys, ".")
	assert.NilError(t, m.CreateCgroup("a/b"))
	// A domain controller enabled in a: no task may live there.
	for _, f := range []string{"cgroup.subtree_control", "a/cgroup.subtree_control"} {
		assert.NilError(t, fsys.WriteFile(f, []byte("+memory")))
	}
	pid := spawn(t, fsys, ".")
	ops.next()
	err := m.MoveTasks("a", []int{pid})
	cgroupfs.WantErrContains(t, err, unix.EBUSY, "pid "+strconv.Itoa(pid), "no-internal-process", strconv.Itoa(cgroupfs.MoveRetries)+" attempts")
	assert.Check(t, is.Len(writes(ops.next()), cgroupfs.MoveRetries), "writes, one per attempt")
}

func TestClearSubtreeControl(t *testing.T) {
	fsys := newFake("cpuset", "cpu")
	ops := &opLog{fsys: fsys}
	m := cgroupfs.NewManager(fsys, "p")
	assert.NilError(t, m.Setup(true))
	assert.NilError(t, m.CreateCgroup("a"))
	for _, c := range []string{"+cpuset", "+cpu"} {
		assert.NilError(t, fsys.WriteFile("p/a/cgroup.subtree_control", []byte(c)))
	}
	ops.next()
	assert.NilError(t, m.ClearSubtreeControl("a"), "ClearSubtreeControl(a)")
	want := []string{`write p/a/cgroup.subtree_control "-cpu"`, `write p/a/cgroup.subtree_control "-cpuset"`}
	assert.Check(t, is.DeepEqual(writes(ops.next()), want), "writes")
	data, err := fsys.ReadFile("p/a/cgroup.subtree_control")
	assert.Check(t, err)
	assert.Check(t, is.Len(data, 0), "p/a/cgroup.subtree_control after ClearSubtreeControl")
	// Now tasks may be moved into it.
	assert.Check(t, m.MoveTask("a", spawn(t, fsys, ".")), "MoveTask after ClearSubtreeControl")

	// A child enabling a controller itself keeps it: EBUSY, said plainly.
	assert.NilError(t, m.CreateCgroup("b/c"))
	assert.NilError(t, fsys.WriteFile("p/b/c/cgroup.subtree_control", []byte("+cpuset")))
	cgroupfs.WantErrContains(t, m.ClearSubtreeControl("b"), unix.EBUSY, `"-cpuset"`, "child cgroup still enables it")
}

func TestDrainTasks(t *testing.T) {
	fake := newFake()
	fsys := &hookFS{FS: fake}
	m := cgroupfs.NewManager(fsys, "p", cgroupfs.DrainTo("keep"))
	for _, n := range []string{"keep", "p/a"} {
		assert.NilError(t, cgroupfs.NewManager(fsys, ".").CreateCgroup(n))
	}
	p1, p2 := spawn(t, fake, "p/a"), spawn(t, fake, "p/a")
	// A task forks while the first pid is being moved: the drain must
	// take the child too (ktstr read cgroup.procs once).
	p3 := 0
	fsys.afterWrite = func(name string, err error) {
		if name == "keep/cgroup.procs" && p3 == 0 {
			p3 = spawn(t, fake, "p/a")
		}
	}
	assert.NilError(t, m.DrainTasks("a"), "DrainTasks")
	fsys.afterWrite = nil
	pids, _ := m.Procs("a")
	assert.Check(t, is.Len(pids, 0), "a still holds pids")
	assert.Check(t, is.DeepEqual(fake.Pids("keep"), []int{p1, p2, p3}), "keep/cgroup.procs")

	// Draining a missing cgroup is nothing to do.
	assert.Check(t, m.DrainTasks("gone"), "DrainTasks(gone)")
}

func TestDrainTasksWaitsForExitingTasks(t *testing.T) {
	fsys := newFake()
	m := cgroupfs.NewManager(fsys, ".")
	assert.NilError(t, m.CreateCgroup("a"))
	// Listed but exiting: every move answers ESRCH until it is gone. The
	// drain must wait on cgroup.events then (not spin); the task exits
	// while it waits.
	pid := spawn(t, fsys, "a")
	defer fsys.Fail(fakefs.OpWrite, "cgroup.procs", unix.ESRCH, -1)()
	entered, release := fsys.HangEntered(fakefs.OpWatch, "a/cgroup.events")
	defer release()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-entered:
			if err := fsys.Exit(pid); err != nil {
				t.Error(err)
			}
			release()
		case <-done:
		}
	}()
	assert.NilError(t, m.DrainTasks("a"), "DrainTasks with an exiting task")
	select {
	case <-entered:
	default:
		t.Errorf("DrainTasks did not wait on a/cgroup.events for the exiting task")
	}
}

func TestDrainTasksErrors(t *testing.T) {
	fake := newFake()
	fsys := &hookFS{FS: fake}
	ops := &opLog{fsys: fake}
	for _, n := range []string{"p/a/b", "p/c"} {
		assert.NilError(t, cgroupfs.NewManager(fsys, ".").CreateCgroup(n))
	}
	// The DrainTo cgroup inside the drained one would never empty.
	m := cgroupfs.NewManager(fsys, "p", cgroupfs.DrainTo("p/a/b"))
	ops.next()
	cgroupfs.WantErrContains(t, m.DrainTasks("a"), fs.ErrInvalid, "DrainTo cgroup p/a/b is inside")
	cgroupfs.WantErrContains(t, m.DrainTasks("a/b"), fs.ErrInvalid, "DrainTo cgroup p/a/b is inside")
	assert.Check(t, is.Len(ops.next(), 0), "a refused drain did I/O")

	// A move refused (a delegated subtree draining to the root): the
	// error says to use DrainTo.
	m = cgroupfs.NewManager(fsys, "p")
	spawn(t, fake, "p/c")
	remove := fake.Fail(fakefs.OpWrite, "cgroup.procs", unix.EACCES, -1)
	cgroupfs.WantErrContains(t, m.DrainTasks("c"), unix.EACCES, "drain cgroup p/c: move pid", "to the DrainTo cgroup .")
	remove()

	// A fork bomb: every move makes a new task. Bounded, and named.
	fsys.afterWrite = func(name string, err error) {
		if name == "cgroup.procs" && err == nil {
			spawn(t, fake, "p/c")
		}
	}
	cgroupfs.WantErrContains(t, m.DrainTasks("c"), nil, "still lists pids", "rounds", "KillTasks")
	fsys.afterWrite = nil
}

func TestRemoveCgroup(t *testing.T) {
	fsys := newFake()
	ops := &opLog{fsys: fsys}
	m := cgroupfs.NewManager(fsys, "p")
	assert.NilError(t, m.Setup(false))
	for _, n := range []string{"empty", "busy", "tree/leaf"} {
		assert.NilError(t, m.CreateCgroup(n))
	}
	ops.next()

	// An empty cgroup costs one rmdir, nothing else.
	assert.NilError(t, m.RemoveCgroup("empty"), "RemoveCgroup(empty)")
	assert.Check(t, is.DeepEqual(ops.next(), []string{"rmdir p/empty"}), "ops")
	// Missing is fine.
	assert.Check(t, m.RemoveCgroup("empty"), "RemoveCgroup of a missing cgroup")

	// Child cgroups: EBUSY named as such (ktstr blamed tasks), nothing removed.
	err := m.RemoveCgroup("tree")
	cgroupfs.WantErrContains(t, err, unix.EBUSY, "remove cgroup p/tree", "child cgroup", "leaf")
	ok, _ := m.Exists("tree/leaf")
	assert.Check(t, ok, "RemoveCgroup(tree) removed the child")

	// Tasks: drained to the FS root, then removed.
	p1, p2 := spawn(t, fsys, "p/busy"), spawn(t, fsys, "p/busy")
	assert.NilError(t, m.RemoveCgroup("busy"), "RemoveCgroup(busy)")
	ok, _ = m.Exists("busy")
	assert.Check(t, !ok, "busy still exists")
	assert.Check(t, is.DeepEqual(fsys.Pids("."), []int{p1, p2}), "root cgroup.procs, both drained pids")

	// Another errno: said, with its hint, no drain attempted.
	ops.next()
	fsys.Fail(fakefs.OpRmdir, "p/tree/leaf", unix.EROFS, -1)
	cgroupfs.WantErrContains(t, m.RemoveCgroup("tree/leaf"), unix.EROFS, "remove cgroup p/tree/leaf", "read-only")
	assert.Check(t, is.Len(writes(ops.next()), 0), "RemoveCgroup drained after EROFS")
}

func TestRemoveCgroupRetriesEBUSYAfterEmptying(t *testing.T) {
	fsys := newFake()
	ops := &opLog{fsys: fsys}
	m := cgroupfs.NewManager(fsys, ".")
	assert.NilError(t, m.CreateCgroup("a"))
	// The kernel can say EBUSY a moment after populated went 0
	// (grandchildren still exiting): two more EBUSY, then it works.
	fsys.Fail(fakefs.OpRmdir, "a", unix.EBUSY, 3)
	ops.next()
	assert.NilError(t, m.RemoveCgroup("a"), "RemoveCgroup")
	rmdirs := 0
	for _, e := range ops.next() {
		if e == "rmdir a" {
			rmdirs++
		}
	}
	assert.Check(t, is.Equal(rmdirs, 4), "rmdir attempts")
}

func TestCleanupAll(t *testing.T) {
	fsys := newFake()
	ops := &opLog{fsys: fsys}
	m := cgroupfs.NewManager(fsys, "p")
	for _, n := range []string{"a/b", "a/c/d", "e"} {
		assert.NilError(t, m.CreateCgroup(n))
	}
	spawn(t, fsys, "p/a/c/d")
	ops.next()
	assert.NilError(t, m.CleanupAll(), "CleanupAll")
	assert.Check(t, is.DeepEqual(fsys.Snapshot().Paths(), []string{"p"}), "cgroups left")
	// Deepest first: every child is removed before its parent.
	var removed []string
	for _, e := range ops.next() {
		if p, ok := strings.CutPrefix(e, "rmdir "); ok && !slices.Contains(removed, p) {
			removed = append(removed, p)
		}
	}
	for i, p := range removed {
		for _, later := range removed[i+1:] {
			if strings.HasPrefix(later, p+"/") {
				t.Errorf("removed %s before its descendant %s: %q", p, later, removed)
			}
		}
	}
	// A missing parent is nothing to clean.
	assert.Check(t, cgroupfs.NewManager(fsys, "nope").CleanupAll(), "CleanupAll of a missing parent")
}

func TestCleanupAllGoesOnPastFailures(t *testing.T) {
	fsys := newFake()
	ops := &opLog{fsys: fsys}
	m := cgroupfs.NewManager(fsys, "p")
	for _, n := range []string{"a/b", "a/c", "z"} {
		assert.NilError(t, m.CreateCgroup(n))
	}
	fsys.Fail(fakefs.OpRmdir, "p/a/b", unix.EACCES, -1)
	ops.next()
	err := m.CleanupAll()
	cgroupfs.WantErrContains(t, err, unix.EACCES, "p/a/b")
	// a/c and z are gone; a stays (its child does), and no rmdir of it was
	// tried only to say EBUSY.
	assert.Check(t, is.DeepEqual(fsys.Snapshot().Paths(), []string{"p", "p/a", "p/a/b"}), "cgroups left")
	got := ops.next()
	assert.Check(t, !slices.Contains(got, "rmdir p/a"), "CleanupAll tried to remove p/a with a child left: %q", got)
}

func TestKillTasks(t *testing.T) {
	fsys := newFake()
	ops := &opLog{fsys: fsys}
	m := cgroupfs.NewManager(fsys, ".")
	for _, n := range []string{"a/b", "other"} {
		assert.NilError(t, m.CreateCgroup(n))
	}
	spawn(t, fsys, "a")
	spawn(t, fsys, "a/b")
	spawn(t, fsys, "other")
	ops.next()
	assert.NilError(t, m.KillTasks("a"), "KillTasks")
	assert.Check(t, is.DeepEqual(writes(ops.next()), []string{`write a/cgroup.kill "1"`}), "writes")
	assert.Check(t, m.WaitEmpty(context.Background(), "a"), "WaitEmpty after KillTasks")
	pids, _ := m.Procs("other")
	assert.Check(t, is.Len(pids, 1), "KillTasks(a) reached the sibling")
	assert.Check(t, m.KillTasks("missing"), "KillTasks of a missing cgroup")

	// A failing cgroup.kill is said, with the errno.
	fsys.Fail(fakefs.OpWrite, "a/cgroup.kill", unix.EACCES, -1)
	cgroupfs.WantErrContains(t, m.KillTasks("a"), unix.EACCES, "kill the tasks of cgroup a", "a/cgroup.kill")
}

func TestKillTasksRefusesWhenTheCallerIsInside(t *testing.T) {
	fake := newFake()
	ops := &opLog{fsys: fake}
	self := os.Getpid()
	// a/b/c lists this process, as if it had moved itself there; the
	// fake never moves a real process.
	fsys := &hookFS{FS: fake, real: map[string][]int{"a/b/c": {self}}}
	m := cgroupfs.NewManager(fsys, ".")
	assert.NilError(t, m.CreateCgroup("a/b/c"))
	ops.next()
	for _, name := range []string{"a", "a/b/c"} {
		err := m.KillTasks(name)
		cgroupfs.WantErrContains(t, err, cgroupfs.ErrCallerInside, "refuse", "this process", "a/b/c")
	}
	assert.Check(t, is.Len(writes(ops.next()), 0), "KillTasks wrote although it refused")
	pids, _ := m.Procs("a/b/c")
	assert.Check(t, is.DeepEqual(pids, []int{self}), "a/b/c")
}

func TestKillTasksWithoutCgroupKill(t *testing.T) {
	fake := newFake()
	// Kernels before 5.14 have no cgroup.kill: writing it says ENOENT.
	fake.Fail(fakefs.OpWrite, "a/cgroup.kill", unix.ENOENT, -1)
	// The fallback signals the listed pids for real, so they must be
	// this test's own children.
	fsys := &hookFS{FS: fake, real: map[string][]int{}}
	var children []*child
	for _, cg := range []string{"a", "a/b"} {
		c := startChild(t, nil, "", 0)
		fsys.real[cg] = []int{c.cmd.Process.Pid}
		children = append(children, c)
	}
	m := cgroupfs.NewManager(fsys, ".")
	assert.NilError(t, m.CreateCgroup("a/b"))
	assert.NilError(t, m.KillTasks("a"), "KillTasks without cgroup.kill")
	for _, c := range children {
		err := c.wait(t)
		assert.Check(t, killedBySIGKILL(err), "child ended with %v, want killed by SIGKILL", err)
	}
}

func TestWaitEmpty(t *testing.T) {
	fsys := newFake()
	ops := &opLog{fsys: fsys}
	m := cgroupfs.NewManager(fsys, ".")
	assert.NilError(t, m.CreateCgroup("a/b"))
	ctx := context.Background()

	// Empty: no waiting. The watch comes before the read, so a change
	// between them cannot be missed.
	ops.next()
	assert.NilError(t, m.WaitEmpty(ctx, "a"), "WaitEmpty of an empty cgroup")
	assert.Check(t, is.DeepEqual(ops.next(), []string{"watch a/cgroup.events", "read a/cgroup.events"}), "ops")

	// A task below exits, but stays for a few reads of cgroup.events.
	pid := spawn(t, fsys, "a/b")
	assert.NilError(t, fsys.SetLinger(pid, 3))
	assert.NilError(t, fsys.Exit(pid))
	assert.NilError(t, m.WaitEmpty(ctx, "a"), "WaitEmpty while a task exits")
	reads := 0
	for _, e := range ops.next() {
		if e == "read a/cgroup.events" {
			reads++
		}
	}
	assert.Check(t, is.Equal(reads, 4), "WaitEmpty's reads of a/cgroup.events: 3 populated, then empty")

	// The cgroup is removed while waited on: empty.
	pid = spawn(t, fsys, "a/b")
	entered, release := fsys.HangEntered(fakefs.OpRead, "a/b/cgroup.events")
	defer release()
	go func() {
		<-entered
		if err := fsys.Exit(pid); err != nil {
			t.Error(err)
		}
		if err := fsys.Rmdir("a/b"); err != nil {
			t.Error(err)
		}
		release()
	}()
	assert.NilError(t, m.WaitEmpty(ctx, "a/b"), "WaitEmpty of a cgroup being removed")
	assert.Check(t, m.WaitEmpty(ctx, "missing"), "WaitEmpty of a missing cgroup")
}

func TestWaitEmptyTimeoutSaysWhatItSaw(t *testing.T) {
	fsys := newFake()
	m := cgroupfs.NewManager(fsys, ".")
	assert.NilError(t, m.CreateCgroup("a"))
	pid := spawn(t, fsys, "a")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := m.WaitEmpty(ctx, "a")
	cgroupfs.WantErrContains(t, err, context.Canceled, `populated 1`, "a/cgroup.events", strconv.Itoa(pid), "KillTasks")

	// Tasks only below: cgroup.procs of a lists none, and the error says
	// where they are instead.
	assert.NilError(t, fsys.Exit(pid))
	assert.NilError(t, m.CreateCgroup("a/b"))
	spawn(t, fsys, "a/b")
	cgroupfs.WantErrContains(t, m.WaitEmpty(ctx, "a"), context.Canceled, `populated 1`, "lists no pid", "child cgroups")

	// Without inotify (a limit used up) it reads the file at intervals:
	// the timeout says so, and the end of the tasks is seen.
	fsys.Fail(fakefs.OpWatch, "a/cgroup.events", unix.ENOSPC, -1)
	cgroupfs.WantErrContains(t, m.WaitEmpty(ctx, "a"), context.Canceled, `populated 1`, "no inotify left", "KillTasks")
	done := make(chan error, 1)
	go func() { done <- m.WaitEmpty(context.Background(), "a") }()
	for _, p := range fsys.Pids("a/b") {
		assert.NilError(t, fsys.Exit(p))
	}
	assert.Check(t, <-done, "WaitEmpty without inotify, after the tasks exited")
}

func TestProcsAndChildren(t *testing.T) {
	fsys := newFake()
	m := cgroupfs.NewManager(fsys, "p")
	for _, n := range []string{"a/z", "a/b", "a/b/c"} {
		assert.NilError(t, m.CreateCgroup(n))
	}
	kids, err := m.Children("a")
	assert.Check(t, err)
	assert.Check(t, is.DeepEqual(kids, []string{"a/b", "a/z"}), "Children(a)")
	cgroupfs.WantErrContains(t, func() error { _, err := m.Children("nope"); return err }(), fs.ErrNotExist, "p/nope")
	// Join order, as the kernel lists: the later pid joined first.
	early, late := spawn(t, fsys, "."), spawn(t, fsys, ".")
	for _, pid := range []int{late, early} {
		assert.NilError(t, fsys.WriteFile("p/a/cgroup.procs", []byte(strconv.Itoa(pid))))
	}
	pids, err := m.Procs("a")
	assert.Check(t, err)
	assert.Check(t, is.DeepEqual(pids, []int{late, early}), "Procs(a)")
	ok, err := m.Exists("a/cgroup.procs")
	assert.Check(t, err)
	assert.Check(t, !ok, "Exists of an interface file")
}

func TestCleanupAllRefusesTheHierarchyRoot(t *testing.T) {
	fsys := newFake("cpuset")
	ops := &opLog{fsys: fsys}
	assert.NilError(t, fsys.Mkdir("system.slice"))
	ops.next()
	err := cgroupfs.NewManager(fsys, ".").CleanupAll()
	cgroupfs.WantErrContains(t, err, fs.ErrInvalid, "refuse", "root of the cgroup2 hierarchy")
	for _, op := range ops.next() {
		if !strings.HasPrefix(op, "read ") {
			t.Errorf("the refused CleanupAll did %s", op)
		}
	}
	assert.Check(t, is.Contains(fsys.Snapshot().Paths(), "system.slice"), "the refused CleanupAll removed system.slice")
	// A cgroup of one's own as the FS root ("." has cgroup.events) is fine.
	assert.Check(t, cgroupfs.NewManager(fsys, "system.slice").CleanupAll(), "CleanupAll beneath a cgroup")
}

// The kernel's EBUSY on cgroup.procs is the no-internal-process rule
// only when the cgroup enables a domain controller; the hint reads
// cgroup.subtree_control and says which case it is.
func TestMoveTaskBusyHintReadsSubtreeControl(t *testing.T) {
	fsys := newFake("cpuset", "memory")
	m := cgroupfs.NewManager(fsys, ".")
	for _, n := range []string{"plain/leaf", "domain/leaf", "threaded/leaf"} {
		assert.NilError(t, m.CreateCgroup(n))
	}
	for _, w := range [][2]string{
		{"cgroup.subtree_control", "+memory"},
		{"domain/cgroup.subtree_control", "+memory"},
		{"threaded/cgroup.subtree_control", "+cpuset"},
	} {
		assert.NilError(t, fsys.WriteFile(w[0], []byte(w[1])))
	}
	pid := spawn(t, fsys, ".")
	for name, want := range map[string]string{
		"plain":    "enables no domain controller",
		"threaded": "enables no domain controller",
		"domain":   "enables a domain controller",
	} {
		fsys.Fail(fakefs.OpWrite, name+"/cgroup.procs", unix.EBUSY, 1)
		cgroupfs.WantErrContains(t, m.MoveTask(name, pid), unix.EBUSY, want)
	}
}
