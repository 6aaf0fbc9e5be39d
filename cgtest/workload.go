package cgtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"golang.org/x/sys/unix"
)

// WorkloadEnv names the environment variable that turns a process into
// a built-in workload. Spawn sets it in the environment of the test
// binary it starts again for Spinner, Sleeper and Yielder; an init
// function of this package reads it and runs the workload instead of
// the program (so tests need no TestMain), until the process is killed
// or an hour has passed. Any program that imports cgtest can be started
// this way; the variable is never set otherwise.
const WorkloadEnv = "CGGUARD_WORKLOAD"

// workloadLimit bounds a built-in workload's life should every killer
// fail: it still goes away on its own.
const workloadLimit = time.Hour

func init() {
	if spec := os.Getenv(WorkloadEnv); spec != "" {
		os.Exit(runWorkload(spec))
	}
}

// Workload is what Group.Spawn runs in a cgroup: a built-in (Spinner,
// Sleeper, Yielder), which needs no binary but the running test, or a
// Command. The zero Workload is invalid.
type Workload struct {
	kind    string // "spin", "sleep", "yield", or "" for a command
	threads int
	cmd     *exec.Cmd
}

// Spinner is a workload that keeps one thread on a CPU (a busy loop that
// never sleeps nor yields) until killed. See Threads for more.
func Spinner() Workload { return Workload{kind: "spin", threads: 1} }

// Sleeper is a workload that sleeps until killed: it holds its cgroup
// populated and uses no CPU.
func Sleeper() Workload { return Workload{kind: "sleep", threads: 1} }

// Yielder is a workload that calls sched_yield(2) in a loop until
// killed: always runnable, but handing its CPU to any other runnable
// task of its run queue.
func Yielder() Workload { return Workload{kind: "yield", threads: 1} }

// Command is a workload that runs cmd. Spawn owns cmd once it returns
// successfully: wait on the Task, never call cmd.Wait. On a fake FS cmd
// is not run; a fake task stands for it.
func Command(cmd *exec.Cmd) Workload { return Workload{cmd: cmd} }

// Threads returns the built-in workload w running n threads, each doing
// what w does (n spinners keep n CPUs busy). It has no effect on a
// Command. n < 1 means 1.
func (w Workload) Threads(n int) Workload {
	if w.kind != "" {
		w.threads = max(n, 1)
	}
	return w
}

// String names the workload, for test names and messages: "spinner",
// "sleeper", "yielder" (with "x<n>" for n threads), or the command's
// path.
func (w Workload) String() string {
	var s string
	switch w.kind {
	case "spin":
		s = "spinner"
	case "sleep":
		s = "sleeper"
	case "yield":
		s = "yielder"
	case "":
		if w.cmd == nil {
			return "invalid workload"
		}
		return w.cmd.Path
	}
	if w.threads > 1 {
		s += "x" + strconv.Itoa(w.threads)
	}
	return s
}

// readyEnv names the descriptor on which a built-in workload reports,
// with one byte, that all its threads run; then it closes it.
const readyEnv = "CGGUARD_WORKLOAD_READY_FD"

// readyTimeout bounds Spawn's wait for a built-in workload to report
// that it runs: generous, as starting the test binary again takes
// seconds in an emulated VM on a busy machine.
const readyTimeout = time.Minute

// command returns the command to start for w and, for a built-in, the
// read end of its ready pipe and the write end to close once started.
func (w Workload) command() (cmd *exec.Cmd, ready, readyW *os.File, err error) {
	if w.kind == "" {
		if w.cmd == nil {
			return nil, nil, nil, errors.New("the workload is the zero Workload (use Spinner, Sleeper, Yielder or Command)")
		}
		return w.cmd, nil, nil, nil
	}
	self, err := os.Executable()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("find the test binary to run the %s workload: %w", w, err)
	}
	ready, readyW, err = os.Pipe()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("make the pipe the %s workload reports on: %w", w, err)
	}
	// -test.run=^$: should the init above not run (a binary that does
	// not import cgtest), the test binary runs no test.
	cmd = exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), WorkloadEnv+"="+w.kind+":"+strconv.Itoa(w.threads), readyEnv+"=3")
	cmd.ExtraFiles = []*os.File{readyW} // fd 3
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Should the test die without cleaning up (go test -timeout,
		// a crash), the workload dies with it. The signal follows the
		// forking OS thread, which the Go runtime keeps unless a
		// goroutine that locked it exits.
		Pdeathsig: syscall.SIGKILL,
	}
	return cmd, ready, readyW, nil
}

