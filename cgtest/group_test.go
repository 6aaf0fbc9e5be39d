package cgtest_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/fakefs"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

var cpus01 = cgroupfs.NewCPUSet(0, 1)

// The ktstr row "on drop, remove in reverse insertion order": three
// siblings go in the reverse order they came, and nothing is reported.
func TestTeardownRemovesEverythingInReverseOrder(t *testing.T) {
	f := newFixture(t)
	rec := newRecorder(t.Name())
	g := cgtest.NewGroup(rec, f.mgr)
	for _, n := range []string{"cg_0", "cg_1", "cg_2"} {
		assert.NilError(t, g.AddCgroup(n, cpus01), "AddCgroup(%q)", n)
	}
	if got, err := f.fs.ReadFile("test/cg_1/cpuset.cpus"); err != nil || string(got) != "0-1\n" {
		t.Errorf("cpuset.cpus of cg_1 = %q, %v; want \"0-1\\n\"", got, err)
	}
	assert.Check(t, is.DeepEqual(g.Names(), []string{"cg_0", "cg_1", "cg_2"}), "Names")
	rec.Finish()
	assert.Check(t, is.DeepEqual(f.cgroups(), []string{"test"}), "cgroups after teardown")
	want := []string{"rmdir test/cg_2: ok", "rmdir test/cg_1: ok", "rmdir test/cg_0: ok"}
	assert.Check(t, is.DeepEqual(f.ops(fakefs.OpRmdir), want), "rmdir log")
	if logs := rec.Logs(); len(logs) != 0 {
		t.Errorf("teardown logged warnings, want none:\n%s", strings.Join(logs, "\n"))
	}
}

// ktstr leaks the implicit parents of a nested name and removes a
// parent added after its child first (EBUSY). Here both are removed,
// deepest first, and a level that existed before stays.
func TestNestedNamesTrackImplicitParentsDeepestFirst(t *testing.T) {
	f := newFixture(t)
	assert.NilError(t, f.fs.Mkdir("test/keep"))
	rec := newRecorder(t.Name())
	g := cgtest.NewGroup(rec, f.mgr)
	// The child first, then its parent's own name.
	for _, n := range []string{"a/b/c", "a", "keep/x"} {
		assert.NilError(t, g.AddCgroupNoCpuset(n), "AddCgroupNoCpuset(%q)", n)
	}
	rec.Finish()
	assert.Check(t, is.DeepEqual(f.cgroups(), []string{"test", "test/keep"}), "cgroups after teardown")
	mustNotContain(t, "rmdir log", f.ops(fakefs.OpRmdir), "EBUSY")
	if logs := rec.Logs(); len(logs) != 0 {
		t.Errorf("teardown logged warnings, want none:\n%s", strings.Join(logs, "\n"))
	}
}

// A nil Manager, untyped or typed, fails the test at NewGroup's call
// with a message saying what to pass, and the group it returns to a T
// whose Fatalf returns refuses work instead of crashing later in a
// cleanup.
func TestNewGroupWithNilManagerFailsAtTheCall(t *testing.T) {
	var typedNil *cgroupfs.Manager
	rec := newRecorder(t.Name())
	g := cgtest.NewGroup(rec, typedNil)
	errs := rec.Errors()
	assert.Assert(t, is.Len(errs, 1))
	assert.Assert(t, is.Contains(errs[0], "the Manager is nil"))
	assert.ErrorContains(t, g.AddCgroupNoCpuset("a"), "Manager is nil")
	rec.Finish()
}

func TestNamesListsCreatedLevelsInOrder(t *testing.T) {
	f := newFixture(t)
	assert.NilError(t, f.fs.Mkdir("test/keep"))
	rec := newRecorder(t.Name())
	defer rec.Finish()
	g := cgtest.NewGroup(rec, f.mgr)
	for _, n := range []string{"a/b", "keep/x", "a", "c"} {
		assert.NilError(t, g.AddCgroupNoCpuset(n), "AddCgroupNoCpuset(%q)", n)
	}
	assert.Check(t, is.DeepEqual(g.Names(), []string{"a", "a/b", "keep/x", "c"}), "Names")
}

