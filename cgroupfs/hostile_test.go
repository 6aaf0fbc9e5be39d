package cgroupfs_test

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"gotest.tools/v3/assert"
)

// Hostile inputs on fakefs: what a test helper must refuse before any
// write reaches the kernel.

// TestHostileMoveTaskPids: writing "0" to cgroup.procs moves
// the writer itself, "1" moves init (twice on this machine kind a probe
// moved PID 1 into a test cgroup), and a negative pid is never a process
// a test started. Each is refused with ErrNotOwnPid before any write.
func TestHostileMoveTaskPids(t *testing.T) {
	fsys := newFake()
	m := cgroupfs.NewManager(fsys, "p")
	assert.NilError(t, m.Setup(false))
	assert.NilError(t, m.CreateCgroup("a"))
	log := &opLog{fsys: fsys}
	log.next()
	tried, held := 0, 0
	for _, pid := range []int{0, 1, -1, -4194305} {
		for _, call := range []struct {
			name string
			fn   func() error
		}{
			{"MoveTask", func() error { return m.MoveTask("a", pid) }},
			{"MoveTasks", func() error { return m.MoveTasks("a", []int{pid}) }},
		} {
			tried++
			err := call.fn()
			w := writes(log.next())
			if errors.Is(err, cgroupfs.ErrNotOwnPid) && len(w) == 0 {
				held++
			}
			if !errors.Is(err, cgroupfs.ErrNotOwnPid) || !errors.Is(err, fs.ErrInvalid) {
				t.Errorf("%s(a, %d) = %v, want an error wrapping ErrNotOwnPid and fs.ErrInvalid", call.name, pid, err)
			} else if !strings.Contains(err.Error(), "pid") {
				t.Errorf("%s(a, %d) error %q does not name the pid", call.name, pid, err)
			}
			if len(w) != 0 {
				t.Errorf("%s(a, %d) wrote %v; want no write at all", call.name, pid, w)
			}
		}
	}
	// A bad pid among good ones: nothing is moved, not even the pids
	// before it.
	pid := spawn(t, fsys, "p")
	log.next()
	err := m.MoveTasks("a", []int{pid, 1})
	w := writes(log.next())
	tried++
	if errors.Is(err, cgroupfs.ErrNotOwnPid) && len(w) == 0 {
		held++
	}
	if !errors.Is(err, cgroupfs.ErrNotOwnPid) {
		t.Errorf("MoveTasks(a, [%d 1]) = %v, want ErrNotOwnPid", pid, err)
	}
	if len(w) != 0 {
		t.Errorf("MoveTasks(a, [%d 1]) wrote %v; want no write at all", pid, w)
	}
	if err := m.MoveTask("a", pid); err != nil {
		t.Errorf("MoveTask(a, %d) of the test's own task: %v", pid, err)
	}
	t.Logf("hostile pids: %d cases tried, %d held", tried, held)
}
