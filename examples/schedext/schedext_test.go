package schedext_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/examples/schedext"
)

// shareWindow is how long checkCPUShare measures.
const shareWindow = time.Second

// Under the FIFO scheduler, workloads in cgroups with disjoint cpusets
// stay on their CPUs and get their fair share of them.
func TestFIFOIsolatesAndSharesCPUs(t *testing.T) {
	skipUnlessSchedExt(t)
	if runtime.NumCPU() < 2 {
		t.Skipf("needs 2 CPUs, the VM has %d: run with CGVM_CPUS=2 or more", runtime.NumCPU())
	}
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
			// Cleanups run last in first out: the workloads die first,
			// then the cgroups go, then the scheduler is detached.
			attach(t, schedext.FIFO, schedext.ExitUnreg)
			g := cgtest.NewGroup(t, cpusetRoot(t), cgtest.Strict())
			var ws []workload
			for _, c := range tc.cgroups {
				if err := g.AddCgroup(c.name, c.cpus); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range tc.cgroups {
				ws = append(ws, spin(t, g, c.name, c.cpus, c.workers)...)
			}
			checkCPUShare(t, ws, shareWindow)
			checkIsolation(t, ws)
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
	// The budget covers the Stall scheduler's 3 s watchdog timeout and
	// the kernel's time to act on it (the watchdog checks at half the
	// timeout), with room for a slow emulated machine.
	g := cgtest.NewGroup(t, cpusetRoot(t), cgtest.Strict(), cgtest.Budget(30*time.Second))
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
	// The watchdog has not fired yet: the teardown starts while the
	// scheduler still holds the workloads.
	if k, err := a.ExitKind(); err != nil || k != schedext.ExitNone {
		t.Fatalf("%s ended before the test did: %v (%v)", a.Name(), k, err)
	}
	t.Cleanup(func() {
		// Runs after the group's cleanups: the cgroup is gone, so the
		// workloads did die, which they could only once the watchdog
		// had disabled the scheduler.
		if st, err := schedext.State(); err != nil || st != "disabled" {
			t.Errorf("after the teardown, sched_ext's state is %q (%v), want disabled", st, err)
		}
	})
}

// Detaching the scheduler in the middle of a test hands every task back
// to the fair scheduler: the workloads keep running, stay on their CPUs,
// and the teardown is as for any test.
func TestDetachMidTest(t *testing.T) {
	skipUnlessSchedExt(t)
	a := attach(t, schedext.FIFO, schedext.ExitUnreg)
	g := cgtest.NewGroup(t, cpusetRoot(t), cgtest.Strict())
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
	checkCPUShare(t, ws, shareWindow)
	checkIsolation(t, ws)
}