// ktstr's add_cgroup records the name only after the cpuset write
// succeeded; a failing write leaked the cgroup.
func TestFailedCpusetWriteStillRemovesTheCgroup(t *testing.T) {
	f := newFixture(t)
	rec := newRecorder(t.Name())
	g := cgtest.NewGroup(rec, f.mgr)
	// CPU 9 is beyond the fake machine's 0-3: the kernel says ERANGE.
	err := g.AddCgroup("a/b", cgroupfs.NewCPUSet(9))
	assert.Assert(t, is.ErrorContains(err, "stays tracked"), "AddCgroup with CPU 9")
	assert.Check(t, is.DeepEqual(g.Names(), []string{"a", "a/b"}), "Names")
	rec.Finish()
	assert.Check(t, is.DeepEqual(f.cgroups(), []string{"test"}), "cgroups after teardown")
}

// A cgroup the test removed itself is gone: the post-condition holds, so
// teardown says nothing (the ktstr ENOENT row).
func TestAlreadyRemovedIsSilent(t *testing.T) {
	f := newFixture(t)
	rec := newRecorder(t.Name())
	g := cgtest.NewGroup(rec, f.mgr, cgtest.Strict())
	assert.NilError(t, g.AddCgroupNoCpuset("a/b"))
	for _, n := range []string{"a/b", "a"} {
		assert.NilError(t, f.mgr.RemoveCgroup(n), "RemoveCgroup(%q)", n)
	}
	rec.Finish()
	if got := append(rec.Logs(), rec.Errors()...); len(got) != 0 {
		t.Errorf("teardown reported, want silence:\n%s", strings.Join(got, "\n"))
	}
}

// Cgroups that something else made beneath a tracked one (a scheduler,
// a workload) go with it.
func TestUntrackedChildrenAreRemovedToo(t *testing.T) {
	f := newFixture(t)
	rec := newRecorder(t.Name())
	g := cgtest.NewGroup(rec, f.mgr)
	assert.NilError(t, g.AddCgroupNoCpuset("a"))
	for _, d := range []string{"test/a/x", "test/a/x/y", "test/a/z"} {
		assert.NilError(t, f.fs.Mkdir(d))
	}
	rec.Finish()
	assert.Check(t, is.DeepEqual(f.cgroups(), []string{"test"}), "cgroups after teardown")
	// Teardown tries the rmdir of an empty cgroup first, which the
	// children make fail once; after that, children go first.
	rmdirs := f.ops(fakefs.OpRmdir)
	if len(rmdirs) == 0 || rmdirs[0] != "rmdir test/a: EBUSY" {
		t.Errorf("rmdir log starts %q, want a first try of test/a refused with EBUSY", rmdirs)
	} else {
		mustNotContain(t, "rmdir log after the first try", rmdirs[1:], "EBUSY")
	}
}

// Tasks left in a cgroup (and beneath it) are killed by default, and
// teardown waits for the last one to be gone instead of failing EBUSY.
func TestLiveTasksAreKilledAndAwaited(t *testing.T) {
	f := newFixture(t)
	rec := newRecorder(t.Name())
	g := cgtest.NewGroup(rec, f.mgr, cgtest.Strict())
	assert.NilError(t, g.AddCgroupNoCpuset("a/b"))
	assert.NilError(t, g.AddCgroupNoCpuset("a/c"))
	var pids []int
	for _, n := range []string{"test/a/b", "test/a/c", "test/a/c"} {
		pid, err := f.fs.Spawn(n)
		assert.NilError(t, err)
		// Each keeps its cgroup populated for a few observations after
		// it dies, like a task still exiting.
		assert.NilError(t, f.fs.SetLinger(pid, 1))
		pids = append(pids, pid)
	}
	rec.Finish()
	if got := append(rec.Logs(), rec.Errors()...); len(got) != 0 {
		t.Errorf("teardown reported, want silence:\n%s", strings.Join(got, "\n"))
	}
	assert.Check(t, is.DeepEqual(f.cgroups(), []string{"test"}), "cgroups after teardown")
	if !slices.ContainsFunc(f.ops(fakefs.OpWrite), func(l string) bool { return strings.HasPrefix(l, `write test/a/c/cgroup.kill "1"`) }) {
		t.Errorf("teardown did not write cgroup.kill of test/a/c; writes:\n%s", strings.Join(f.ops(fakefs.OpWrite), "\n"))
	}
	for _, pid := range pids {
		if err := f.fs.Kill(pid); err == nil {
			t.Errorf("fake task %d still alive after teardown", pid)
		}
	}
}

