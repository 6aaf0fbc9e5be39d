package cgtest

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"golang.org/x/sys/unix"
)

// ErrKilledCgroup is wrapped by the error of Start into a cgroup that
// had cgroup.kill written to it, or to an ancestor, while it existed.
// On Linux 6.18 every later CLONE_INTO_CGROUP into such a cgroup is
// SIGKILLed at once (Start succeeds, Wait says "signal: killed"), so the
// group refuses instead of handing the test a dead process.
var ErrKilledCgroup = errors.New("cgroup.kill was written to this cgroup, or to an ancestor while it existed, and the kernel kills every process later spawned into it")

// clone3Refused reports whether clone3 is refused here: ENOSYS from a
// kernel before 5.3 or from a seccomp policy (Docker's default profile
// answers ENOSYS so that libc falls back to clone), EPERM from other
// policies. It is probed once, with a zero-sized argument that the
// kernel rejects (EINVAL) before creating anything, because an exec.Cmd
// cannot be started twice: Start must choose its way before trying.
// A variable, so that tests can take the fallback on any kernel.
var clone3Refused = sync.OnceValue(func() bool {
	_, _, errno := unix.Syscall(unix.SYS_CLONE3, 0, 0, 0)
	return errno == unix.ENOSYS || errno == unix.EPERM
})

// Start starts cmd inside the group's cgroup name, which the group must
// have created, and registers its kill-and-reap with t.Cleanup. That
// cleanup is registered after the cgroup's, so it runs first: the
// process is dead before its cgroup is removed; these stops share the
// group's teardown budget. The cleanup calls cmd.Wait, so a test must
// not wait for cmd itself in a goroutine that may outlive the test (two
// cmd.Wait at once are a data race): to wait on a process, use
// Spawn(name, Command(cmd)), whose Task has Done and Err and may be
// waited on by any goroutine. TEST_NOCLEANUP=true keeps the cgroups,
// not the processes: they are killed all the same.
//
// The child is placed with clone3's CLONE_INTO_CGROUP
// (SysProcAttr.UseCgroupFD, Linux 5.7 and later): it is in the cgroup
// before its first instruction. Where clone3 is refused (ENOSYS or
// EPERM, as under some seccomp policies; probed once per process), Start
// starts cmd normally and then moves it with Manager.MoveTask; the child
// then runs briefly outside the cgroup, and if the move fails it is
// killed and reaped. cmd.SysProcAttr is created if nil; UseCgroupFD and
// CgroupFD are overwritten. A zero cmd.WaitDelay is set to
// cgroupfs.DefaultWaitDelay, so that a child holding cmd's output open
// cannot hold the stop.
//
// Start fails before starting anything when name is invalid, was not
// created by the group, the test has ended (ErrTestEnded), cgroup.kill
// was written to it (ErrKilledCgroup), or the Manager's FS cannot open
// directories (fakefs: its cgroups cannot hold real processes). The
// kernel refuses a cgroup whose cgroup.subtree_control is not empty
// (EBUSY: the no-internal-process rule) and a removed one (ENOENT).
func (g *Group) Start(name string, cmd *exec.Cmd) error {
	g.t.Helper()
	if err := g.check(name); err != nil {
		return fmt.Errorf("cgtest: start in cgroup: %w", err)
	}
	opener, err := g.startCheck(name)
	if err != nil {
		return err
	}
	p, err := g.ops.Path(name)
	if err != nil {
		return fmt.Errorf("cgtest: start %s in cgroup %q: %w", cmd.Path, name, err)
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = cgroupfs.DefaultWaitDelay
	}
	if clone3Refused() {
		err = g.startThenMove(name, cmd)
	} else {
		err = startInto(opener, p, cmd)
	}
	if err != nil {
		return fmt.Errorf("cgtest: start %s in cgroup %s: %w%s", cmd.Path, g.display(name), err, startHint(err))
	}
	g.t.Cleanup(func() { g.stop(cmd) })
	return nil
}

// startCheck validates a Start before any I/O. It returns the FS as a
// DirOpener.
func (g *Group) startCheck(name string) (cgroupfs.DirOpener, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.ended:
		return nil, fmt.Errorf("cgtest: start in cgroup %q: %w", name, ErrTestEnded)
	case !g.tracked[name]:
		return nil, fmt.Errorf("cgtest: start in cgroup %q: the group did not create it (add it with AddCgroup first): %w", name, errNotTracked)
	}
	// killed holds the cgroup a kill was written to and every cgroup
	// beneath it at that moment: cgroups made beneath it later are not
	// affected by the kernel bug.
	if g.killed[name] {
		return nil, fmt.Errorf("cgtest: start in cgroup %q: %w: add a new cgroup for new processes", name, ErrKilledCgroup)
	}
	opener, ok := g.ops.FS().(cgroupfs.DirOpener)
	if !ok {
		return nil, fmt.Errorf("cgtest: start in cgroup %q: the Manager's filesystem (%T) has no real directories (no cgroupfs.DirOpener), so no real process can live in its cgroups; use Spawn(name, Command(cmd)), which starts a fake task there", name, g.ops.FS())
	}
	return opener, nil
}

