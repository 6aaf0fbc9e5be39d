package fakefs

import (
	"fmt"
	"os/exec"
	"sync"

	"github.com/cgguard/cgguard/cgroupfs"
)

// StartTask spawns a fake task in the cgroup name that stands for cmd,
// so that code written for real processes (cgtest's Group.Spawn) runs on
// the fake unchanged. Nothing runs: cmd is not started and may be nil.
// The task lives until it is killed (Task.Kill, FS.Kill, cgroup.kill) or
// made to exit (FS.Exit, with Task.Err then nil); its handle's Done is
// closed at that moment (a lingering task, see SetLinger, still keeps
// its cgroup populated afterwards, as an exiting process does). It
// fails like Spawn, whose faults (OpSpawn) apply.
func (f *FS) StartTask(name string, cmd *exec.Cmd) (cgroupfs.Task, error) {
	pid, err := f.Spawn(name)
	if err != nil {
		return nil, err
	}
	h := &taskHandle{fs: f, pid: pid, done: make(chan struct{})}
	f.mu.Lock()
	defer f.mu.Unlock()
	if t, ok := f.tasks[pid]; ok && !t.exited {
		t.handle = h
	} else {
		// Killed between Spawn and here (a cgroup.kill of another
		// goroutine): it ended, and SIGKILL is all that can end it.
		h.exit(true)
	}
	return h, nil
}

// taskHandle is the cgroupfs.Task of a fake task.
type taskHandle struct {
	fs   *FS
	pid  int
	once sync.Once
	done chan struct{}
	err  error // set before done is closed
}

// exit records how the task ended and closes done; f.mu is held.
func (h *taskHandle) exit(killed bool) {
	h.once.Do(func() {
		if killed {
			h.err = fmt.Errorf("fake pid %d: %w", h.pid, cgroupfs.ErrKilled)
		}
		close(h.done)
	})
}

func (h *taskHandle) Pid() int              { return h.pid }
func (h *taskHandle) Done() <-chan struct{} { return h.done }

func (h *taskHandle) Err() error {
	select {
	case <-h.done:
		return h.err
	default:
		return nil
	}
}

// Kill kills the fake task (FS.Kill); one that has ended is not an
// error.
func (h *taskHandle) Kill() error {
	select {
	case <-h.done:
		return nil
	default:
	}
	err := h.fs.Kill(h.pid)
	select {
	case <-h.done:
		return nil // it ended, by this kill or another
	default:
		return err
	}
}

var _ cgroupfs.TaskStarter = (*FS)(nil)