// The Drain policy moves the tasks out and keeps them alive.
func TestDrainPolicyMovesTasksOut(t *testing.T) {
	f := newFixture(t, cgroupfs.DrainTo("parking"))
	assert.NilError(t, f.fs.Mkdir("parking"))
	rec := newRecorder(t.Name())
	g := cgtest.NewGroup(rec, f.mgr, cgtest.WithPolicy(cgtest.Drain), cgtest.Strict())
	assert.NilError(t, g.AddCgroupNoCpuset("a/b"))
	pid, err := f.fs.Spawn("test/a/b")
	assert.NilError(t, err)
	rec.Finish()
	if got := append(rec.Logs(), rec.Errors()...); len(got) != 0 {
		t.Errorf("teardown reported, want silence:\n%s", strings.Join(got, "\n"))
	}
	assert.Check(t, is.DeepEqual(f.fs.Pids("parking"), []int{pid}), "tasks in parking")
	assert.Check(t, is.DeepEqual(f.cgroups(), []string{"parking", "test"}), "cgroups after teardown")
}

// EBUSY for a moment (a scheduler refusing, tasks exiting) is retried.
func TestTransientEBUSYIsRetried(t *testing.T) {
	f := newFixture(t)
	rec := newRecorder(t.Name())
	g := cgtest.NewGroup(rec, f.mgr, cgtest.Strict())
	assert.NilError(t, g.AddCgroupNoCpuset("a"))
	f.fs.Fail(fakefs.OpRmdir, "test/a", errnoEBUSY, 3)
	rec.Finish()
	if got := append(rec.Logs(), rec.Errors()...); len(got) != 0 {
		t.Errorf("teardown reported, want silence:\n%s", strings.Join(got, "\n"))
	}
	assert.Check(t, is.DeepEqual(f.cgroups(), []string{"test"}), "cgroups after teardown")
}

func TestBadNamesFailBeforeAnyIO(t *testing.T) {
	f := newFixture(t)
	rec := newRecorder(t.Name())
	defer rec.Finish()
	g := cgtest.NewGroup(rec, f.mgr)
	before := len(f.fs.Log())
	for _, name := range []string{"", "/abs", "a/", "a//b", "./a", "a/..", "../escape", "a/../../b", "nul\x00", "new\nline", "cgroup.procs", "a/cgroup.kill", "memory.max", "a/cpu.weight", strings.Repeat("x", 4096)} {
		if err := g.AddCgroupNoCpuset(name); !errors.Is(err, cgroupfs.ErrInvalidName) || !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("AddCgroupNoCpuset(%q) = %v, want an error wrapping ErrInvalidName", name, err)
		}
		assert.Check(t, is.ErrorIs(g.AddCgroup(name, cpus01), cgroupfs.ErrInvalidName), "AddCgroup(%q)", name)
		assert.Check(t, is.ErrorIs(g.Apply(cgtest.Layout{{Name: "fine"}, {Name: name}}), cgroupfs.ErrInvalidName), "Apply with %q", name)
	}
	assert.Check(t, is.ErrorIs(g.AddCgroup("a", cgroupfs.CPUSet{}), fs.ErrInvalid), "AddCgroup with an empty cpu set")
	assert.Check(t, is.Len(f.fs.Log()[before:], 0), "bad names reached the filesystem")
	assert.Check(t, is.Len(g.Names(), 0), "Names = %q, want none", g.Names())
}

