package cgroupfs

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// writes returns the write entries of a memFS log.
func writes(log []string) []string {
	var out []string
	for _, e := range log {
		if strings.HasPrefix(e, "write ") {
			out = append(out, e)
		}
	}
	return out
}

func wantErrContains(t *testing.T, err error, target error, subs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one wrapping %v and saying %q", target, subs)
	}
	if target != nil && !errors.Is(err, target) {
		t.Errorf("error %q does not wrap %v", err, target)
	}
	for _, s := range subs {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
}

func TestManagerPaths(t *testing.T) {
	mem := newMemFS()
	for _, tc := range []struct {
		parent, name, want, parentPath string
	}{
		{".", "a", "a", "/"},
		{".", "a/b", "a/b", "/"},
		{"ktstr", "a/b", "ktstr/a/b", "/ktstr"},
		{"x/y", "z", "x/y/z", "/x/y"},
		{"p", "odd name-with.dots..", "p/odd name-with.dots..", "/p"},
	} {
		m := NewManager(mem, tc.parent)
		got, err := m.Path(tc.name)
		if err != nil || got != tc.want {
			t.Errorf("NewManager(%q).Path(%q) = %q, %v; want %q", tc.parent, tc.name, got, err, tc.want)
		}
		if pp := m.ParentPath(); pp != tc.parentPath {
			t.Errorf("NewManager(%q).ParentPath() = %q, want %q", tc.parent, pp, tc.parentPath)
		}
	}
	if m := NewManager(mem, "."); m.FS() != mem {
		t.Errorf("FS() did not return the FS given")
	}
	if ops := mem.ops(); len(ops) != 0 {
		t.Errorf("Path and ParentPath did I/O: %q", ops)
	}
}

func TestSetupEnablesEachControllerOnEveryLevel(t *testing.T) {
	mem := newMemFS("cpuset", "cpu", "memory")
	m := NewManager(mem, "a/b")
	if err := m.Setup(true); err != nil {
		t.Fatalf("Setup(true): %v", err)
	}
	got := writes(mem.ops())
	want := []string{
		`write cgroup.subtree_control "+cpuset"`,
		`write cgroup.subtree_control "+cpu"`,
		`write a/cgroup.subtree_control "+cpuset"`,
		`write a/cgroup.subtree_control "+cpu"`,
		`write a/b/cgroup.subtree_control "+cpuset"`,
		`write a/b/cgroup.subtree_control "+cpu"`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Setup(true) writes (-want +got):\n%s", diff)
	}
	// Everything is enabled now: a second Setup writes nothing.
	if err := m.Setup(true); err != nil {
		t.Fatalf("second Setup(true): %v", err)
	}
	if got := writes(mem.ops()); len(got) != 0 {
		t.Errorf("second Setup(true) wrote again: %q", got)
	}
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
			mem := newMemFS(tc.rootCtl...)
			if err := NewManager(mem, "p").Setup(tc.cpu); err != nil {
				t.Fatalf("Setup: %v", err)
			}
			if diff := cmp.Diff(tc.want, writes(mem.ops())); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
			if !slices.Contains(mem.paths(), "p") {
				t.Errorf("Setup did not create the parent: %q", mem.paths())
			}
		})
	}
}

func TestSetupGoesOnPastEnableFailures(t *testing.T) {
	mem := newMemFS("cpuset", "cpu")
	// The kernel refuses enabling in a threaded or "domain invalid"
	// cgroup with EOPNOTSUPP (memFS does not model threaded mode).
	mem.fail = func(op, name string) error {
		if op == "write" && name == "a/cgroup.subtree_control" {
			return memErr(op, name, unix.EOPNOTSUPP)
		}
		return nil
	}
	err := NewManager(mem, "a/b").Setup(true)
	wantErrContains(t, err, unix.EOPNOTSUPP, `write "+cpuset" to a/cgroup.subtree_control`, `write "+cpu" to a/cgroup.subtree_control`, "cgroup.type")
	// The root still got both, each in its own write, and the parent exists.
	got := writes(mem.ops())
	for _, w := range []string{`write cgroup.subtree_control "+cpuset"`, `write cgroup.subtree_control "+cpu"`} {
		if !slices.Contains(got, w) {
			t.Errorf("writes %q lack %s", got, w)
		}
	}
	if !slices.Contains(mem.paths(), "a/b") {
		t.Errorf("parent a/b not created: %q", mem.paths())
	}
	mem.fail = nil
}

