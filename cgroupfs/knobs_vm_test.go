package cgroupfs_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/internal/kerneltest"
	"github.com/cgguard/cgguard/vmtest"
	"golang.org/x/sys/unix"
)

// vmKnobManager returns a Manager beneath a base cgroup of the VM's
// kernel that enables every controller the knobs need, with a child "a".
func vmKnobManager(t *testing.T) *cgroupfs.Manager {
	t.Helper()
	vmtest.SkipUnlessVM(t)
	restoreRootControllers(t)
	base := kerneltest.Base(t, kerneltest.CheckLeaks(), kerneltest.OfferAllControllers(vmtest.InVM()))
	for _, c := range []string{"cpuset", "cpu", "io", "memory", "pids"} {
		if err := os.WriteFile(filepath.Join(base, "cgroup.subtree_control"), []byte("+"+c), 0); err != nil {
			t.Fatalf("enable %s in %s: %v", c, base, err)
		}
	}
	fsys, err := cgroupfs.Open(base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fsys.Close() })
	m := cgroupfs.NewManager(fsys, ".")
	if err := m.CreateCgroup("a"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.RemoveCgroup("a"); err != nil {
			t.Error(err)
		}
	})
	return m
}

// restoreRootControllers disables, once the test and its base are gone,
// the controllers that the test enabled in the VM root's
// cgroup.subtree_control, so that later tests find the root as it was.
// Registered before kerneltest.Base, it runs after Base's cleanup.
func restoreRootControllers(t *testing.T) {
	t.Helper()
	file := filepath.Join(vmtest.CgroupRoot, "cgroup.subtree_control")
	before, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		now, err := os.ReadFile(file)
		if err != nil {
			t.Error(err)
			return
		}
		for _, c := range strings.Fields(string(now)) {
			if !slices.Contains(strings.Fields(string(before)), c) {
				if err := os.WriteFile(file, []byte("-"+c), 0); err != nil {
					t.Errorf("restore the VM root: disable %s: %v", c, err)
				}
			}
		}
	})
}

// The typed knobs on the kernel: what is set reads back, and what the
// kernel refuses comes back with its errno, unchanged by the Manager.
func TestVMKnobs(t *testing.T) {
	m := vmKnobManager(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(m.SetCPUWeight("a", 250))
	if w, err := m.CPUWeight("a"); err != nil || w != 250 {
		t.Errorf("CPUWeight = %d, %v; want 250", w, err)
	}
	max := cgroupfs.CPUMax{Quota: 50 * time.Millisecond, Period: 100 * time.Millisecond}
	must(m.SetCPUMax("a", max))
	if got, err := m.CPUMax("a"); err != nil || got != max {
		t.Errorf("CPUMax = %+v, %v; want %+v", got, err, max)
	}
	must(m.SetCPUMax("a", cgroupfs.CPUMax{Quota: cgroupfs.Unlimited}))
	if got, err := m.CPUMax("a"); err != nil || got != (cgroupfs.CPUMax{Quota: cgroupfs.Unlimited, Period: 100 * time.Millisecond}) {
		t.Errorf("CPUMax after max = %+v, %v; want max and the period kept", got, err)
	}
	must(m.SetCPUIdle("a", true))
	if idle, err := m.CPUIdle("a"); err != nil || !idle {
		t.Errorf("CPUIdle = %v, %v; want true", idle, err)
	}
	must(m.SetCPUIdle("a", false))
	for _, v := range []int64{64 << 20, cgroupfs.Unlimited} {
		must(m.SetMemoryMax("a", v))
		if got, err := m.MemoryMax("a"); err != nil || got != v {
			t.Errorf("MemoryMax = %d, %v; want %d", got, err, v)
		}
		must(m.SetMemoryHigh("a", v))
		if got, err := m.MemoryHigh("a"); err != nil || got != v {
			t.Errorf("MemoryHigh = %d, %v; want %d", got, err, v)
		}
	}
	must(m.SetPidsMax("a", 10))
	if got, err := m.PidsMax("a"); err != nil || got != 10 {
		t.Errorf("PidsMax = %d, %v; want 10", got, err)
	}
	if _, err := m.ReadFile("a", "io.weight"); err == nil {
		must(m.SetIOWeight("a", 300))
		if got, err := m.IOWeight("a"); err != nil || got != 300 {
			t.Errorf("IOWeight = %d, %v; want 300", got, err)
		}
		if err := m.SetIOWeight("a", 0); !errors.Is(err, unix.EINVAL) {
			t.Errorf("io.weight 0: %v, want EINVAL", err)
		}
	} else {
		t.Logf("this kernel has no io.weight (no io scheduler with weights): %v", err)
	}
	parent, err := m.EffectiveCpuset(".")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := m.EffectiveCpuset("a"); err != nil || !got.Equal(parent) {
		t.Errorf("EffectiveCpuset(a) = %s, %v; want the parent's %s", got, err, parent)
	}
	for _, tc := range []struct {
		desc string
		err  error
		want error
	}{
		{"cpu.weight 0", m.SetCPUWeight("a", 0), unix.ERANGE},
		{"cpu.weight 10001", m.SetCPUWeight("a", 10001), unix.ERANGE},
		{"cpu.max quota under 1 ms", m.SetCPUMax("a", cgroupfs.CPUMax{Quota: 500 * time.Microsecond, Period: 100 * time.Millisecond}), unix.EINVAL},
		{"cpu.max period over 1 s", m.SetCPUMax("a", cgroupfs.CPUMax{Quota: 10 * time.Millisecond, Period: 2 * time.Second}), unix.EINVAL},
		{"pids.max -5", m.SetPidsMax("a", -5), unix.EINVAL},
		{"a name leaving the parent", m.WriteFile("..", "cpu.weight", []byte("1")), cgroupfs.ErrInvalidName},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want an error wrapping %v", tc.desc, tc.err, tc.want)
		}
	}
}

// StartTask puts a real process into the cgroup (Events says populated,
// cpu.stat counts its start-up), Done closes once it is killed and
// reaped, and Err wraps ErrKilled.
func TestVMStartTaskAndEvents(t *testing.T) {
	m := vmKnobManager(t)
	task, err := m.FS().(cgroupfs.TaskStarter).StartTask("a", kerneltest.SleeperCmd(0))
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := m.Events("a"); err != nil || !ev.Populated {
		t.Errorf("Events(a) with a task = %+v, %v; want populated", ev, err)
	}
	if pids, err := m.Procs("a"); err != nil || len(pids) != 1 || pids[0] != task.Pid() {
		t.Errorf("Procs(a) = %v, %v; want [%d]", pids, err, task.Pid())
	}
	if err := task.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-task.Done():
	case <-time.After(kernelWait):
		t.Fatal("the killed task did not end")
	}
	if !errors.Is(task.Err(), cgroupfs.ErrKilled) {
		t.Errorf("Err() = %v, want ErrKilled", task.Err())
	}
	if err := waitFileLine(m.FS(), "a/cgroup.events", "populated 0", kernelWait); err != nil {
		t.Fatal(err)
	}
	if st, err := m.CPUStat("a"); err != nil || st.Usage <= 0 {
		t.Errorf("CPUStat(a) after a process ran = %+v, %v; want some usage", st, err)
	}
}