var errNotTracked = errors.New("not a cgroup of this group")

// startInto starts cmd with CLONE_INTO_CGROUP into the directory p.
func startInto(opener cgroupfs.DirOpener, p string, cmd *exec.Cmd) error {
	dir, err := opener.OpenDir(p)
	if err != nil {
		return fmt.Errorf("open the cgroup: %w", err)
	}
	defer dir.Close()
	cmd.SysProcAttr.UseCgroupFD = true
	cmd.SysProcAttr.CgroupFD = int(dir.Fd())
	return cmd.Start()
}

// startThenMove is the way where clone3 is refused: start outside, then
// move the process in. On a failed move the process is killed and
// reaped, so that nothing the test did not ask for keeps running.
func (g *Group) startThenMove(name string, cmd *exec.Cmd) error {
	cmd.SysProcAttr.UseCgroupFD = false
	cmd.SysProcAttr.CgroupFD = 0
	if err := cmd.Start(); err != nil {
		return err
	}
	if err := g.ops.MoveTask(name, cmd.Process.Pid); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return fmt.Errorf("clone3 is refused here, so pid %d was started outside and moved in, but the move failed and it was killed: %w", cmd.Process.Pid, err)
	}
	return nil
}

func startHint(err error) string {
	switch {
	case errors.Is(err, unix.EBUSY):
		return " (the cgroup has controllers enabled in its cgroup.subtree_control, and the no-internal-process rule keeps tasks out of it: start in a leaf cgroup)"
	case errors.Is(err, unix.ENOENT):
		return " (the cgroup was removed)"
	case errors.Is(err, unix.EBADF):
		return " (the directory is not on a cgroup2 filesystem)"
	case errors.Is(err, unix.EINVAL):
		return " (spawning into a cgroup, CLONE_INTO_CGROUP, needs Linux 5.7 or later)"
	}
	return ""
}

// stop kills cmd's process and reaps it, waiting at most the teardown
// budget: a grandchild that holds cmd's output pipe open can keep Wait
// from returning, and the cgroup's own teardown kills that one.
func (g *Group) stop(cmd *exec.Cmd) {
	g.t.Helper()
	_ = cmd.Process.Kill() // os.ErrProcessDone when the test reaped it
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait() // "Wait was already called" when the test did
		close(done)
	}()
	// The group's deadline, not a budget per process: many stops
	// together take at most the budget (see stopTask).
	timer := time.NewTimer(max(time.Until(g.stopDeadline()), stopGrace))
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		g.t.Logf("cgtest: killed pid %d (%s), but Wait did not return within the group's teardown budget (%v): a child of it probably holds its output open; the cgroup's teardown kills the rest", cmd.Process.Pid, cmd.Path, g.cfg.budget)
	}
}

// Kill kills every task in the group's cgroup name and beneath it
// (cgroup.kill) and waits, within the group's budget, for the kernel to
// report it empty. The cgroup and its current descendants can no longer
// be spawned into with Start (see ErrKilledCgroup); cgroups added
// beneath it later can.
//
// Kill fails when name is invalid or not the group's, after the test
// ended, and when the test process itself is inside (cgroupfs.ErrCallerInside: nothing is killed).
func (g *Group) Kill(name string) error {
	g.t.Helper()
	if err := g.check(name); err != nil {
		return fmt.Errorf("cgtest: kill: %w", err)
	}
	g.mu.Lock()
	switch {
	case g.ended:
		g.mu.Unlock()
		return fmt.Errorf("cgtest: kill the tasks of cgroup %q: %w", name, ErrTestEnded)
	case !g.tracked[name]:
		g.mu.Unlock()
		return fmt.Errorf("cgtest: kill the tasks of cgroup %q: the group did not create it: %w", name, errNotTracked)
	}
	g.mu.Unlock()
	if err := g.checkIdentity(name); err != nil {
		return fmt.Errorf("cgtest: refuse to kill the tasks of cgroup %s: %w", g.display(name), err)
	}
	tree, err := g.subtree(name)
	if err != nil {
		return fmt.Errorf("cgtest: kill the tasks of cgroup %s: %w", g.display(name), err)
	}
	// Marked before the write: if it is half done, spawning into the
	// cgroup is already unsafe.
	g.markKilled(tree)
	if err := g.ops.KillTasks(name); err != nil {
		return fmt.Errorf("cgtest: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), g.cfg.budget)
	defer cancel()
	if err := g.ops.WaitEmpty(ctx, name); err != nil {
		return fmt.Errorf("cgtest: wait for cgroup %s to be empty after the kill: %w", g.display(name), err)
	}
	return nil
}