func TestSetupStopsWhenTheParentCannotBeCreated(t *testing.T) {
	mem := newMemFS("cpuset")
	mem.fail = func(op, name string) error {
		if op == "mkdir" && name == "p" {
			return memErr(op, name, unix.EACCES)
		}
		return nil
	}
	err := NewManager(mem, "p").Setup(false)
	wantErrContains(t, err, unix.EACCES, "setup of parent cgroup p", "mkdir p", "delegated")
	if got := writes(mem.ops()); len(got) != 0 {
		t.Errorf("Setup wrote after failing to create the parent: %q", got)
	}
}

func TestCreateCgroupNested(t *testing.T) {
	mem := newMemFS("cpuset", "cpu")
	m := NewManager(mem, "p")
	if err := m.Setup(false); err != nil {
		t.Fatal(err)
	}
	mem.ops()
	if err := m.CreateCgroup("x/y/z"); err != nil {
		t.Fatalf("CreateCgroup: %v", err)
	}
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
	for _, e := range mem.ops() {
		if strings.HasPrefix(e, "mkdir ") || strings.HasPrefix(e, "write ") {
			got = append(got, e)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CreateCgroup mkdirs and writes (-want +got):\n%s", diff)
	}
	for _, name := range []string{"x", "x/y", "x/y/z"} {
		if ok, err := m.Exists(name); !ok || err != nil {
			t.Errorf("Exists(%q) = %v, %v", name, ok, err)
		}
	}
	// The leaf has cpuset files.
	if err := m.SetCpuset("x/y/z", NewCPUSet(0, 1)); err != nil {
		t.Errorf("SetCpuset on the new leaf: %v", err)
	}
	mem.ops()

	// Idempotent: again, and for an existing prefix.
	if err := m.CreateCgroup("x/y/z"); err != nil {
		t.Errorf("second CreateCgroup: %v", err)
	}
	if err := m.CreateCgroup("x"); err != nil {
		t.Errorf("CreateCgroup of an existing intermediate: %v", err)
	}
	if got := writes(mem.ops()); len(got) != 0 {
		t.Errorf("CreateCgroup of existing cgroups wrote: %q", got)
	}
}

func TestCreateCgroupWithoutCpusetWritesNothing(t *testing.T) {
	mem := newMemFS("hugetlb") // the host's v2 here
	m := NewManager(mem, ".")
	if err := m.CreateCgroup("a/b"); err != nil {
		t.Fatalf("CreateCgroup: %v", err)
	}
	if got := writes(mem.ops()); len(got) != 0 {
		t.Errorf("CreateCgroup wrote where cpuset is not available: %q", got)
	}
	if diff := cmp.Diff([]string{".", "a", "a/b"}, mem.paths()); diff != "" {
		t.Errorf("cgroups (-want +got):\n%s", diff)
	}
}

func TestCreateCgroupMakesAMissingParent(t *testing.T) {
	mem := newMemFS()
	m := NewManager(mem, "p/q")
	if err := m.CreateCgroup("a"); err != nil {
		t.Fatalf("CreateCgroup without Setup: %v", err)
	}
	if diff := cmp.Diff([]string{".", "p", "p/q", "p/q/a"}, mem.paths()); diff != "" {
		t.Errorf("cgroups (-want +got):\n%s", diff)
	}
}

func TestCreateCgroupRefusesAnInterfaceFileName(t *testing.T) {
	mem := newMemFS()
	m := NewManager(mem, ".")
	if err := m.CreateCgroup("a"); err != nil {
		t.Fatal(err)
	}
	// The kernel answers EEXIST: that must not pass for "already there".
	err := m.CreateCgroup("a/cgroup.procs")
	wantErrContains(t, err, fs.ErrExist, "a/cgroup.procs", "interface file")
}

func TestCreateCgroupReportsEnableFailuresAndStillCreates(t *testing.T) {
	mem := newMemFS("cpuset")
	m := NewManager(mem, ".")
	if err := m.CreateCgroup("a"); err != nil {
		t.Fatal(err)
	}
	mem.fail = func(op, name string) error {
		if op == "write" && name == "a/cgroup.subtree_control" {
			return memErr(op, name, unix.EBUSY)
		}
		return nil
	}
	err := m.CreateCgroup("a/b")
	wantErrContains(t, err, unix.EBUSY, "cpuset", "a/cgroup.subtree_control", "no-internal-process")
	mem.fail = nil
	if ok, _ := m.Exists("a/b"); !ok {
		t.Errorf("a/b not created after the enable failure")
	}
}

func TestCpusetWrites(t *testing.T) {
	mem := newMemFS("cpuset")
	m := NewManager(mem, "p")
	if err := m.Setup(false); err != nil {
		t.Fatal(err)
	}
	if err := m.CreateCgroup("a"); err != nil {
		t.Fatal(err)
	}
	mem.ops()
	steps := []struct {
		do   func() error
		want string
	}{
		{func() error { return m.SetCpuset("a", NewCPUSet(0, 1)) }, `write p/a/cpuset.cpus "0-1"`},
		{func() error { return m.SetCpuset("a", NewCPUSet(0, 1, 3, 5, 6, 7)) }, `write p/a/cpuset.cpus "0-1,3,5-7"`},
		{func() error { return m.ClearCpuset("a") }, `write p/a/cpuset.cpus "\n"`},
		{func() error { return m.SetCpusetMems("a", NewCPUSet(0)) }, `write p/a/cpuset.mems "0"`},
		{func() error { return m.ClearCpusetMems("a") }, `write p/a/cpuset.mems "\n"`},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Errorf("%s: %v", s.want, err)
		}
		if diff := cmp.Diff([]string{s.want}, writes(mem.ops())); diff != "" {
			t.Errorf("writes (-want +got):\n%s", diff)
		}
	}

	// An empty set is refused before any I/O: the kernel would ignore it.
	wantErrContains(t, m.SetCpuset("a", CPUSet{}), fs.ErrInvalid, "p/a/cpuset.cpus", "ClearCpuset")
	wantErrContains(t, m.SetCpusetMems("a", CPUSet{}), fs.ErrInvalid, "p/a/cpuset.mems", "ClearCpusetMems")
	if ops := mem.ops(); len(ops) != 0 {
		t.Errorf("an empty set did I/O: %q", ops)
	}

	// No cpuset in the parent's subtree_control: ENOENT, with the reason.
	mem2 := newMemFS()
	m2 := NewManager(mem2, ".")
	if err := m2.CreateCgroup("a"); err != nil {
		t.Fatal(err)
	}
	wantErrContains(t, m2.SetCpuset("a", NewCPUSet(0)), fs.ErrNotExist, `write "0" to a/cpuset.cpus`, "cpuset is not enabled")
	wantErrContains(t, m2.ClearCpuset("a"), fs.ErrNotExist, "clear a/cpuset.cpus")
}

