package fakefs

import (
	"fmt"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"
)

// task is a fake process with a single thread.
type task struct {
	pid    int
	cg     *cgroup
	exited bool        // exited but lingering: counts as populated, not listed
	linger int         // observations left after exit; <0: until Release
	handle *taskHandle // set by StartTask; told when the task exits
}

// Spawn starts a fake process directly in the cgroup name, as
// clone(CLONE_INTO_CGROUP) does, and returns its pid (FirstPid and up,
// never reused). It fails like the kernel: ENOENT for a missing cgroup,
// ENOTDIR for a file, and EBUSY when the no-internal-process rule
// forbids tasks there (a non-root cgroup whose cgroup.subtree_control
// enables a domain controller, or has populated children).
func (f *FS) Spawn(name string) (pid int, err error) {
	err = f.do(OpSpawn, name, "", func() error {
		c, err := f.dir(name)
		if err != nil {
			return err
		}
		if err := f.vetDst(c); err != nil {
			return err
		}
		pid = f.nextPid
		f.nextPid++
		f.tasks[pid] = &task{pid: pid, cg: c}
		had := hasTasks(c)
		c.procs = append(c.procs, pid)
		f.tasksChanged(c, had)
		return nil
	})
	return pid, err
}

// Exit makes the task pid exit now. With a linger set (SetLinger) it
// stays in its cgroup as an exiting task: no longer in cgroup.procs, but
// keeping the cgroup populated. Exit fails with ESRCH for a pid that is
// not a live fake task.
func (f *FS) Exit(pid int) error { return f.end(OpExit, pid) }

// Kill kills the task pid, as SIGKILL does; for a fake task this is the
// same as Exit (and lingers the same way). It fails with ESRCH for a pid
// that is not a live fake task.
func (f *FS) Kill(pid int) error { return f.end(OpKill, pid) }

func (f *FS) end(op Op, pid int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tasks[pid]
	if !ok || t.exited {
		err := fmt.Errorf("fakefs: %s pid %d: no live fake task has this pid (it never existed, or exited): %w", op, pid, unix.ESRCH)
		f.record(LogEntry{Op: op, Data: strconv.Itoa(pid), Err: err})
		return err
	}
	f.record(LogEntry{Op: op, Path: t.cg.path(), Data: strconv.Itoa(pid)})
	f.exitTask(t, op == OpKill)
	return nil
}

// exitTask takes t out of cgroup.procs; it is gone at once unless it
// lingers. killed says it was killed (Kill, cgroup.kill) rather than
// exited, for the handle of StartTask.
func (f *FS) exitTask(t *task, killed bool) {
	if t.handle != nil {
		t.handle.exit(killed)
	}
	c := t.cg
	had := hasTasks(c)
	c.procs = slices.DeleteFunc(c.procs, func(p int) bool { return p == t.pid })
	if t.linger == 0 {
		delete(f.tasks, t.pid)
	} else {
		t.exited = true
		c.exiting = append(c.exiting, t.pid)
		f.lingering[t.pid] = t
	}
	f.tasksChanged(c, had)
}

// reap removes an exited, lingering task for good.
func (f *FS) reap(t *task) {
	c := t.cg
	had := hasTasks(c)
	c.exiting = slices.DeleteFunc(c.exiting, func(p int) bool { return p == t.pid })
	delete(f.tasks, t.pid)
	delete(f.lingering, t.pid)
	f.tasksChanged(c, had)
}

// SetLinger makes the task pid linger after it exits (Exit, Kill, or
// cgroup.kill): it keeps its cgroup populated, so rmdir fails with EBUSY
// and cgroup.events reads "populated 1", for the next n observations,
// and is gone right after the n-th, which notifies the watchers of
// cgroup.events. An observation is any read of a cgroup.events file or
// any Rmdir call, on any cgroup; each one that leaves the task lingering
// also wakes the watchers of cgroup.events of its cgroup and ancestors.
// This lets a test exercise a teardown that waits for "populated 0"
// without sleeping: the waiter's own reads and retries move time
// forward, as a watch-read-wait loop needs n+1 reads to see it empty. n < 0 lingers until Release; n == 0 (the
// default) exits at once. SetLinger also changes the count of a task
// already lingering. It fails with ESRCH for an unknown pid.
func (f *FS) SetLinger(pid int, n int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tasks[pid]
	if !ok {
		return fmt.Errorf("fakefs: set linger of pid %d: no fake task has this pid: %w", pid, unix.ESRCH)
	}
	t.linger = n
	if t.exited && n == 0 {
		f.reap(t)
	}
	return nil
}

