package cgtest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
)

// allowedAs is a real Manager whose cpuset.cpus.effective is replaced by
// a set the test chooses: on a host whose cgroup v2 has no cpuset, it
// lets CheckIsolation read real processes in /proc against a known set.
type allowedAs struct {
	*cgroupfs.Manager
	cpus cgroupfs.CPUSet
}

func (a allowedAs) EffectiveCpuset(string) (cgroupfs.CPUSet, error) { return a.cpus, nil }

// CheckIsolation reads real threads: against the CPUs this process may
// use, a spinner never escapes; against no CPU at all, every thread
// escapes at every sample, and the escapes name real pids and tids.
func TestKernelCheckIsolationReadsRealThreads(t *testing.T) {
	base := kernelBase(t)
	m := cgtest.Root(t, cgtest.Under(base))
	g := cgtest.NewGroup(t, m, cgtest.Strict())
	if err := g.AddCgroupNoCpuset("w"); err != nil {
		t.Fatal(err)
	}
	task, err := g.Spawn("w", cgtest.Spinner().Threads(2))
	if err != nil {
		t.Fatal(err)
	}
	var mine unix.CPUSet
	if err := unix.SchedGetaffinity(0, &mine); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rep, err := cgtest.CheckIsolation(ctx, allowedAs{m, cpusOf(&mine)}, []string{"w"}, cgtest.Window(100*time.Millisecond))
	assert.NilError(t, err, "against this process's own CPUs")
	// The Go runtime has more threads than the two spinners.
	if rep.Threads < 3 || rep.Samples < 1 {
		t.Errorf("report %v: want at least 3 threads and a sample", rep)
	}
	rep, err = cgtest.CheckIsolation(ctx, allowedAs{m, cgroupfs.CPUSet{}}, []string{"w"}, cgtest.Window(0))
	assert.ErrorIs(t, err, cgtest.ErrCheckFailed, "against no CPU")
	if len(rep.Escapes) != rep.Threads {
		t.Errorf("%d escapes of %d threads in one sample, want one each:\n%v", len(rep.Escapes), rep.Threads, rep)
	}
	for _, e := range rep.Escapes {
		if e.Pid != task.Pid() || e.Tid < e.Pid || !mine.IsSet(e.CPU) {
			t.Errorf("escape %v: want pid %d, a tid of it, and a CPU this machine lets it use", e, task.Pid())
		}
	}
}

// A spinner against a sleeper: whatever else runs on the machine, the
// sleeper uses next to no CPU, so an expected 1:1 split fails, and the
// report says who used what.
func TestKernelCheckCPUShareSeesAStarvedCgroup(t *testing.T) {
	base := kernelBase(t)
	m := cgtest.Root(t, cgtest.Under(base))
	g := cgtest.NewGroup(t, m, cgtest.Strict())
	for name, w := range map[string]cgtest.Workload{"spin": cgtest.Spinner(), "sleep": cgtest.Sleeper()} {
		if err := g.AddCgroupNoCpuset(name); err != nil {
			t.Fatal(err)
		}
		if _, err := g.Spawn(name, w); err != nil {
			t.Fatal(err)
		}
	}
	// Past the start-up of both (a re-executed test binary), whose CPU
	// time the sleeper would otherwise show.
	eventually(t, "the spinner spins", func() (bool, string) {
		st, err := m.CPUStat("spin")
		return err == nil && st.Usage >= 50*time.Millisecond, fmt.Sprintf("usage %v (%v)", st.Usage, err)
	})
	rep, err := cgtest.CheckCPUShare(context.Background(), m, []cgtest.Share{{"spin", 1}, {"sleep", 1}}, 0.5, cgtest.Window(500*time.Millisecond))
	assert.ErrorIs(t, err, cgtest.ErrCheckFailed, "spinner against sleeper at 1:1")
	spin, sleep := rep.Results[0], rep.Results[1]
	if spin.Usage <= sleep.Usage {
		t.Errorf("spinner %v, sleeper %v: want the spinner to use nearly all of it\n%v", spin.Usage, sleep.Usage, rep)
	}
	t.Log(err)
}

// cpusOf converts an affinity mask to a CPUSet.
func cpusOf(u *unix.CPUSet) cgroupfs.CPUSet {
	var ids []int
	for i := 0; i < len(u)*64; i++ {
		if u.IsSet(i) {
			ids = append(ids, i)
		}
	}
	return cgroupfs.NewCPUSet(ids...)
}
