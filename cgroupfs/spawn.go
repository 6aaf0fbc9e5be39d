package cgroupfs

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// TaskStarter is implemented by an FS whose cgroups can hold tasks the
// caller starts: the OS-backed FS starts a real process, fakefs.FS a
// fake task that stands for it. Code that puts workloads into cgroups
// (cgtest's Group.Spawn) needs no second path for fakes: it asks the FS.
type TaskStarter interface {
	// StartTask starts cmd inside the cgroup name (FS-relative, like
	// "a/b") and returns its handle. The handle owns cmd: the caller
	// must not call cmd.Wait, and waits on Task.Done instead. The
	// kernel's refusals keep their errno: EBUSY under the
	// no-internal-process rule, ENOENT for a missing cgroup.
	StartTask(name string, cmd *exec.Cmd) (Task, error)
}

// Task is a task started in a cgroup by a TaskStarter. Its methods are
// safe for concurrent use, and Done may be waited on by any number of
// goroutines, which cmd.Wait may not.
type Task interface {
	// Pid returns the task's process id, as cgroup.procs lists it.
	Pid() int
	// Kill ends the task as SIGKILL does. Killing a task that has
	// already ended is not an error.
	Kill() error
	// Done is closed once the task has ended (a real process: exited
	// and reaped). Its cgroup may read "populated 1" a little longer,
	// while the kernel finishes the exit or children of it live on:
	// wait for the cgroup (Manager.WaitEmpty), not the task, before
	// removing it.
	Done() <-chan struct{}
	// Err says, once Done is closed, how the task ended: nil for exit
	// status 0; an error wrapping ErrKilled when it was killed by
	// SIGKILL (Kill, cgroup.kill); another error otherwise (for a real
	// process an *exec.ExitError is reachable with errors.As). Before
	// Done is closed it returns nil.
	Err() error
}

// ErrKilled is wrapped by Task.Err when the task was killed by SIGKILL
// (Task.Kill, cgroup.kill, or anyone's kill(2)), on every backend.
var ErrKilled = errors.New("killed by SIGKILL")

// DefaultWaitDelay is the exec.Cmd.WaitDelay StartTask of the OS-backed
// FS sets when cmd's is zero: once the process has exited, a child of
// it that still holds its output pipes open keeps Done from closing for
// at most this long (the pipes are then closed and the rest of the
// output is lost), so that stopping a workload stays bounded.
const DefaultWaitDelay = 200 * time.Millisecond

// clone3Refused reports whether clone3 is refused here: ENOSYS from a
// kernel before 5.3 or from a seccomp policy (Docker's default profile
// answers ENOSYS so that libc falls back to clone), EPERM from other
// policies. It is probed once, with a zero-sized argument the kernel
// rejects (EINVAL) before creating anything, because an exec.Cmd cannot
// be started twice: StartTask must choose its way before trying.
var clone3Refused = sync.OnceValue(func() bool {
	_, _, errno := unix.Syscall(unix.SYS_CLONE3, 0, 0, 0)
	return errno == unix.ENOSYS || errno == unix.EPERM
})

// StartTask starts cmd inside the cgroup name, as StartProcess does, and
// returns its handle. The Task reaps the process (cmd.Wait) in a
// goroutine of its own: do not call cmd.Wait.
func (f *OSFS) StartTask(name string, cmd *exec.Cmd) (Task, error) {
	if err := f.StartProcess(name, cmd); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go p.reap()
	return p, nil
}

// StartProcess starts cmd inside the cgroup name with clone3's
// CLONE_INTO_CGROUP (SysProcAttr.UseCgroupFD, Linux 5.7 and later): the
// process is in the cgroup before its first instruction. Where clone3 is
// refused (some seccomp policies), it starts cmd normally and then
// writes its pid to the cgroup's cgroup.procs; if that move fails, the
// process is killed and reaped and the error returned.
//
// Unlike StartTask, it leaves cmd to the caller, who reaps it with
// cmd.Wait as after cmd.Start (cgtest's Group.Start does, so that its
// test keeps cmd). cmd.SysProcAttr is created if nil, and its
// UseCgroupFD and CgroupFD are overwritten; a zero cmd.WaitDelay is set
// to DefaultWaitDelay. The kernel refuses a cgroup whose
// cgroup.subtree_control enables a domain controller (EBUSY) and a
// removed one (ENOENT).
func (f *OSFS) StartProcess(name string, cmd *exec.Cmd) error {
	if cmd == nil {
		return fmt.Errorf("cgroupfs: start a process in cgroup %s: the command is nil: %w", name, os.ErrInvalid)
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = DefaultWaitDelay
	}
	if clone3Refused() {
		return f.startThenMove(name, cmd)
	}
	return f.startInto(name, cmd)
}

// startInto starts cmd with CLONE_INTO_CGROUP into the cgroup name.
func (f *OSFS) startInto(name string, cmd *exec.Cmd) error {
	dir, err := f.OpenDir(name)
	if err != nil {
		return fmt.Errorf("cgroupfs: start %s in cgroup %s: %w%s", cmd.Path, name, err, hint(opSpawn, err))
	}
	defer dir.Close()
	cmd.SysProcAttr.UseCgroupFD = true
	cmd.SysProcAttr.CgroupFD = int(dir.Fd())
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cgroupfs: start %s in cgroup %s: %w%s", cmd.Path, name, err, hint(opSpawn, err))
	}
	return nil
}

// startThenMove is the way where clone3 is refused: start outside, then
// move the process in. On a failed move the process is killed and
// reaped, so that nothing the caller did not ask for keeps running.
func (f *OSFS) startThenMove(name string, cmd *exec.Cmd) error {
	cmd.SysProcAttr.UseCgroupFD = false
	cmd.SysProcAttr.CgroupFD = 0
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cgroupfs: start %s for cgroup %s: %w", cmd.Path, name, err)
	}
	pid := cmd.Process.Pid
	if err := f.WriteFile(joinName(name, "cgroup.procs"), []byte(strconv.Itoa(pid))); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return fmt.Errorf("cgroupfs: start %s in cgroup %s: clone3 is refused here, so pid %d was started outside and moved in, but the move failed and it was killed: %w%s",
			cmd.Path, name, pid, err, hint(opMove, err))
	}
	return nil
}

// process is the Task of a real process.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // set before done is closed
}

func (p *process) reap() {
	err := p.cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			err = fmt.Errorf("pid %d: %w: %w", p.cmd.Process.Pid, ErrKilled, err)
		}
	}
	p.err = err
	close(p.done)
}

func (p *process) Pid() int              { return p.cmd.Process.Pid }
func (p *process) Done() <-chan struct{} { return p.done }

func (p *process) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Kill sends SIGKILL. os.Process refuses to signal a process it has
// reaped (os.ErrProcessDone), so a recycled pid is never hit.
func (p *process) Kill() error {
	err := p.cmd.Process.Kill()
	if err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("cgroupfs: kill pid %d: %w", p.Pid(), err)
	}
	return nil
}

var _ TaskStarter = (*OSFS)(nil)
