package cgroupfs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"golang.org/x/sys/unix"
)

// The bounds of a drain. A task can fork between the read of
// cgroup.procs and the moves, so draining loops; a fork bomb must not
// make it loop forever.
const (
	drainRounds = 50
	// drainExitWait bounds the wait for the kernel in a round where every
	// listed task was already exiting (ESRCH), instead of spinning.
	drainExitWait = 50 * time.Millisecond
)

// DrainTasks moves every task out of the cgroup name into the DrainTo
// cgroup (the FS root unless DrainTo says otherwise), one write per pid.
// It re-reads cgroup.procs and moves again until it reads empty, so a
// task forked meanwhile is moved too; a pid already gone (ESRCH) is
// skipped. A missing cgroup is not an error. It fails when a move fails
// otherwise (EACCES under a delegated subtree: set DrainTo to a cgroup
// you may write), when the DrainTo cgroup is the cgroup itself or lies
// beneath it, or when cgroup.procs still lists pids after 50 rounds
// (the error names them; kill them instead with KillTasks).
func (m *Manager) DrainTasks(name string) error {
	p, err := m.Path(name)
	if err != nil {
		return err
	}
	if err := m.checkDrainTarget(p); err != nil {
		return err
	}
	if err := m.drain(p); err != nil {
		return fmt.Errorf("cgroupfs: drain cgroup %s: %w", p, err)
	}
	return nil
}

func (m *Manager) checkDrainTarget(p string) error {
	if isBeneath(m.drainTo, p) {
		return fmt.Errorf("cgroupfs: drain cgroup %s: %w: the DrainTo cgroup %s is inside it; pass DrainTo a cgroup outside the ones being removed",
			p, fs.ErrInvalid, m.drainTo)
	}
	return nil
}

// drain moves the tasks of p to the DrainTo cgroup. Its errors say what
// failed, not which cgroup was drained: the caller says that.
func (m *Manager) drain(p string) error {
	var left []int
	for range drainRounds {
		file := joinName(p, "cgroup.procs")
		data, err := m.fsys.ReadFile(file)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENODEV) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w%s", err, accessHint(err))
		}
		pids, err := parsePids(file, data)
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		left = pids
		moved := false
		for _, pid := range pids {
			err := m.writePid(m.drainTo, pid)
			if errors.Is(err, unix.ESRCH) {
				continue
			}
			if err != nil {
				return fmt.Errorf("move pid %d to the DrainTo cgroup %s: %w%s", pid, m.drainTo, err, hint(opDrain, err))
			}
			moved = true
		}
		if !moved {
			// Every listed task is exiting; let the kernel finish rather
			// than re-reading in a busy loop that starves the dying tasks.
			ctx, cancel := context.WithTimeout(context.Background(), drainExitWait)
			_ = m.waitEmpty(ctx, p) // the next round reads what is left
			cancel()
		}
	}
	return fmt.Errorf("cgroup.procs still lists pids %v after %d rounds of moves to %s; a task forks faster than it can be moved: kill the tasks instead (KillTasks)",
		left, drainRounds, m.drainTo)
}
