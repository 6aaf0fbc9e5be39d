package schedext_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
)

// shareTolerance is how far, relative to its expected share, a cgroup's
// share of the CPU time may be: generous, as the guest's CPUs are host
// threads on a shared machine and some of their time goes to the test
// itself and the kernel (0.5: an expected half accepts 0.25 to 0.75).
const shareTolerance = 0.5

// checkSchedule runs cgtest's scheduler checks on the cgroups of the
// workloads: every thread stays on its cgroup's CPUs (CheckIsolation),
// and, with two cgroups or more, each cgroup gets its fair share of CPU
// time (CheckCPUShare), which is the CPUs its workloads can use (one per
// workload, as each spins on one thread, at most its cpuset's). With one
// cgroup, its CPU time must grow over the window. It assumes the cgroups'
// cpusets are disjoint.
func checkSchedule(t *testing.T, m *cgroupfs.Manager, ws []workload) {
	t.Helper()
	ctx := context.Background()
	var names []string
	workers := map[string]int{}
	cpus := map[string]int{}
	for _, w := range ws {
		if !slices.Contains(names, w.cgroup) {
			names = append(names, w.cgroup)
		}
		workers[w.cgroup]++
		cpus[w.cgroup] = w.cpus.Len()
	}
	before, err := m.CPUStat(names[0])
	if err != nil {
		t.Fatal(err)
	}
	rep, err := cgtest.CheckIsolation(ctx, m, names, cgtest.Window(shareWindow))
	if err != nil {
		t.Error(err)
	} else {
		t.Logf("isolation: %v", rep)
	}
	if len(names) == 1 {
		after, err := m.CPUStat(names[0])
		if err != nil {
			t.Fatal(err)
		}
		if after.Usage <= before.Usage {
			t.Errorf("cgroup %s used no CPU time in %v (usage %v, then %v)", names[0], shareWindow, before.Usage, after.Usage)
		}
		return
	}
	var shares []cgtest.Share
	for _, n := range names {
		shares = append(shares, cgtest.Share{Cgroup: n, Weight: float64(min(workers[n], cpus[n]))})
	}
	share, err := cgtest.CheckCPUShare(ctx, m, shares, shareTolerance, cgtest.Window(shareWindow))
	if err != nil {
		t.Error(err)
	} else {
		t.Logf("CPU share: %v", share)
	}
}

// shareWindow is how long each check watches.
const shareWindow = time.Second