// awaitReady waits for the built-in workload started as task to report
// on ready that its threads run. It closes ready.
func awaitReady(ready *os.File, task cgroupfs.Task) error {
	defer ready.Close()
	if err := ready.SetReadDeadline(time.Now().Add(readyTimeout)); err != nil {
		return err
	}
	var b [1]byte
	if _, err := ready.Read(b[:]); err != nil {
		select {
		case <-task.Done():
			return fmt.Errorf("it ended before it ran: %v", task.Err())
		case <-time.After(100 * time.Millisecond):
		}
		return fmt.Errorf("it did not report running within %v: %w", readyTimeout, err)
	}
	return nil
}

// runWorkload runs the built-in workload spec ("spin:2") and returns the
// exit code: 2 for a spec it does not know.
func runWorkload(spec string) int {
	kind, n, _ := strings.Cut(spec, ":")
	threads, err := strconv.Atoi(n)
	if err != nil || threads < 1 {
		fmt.Fprintf(os.Stderr, "cgtest: %s=%q: want <kind>:<threads>\n", WorkloadEnv, spec)
		return 2
	}
	var loop func()
	switch kind {
	case "spin":
		loop = func() {
			//lint:ignore SA5002 a spinner spins: that is the workload
			for {
			}
		}
	case "yield":
		loop = func() {
			for {
				// Syscall, not RawSyscall: the runtime may take the P
				// while in it, where a raw loop would leave no safe
				// point to preempt the goroutine and starve the rest of
				// the process (its report that it runs, for one).
				_, _, _ = unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
			}
		}
	case "sleep":
		loop = func() { select {} }
	default:
		fmt.Fprintf(os.Stderr, "cgtest: %s=%q: unknown workload %q (spin, sleep, yield)\n", WorkloadEnv, spec, kind)
		return 2
	}
	// One OS thread per worker, so that a test sees (in
	// /proc/<pid>/task) and the scheduler places as many threads as
	// asked for.
	runtime.GOMAXPROCS(threads)
	// Every worker thread exists before the report, and none loops
	// before it: with as many Ps as workers, a loop could otherwise keep
	// this goroutine from running to write it.
	var started sync.WaitGroup
	begin := make(chan struct{})
	for range threads {
		started.Add(1)
		go func() {
			runtime.LockOSThread()
			started.Done()
			<-begin
			loop()
		}()
	}
	started.Wait()
	if fd, err := strconv.Atoi(os.Getenv(readyEnv)); err == nil && fd > 2 {
		// Spawn waits for this byte, so that a check started after
		// Spawn returns sees the workload running, not starting.
		ready := os.NewFile(uintptr(fd), "ready")
		_, _ = ready.Write([]byte{1})
		_ = ready.Close()
	}
	close(begin)
	time.Sleep(workloadLimit)
	return 0
}

// Task is a workload started by Group.Spawn. Its methods are safe for
// concurrent use; unlike exec.Cmd.Wait, Done and Wait may be used by
// any number of goroutines, and alongside the group's own stop at the
// end of the test.
type Task struct {
	cgroup string
	w      Workload
	task   cgroupfs.Task
}

// Pid returns the task's process id, as its cgroup's cgroup.procs lists
// it (a fake pid on a fake FS).
func (t *Task) Pid() int { return t.task.Pid() }

// Cgroup returns the name of the group's cgroup the task was started in.
func (t *Task) Cgroup() string { return t.cgroup }

// Workload returns what the task runs.
func (t *Task) Workload() Workload { return t.w }

// Done is closed once the task has ended (a real process: exited and
// reaped).
func (t *Task) Done() <-chan struct{} { return t.task.Done() }

// Err returns how the task ended once Done is closed (nil before): nil
// for exit status 0, an error wrapping cgroupfs.ErrKilled when SIGKILL
// ended it, another error otherwise.
func (t *Task) Err() error { return t.task.Err() }

// Kill ends the task with SIGKILL and does not wait: wait on Done. A
// task that has ended is not an error.
func (t *Task) Kill() error { return t.task.Kill() }

