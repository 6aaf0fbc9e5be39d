package schedext_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/examples/schedext"
)

// stallBudget is the teardown budget of groups that must outlast the Stall
// scheduler: its 3 s watchdog timeout, the kernel's time to act on it (the
// watchdog checks every half timeout), and room for a slow emulated machine.
const stallBudget = 30 * time.Second

// Under the FIFO scheduler, workloads in cgroups with disjoint cpusets
// stay on their CPUs and get their fair share of them.
func TestFIFOIsolatesAndSharesCPUs(t *testing.T) {
	skipUnlessSchedExt(t)
	if runtime.NumCPU() < 2 {
		t.Skipf("needs 2 CPUs, the VM has %d: run with CGVM_CPUS=2 or more", runtime.NumCPU())
	}
	// Attached once for the whole table: each attach and detach patches
	// the kernel's static keys, which under qemu's TCG has crashed the
	// guest (see README.md), so the tests do it as rarely as they can.
	// The detach is the parent test's cleanup, so it runs after every
	// case's workloads and cgroups are gone.
	attach(t, schedext.FIFO, schedext.ExitUnreg)
	type cgroup struct {
		name    string
		cpus    cgroupfs.CPUSet
		workers int
	}
	for _, tc := range []struct {
		name    string
		cgroups []cgroup
	}{
		{
			name: "one worker on each CPU",
			cgroups: []cgroup{
				{name: "a", cpus: cgroupfs.NewCPUSet(0), workers: 1},
				{name: "b", cpus: cgroupfs.NewCPUSet(1), workers: 1},
			},
		},
		{
			name: "two workers share a CPU, one has a CPU alone",
			cgroups: []cgroup{
				{name: "crowded", cpus: cgroupfs.NewCPUSet(0), workers: 2},
				{name: "alone", cpus: cgroupfs.NewCPUSet(1), workers: 1},
			},
		},
		{
			name: "nested cgroups",
			cgroups: []cgroup{
				{name: "outer", cpus: cgroupfs.NewCPUSet(0, 1)},
				{name: "outer/left", cpus: cgroupfs.NewCPUSet(0), workers: 1},
				{name: "outer/right", cpus: cgroupfs.NewCPUSet(1), workers: 2},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Each case's workloads die, then its cgroups go; the
			// scheduler is detached after the last case.
			m := cpusetRoot(t)
			g := cgtest.NewGroup(t, m, cgtest.Strict())
			var ws []workload
			for _, c := range tc.cgroups {
				if err := g.AddCgroup(c.name, c.cpus); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range tc.cgroups {
				ws = append(ws, spin(t, g, c.name, c.cpus, c.workers)...)
			}
			checkSchedule(t, m, ws)
			if st, err := schedext.State(); err != nil || st != "enabled" {
				t.Errorf("after the workloads ran, sched_ext's state is %q (%v), want enabled: the kernel disabled %s", st, err, schedext.FIFO.Name())
			}
		})
	}
}

// A scheduler that never runs its tasks: the workloads it holds cannot
// even die until the kernel's watchdog disables it, and the guard's
// teardown (kill, wait for the cgroup to empty, rmdir) waits that out
// within its budget, leaving nothing behind.
func TestTeardownOutlastsAStalledScheduler(t *testing.T) {
	skipUnlessSchedExt(t)
	a := attach(t, schedext.Stall, schedext.ExitStall)
	g := cgtest.NewGroup(t, cpusetRoot(t), cgtest.Strict(), cgtest.Budget(stallBudget))
	if err := g.AddCgroup("stalled", cgroupfs.NewCPUSet(0)); err != nil {
		t.Fatal(err)
	}
	ws := spin(t, g, "stalled", cgroupfs.NewCPUSet(0), 2)
	for _, w := range ws {
		toSchedExt(t, w)
		if p, err := policy(w.cmd.Process.Pid); err != nil || p != schedExt {
			t.Fatalf("policy of %v is %d (%v), want SCHED_EXT", w, p, err)
		}
	}
	waitHeld(t, ws)
	// The watchdog has not fired yet: the teardown starts while the
	// scheduler still holds the workloads.
	if k, err := a.ExitKind(); err != nil || k != schedext.ExitNone {
		t.Fatalf("%s ended before the test did: %v (%v)", a.Name(), k, err)
	}
	// The group's teardown, which Strict makes fail the test if it does
	// not remove everything within its budget, runs now; then attach's
	// cleanup checks that the watchdog disabled the scheduler.
}

// When a teardown runs out of its budget because a BPF scheduler holds
// the tasks, the warning's hint names the scheduler and sched_ext's state.
func TestTeardownHintNamesTheScheduler(t *testing.T) {
	skipUnlessSchedExt(t)
	attach(t, schedext.Stall, schedext.ExitStall)
	root := cpusetRoot(t)
	// A group whose teardown gives up long before the watchdog acts; its
	// warnings go to a Recorder, and the per-test root's own teardown
	// removes what it leaves once the watchdog has freed the tasks.
	rec := &cgtest.Recorder{TestName: t.Name()}
	g := cgtest.NewGroup(rec, root, cgtest.Budget(500*time.Millisecond))
	if err := g.AddCgroup("held", cgroupfs.NewCPUSet(0)); err != nil {
		t.Fatal(err)
	}
	ws := spin(t, g, "held", cgroupfs.NewCPUSet(0), 1)
	for _, w := range ws {
		toSchedExt(t, w)
	}
	waitHeld(t, ws)
	rec.Finish()
	logs := rec.Logs()
	want := `sched_ext's state is enabled, with the BPF scheduler "` + schedext.Stall.Name() + `"`
	if len(logs) == 0 || !strings.Contains(logs[len(logs)-1], want) {
		t.Errorf("the teardown's last warning lacks %q; the group reported:\n%s", want, strings.Join(logs, "\n"))
	}
}

// Detaching the scheduler in the middle of a test hands every task back
// to the fair scheduler: the workloads keep running, stay on their CPUs,
// and the teardown is as for any test.
func TestDetachMidTest(t *testing.T) {
	skipUnlessSchedExt(t)
	a := attach(t, schedext.FIFO, schedext.ExitUnreg)
	m := cpusetRoot(t)
	g := cgtest.NewGroup(t, m, cgtest.Strict())
	cpus := cgroupfs.NewCPUSet(0)
	if err := g.AddCgroup("w", cpus); err != nil {
		t.Fatal(err)
	}
	ws := spin(t, g, "w", cpus, 2)
	if err := a.Detach(); err != nil {
		t.Fatal(err)
	}
	if st, err := schedext.State(); err != nil || st != "disabled" {
		t.Fatalf("after Detach, sched_ext's state is %q (%v), want disabled", st, err)
	}
	for _, w := range ws {
		if !alive(w) {
			t.Errorf("%v died when its scheduler was detached", w)
		}
	}
	checkSchedule(t, m, ws)
}