func TestAddingTwiceAndPreexisting(t *testing.T) {
	f := newFixture(t)
	assert.NilError(t, f.fs.Mkdir("test/stale"))
	rec := newRecorder(t.Name())
	g := cgtest.NewGroup(rec, f.mgr)
	assert.NilError(t, g.AddCgroup("a", cpus01))
	assert.NilError(t, g.AddCgroup("a", cgroupfs.NewCPUSet(2)), "adding a again")
	if got, _ := f.fs.ReadFile("test/a/cpuset.cpus"); string(got) != "2\n" {
		t.Errorf("cpuset.cpus after adding again = %q, want \"2\\n\"", got)
	}
	assert.Check(t, is.ErrorIs(g.AddCgroupNoCpuset("stale"), fs.ErrExist), "adding a pre-existing cgroup")
	assert.Check(t, is.DeepEqual(g.Names(), []string{"a"}), "Names")
	rec.Finish()
	assert.Check(t, is.DeepEqual(f.cgroups(), []string{"test", "test/stale"}), "cgroups after teardown")
	if n := len(f.ops(fakefs.OpRmdir)); n != 1 {
		t.Errorf("%d rmdirs, want 1: %q", n, f.ops(fakefs.OpRmdir))
	}
}

func TestCallsAfterTheTestEnded(t *testing.T) {
	f := newFixture(t)
	rec := newRecorder(t.Name())
	g := cgtest.NewGroup(rec, f.mgr)
	rec.Finish()
	before := len(f.fs.Log())
	assert.Check(t, is.ErrorIs(g.AddCgroupNoCpuset("late"), cgtest.ErrTestEnded), "AddCgroupNoCpuset after the end")
	assert.Check(t, is.ErrorIs(g.Kill("late"), cgtest.ErrTestEnded), "Kill after the end")
	assert.Check(t, is.Len(f.fs.Log()[before:], 0), "calls after the end reached the filesystem")
}

func TestMissingParentSaysSetup(t *testing.T) {
	fsys := fakefs.New()
	rec := newRecorder(t.Name())
	defer rec.Finish()
	g := cgtest.NewGroup(rec, cgroupfs.NewManager(fsys, "nowhere"))
	err := g.AddCgroupNoCpuset("a")
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "Setup") {
		t.Errorf("AddCgroupNoCpuset under a missing parent = %v, want ENOENT and a word about Setup", err)
	}
}

// Many goroutines add to one group at once, some the same names.
func TestConcurrentAdds(t *testing.T) {
	f := newFixture(t)
	rec := newRecorder(t.Name())
	g := cgtest.NewGroup(rec, f.mgr, cgtest.Strict())
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 5 {
				assert.Check(t, g.AddCgroupNoCpuset(fmt.Sprintf("shared/%d", j)), "goroutine %d", i)
				assert.Check(t, g.AddCgroup(fmt.Sprintf("own%d/%d", i, j), cpus01), "goroutine %d", i)
			}
		})
	}
	wg.Wait()
	if n := len(g.Names()); n != 1+5+8*(1+5) {
		t.Errorf("%d names, want %d: %q", n, 1+5+8*6, g.Names())
	}
	rec.Finish()
	assert.Check(t, is.DeepEqual(f.cgroups(), []string{"test"}), "cgroups after teardown")
	if got := append(rec.Logs(), rec.Errors()...); len(got) != 0 {
		t.Errorf("teardown reported, want silence:\n%s", strings.Join(got, "\n"))
	}
}

// TEST_NOCLEANUP=true keeps everything and says where.
func TestNoCleanupKeepsAndSaysWhere(t *testing.T) {
	t.Setenv("TEST_NOCLEANUP", "true")
	f := newFixture(t)
	rec := newRecorder(t.Name())
	g := cgtest.NewGroup(rec, f.mgr)
	assert.NilError(t, g.AddCgroupNoCpuset("a/b"))
	rec.Finish()
	assert.Check(t, is.DeepEqual(f.cgroups(), []string{"test", "test/a", "test/a/b"}), "cgroups after teardown")
	want := []string{
		"cgtest: TEST_NOCLEANUP=true: keeping cgroup /test/a/b",
		"cgtest: TEST_NOCLEANUP=true: keeping cgroup /test/a",
	}
	assert.Check(t, is.DeepEqual(rec.Logs(), want), "logs")
}