// Spawn starts the workload w inside the group's cgroup name, which the
// group must have created, and returns its Task. On the real kernel (an
// FS from cgroupfs.Open, as Root gives) it is a process started straight
// into the cgroup (see cgroupfs.OSFS.StartTask); on fakefs a fake task
// stands for it and nothing runs. So one table-driven test runs on
// both backends. A built-in workload on the kernel reports through a
// pipe when all its threads run, and Spawn returns only then, so that a
// check started right after measures it running, not starting; one that
// does not report within a minute is killed and Spawn fails.
//
// The task is killed and reaped when the test ends, before its cgroup
// is removed (its cleanup is registered after the cgroup's). Those stops
// share the group's teardown budget with the cgroups' removal: a task
// that does not end within it is reported and left to the cgroup's
// teardown, which kills what is left.
//
// Spawn fails before starting anything when name is invalid, was not
// created by the group, the test has ended (ErrTestEnded), cgroup.kill
// was written to it (ErrKilledCgroup), w is the zero Workload, or the
// Manager's FS cannot start tasks (no cgroupfs.TaskStarter). The kernel's (or
// the fake's) refusal keeps its errno: EBUSY for a cgroup whose
// cgroup.subtree_control enables a domain controller (start in a leaf),
// ENOENT for a removed one.
func (g *Group) Spawn(name string, w Workload) (*Task, error) {
	g.t.Helper()
	if err := g.check(name); err != nil {
		return nil, fmt.Errorf("cgtest: spawn in cgroup: %w", err)
	}
	fsys, p, err := g.spawnTarget(name)
	if err != nil {
		return nil, fmt.Errorf("cgtest: spawn %s in cgroup %q: %w", w, name, err)
	}
	starter, ok := fsys.(cgroupfs.TaskStarter)
	if !ok {
		return nil, fmt.Errorf("cgtest: spawn %s in cgroup %q: the Manager's filesystem (%T) cannot start tasks (it does not implement cgroupfs.TaskStarter)", w, name, fsys)
	}
	cmd, ready, readyW, err := w.command()
	if err != nil {
		return nil, fmt.Errorf("cgtest: spawn in cgroup %q: %w", name, err)
	}
	ct, err := starter.StartTask(p, cmd)
	if readyW != nil {
		readyW.Close() // the child has its copy, if it was started
	}
	if err != nil {
		if ready != nil {
			ready.Close()
		}
		return nil, fmt.Errorf("cgtest: spawn %s in cgroup %s: %w", w, g.display(name), err)
	}
	task := &Task{cgroup: name, w: w, task: ct}
	g.t.Cleanup(func() { g.stopTask(task) })
	if ready != nil {
		if cmd.Process == nil {
			ready.Close() // a fake task: nothing runs, nothing to wait for
		} else if err := awaitReady(ready, ct); err != nil {
			_ = ct.Kill()
			return nil, fmt.Errorf("cgtest: spawn %s in cgroup %s: pid %d: %w", w, g.display(name), ct.Pid(), err)
		}
	}
	return task, nil
}

// spawnTarget checks that name may be spawned into and returns the FS
// and FS-relative path to start in.
func (g *Group) spawnTarget(name string) (cgroupfs.FS, string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.ended:
		return nil, "", ErrTestEnded
	case !g.tracked[name]:
		return nil, "", fmt.Errorf("the group did not create it (add it with AddCgroup first): %w", errNotTracked)
	case g.killed[name]:
		return nil, "", fmt.Errorf("%w: add a new cgroup for new tasks", ErrKilledCgroup)
	}
	p, err := g.ops.Path(name)
	if err != nil {
		return nil, "", err
	}
	return g.ops.FS(), p, nil
}

// stopTask kills the task and waits for it until the group's teardown
// deadline, which the first stop or removal starts: many stops together
// take at most the budget, not a budget each.
func (g *Group) stopTask(t *Task) {
	g.t.Helper()
	if err := t.Kill(); err != nil {
		g.t.Logf("cgtest: stop the %s task (pid %d) in cgroup %s: %v; the cgroup's teardown kills what is left", t.w, t.Pid(), g.display(t.cgroup), err)
		return
	}
	timer := time.NewTimer(max(time.Until(g.stopDeadline()), stopGrace))
	defer timer.Stop()
	select {
	case <-t.Done():
	case <-timer.C:
		g.t.Logf("cgtest: killed the %s task (pid %d) in cgroup %s, but it did not end within the group's teardown budget (%v); the cgroup's teardown kills what is left", t.w, t.Pid(), g.display(t.cgroup), g.cfg.budget)
	}
}

// stopGrace is how long a stop waits for a killed task once the budget
// is spent: killed tasks end in about a millisecond, so only a stuck one
// costs this much.
const stopGrace = 100 * time.Millisecond

// stopDeadline returns the end of the group's teardown budget, starting
// it now if no stop or removal has started it yet.
func (g *Group) stopDeadline() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.deadline.IsZero() {
		g.deadline = time.Now().Add(g.cfg.budget)
	}
	return g.deadline
}