// Release ends the lingering of the exited task pid now: its cgroup
// becomes unpopulated (if nothing else is in it) and watchers are
// notified. It fails with ESRCH when pid is not an exited, lingering
// fake task.
func (f *FS) Release(pid int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tasks[pid]
	if !ok || !t.exited {
		return fmt.Errorf("fakefs: release pid %d: no lingering fake task has this pid: %w", pid, unix.ESRCH)
	}
	f.reap(t)
	return nil
}

// observe counts one observation for every lingering task and reaps
// those whose count runs out, in pid order. The caller holds the lock
// and has already computed its answer. It costs nothing while no task
// lingers.
func (f *FS) observe() {
	if len(f.lingering) == 0 {
		return
	}
	pids := make([]int, 0, len(f.lingering))
	for pid := range f.lingering {
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	for _, pid := range pids {
		t := f.lingering[pid]
		if t.linger <= 0 {
			continue
		}
		t.linger--
		if t.linger == 0 {
			f.reap(t)
			continue
		}
		// Still exiting: wake the waiters anyway, so that one that read
		// "populated 1" and waits for a change reads again and moves
		// time on. Watchers must tolerate such extra events (they
		// re-read after every event), as with the kernel's coalescing.
		for g := t.cg; g != nil; g = g.parent {
			g.notifyFile("cgroup.events")
		}
	}
}

// killSubtree kills every live task of c's subtree (cgroup.kill).
func (f *FS) killSubtree(c *cgroup) {
	for _, pid := range slices.Clone(c.procs) {
		f.record(LogEntry{Op: OpKill, Path: c.path(), Data: strconv.Itoa(pid)})
		f.exitTask(f.tasks[pid], true)
	}
	for _, ch := range c.sortedChildren() {
		f.killSubtree(ch)
	}
}

// Pids returns the live tasks of the cgroup name in join order, as its
// cgroup.procs lists them, or nil when the cgroup does not exist.
func (f *FS) Pids(name string) []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.dir(name)
	if err != nil {
		return nil
	}
	return slices.Clone(c.procs)
}

// writeProcs follows __cgroup_procs_write: one pid per write, parsed by
// kstrtoint with base 0 after strstrip (EINVAL for garbage, negative or
// overflowing numbers, or two pids), ESRCH for a pid that is not a live
// fake task (pid 0, the writer itself in the kernel, is never a fake
// task), then the destination rules of vetDst (EBUSY under the
// no-internal-process rule, EOPNOTSUPP for an invalid domain). The task
// leaves its old cgroup and joins the end of c's list.
func writeProcs(f *FS, c *cgroup, s string) error { return f.move(c, s, true) }

// move moves the task named by s into c: the whole process, or (for
// cgroup.threads) its one thread, which may not leave its domain.
func (f *FS) move(c *cgroup, s string, process bool) error {
	pid, err := kstrtoint(strstrip(s))
	if err != nil || pid < 0 {
		return unix.EINVAL
	}
	t, ok := f.tasks[pid]
	if !ok || t.exited {
		return unix.ESRCH
	}
	if err := f.vetDst(c); err != nil {
		return err
	}
	if !process && dom(t.cg) != dom(c) {
		return unix.EOPNOTSUPP
	}
	if t.cg == c {
		return nil
	}
	// As css_set_move_task: the destination is populated before the
	// source may empty, so that a common ancestor never flips.
	old := t.cg
	had := hasTasks(c)
	t.cg = c
	c.procs = append(c.procs, pid)
	f.tasksChanged(c, had)
	had = hasTasks(old)
	old.procs = slices.DeleteFunc(old.procs, func(p int) bool { return p == pid })
	f.tasksChanged(old, had)
	return nil
}
