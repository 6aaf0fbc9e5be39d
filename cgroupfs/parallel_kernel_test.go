package cgroupfs_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/internal/kerneltest"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// managersKernelBase opens, as an OSFS, a cgroup of the test's own under
// the cgroup2 mount (kerneltest.Base). Its cleanup fails the test for
// any cgroup left in it (the Managers must remove all they made), then
// removes what is left, deepest first, and the base itself. It skips
// with the reason when the kernel cannot be used here.
func managersKernelBase(t *testing.T) (*cgroupfs.OSFS, string) {
	t.Helper()
	dir := kerneltest.Base(t, kerneltest.CheckLeaks())
	fsys, err := cgroupfs.Open(dir)
	assert.NilError(t, err)
	t.Cleanup(func() { fsys.Close() })
	return fsys, dir
}

// Many Managers on one OSFS, each with its own parent, in parallel
// subtests on the real kernel: each creates nested cgroups, moves a
// real process through them (MoveTask, MoveTasks, DrainTasks), kills
// it (KillTasks, WaitEmpty) and removes everything (CleanupAll): no
// collision, no leak, every process reaped.
func TestParallelManagersKernel(t *testing.T) {
	fsys, dir := managersKernelBase(t)
	const n = 32
	t.Run("group", func(t *testing.T) {
		for i := range n {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				parent := fmt.Sprintf("m-%d", i)
				// Drained tasks go to a leaf of their own: where cpuset
				// is on (the VM), Setup enables it in the base, and the
				// kernel then refuses tasks in the base (EBUSY) while
				// the other subtests' cgroups hold tasks.
				drain := parent + "-drain"
				assert.NilError(t, fsys.Mkdir(drain))
				t.Cleanup(func() { assert.Check(t, fsys.Rmdir(drain), "remove the drain cgroup %s", drain) })
				mgr := cgroupfs.NewManager(fsys, parent, cgroupfs.DrainTo(drain))
				assert.NilError(t, mgr.Setup(false))
				t.Cleanup(func() { assert.Check(t, fsys.Rmdir(parent), "remove the parent %s", parent) })
				for _, c := range []string{"a/b", "c"} {
					assert.NilError(t, mgr.CreateCgroup(c))
				}
				cmd := exec.Command("sleep", "1000")
				assert.NilError(t, cmd.Start())
				waited := false
				t.Cleanup(func() {
					if !waited {
						_ = cmd.Process.Kill()
						_ = cmd.Wait()
					}
				})
				pid := cmd.Process.Pid
				steps := []struct {
					what string
					do   func() error
					in   string // where the process must be after it
				}{
					{"MoveTask a/b", func() error { return mgr.MoveTask("a/b", pid) }, "a/b"},
					{"MoveTasks c", func() error { return mgr.MoveTasks("c", []int{pid}) }, "c"},
					{"DrainTasks c", func() error { return mgr.DrainTasks("c") }, ""},
					{"MoveTask c", func() error { return mgr.MoveTask("c", pid) }, "c"},
				}
				for _, s := range steps {
					if err := s.do(); err != nil {
						t.Fatalf("%s: %v", s.what, err)
					}
					if s.in == "" {
						continue
					}
					got, err := mgr.Procs(s.in)
					assert.NilError(t, err)
					assert.Check(t, is.DeepEqual(got, []int{pid}), "after %s, cgroup.procs of %s/%s", s.what, parent, s.in)
				}
				assert.NilError(t, mgr.KillTasks("c"))
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				assert.NilError(t, mgr.WaitEmpty(ctx, "c"))
				waited = true
				assert.Check(t, cmd.Wait() != nil, "sleep exited normally after KillTasks, want killed")
				assert.NilError(t, mgr.CleanupAll())
				entries, err := fsys.ReadDir(parent)
				assert.NilError(t, err)
				for _, e := range entries {
					if e.IsDir() {
						t.Errorf("CleanupAll left %s/%s", parent, e.Name())
					}
				}
			})
		}
	})
	entries, err := os.ReadDir(dir)
	assert.NilError(t, err)
	for _, e := range entries {
		if e.IsDir() {
			t.Errorf("leak: %s/%s after the parallel Managers", dir, e.Name())
		}
	}
}