// Kill empties a cgroup mid-test; Start then refuses it, and refuses
// fakefs cgroups altogether, before any process is made.
func TestKillAndStartRefusals(t *testing.T) {
	f := newFixture(t)
	rec := newRecorder(t.Name())
	defer rec.Finish()
	g := cgtest.NewGroup(rec, f.mgr, cgtest.Strict())
	assert.NilError(t, g.AddCgroupNoCpuset("a/b"))
	pid, err := f.fs.Spawn("test/a/b")
	assert.NilError(t, err)
	assert.NilError(t, g.Kill("a"), "Kill")
	if got := f.fs.Pids("test/a/b"); len(got) != 0 {
		t.Errorf("pids in a/b after Kill = %v, want none (pid %d killed)", got, pid)
	}
	for _, n := range []string{"a", "a/b"} {
		assert.Check(t, is.ErrorIs(g.Start(n, exec.Command("true")), cgtest.ErrKilledCgroup), "Start(%q) after Kill", n)
	}
	assert.NilError(t, g.AddCgroupNoCpuset("a/c"))
	if err := g.Start("a/c", exec.Command("true")); err == nil || !strings.Contains(err.Error(), "no cgroupfs.DirOpener") {
		t.Errorf("Start into a fakefs cgroup = %v, want an error saying it cannot hold real processes", err)
	}
	if err := g.Start("never/added", exec.Command("true")); err == nil || errors.Is(err, cgtest.ErrKilledCgroup) {
		t.Errorf("Start into a cgroup the group did not create = %v, want an error", err)
	}
	assert.Check(t, is.ErrorIs(g.Start("../x", exec.Command("true")), cgroupfs.ErrInvalidName), "Start with a bad name")
	if err := g.Kill("never/added"); err == nil {
		t.Error("Kill of a cgroup the group did not create succeeded")
	}
}

// Once one cgroup used up the budget, the others still get one quick
// attempt each: a teardown never stops early.
func TestBudgetUsedUpStillTriesTheRest(t *testing.T) {
	f := newFixture(t)
	rec := newRecorder(t.Name())
	g := cgtest.NewGroup(rec, f.mgr, cgtest.Budget(20*time.Millisecond))
	for _, n := range []string{"later", "stuck"} {
		assert.NilError(t, g.AddCgroupNoCpuset(n))
	}
	release := f.fs.Hang(fakefs.OpRmdir, "test/stuck")
	defer release()
	rec.Finish()
	for _, c := range f.cgroups() {
		if c == "test/later" {
			t.Errorf("test/later was not removed after the budget was used up")
		}
	}
	if logs := rec.Logs(); len(logs) != 1 || !strings.Contains(logs[0], "/test/stuck") {
		t.Errorf("warnings = %q, want one about test/stuck", logs)
	}
}

// A mkdir that fails halfway down a nested name leaves the levels made
// so far tracked, and they are removed.
func TestFailedMkdirKeepsUpperLevelsTracked(t *testing.T) {
	f := newFixture(t)
	rec := newRecorder(t.Name())
	g := cgtest.NewGroup(rec, f.mgr)
	f.fs.Fail(fakefs.OpMkdir, "test/a/b/c", errnoEACCES, 1)
	err := g.AddCgroupNoCpuset("a/b/c")
	if !errors.Is(err, errnoEACCES) || !strings.Contains(err.Error(), "Delegate=yes") {
		t.Errorf("AddCgroupNoCpuset with a refused mkdir = %v, want EACCES and the delegation hint", err)
	}
	// Context once: the path, the errno and the advice each appear once.
	for _, once := range []string{"mkdir test/a/b/c", "permission denied", "Delegate=yes"} {
		if n := strings.Count(err.Error(), once); n != 1 {
			t.Errorf("AddCgroupNoCpuset error says %q %d times, want once: %v", once, n, err)
		}
	}
	assert.Check(t, is.DeepEqual(g.Names(), []string{"a", "a/b"}), "Names")
	rec.Finish()
	assert.Check(t, is.DeepEqual(f.cgroups(), []string{"test"}), "cgroups after teardown")
}