func TestMoveTask(t *testing.T) {
	mem := newMemFS()
	m := NewManager(mem, ".")
	for _, n := range []string{"a", "b"} {
		if err := m.CreateCgroup(n); err != nil {
			t.Fatal(err)
		}
	}
	mem.place("a", fakePid(1))
	mem.ops()
	if err := m.MoveTask("b", fakePid(1)); err != nil {
		t.Fatalf("MoveTask: %v", err)
	}
	if diff := cmp.Diff([]string{`write b/cgroup.procs "5000001"`}, writes(mem.ops())); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
	if pids, err := m.Procs("b"); err != nil || !slices.Equal(pids, []int{fakePid(1)}) {
		t.Errorf("Procs(b) = %v, %v", pids, err)
	}
	mem.exit(fakePid(1))
	wantErrContains(t, m.MoveTask("a", fakePid(1)), unix.ESRCH, "move pid 5000001 into cgroup a", "process is gone")
}

func TestMoveTasks(t *testing.T) {
	mem := newMemFS("cpuset")
	m := NewManager(mem, ".")
	if err := m.CreateCgroup("a"); err != nil {
		t.Fatal(err)
	}
	mem.dead[fakePid(2)] = true

	// ESRCH is skipped, and the pids after it still move.
	if err := m.MoveTasks("a", []int{fakePid(1), fakePid(2), fakePid(3)}); err != nil {
		t.Fatalf("MoveTasks with a gone pid: %v", err)
	}
	if pids, _ := m.Procs("a"); !slices.Equal(pids, []int{fakePid(1), fakePid(3)}) {
		t.Errorf("Procs(a) = %v, want [%d %d]", pids, fakePid(1), fakePid(3))
	}

	// A transient EBUSY (a sched_ext scheduler refusing for a moment) is
	// retried.
	var busy atomic.Int32
	mem.fail = func(op, name string) error {
		if op == "write" && name == "a/cgroup.procs" && busy.Add(1) == 1 {
			return memErr(op, name, unix.EBUSY)
		}
		return nil
	}
	if err := m.MoveTasks("a", []int{fakePid(4)}); err != nil {
		t.Fatalf("MoveTasks with one EBUSY: %v", err)
	}
	if got := busy.Load(); got != 2 {
		t.Errorf("writes to cgroup.procs = %d, want 2 (one EBUSY, one retry)", got)
	}

	// Any other error stops at once, naming the pid; later pids are not tried.
	mem.fail = func(op, name string) error {
		if op == "write" && name == "a/cgroup.procs" {
			return memErr(op, name, unix.EACCES)
		}
		return nil
	}
	mem.ops()
	wantErrContains(t, m.MoveTasks("a", []int{fakePid(5), fakePid(6)}), unix.EACCES, "pid 5000005", "permission denied")
	if got := writes(mem.ops()); len(got) != 1 {
		t.Errorf("MoveTasks went on after EACCES: %q", got)
	}
	mem.fail = nil
}

