package cgroupfs_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/internal/kerneltest"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// killAndWait kills task and waits for it to end.
func killAndWait(t *testing.T, task cgroupfs.Task) {
	t.Helper()
	assert.NilError(t, task.Kill())
	select {
	case <-task.Done():
	case <-time.After(kernelWait):
		t.Fatalf("pid %d did not end after the kill", task.Pid())
	}
}

// OSFS.StartTask both ways: CLONE_INTO_CGROUP, and where clone3 is
// refused, a start and a move; a failed move kills the process it
// started and keeps the kernel's errno.
func TestKernelStartTask(t *testing.T) {
	fsys, dir := kernelRoot(t)
	mnt, err := cgroupfs.Mountpoint()
	assert.NilError(t, err)
	for _, refused := range []bool{false, true} {
		t.Run("clone3 refused "+strconv.FormatBool(refused), func(t *testing.T) {
			if refused {
				cgroupfs.RefuseClone3(t)
			}
			name := "w" + strconv.FormatBool(refused)
			assert.NilError(t, fsys.Mkdir(name))
			t.Cleanup(func() { _ = fsys.Rmdir(name) })
			task, err := fsys.StartTask(name, kerneltest.SleeperCmd(0))
			assert.NilError(t, err)
			assert.Check(t, is.Equal(kerneltest.CgroupOf(t, task.Pid()), strings.TrimPrefix(dir, mnt)+"/"+name), "the cgroup of pid %d", task.Pid())
			killAndWait(t, task)
			assert.Check(t, is.ErrorIs(task.Err(), cgroupfs.ErrKilled))
			assert.NilError(t, waitFileLine(fsys, name+"/cgroup.events", "populated 0", kernelWait))
			// A cgroup that is gone: the kernel's ENOENT either way
			// (from the clone, or from the move, whose process is
			// then killed).
			cmd := kerneltest.SleeperCmd(0)
			_, err = fsys.StartTask("missing", cmd)
			assert.Check(t, is.ErrorIs(err, unix.ENOENT), "StartTask into a missing cgroup")
			if cmd.Process != nil && cmd.ProcessState == nil {
				t.Errorf("the process of a failed start (pid %d) was not reaped", cmd.Process.Pid)
			}
		})
	}
}
