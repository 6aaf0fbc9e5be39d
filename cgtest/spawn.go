package cgtest

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"time"
)

// ErrKilledCgroup is wrapped by the error of Start into a cgroup that
// had cgroup.kill written to it, or to an ancestor, while it existed.
// On Linux 6.18 every later CLONE_INTO_CGROUP into such a cgroup is
// SIGKILLed at once (Start succeeds, Wait says "signal: killed"), so the
// group refuses instead of handing the test a dead process.
var ErrKilledCgroup = errors.New("cgroup.kill was written to this cgroup, or to an ancestor while it existed, and the kernel kills every process later spawned into it")

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
// The process is started by cgroupfs.OSFS.StartProcess: inside the
// cgroup from its first instruction (CLONE_INTO_CGROUP), or, where
// clone3 is refused, started and then moved in. cmd.SysProcAttr is
// created if nil; UseCgroupFD and CgroupFD are overwritten. A zero
// cmd.WaitDelay is set to cgroupfs.DefaultWaitDelay, so that a child
// holding cmd's output open cannot hold the stop.
//
// Start fails before starting anything when name is invalid, was not
// created by the group, the test has ended (ErrTestEnded), cgroup.kill
// was written to it (ErrKilledCgroup), or the Manager's FS cannot start
// real processes (fakefs: its cgroups cannot hold them). The kernel
// refuses a cgroup whose cgroup.subtree_control enables a domain
// controller (EBUSY: the no-internal-process rule) and a removed one
// (ENOENT).
func (g *Group) Start(name string, cmd *exec.Cmd) error {
	g.t.Helper()
	if err := g.check(name); err != nil {
		return fmt.Errorf("cgtest: start in cgroup: %w", err)
	}
	starter, err := g.startCheck(name)
	if err != nil {
		return err
	}
	p, err := g.ops.Path(name)
	if err != nil {
		return fmt.Errorf("cgtest: start %s in cgroup %q: %w", cmd.Path, name, err)
	}
	if err := starter.StartProcess(p, cmd); err != nil {
		return fmt.Errorf("cgtest: %w", err)
	}
	g.t.Cleanup(func() { g.stop(cmd) })
	return nil
}

// processStarter is an FS that starts a real process inside a cgroup
// and leaves cmd to the caller: cgroupfs.OSFS.
type processStarter interface {
	StartProcess(name string, cmd *exec.Cmd) error
}

// startCheck validates a Start before any I/O. It returns the FS as a
// processStarter.
func (g *Group) startCheck(name string) (processStarter, error) {
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
	starter, ok := g.ops.FS().(processStarter)
	if !ok {
		return nil, fmt.Errorf("cgtest: start in cgroup %q: the Manager's filesystem (%T) has no real directories (no cgroupfs.DirOpener, not a cgroupfs.OSFS), so no real process can live in its cgroups; use Spawn(name, Command(cmd)), which starts a fake task there", name, g.ops.FS())
	}
	return starter, nil
}

var errNotTracked = errors.New("not a cgroup of this group")

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