func TestMoveTasksGivesUpOnPersistentEBUSY(t *testing.T) {
	mem := newMemFS("memory")
	m := NewManager(mem, ".")
	if err := m.CreateCgroup("a/b"); err != nil {
		t.Fatal(err)
	}
	// A domain controller enabled in a: no task may live there.
	for _, f := range []string{"cgroup.subtree_control", "a/cgroup.subtree_control"} {
		if err := mem.WriteFile(f, []byte("+memory")); err != nil {
			t.Fatal(err)
		}
	}
	mem.ops()
	err := m.MoveTasks("a", []int{fakePid(1)})
	wantErrContains(t, err, unix.EBUSY, "pid 5000001", "no-internal-process", "3 attempts")
	if got := writes(mem.ops()); len(got) != moveRetries {
		t.Errorf("writes = %q, want %d attempts", got, moveRetries)
	}
}

func TestClearSubtreeControl(t *testing.T) {
	mem := newMemFS("cpuset", "cpu")
	m := NewManager(mem, "p")
	if err := m.Setup(true); err != nil {
		t.Fatal(err)
	}
	if err := m.CreateCgroup("a"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"+cpuset", "+cpu"} {
		if err := mem.WriteFile("p/a/cgroup.subtree_control", []byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	mem.ops()
	if err := m.ClearSubtreeControl("a"); err != nil {
		t.Fatalf("ClearSubtreeControl(a): %v", err)
	}
	want := []string{`write p/a/cgroup.subtree_control "-cpu"`, `write p/a/cgroup.subtree_control "-cpuset"`}
	if diff := cmp.Diff(want, writes(mem.ops())); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
	// Now tasks may be moved into it.
	if err := m.MoveTask("a", fakePid(1)); err != nil {
		t.Errorf("MoveTask after ClearSubtreeControl: %v", err)
	}

	// A child enabling a controller itself keeps it: EBUSY, said plainly.
	if err := m.CreateCgroup("b/c"); err != nil {
		t.Fatal(err)
	}
	if err := mem.WriteFile("p/b/c/cgroup.subtree_control", []byte("+cpuset")); err != nil {
		t.Fatal(err)
	}
	wantErrContains(t, m.ClearSubtreeControl("b"), unix.EBUSY, `"-cpuset"`, "child cgroup still enables it")
}

func TestDrainTasks(t *testing.T) {
	mem := newMemFS()
	m := NewManager(mem, "p", DrainTo("keep"))
	for _, n := range []string{"keep", "p/a"} {
		if err := NewManager(mem, ".").CreateCgroup(n); err != nil {
			t.Fatal(err)
		}
	}
	mem.place("p/a", fakePid(1), fakePid(2))
	// A task forks while the first pid is being moved: the drain must
	// take the child too (ktstr read cgroup.procs once).
	var forked atomic.Bool
	mem.fail = func(op, name string) error {
		if op == "write" && name == "keep/cgroup.procs" && !forked.Swap(true) {
			mem.place("p/a", fakePid(3))
		}
		return nil
	}
	if err := m.DrainTasks("a"); err != nil {
		t.Fatalf("DrainTasks: %v", err)
	}
	if pids, _ := m.Procs("a"); len(pids) != 0 {
		t.Errorf("a still holds %v", pids)
	}
	kept, _ := mem.ReadFile("keep/cgroup.procs")
	if got, want := string(kept), "5000001\n5000002\n5000003\n"; got != want {
		t.Errorf("keep/cgroup.procs = %q, want %q", got, want)
	}
	mem.fail = nil

	// Draining a missing cgroup is nothing to do.
	if err := m.DrainTasks("gone"); err != nil {
		t.Errorf("DrainTasks(gone): %v", err)
	}
}

func TestDrainTasksWaitsForExitingTasks(t *testing.T) {
	mem := newMemFS()
	m := NewManager(mem, ".")
	if err := m.CreateCgroup("a"); err != nil {
		t.Fatal(err)
	}
	// Listed but exiting: every move answers ESRCH until it is gone.
	mem.place("a", fakePid(1))
	mem.dead[fakePid(1)] = true
	mem.exitAfter(fakePid(1), 5*time.Millisecond)
	if err := m.DrainTasks("a"); err != nil {
		t.Fatalf("DrainTasks with an exiting task: %v", err)
	}
}

func TestDrainTasksErrors(t *testing.T) {
	mem := newMemFS()
	for _, n := range []string{"p/a/b", "p/c"} {
		if err := NewManager(mem, ".").CreateCgroup(n); err != nil {
			t.Fatal(err)
		}
	}
	// The DrainTo cgroup inside the drained one would never empty.
	m := NewManager(mem, "p", DrainTo("p/a/b"))
	mem.ops()
	wantErrContains(t, m.DrainTasks("a"), fs.ErrInvalid, "DrainTo cgroup p/a/b is inside")
	wantErrContains(t, m.DrainTasks("a/b"), fs.ErrInvalid, "DrainTo cgroup p/a/b is inside")
	if ops := mem.ops(); len(ops) != 0 {
		t.Errorf("a refused drain did I/O: %q", ops)
	}

	// A move refused (a delegated subtree draining to the root): the
	// error says to use DrainTo.
	m = NewManager(mem, "p")
	mem.place("p/c", fakePid(1))
	mem.fail = func(op, name string) error {
		if op == "write" && name == "cgroup.procs" {
			return memErr(op, name, unix.EACCES)
		}
		return nil
	}
	wantErrContains(t, m.DrainTasks("c"), unix.EACCES, "drain cgroup p/c to .", "DrainTo")

	// A fork bomb: every move makes a new task. Bounded, and named.
	next := atomic.Int32{}
	mem.fail = func(op, name string) error {
		if op == "write" && name == "cgroup.procs" {
			mem.place("p/c", fakePid(100+int(next.Add(1))))
		}
		return nil
	}
	wantErrContains(t, m.DrainTasks("c"), nil, "still lists pids", "rounds", "KillTasks")
	mem.fail = nil
}

func TestRemoveCgroup(t *testing.T) {
	mem := newMemFS()
	m := NewManager(mem, "p")
	if err := m.Setup(false); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"empty", "busy", "tree/leaf"} {
		if err := m.CreateCgroup(n); err != nil {
			t.Fatal(err)
		}
	}
	mem.ops()

	// An empty cgroup costs one rmdir, nothing else.
	if err := m.RemoveCgroup("empty"); err != nil {
		t.Fatalf("RemoveCgroup(empty): %v", err)
	}
	if diff := cmp.Diff([]string{"rmdir p/empty"}, mem.ops()); diff != "" {
		t.Errorf("ops (-want +got):\n%s", diff)
	}
	// Missing is fine.
	if err := m.RemoveCgroup("empty"); err != nil {
		t.Errorf("RemoveCgroup of a missing cgroup: %v", err)
	}

	// Child cgroups: EBUSY named as such (ktstr blamed tasks), nothing removed.
	err := m.RemoveCgroup("tree")
	wantErrContains(t, err, unix.EBUSY, "remove cgroup p/tree", "child cgroup", "leaf")
	if ok, _ := m.Exists("tree/leaf"); !ok {
		t.Errorf("RemoveCgroup(tree) removed the child")
	}

	// Tasks: drained to the FS root, then removed.
	mem.place("p/busy", fakePid(1), fakePid(2))
	if err := m.RemoveCgroup("busy"); err != nil {
		t.Fatalf("RemoveCgroup(busy): %v", err)
	}
	if ok, _ := m.Exists("busy"); ok {
		t.Errorf("busy still exists")
	}
	if root, _ := mem.ReadFile("cgroup.procs"); string(root) != "5000001\n5000002\n" {
		t.Errorf("root cgroup.procs = %q, want both drained pids", root)
	}

	// Another errno: said, with its hint, no drain attempted.
	mem.fail = func(op, name string) error {
		if op == "rmdir" {
			return memErr(op, name, unix.EROFS)
		}
		return nil
	}
	wantErrContains(t, m.RemoveCgroup("tree/leaf"), unix.EROFS, "remove cgroup p/tree/leaf", "read-only")
	mem.fail = nil
}

func TestRemoveCgroupRetriesEBUSYAfterEmptying(t *testing.T) {
	mem := newMemFS()
	m := NewManager(mem, ".")
	if err := m.CreateCgroup("a"); err != nil {
		t.Fatal(err)
	}
	// The kernel can say EBUSY a moment after populated went 0
	// (grandchildren still exiting): two more EBUSY, then it works.
	var rmdirs atomic.Int32
	mem.fail = func(op, name string) error {
		if op == "rmdir" && rmdirs.Add(1) <= 3 {
			return memErr(op, name, unix.EBUSY)
		}
		return nil
	}
	if err := m.RemoveCgroup("a"); err != nil {
		t.Fatalf("RemoveCgroup: %v", err)
	}
	if got := rmdirs.Load(); got != 4 {
		t.Errorf("rmdir attempts = %d, want 4", got)
	}
}

func TestCleanupAll(t *testing.T) {
	mem := newMemFS()
	m := NewManager(mem, "p")
	for _, n := range []string{"a/b", "a/c/d", "e"} {
		if err := m.CreateCgroup(n); err != nil {
			t.Fatal(err)
		}
	}
	mem.place("p/a/c/d", fakePid(1))
	mem.ops()
	if err := m.CleanupAll(); err != nil {
		t.Fatalf("CleanupAll: %v", err)
	}
	if diff := cmp.Diff([]string{".", "p"}, mem.paths()); diff != "" {
		t.Errorf("cgroups left (-want +got):\n%s", diff)
	}
	// Deepest first: every child is removed before its parent.
	var removed []string
	for _, e := range mem.ops() {
		if p, ok := strings.CutPrefix(e, "rmdir "); ok && !slices.Contains(removed, p) {
			removed = append(removed, p)
		}
	}
	for i, p := range removed {
		for _, later := range removed[i+1:] {
			if isBeneath(later, p) {
				t.Errorf("removed %s before its descendant %s: %q", p, later, removed)
			}
		}
	}
	// A missing parent is nothing to clean.
	if err := NewManager(mem, "nope").CleanupAll(); err != nil {
		t.Errorf("CleanupAll of a missing parent: %v", err)
	}
}

func TestCleanupAllGoesOnPastFailures(t *testing.T) {
	mem := newMemFS()
	m := NewManager(mem, "p")
	for _, n := range []string{"a/b", "a/c", "z"} {
		if err := m.CreateCgroup(n); err != nil {
			t.Fatal(err)
		}
	}
	mem.fail = func(op, name string) error {
		if op == "rmdir" && name == "p/a/b" {
			return memErr(op, name, unix.EACCES)
		}
		return nil
	}
	err := m.CleanupAll()
	wantErrContains(t, err, unix.EACCES, "p/a/b")
	// a/c and z are gone; a stays (its child does), and no rmdir of it was
	// tried only to say EBUSY.
	if diff := cmp.Diff([]string{".", "p", "p/a", "p/a/b"}, mem.paths()); diff != "" {
		t.Errorf("cgroups left (-want +got):\n%s", diff)
	}
	if slices.Contains(mem.ops(), "rmdir p/a") {
		t.Errorf("CleanupAll tried to remove p/a with a child left")
	}
	mem.fail = nil
}

func TestKillTasks(t *testing.T) {
	mem := newMemFS()
	m := NewManager(mem, ".")
	for _, n := range []string{"a/b", "other"} {
		if err := m.CreateCgroup(n); err != nil {
			t.Fatal(err)
		}
	}
	mem.place("a", fakePid(1))
	mem.place("a/b", fakePid(2))
	mem.place("other", fakePid(3))
	mem.ops()
	if err := m.KillTasks("a"); err != nil {
		t.Fatalf("KillTasks: %v", err)
	}
	if diff := cmp.Diff([]string{`write a/cgroup.kill "1"`}, writes(mem.ops())); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
	if err := m.WaitEmpty(context.Background(), "a"); err != nil {
		t.Errorf("WaitEmpty after KillTasks: %v", err)
	}
	if pids, _ := m.Procs("other"); len(pids) != 1 {
		t.Errorf("KillTasks(a) reached the sibling: other holds %v", pids)
	}
	if err := m.KillTasks("missing"); err != nil {
		t.Errorf("KillTasks of a missing cgroup: %v", err)
	}
}

func TestKillTasksRefusesWhenTheCallerIsInside(t *testing.T) {
	mem := newMemFS()
	m := NewManager(mem, ".")
	if err := m.CreateCgroup("a/b/c"); err != nil {
		t.Fatal(err)
	}
	self := os.Getpid() // only a number in memFS: nothing really moves
	mem.place("a/b/c", self)
	mem.ops()
	for _, name := range []string{"a", "a/b/c"} {
		err := m.KillTasks(name)
		wantErrContains(t, err, ErrCallerInside, "refuse", "this process", "a/b/c")
	}
	if got := writes(mem.ops()); len(got) != 0 {
		t.Errorf("KillTasks wrote although it refused: %q", got)
	}
	if pids, _ := m.Procs("a/b/c"); !slices.Equal(pids, []int{self}) {
		t.Errorf("a/b/c holds %v, want [%d]", pids, self)
	}
}

func TestKillTasksWithoutCgroupKill(t *testing.T) {
	mem := newMemFS()
	mem.noKill = true
	mem.livePids = true
	m := NewManager(mem, ".")
	if err := m.CreateCgroup("a/b"); err != nil {
		t.Fatal(err)
	}
	// memFS pids are numbers; the fallback signals them for real, so
	// they must be this test's own children.
	var kids []*child
	for _, cg := range []string{"a", "a/b"} {
		c := startChild(t, nil, "", 0)
		mem.place(cg, c.cmd.Process.Pid)
		kids = append(kids, c)
	}
	if err := m.KillTasks("a"); err != nil {
		t.Fatalf("KillTasks without cgroup.kill: %v", err)
	}
	for _, c := range kids {
		if err := c.wait(t); !killedBySIGKILL(err) {
			t.Errorf("child ended with %v, want killed by SIGKILL", err)
		}
	}
}

func TestWaitEmpty(t *testing.T) {
	mem := newMemFS()
	m := NewManager(mem, ".")
	if err := m.CreateCgroup("a/b"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// Empty: no waiting. The watch comes before the read, so a change
	// between them cannot be missed.
	mem.ops()
	if err := m.WaitEmpty(ctx, "a"); err != nil {
		t.Fatalf("WaitEmpty of an empty cgroup: %v", err)
	}
	if diff := cmp.Diff([]string{"watch a/cgroup.events", "read a/cgroup.events"}, mem.ops()); diff != "" {
		t.Errorf("ops (-want +got):\n%s", diff)
	}

	// A task below exits a moment later.
	mem.place("a/b", fakePid(1))
	mem.exitAfter(fakePid(1), 5*time.Millisecond)
	if err := m.WaitEmpty(ctx, "a"); err != nil {
		t.Fatalf("WaitEmpty while a task exits: %v", err)
	}

	// The cgroup is removed while waited on: empty.
	mem.place("a/b", fakePid(2))
	time.AfterFunc(5*time.Millisecond, func() {
		mem.exit(fakePid(2))
		mem.Rmdir("a/b")
	})
	if err := m.WaitEmpty(ctx, "a/b"); err != nil {
		t.Fatalf("WaitEmpty of a cgroup being removed: %v", err)
	}
	if err := m.WaitEmpty(ctx, "missing"); err != nil {
		t.Errorf("WaitEmpty of a missing cgroup: %v", err)
	}
}

func TestWaitEmptyTimeoutSaysWhatItSaw(t *testing.T) {
	mem := newMemFS()
	m := NewManager(mem, ".")
	if err := m.CreateCgroup("a"); err != nil {
		t.Fatal(err)
	}
	mem.place("a", fakePid(7))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := m.WaitEmpty(ctx, "a")
	wantErrContains(t, err, context.Canceled, `populated 1`, "a/cgroup.events", "5000007", "KillTasks")

	mem.fail = func(op, name string) error {
		if op == "watch" {
			return memErr(op, name, unix.ENOSPC)
		}
		return nil
	}
	wantErrContains(t, m.WaitEmpty(context.Background(), "a"), unix.ENOSPC, "watch a/cgroup.events")
	mem.fail = nil
}

func TestParsePopulated(t *testing.T) {
	for in, want := range map[string]bool{
		"populated 0\nfrozen 0\n": false,
		"populated 1\nfrozen 0\n": true,
		"frozen 1\npopulated 1\n": true,
	} {
		if got, err := parsePopulated("f", []byte(in)); err != nil || got != want {
			t.Errorf("parsePopulated(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "frozen 0\n", "populated yes\n", "0-1\n"} {
		if _, err := parsePopulated("f", []byte(in)); err == nil {
			t.Errorf("parsePopulated(%q) gave no error", in)
		}
	}
}

func TestProcsAndChildren(t *testing.T) {
	mem := newMemFS()
	m := NewManager(mem, "p")
	for _, n := range []string{"a/z", "a/b", "a/b/c"} {
		if err := m.CreateCgroup(n); err != nil {
			t.Fatal(err)
		}
	}
	kids, err := m.Children("a")
	if diff := cmp.Diff([]string{"a/b", "a/z"}, kids); diff != "" || err != nil {
		t.Errorf("Children(a) = %v (err %v); diff (-want +got):\n%s", kids, err, diff)
	}
	wantErrContains(t, func() error { _, err := m.Children("nope"); return err }(), fs.ErrNotExist, "p/nope")
	// Join order, as the kernel lists.
	mem.place("p/a", fakePid(9), fakePid(3))
	if pids, err := m.Procs("a"); err != nil || !slices.Equal(pids, []int{fakePid(9), fakePid(3)}) {
		t.Errorf("Procs(a) = %v, %v", pids, err)
	}
	if _, err := parsePids("x/cgroup.procs", []byte("12\nabc\n")); err == nil || !strings.Contains(err.Error(), `"abc"`) {
		t.Errorf("parsePids of garbage: %v", err)
	}
	if ok, err := m.Exists("a/cgroup.procs"); ok || err != nil {
		t.Errorf("Exists of an interface file = %v, %v; want false, nil", ok, err)
	}
}

// The plain-directory tests stand a temporary directory in for cgroupfs,
// as ktstr's tmpdir tests do: the Manager's paths and writes, nothing of
// the kernel's rules.

func plainManager(t *testing.T, parent string, opts ...ManagerOption) (*Manager, string) {
	t.Helper()
	dir := t.TempDir()
	fsys, err := Open(dir, PlainDirectory())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fsys.Close() })
	return NewManager(fsys, parent, opts...), dir
}

// tree lists every path beneath dir with its kind and contents.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.IsDir():
			out = append(out, rel+"/")
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out = append(out, rel+" -> "+target)
		default:
			data, _ := os.ReadFile(p)
			out = append(out, rel+" = "+string(data))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestManagerOnAPlainDirectory(t *testing.T) {
	m, dir := plainManager(t, "ktstr")
	if got, want := m.ParentPath(), filepath.Join(dir, "ktstr"); got != want {
		t.Errorf("ParentPath() = %q, want %q", got, want)
	}
	if err := m.Setup(true); err != nil {
		t.Fatalf("Setup on a plain directory: %v", err)
	}
	for range 2 { // idempotent
		for _, n := range []string{"a/b/c", "a/d", "x"} {
			if err := m.CreateCgroup(n); err != nil {
				t.Fatalf("CreateCgroup(%q): %v", n, err)
			}
		}
	}
	if err := m.SetCpuset("x", NewCPUSet(0, 1)); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "ktstr/x/cpuset.cpus")); string(data) != "0-1" {
		t.Errorf("cpuset.cpus = %q, want %q", data, "0-1")
	}
	if err := m.ClearCpuset("x"); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "ktstr/x/cpuset.cpus")); string(data) != "\n" {
		t.Errorf("cleared cpuset.cpus = %q, want %q", data, "\n")
	}
	if err := m.SetCpusetMems("x", NewCPUSet(0)); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"./", "ktstr/", "ktstr/a/", "ktstr/a/b/", "ktstr/a/b/c/", "ktstr/a/d/",
		"ktstr/x/", "ktstr/x/cpuset.cpus = \n", "ktstr/x/cpuset.mems = 0",
	}
	if diff := cmp.Diff(want, tree(t, dir)); diff != "" {
		t.Errorf("tree (-want +got):\n%s", diff)
	}
	kids, err := m.Children("a")
	if diff := cmp.Diff([]string{"a/b", "a/d"}, kids); diff != "" || err != nil {
		t.Errorf("Children(a): %v; diff (-want +got):\n%s", err, diff)
	}
	for name, want := range map[string]bool{"a/b/c": true, "a/b/nope": false, "x/cpuset.cpus": false} {
		if got, err := m.Exists(name); got != want || err != nil {
			t.Errorf("Exists(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
}

func TestCleanupAllOnAPlainDirectory(t *testing.T) {
	m, dir := plainManager(t, "ktstr")
	for _, n := range []string{"a/b/c", "a/d", "x"} {
		if err := m.CreateCgroup(n); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.SetCpuset("x", NewCPUSet(0)); err != nil {
		t.Fatal(err)
	}
	// Files in the parent, and a symlink to a directory outside: kept,
	// and nothing is followed.
	outside := t.TempDir()
	if err := os.Mkdir(filepath.Join(outside, "victim"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ktstr/notes"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "ktstr/link")); err != nil {
		t.Fatal(err)
	}
	err := m.CleanupAll()
	// x holds a plain file, which rmdir cannot remove from a plain
	// directory; the rest goes, and the error says why x stays.
	wantErrContains(t, err, unix.ENOTEMPTY, "remove cgroup ktstr/x", "plain directory")
	want := []string{"./", "ktstr/", "ktstr/link -> " + outside, "ktstr/notes = keep", "ktstr/x/", "ktstr/x/cpuset.cpus = 0"}
	if diff := cmp.Diff(want, tree(t, dir)); diff != "" {
		t.Errorf("tree after CleanupAll (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(outside, "victim")); err != nil {
		t.Errorf("CleanupAll reached outside through the symlink: %v", err)
	}
}

func TestCleanupAllRefusesTheHierarchyRoot(t *testing.T) {
	mem := newMemFS("cpuset")
	if err := mem.Mkdir("system.slice"); err != nil {
		t.Fatal(err)
	}
	mem.ops()
	err := NewManager(mem, ".").CleanupAll()
	wantErrContains(t, err, fs.ErrInvalid, "refuse", "root of the cgroup2 hierarchy")
	for _, op := range mem.ops() {
		if !strings.HasPrefix(op, "read ") {
			t.Errorf("the refused CleanupAll did %s", op)
		}
	}
	if !slices.Contains(mem.paths(), "system.slice") {
		t.Errorf("the refused CleanupAll removed system.slice")
	}
	// A cgroup of one's own as the FS root ("." has cgroup.events) is fine.
	if err := NewManager(mem, "system.slice").CleanupAll(); err != nil {
		t.Errorf("CleanupAll beneath a cgroup: %v", err)
	}
}
