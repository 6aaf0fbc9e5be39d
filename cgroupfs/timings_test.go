package cgroupfs_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/fakefs"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// MoveRetry sets how many writes MoveTasks tries on EBUSY and how far
// apart; the error says both.
func TestMoveRetryOption(t *testing.T) {
	fsys := newFake("memory")
	ops := &opLog{fsys: fsys}
	m := cgroupfs.NewManager(fsys, ".", cgroupfs.MoveRetry(5, 0))
	assert.NilError(t, m.CreateCgroup("a/b"))
	for _, f := range []string{"cgroup.subtree_control", "a/cgroup.subtree_control"} {
		assert.NilError(t, fsys.WriteFile(f, []byte("+memory")))
	}
	pid := spawn(t, fsys, ".")
	ops.next()
	err := m.MoveTasks("a", []int{pid})
	cgroupfs.WantErrContains(t, err, unix.EBUSY, "5 attempts 0s apart")
	assert.Check(t, is.Len(writes(ops.next()), 5), "writes, one per attempt")
	// Out-of-range values keep the defaults.
	m = cgroupfs.NewManager(fsys, ".", cgroupfs.MoveRetry(0, -1))
	err = m.MoveTasks("a", []int{pid})
	cgroupfs.WantErrContains(t, err, unix.EBUSY, strconv.Itoa(cgroupfs.MoveRetries)+" attempts 100ms apart")
}

// RemoveRetry bounds RemoveCgroup's wait for "populated 0" and its
// EBUSY retries, so that an error path on the fake is quick; the error
// names the bound that ran out.
func TestRemoveRetryOption(t *testing.T) {
	fsys := newFake()
	m := cgroupfs.NewManager(fsys, ".", cgroupfs.RemoveRetry(20*time.Millisecond, 30*time.Millisecond))
	for _, n := range []string{"busy", "lingering"} {
		assert.NilError(t, m.CreateCgroup(n))
	}
	// An rmdir that keeps saying EBUSY with nothing inside.
	fsys.Fail(fakefs.OpRmdir, "busy", unix.EBUSY, -1)
	err := m.RemoveCgroup("busy")
	cgroupfs.WantErrContains(t, err, unix.EBUSY, "for 30ms after it was emptied")

	// A task that never finishes exiting: the wait for populated 0 ends.
	pid := spawn(t, fsys, "lingering")
	assert.NilError(t, fsys.SetLinger(pid, -1))
	assert.NilError(t, fsys.Exit(pid))
	err = m.RemoveCgroup("lingering")
	assert.Check(t, is.ErrorIs(err, context.DeadlineExceeded), "RemoveCgroup of a cgroup that stays populated")
	assert.Check(t, is.ErrorContains(err, "populated 1"), "RemoveCgroup of a cgroup that stays populated")
	_ = fsys.Release(pid)
}
