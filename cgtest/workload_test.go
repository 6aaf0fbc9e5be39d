package cgtest_test

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/fakefs"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

var builtins = []cgtest.Workload{cgtest.Spinner(), cgtest.Sleeper(), cgtest.Yielder(), cgtest.Spinner().Threads(2)}

// waitDone fails the test unless task ends within a generous bound (the
// machine is busy: this only catches a task that never ends).
func waitDone(t *testing.T, task *cgtest.Task) {
	t.Helper()
	select {
	case <-task.Done():
	case <-time.After(30 * time.Second):
		t.Fatalf("the %s task (pid %d) did not end", task.Workload(), task.Pid())
	}
}

// On fakefs, Spawn puts a fake task standing for each workload into the
// cgroup; Kill ends it, and its Err says it was killed.
func TestSpawnPutsAFakeTaskIntoTheCgroup(t *testing.T) {
	for _, w := range append(builtins, cgtest.Command(exec.Command("stress-ng", "--cpu", "1"))) {
		t.Run(w.String(), func(t *testing.T) {
			f := newFixture(t)
			g := cgtest.NewGroup(t, f.mgr)
			if err := g.AddCgroupNoCpuset("w"); err != nil {
				t.Fatal(err)
			}
			task, err := g.Spawn("w", w)
			if err != nil {
				t.Fatal(err)
			}
			assert.Check(t, is.DeepEqual(f.fs.Pids("test/w"), []int{task.Pid()}), "pids in test/w")
			if task.Cgroup() != "w" || task.Err() != nil {
				t.Errorf("Cgroup() = %q, Err() = %v before it ended; want \"w\", nil", task.Cgroup(), task.Err())
			}
			if err := task.Kill(); err != nil {
				t.Fatal(err)
			}
			waitDone(t, task)
			assert.Check(t, is.ErrorIs(task.Err(), cgroupfs.ErrKilled), "Err()")
			assert.Check(t, task.Kill(), "a second Kill")
		})
	}
}

// The Task may be waited on by several goroutines while the group stops
// it at the end of the test (cmd.Wait in a goroutine could not: issue 11,
// item 14). Run with -race.
func TestTaskMayBeWaitedOnByAnyGoroutine(t *testing.T) {
	f := newFixture(t)
	rec := newRecorder(t.Name())
	g := cgtest.NewGroup(rec, f.mgr)
	if err := g.AddCgroupNoCpuset("w"); err != nil {
		t.Fatal(err)
	}
	task, err := g.Spawn("w", cgtest.Sleeper())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() {
			<-task.Done()
			errs[i] = task.Err()
		})
	}
	rec.Finish() // the group's stop kills it
	wg.Wait()
	for i, err := range errs {
		assert.Check(t, is.ErrorIs(err, cgroupfs.ErrKilled), "waiter %d saw Err()", i)
	}
	if logs := rec.Logs(); len(logs) != 0 {
		t.Errorf("teardown logged, want nothing:\n%s", strings.Join(logs, "\n"))
	}
	if got := f.cgroups(); !slices.Equal(got, []string{"test"}) {
		t.Errorf("cgroups after the test: %v, want only the parent", got)
	}
}

// A cgroup.kill (Group.Kill) ends the tasks spawned in the cgroup, and
// an Exit of the fake task ends it cleanly.
func TestSpawnedTaskEndsWithItsCgroupKill(t *testing.T) {
	f := newFixture(t)
	g := cgtest.NewGroup(t, f.mgr)
	if err := g.AddCgroupNoCpuset("a/b"); err != nil {
		t.Fatal(err)
	}
	killed, err := g.Spawn("a/b", cgtest.Spinner())
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Kill("a"); err != nil {
		t.Fatal(err)
	}
	waitDone(t, killed)
	assert.Check(t, is.ErrorIs(killed.Err(), cgroupfs.ErrKilled), "Err() after cgroup.kill")
	if _, err := g.Spawn("a/b", cgtest.Spinner()); !errors.Is(err, cgtest.ErrKilledCgroup) {
		t.Errorf("Spawn into a killed cgroup: %v, want ErrKilledCgroup", err)
	}
	if err := g.AddCgroupNoCpuset("c"); err != nil {
		t.Fatal(err)
	}
	exited, err := g.Spawn("c", cgtest.Sleeper())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.fs.Exit(exited.Pid()); err != nil {
		t.Fatal(err)
	}
	waitDone(t, exited)
	if exited.Err() != nil {
		t.Errorf("Err() after a clean exit = %v, want nil", exited.Err())
	}
}

