package cgroupfs_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/internal/kerneltest"
	"github.com/cgguard/cgguard/vmtest"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// vmKnobManager returns a Manager beneath a base cgroup of the VM's
// kernel that enables every controller the knobs need, with a child "a".
func vmKnobManager(t *testing.T) *cgroupfs.Manager {
	t.Helper()
	vmtest.SkipUnlessVM(t)
	kerneltest.EnableAtRoot(t, vmtest.InVM(), knobControllers...)
	base := kerneltest.Base(t, kerneltest.CheckLeaks())
	for _, c := range knobControllers {
		assert.NilError(t, os.WriteFile(filepath.Join(base, "cgroup.subtree_control"), []byte("+"+c), 0), "enable %s in %s", c, base)
	}
	fsys, err := cgroupfs.Open(base)
	assert.NilError(t, err)
	t.Cleanup(func() { fsys.Close() })
	m := cgroupfs.NewManager(fsys, ".")
	assert.NilError(t, m.CreateCgroup("a"))
	t.Cleanup(func() { assert.Check(t, m.RemoveCgroup("a")) })
	return m
}

// The typed knobs on the kernel (see testKnobs).
func TestVMKnobs(t *testing.T) {
	testKnobs(t, vmKnobManager(t))
}

// StartTask puts a real process into the cgroup (Events says populated,
// cpu.stat counts its start-up), Done closes once it is killed and
// reaped, and Err wraps ErrKilled.
func TestVMStartTaskAndEvents(t *testing.T) {
	m := vmKnobManager(t)
	task, err := m.FS().(cgroupfs.TaskStarter).StartTask("a", kerneltest.SleeperCmd(0))
	assert.NilError(t, err)
	ev, err := m.Events("a")
	assert.Check(t, err)
	assert.Check(t, ev.Populated, "Events(a) with a task = %+v", ev)
	pids, err := m.Procs("a")
	assert.Check(t, err)
	assert.Check(t, is.DeepEqual(pids, []int{task.Pid()}), "Procs(a)")
	killAndWait(t, task)
	assert.Check(t, is.ErrorIs(task.Err(), cgroupfs.ErrKilled))
	assert.NilError(t, waitFileLine(m.FS(), "a/cgroup.events", "populated 0", kernelWait))
	st, err := m.CPUStat("a")
	assert.Check(t, err)
	assert.Check(t, st.Usage > 0, "CPUStat(a) after a process ran = %+v; want some usage", st)
}
