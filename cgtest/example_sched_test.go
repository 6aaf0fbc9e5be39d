package cgtest_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/fakefs"
)

// A scheduler test: two cgroups on one shared CPU with cpu.weight 100
// and 200, a spinner in each, and a check that CPU time splits near 1:2.
// On the real kernel (m := cgtest.Root(t, cgtest.RequireControllers(
// "cpuset", "cpu")), in the VM runner) the check measures; here, on
// fakefs, the layout, the knobs and the placement are real, and the
// check says that fake tasks need a kernel. TestScheduler in this
// package is the table-driven version (layouts x workloads x checks).
func Example_schedulerTest() {
	t := newT()
	defer t.Finish() // the end of the test: tasks stopped, cgroups removed

	m := cgroupfs.NewManager(fakefs.New(), "sched")
	if err := m.Setup(true); err != nil {
		panic(err)
	}
	g := cgtest.NewGroup(t, m)
	shares := []cgtest.Share{{Cgroup: "light", Weight: 100}, {Cgroup: "heavy", Weight: 200}}
	for _, s := range shares {
		if err := g.AddCgroup(s.Cgroup, cgroupfs.NewCPUSet(3)); err != nil {
			panic(err)
		}
		if err := m.SetCPUWeight(s.Cgroup, int(s.Weight)); err != nil {
			panic(err)
		}
		task, err := g.Spawn(s.Cgroup, cgtest.Spinner())
		if err != nil {
			panic(err)
		}
		weight, _ := m.CPUWeight(s.Cgroup)
		cpus, _ := m.EffectiveCpuset(s.Cgroup)
		pids, _ := m.Procs(s.Cgroup)
		fmt.Printf("%s: cpu.weight %d on CPU %s, %s task inside: %v\n", s.Cgroup, weight, cpus, task.Workload(), len(pids) == 1 && pids[0] == task.Pid())
	}
	rep, err := cgtest.CheckCPUShare(context.Background(), m, shares, 0.25, cgtest.Window(time.Second))
	switch {
	case errors.Is(err, cgtest.ErrNeedsKernel):
		fmt.Println("share check: needs a kernel")
	case err != nil:
		fmt.Println(err) // the numbers, when the split is off
	default:
		fmt.Println(rep)
	}
	// Output:
	// light: cpu.weight 100 on CPU 3, spinner task inside: true
	// heavy: cpu.weight 200 on CPU 3, spinner task inside: true
	// share check: needs a kernel
}
