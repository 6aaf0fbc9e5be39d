package cgtest_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/fakefs"
	"github.com/cgguard/cgguard/internal/kerneltest"
	"github.com/cgguard/cgguard/vmtest"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// A table-driven scheduler test, as a scheduler author would write it:
// layouts x workloads x checks, the same code on fakefs (unprivileged
// CI: the layout, knobs and placement are checked, the checks say they
// need a kernel) and on the VM's kernel (everything, cpuset and cpu
// included). Run the kernel half with:
//
//	CGO_ENABLED=0 go install ./cmd/cgvm
//	go test -exec "$(go env GOPATH)/bin/cgvm" -run TestScheduler ./cgtest
func TestScheduler(t *testing.T) {
	type cgroup struct {
		name   string
		cpus   func(all cgroupfs.CPUSet) cgroupfs.CPUSet // nil: inherit
		weight int                                       // 0: the default
	}
	lastCPU := func(all cgroupfs.CPUSet) cgroupfs.CPUSet {
		ids := all.IDs()
		return cgroupfs.NewCPUSet(ids[len(ids)-1])
	}
	half := func(i int) func(cgroupfs.CPUSet) cgroupfs.CPUSet {
		return func(all cgroupfs.CPUSet) cgroupfs.CPUSet {
			sets, err := cgtest.SplitCPUs(all, 2)
			if err != nil {
				return cgroupfs.CPUSet{}
			}
			return sets[i]
		}
	}
	// llc is the CPUs of the i-th last-level cache that all has; none on a
	// machine with fewer (the VM: CGVM_SOCKETS=2 gives each socket one).
	llc := func(i int) func(cgroupfs.CPUSet) cgroupfs.CPUSet {
		return func(all cgroupfs.CPUSet) cgroupfs.CPUSet {
			llcs, err := cgtest.LLCs()
			if err != nil || len(llcs) <= i {
				return cgroupfs.CPUSet{}
			}
			return llcs[i].Intersect(all)
		}
	}
	// A check returns its report (logged with -v) and its verdict.
	type check func(ctx context.Context, m *cgroupfs.Manager, names []string) (fmt.Stringer, error)
	isolation := func(ctx context.Context, m *cgroupfs.Manager, names []string) (fmt.Stringer, error) {
		return cgtest.CheckIsolation(ctx, m, names, cgtest.Window(500*time.Millisecond))
	}
	// The kernel gives weights 100:200 on one CPU about 1:2; the
	// tolerance is generous, as the VM runs under emulation on a busy
	// machine.
	shares := func(ctx context.Context, m *cgroupfs.Manager, names []string) (fmt.Stringer, error) {
		return cgtest.CheckCPUShare(ctx, m, []cgtest.Share{{names[0], 100}, {names[1], 200}}, 0.25)
	}
	for _, tc := range []struct {
		layout    string
		cgroups   []cgroup
		workloads []cgtest.Workload
		check     check
	}{
		{
			layout:    "one shared CPU, weights 100 and 200",
			cgroups:   []cgroup{{"light", lastCPU, 100}, {"heavy", lastCPU, 200}},
			workloads: []cgtest.Workload{cgtest.Spinner()},
			check:     shares,
		},
		{
			layout:    "split cpusets",
			cgroups:   []cgroup{{"left", half(0), 0}, {"right", half(1), 0}},
			workloads: []cgtest.Workload{cgtest.Spinner().Threads(2), cgtest.Yielder().Threads(2)},
			check:     isolation,
		},
		{
			layout:    "one cgroup per LLC",
			cgroups:   []cgroup{{"llc0", llc(0), 0}, {"llc1", llc(1), 0}},
			workloads: []cgtest.Workload{cgtest.Spinner().Threads(2)},
			check:     isolation,
		},
	} {
		for _, w := range tc.workloads {
			for _, backend := range []string{"fakefs", "kernel"} {
				t.Run(tc.layout+"/"+w.String()+"/"+backend, func(t *testing.T) {
					var m *cgroupfs.Manager
					if backend == "kernel" {
						m = schedRoot(t)
					} else {
						fsys := fakefs.New(fakefs.WithCPUs(cgroupfs.NewCPUSet(0, 1, 2, 3)))
						m = cgroupfs.NewManager(fsys, "sched")
						if err := m.Setup(true); err != nil {
							t.Fatal(err)
						}
					}
					all, err := m.EffectiveCpuset(".")
					if err != nil {
						t.Fatal(err)
					}
					g := cgtest.NewGroup(t, m, cgtest.Strict())
					var names []string
					var tasks []*cgtest.Task
					for _, c := range tc.cgroups {
						names = append(names, c.name)
						if c.cpus == nil {
							err = g.AddCgroupNoCpuset(c.name)
						} else if cpus := c.cpus(all); cpus.IsEmpty() {
							t.Skipf("layout %q needs more CPUs or last-level caches than %s has (in the VM: CGVM_CPUS, or CGVM_SOCKETS=2 for two LLCs)", tc.layout, all)
						} else {
							err = g.AddCgroup(c.name, cpus)
						}
						if err != nil {
							t.Fatal(err)
						}
						if c.weight != 0 {
							if err := m.SetCPUWeight(c.name, c.weight); err != nil {
								t.Fatal(err)
							}
						}
						task, err := g.Spawn(c.name, w)
						if err != nil {
							t.Fatal(err)
						}
						tasks = append(tasks, task)
						if pids, err := m.Procs(c.name); err != nil || !slices.Contains(pids, task.Pid()) {
							t.Fatalf("cgroup %s lists %v (%v), want pid %d", c.name, pids, err, task.Pid())
						}
					}
					if backend == "kernel" {
						// Measure once every workload runs: a re-executed
						// test binary takes a while to start in the VM.
						for _, task := range tasks {
							eventually(t, "the "+task.Workload().String()+" in "+task.Cgroup()+" runs", func() (bool, string) {
								select {
								case <-task.Done():
									return false, fmt.Sprintf("it ended: %v", task.Err())
								default:
								}
								st, err := m.CPUStat(task.Cgroup())
								return err == nil && st.Usage >= 20*time.Millisecond, fmt.Sprintf("cpu.stat usage %v (%v)", st.Usage, err)
							})
						}
					}
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					defer cancel()
					rep, err := tc.check(ctx, m, names)
					if backend == "fakefs" {
						assert.Check(t, is.ErrorIs(err, cgtest.ErrNeedsKernel), "the check on fakefs")
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					t.Logf("%s", rep)
				})
			}
		}
	}
}

// schedRoot gives a kernel scheduler test its per-test root with the
// cpuset and cpu controllers, in the VM; elsewhere it skips, saying how
// to run it.
func schedRoot(t *testing.T) *cgroupfs.Manager {
	t.Helper()
	vmtest.SkipUnlessVM(t)
	base := kerneltest.Base(t, kerneltest.CheckLeaks(), kerneltest.OfferAllControllers(vmtest.InVM()))
	for _, c := range []string{"+cpuset", "+cpu"} {
		assert.NilError(t, os.WriteFile(filepath.Join(base, "cgroup.subtree_control"), []byte(c), 0), "enable %s in %s", c, base)
	}
	return cgtest.Root(t, cgtest.Under(base), cgtest.RequireControllers("cpuset", "cpu"))
}
