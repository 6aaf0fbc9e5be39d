package cgtest_test

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/internal/kerneltest"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// eventually polls cond every 10 ms until it holds, failing the test
// with what was last seen after a generous bound: it catches what never
// happens, not what is slow on a busy machine.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, seen := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 30s; last seen: %s", what, seen)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// runningThreads counts the threads of pid in state R.
func runningThreads(pid int) (int, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tids, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, tid := range tids {
		data, err := os.ReadFile(dir + "/" + tid.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		s := string(data)
		if i := strings.LastIndexByte(s, ')'); i >= 0 && strings.HasPrefix(s[i:], ") R") {
			n++
		}
	}
	return n, nil
}

// Every built-in workload runs as a re-executed test binary inside its
// cgroup; spinners keep as many threads runnable as asked for and use
// CPU time, which the cgroup's cpu.stat counts.
func TestKernelSpawnBuiltinsRunInTheirCgroup(t *testing.T) {
	base := kernelBase(t)
	mgr := cgtest.Root(t, cgtest.Under(base))
	mnt, err := cgroupfs.Mountpoint()
	if err != nil {
		t.Fatal(err)
	}
	g := cgtest.NewGroup(t, mgr, cgtest.Strict())
	for i, w := range builtins {
		t.Run(w.String(), func(t *testing.T) {
			name := fmt.Sprintf("w%d", i)
			if err := g.AddCgroupNoCpuset(name); err != nil {
				t.Fatal(err)
			}
			task, err := g.Spawn(name, w)
			if err != nil {
				t.Fatal(err)
			}
			want := path.Join("/", strings.TrimPrefix(mgr.ParentPath(), mnt), name)
			if got := kerneltest.CgroupOf(t, task.Pid()); got != want {
				t.Errorf("the %s runs in %s, want %s", w, got, want)
			}
			if strings.HasPrefix(w.String(), "spinner") {
				threads := 1
				if w.String() == "spinnerx2" {
					threads = 2
				}
				eventually(t, "spinner threads runnable", func() (bool, string) {
					n, err := runningThreads(task.Pid())
					return err == nil && n >= threads, fmt.Sprintf("%d threads in state R (%v)", n, err)
				})
				first, err := mgr.CPUStat(name)
				if err != nil {
					t.Fatal(err)
				}
				eventually(t, "cpu.stat usage grows", func() (bool, string) {
					now, err := mgr.CPUStat(name)
					return err == nil && now.Usage > first.Usage, fmt.Sprintf("usage %v, first %v (%v)", now.Usage, first.Usage, err)
				})
			}
			if err := task.Kill(); err != nil {
				t.Fatal(err)
			}
			waitDone(t, task)
		})
	}
}

// holderEnv turns the test binary into a process whose child (a
// built-in sleeper) holds its standard output open: a stop that waits
// for the output waits for the child too.
const holderEnv = "CGTEST_OUTPUT_HOLDER"

func init() {
	if os.Getenv(holderEnv) != "1" {
		return
	}
	self, err := os.Executable()
	if err != nil {
		os.Exit(2)
	}
	child := exec.Command(self, "-test.run=^$")
	child.Env = append(os.Environ(), holderEnv+"=0", cgtest.WorkloadEnv+"=sleep:1")
	child.Stdout = os.Stdout
	if err := child.Start(); err != nil {
		os.Exit(2)
	}
	fmt.Println("started")
	time.Sleep(time.Hour)
	os.Exit(0)
}

// Issue 11, item 6: stopping workloads whose children hold their
// captured output open shares the group's budget: three of them with a
// 2 s budget take about one budget, not three; and with the default
// WaitDelay no stop runs out of budget waiting for the output.
func TestKernelStopsShareTheBudget(t *testing.T) {
	base := kernelBase(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tried, held := 0, 0
	for _, tc := range []struct {
		desc      string
		waitDelay time.Duration
		spawn     bool
		budget    time.Duration
		warnings  bool // each stop is expected to run out
	}{
		// The default WaitDelay ends each stop soon after the kill; the
		// budget is ample, as the stops run one after the other and
		// each takes a while in an emulated VM.
		{"Start, default WaitDelay", 0, false, 30 * time.Second, false},
		{"Spawn, default WaitDelay", 0, true, 30 * time.Second, false},
		// Without it, each stop would wait until its budget ran out.
		{"Start, WaitDelay an hour", time.Hour, false, 2 * time.Second, true},
		{"Spawn, WaitDelay an hour", time.Hour, true, 2 * time.Second, true},
	} {
		tried++
		ok := t.Run(tc.desc, func(t *testing.T) {
			budget := tc.budget
			rec := newRecorder(t.Name())
			g := cgtest.NewGroup(rec, cgtest.Root(t, cgtest.Under(base)), cgtest.Budget(budget))
			var outs [3]syncBuffer
			for i := range outs {
				name := fmt.Sprintf("w%d", i)
				if err := g.AddCgroupNoCpuset(name); err != nil {
					t.Fatal(err)
				}
				cmd := exec.Command(self, "-test.run=^$")
				cmd.Env = append(os.Environ(), holderEnv+"=1")
				cmd.Stdout = &outs[i]
				cmd.WaitDelay = tc.waitDelay
				var err error
				if tc.spawn {
					_, err = g.Spawn(name, cgtest.Command(cmd))
				} else {
					err = g.Start(name, cmd)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			for i := range outs {
				eventually(t, "the holder's child runs", func() (bool, string) {
					return strings.Contains(outs[i].String(), "started"), fmt.Sprintf("output %q", outs[i].String())
				})
			}
			start := time.Now()
			rec.Finish()
			took := time.Since(start)
			// Before the fix: a budget per stop, 3 x 2 s. After: the
			// budget and a grace or two at most. The bound is loose on
			// purpose; only the old behaviour exceeds it.
			if took >= 3*budget {
				t.Errorf("teardown took %v, want well under 3 budgets (%v): the stops did not share the budget", took, 3*budget)
			}
			var stuck int
			for _, l := range rec.Logs() {
				if strings.Contains(l, "budget") {
					stuck++
				}
			}
			if got := stuck > 0; got != tc.warnings {
				t.Errorf("stops that ran out of budget: %d, want some: %v; logs:\n%s", stuck, tc.warnings, strings.Join(rec.Logs(), "\n"))
			}
			for _, e := range rec.Errors() {
				t.Errorf("teardown error: %s", e)
			}
		})
		if ok {
			held++
		}
	}
	t.Logf("hostile stop budgets: %d cases tried, %d held", tried, held)
}

// Issue 11, item 14, on the kernel: goroutines waiting on a real
// process's Task while the group stops it at the end of the test see it
// end, killed, without a race (run with -race).
func TestKernelTaskWaitersAndTheStop(t *testing.T) {
	base := kernelBase(t)
	rec := newRecorder(t.Name())
	g := cgtest.NewGroup(rec, cgtest.Root(t, cgtest.Under(base)), cgtest.Strict())
	if err := g.AddCgroupNoCpuset("w"); err != nil {
		t.Fatal(err)
	}
	task, err := g.Spawn("w", cgtest.Sleeper())
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 3)
	for range cap(errs) {
		go func() {
			<-task.Done()
			errs <- task.Err()
		}()
	}
	rec.Finish()
	for range cap(errs) {
		assert.Check(t, is.ErrorIs(<-errs, cgroupfs.ErrKilled), "a waiter saw Err()")
	}
	for _, e := range append(rec.Logs(), rec.Errors()...) {
		t.Errorf("teardown said: %s", e)
	}
}