// onlyFS hides every method of an FS but cgroupfs.FS's.
type onlyFS struct{ cgroupfs.FS }

// Spawn refuses, before starting anything, what it cannot do, and keeps
// the kernel's (here the fake's) errno for what the cgroup refuses.
func TestSpawnRefusals(t *testing.T) {
	f := newFixture(t)
	g := cgtest.NewGroup(t, f.mgr)
	for _, n := range []string{"leaf", "inner/x"} {
		if err := g.AddCgroupNoCpuset(n); err != nil {
			t.Fatal(err)
		}
	}
	for _, file := range []string{"cgroup.subtree_control", "test/cgroup.subtree_control", "test/inner/cgroup.subtree_control"} {
		if err := f.fs.WriteFile(file, []byte("+memory")); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		desc string
		name string
		w    cgtest.Workload
		want error
		text string
	}{
		{"invalid name", "../x", cgtest.Sleeper(), cgroupfs.ErrInvalidName, ""},
		{"not the group's", "other", cgtest.Sleeper(), nil, "did not create it"},
		{"zero workload", "leaf", cgtest.Workload{}, nil, "zero Workload"},
		{"no-internal-process rule", "inner", cgtest.Sleeper(), unix.EBUSY, "spawn sleeper in cgroup"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := g.Spawn(tc.name, tc.w)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("Spawn(%q, %v) = %v; want an error wrapping %v containing %q", tc.name, tc.w, err, tc.want, tc.text)
			}
		})
	}
	if got := f.fs.Pids("test/inner"); len(got) != 0 {
		t.Errorf("a refused spawn left pids %v", got)
	}

	plain := cgtest.NewGroup(t, cgroupfs.NewManager(onlyFS{f.fs}, "test"))
	if err := plain.AddCgroupNoCpuset("p"); err != nil {
		t.Fatal(err)
	}
	if _, err := plain.Spawn("p", cgtest.Sleeper()); err == nil || !strings.Contains(err.Error(), "cgroupfs.TaskStarter") {
		t.Errorf("Spawn on an FS without TaskStarter: %v, want an error naming cgroupfs.TaskStarter", err)
	}

	rec := newRecorder(t.Name())
	ended := cgtest.NewGroup(rec, f.mgr)
	if err := ended.AddCgroupNoCpuset("late"); err != nil {
		t.Fatal(err)
	}
	rec.Finish()
	if _, err := ended.Spawn("late", cgtest.Sleeper()); !errors.Is(err, cgtest.ErrTestEnded) {
		t.Errorf("Spawn after the test: %v, want ErrTestEnded", err)
	}
}

// Workload names read well in subtest names.
func TestWorkloadString(t *testing.T) {
	for _, tc := range []struct {
		w    cgtest.Workload
		want string
	}{
		{cgtest.Spinner(), "spinner"},
		{cgtest.Sleeper(), "sleeper"},
		{cgtest.Yielder().Threads(3), "yielderx3"},
		{cgtest.Spinner().Threads(0), "spinner"},
		{cgtest.Command(&exec.Cmd{Path: "/bin/true"}), "/bin/true"},
		{cgtest.Command(&exec.Cmd{Path: "x"}).Threads(4), "x"},
		{cgtest.Command(nil), "invalid workload"},
	} {
		assert.Check(t, is.Equal(tc.w.String(), tc.want), "String()")
	}
}

// An injected spawn failure keeps its errno through Spawn.
func TestSpawnKeepsTheFakesErrno(t *testing.T) {
	f := newFixture(t)
	g := cgtest.NewGroup(t, f.mgr)
	if err := g.AddCgroupNoCpuset("w"); err != nil {
		t.Fatal(err)
	}
	f.fs.Fail(fakefs.OpSpawn, "test/w", unix.EAGAIN, 1)
	if _, err := g.Spawn("w", cgtest.Spinner()); !errors.Is(err, unix.EAGAIN) {
		t.Errorf("Spawn with an injected EAGAIN: %v, want EAGAIN", err)
	}
}
