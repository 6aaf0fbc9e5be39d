package cgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/cgguard/cgguard/cgroupfs"
	"golang.org/x/sys/unix"
)

// Hint texts, kept together so that tests and users see the same words.
const (
	hintTasks = "the cgroup still has live tasks (%s): a workload was not stopped before teardown, or a task survived the kill; " +
		"stop workloads before the test ends (Group.Start does), and look for tasks in state D, which are stuck in the kernel and cannot die until it lets go"
	hintChildren = "the cgroup still has child cgroups (%s): the kernel refuses to remove a cgroup with children (EBUSY, not ENOTEMPTY); " +
		"they could not be removed first (see the warnings about them), or something keeps creating them (a scheduler, a workload)"
	hintBusyGone = "the kernel said EBUSY, yet no task and no child cgroup is visible any more: tasks were still exiting; " +
		"a larger cgtest.Budget gives them time"
	hintTimeout = "teardown used up its budget%s; raise it with cgtest.Budget, or look for a task stuck in the kernel (state D) " +
		"or a cgroupfs write blocked by a scheduler being reconfigured"
	hintReplaced = "a cgroup of the same name made by someone else (a container runtime, another test) is not this test's to empty or remove; " +
		"if the test itself removed and re-created it, do that through the group (AddCgroup), or choose names no one else uses"
	hintOther = "the cgroup is left behind; once it is empty, remove it with rmdir(1) (never rm -r: cgroupfs files cannot be unlinked)"
)

// pidMaxLimit is the kernel's PID_MAX_LIMIT: no real pid is larger, so a
// larger one belongs to an in-memory fake.
const pidMaxLimit = 4194304

// hint names the likely cause of err, the failure to remove name, from
// what the cgroup looks like now, and the sched_ext scheduler when the
// removal ran out of time while one was attached.
func (g *Group) hint(name string, err error) string {
	h := g.cause(name, err)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, cgroupfs.ErrWriteTimeout) {
		h += describeSchedExt()
	}
	return h
}

// schedExtDir is where the kernel reports sched_ext's state (Linux 6.12
// and later, CONFIG_SCHED_CLASS_EXT); a variable for tests.
var schedExtDir = "/sys/kernel/sched_ext"

// describeSchedExt names the BPF scheduler sched_ext runs, and its state,
// as a hint suffix; "" when none is attached or the kernel has no
// sched_ext. A BPF scheduler decides when tasks run: tasks it does not
// run cannot die, and cgroupfs writes wait while it is enabled or disabled.
func describeSchedExt() string {
	state, err := os.ReadFile(filepath.Join(schedExtDir, "state"))
	if err != nil || strings.TrimSpace(string(state)) == "disabled" {
		return ""
	}
	who := "a BPF scheduler"
	if ops, err := os.ReadFile(filepath.Join(schedExtDir, "root", "ops")); err == nil {
		who = fmt.Sprintf("the BPF scheduler %q", strings.TrimSpace(string(ops)))
	}
	return fmt.Sprintf("; sched_ext's state is %s, with %s: tasks it does not run cannot exit, "+
		"and cgroupfs writes wait while it is being enabled or disabled (see /sys/kernel/sched_ext)", strings.TrimSpace(string(state)), who)
}

// cause is hint without the scheduler.
func (g *Group) cause(name string, err error) string {
	// The final rmdir's error decides; earlier steps are in the chain.
	var re *removeError
	if errors.As(err, &re) {
		err = re.err
	}
	// An EBUSY made permanent by a refusal below: both say something.
	var blocked *blockedError
	if errors.As(err, &blocked) {
		return g.hintFor(name, blocked.busy) + "; it cannot be removed below: " + g.hintFor(name, rootCause(blocked.cause))
	}
	return g.hintFor(name, err)
}

// hintFor is hint for one error of the chain.
func (g *Group) hintFor(name string, err error) string {
	// Someone else's cgroup now: nothing of ours to explain.
	var replaced *replacedError
	if errors.As(err, &replaced) {
		return hintReplaced
	}
	// An operation on the cgroup never returned: looking at the cgroup
	// to explain it would block the same way, past the budget.
	var be *budgetError
	if errors.As(err, &be) && be.stuck {
		return fmt.Sprintf(hintTimeout, "; a cgroupfs operation on it never returned, so it was not looked at again")
	}
	timedOut := errors.Is(err, context.DeadlineExceeded) || errors.Is(err, cgroupfs.ErrWriteTimeout)
	switch {
	case errors.Is(err, unix.EBUSY):
		// The kernel gives EBUSY for tasks and for child cgroups alike:
		// look which it is now.
		if tasks := g.describeTasks(name); tasks != "" {
			return fmt.Sprintf(hintTasks, tasks)
		}
		if kids := g.children(name); len(kids) > 0 {
			return fmt.Sprintf(hintChildren, strings.Join(kids, ", "))
		}
		if timedOut {
			return fmt.Sprintf(hintTimeout, "")
		}
		return hintBusyGone
	case timedOut:
		state := g.describeBusy(name)
		if state != "" {
			state = "; last seen: " + state
		}
		return fmt.Sprintf(hintTimeout, state)
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return adviceOnce(err, "permission denied") + g.describeOwner(name)
	case errors.Is(err, unix.EROFS):
		return adviceOnce(err, "the cgroup filesystem is mounted read-only")
	}
	return hintOther
}

// adviceOnce returns cgroupfs's advice for err, or short when the error
// chain already gives it (a cgroupfs error does): a fact is said once.
func adviceOnce(err error, short string) string {
	h := cgroupfs.Hint(err)
	if h == "" || strings.Contains(err.Error(), h) {
		return short + " (the error says what to try)"
	}
	return h
}

// shortHint is cgroupfs's advice for err, as "; advice", or "".
func shortHint(err error) string {
	if h := cgroupfs.Hint(err); h != "" {
		return "; " + h
	}
	return ""
}

// describeBusy says what keeps name busy: its tasks, else its children.
func (g *Group) describeBusy(name string) string {
	if tasks := g.describeTasks(name); tasks != "" {
		return "live tasks " + tasks
	}
	if kids := g.children(name); len(kids) > 0 {
		return "child cgroups " + strings.Join(kids, ", ")
	}
	return ""
}

// children returns the paths of the child cgroups of name, for messages.
func (g *Group) children(name string) []string {
	kids, err := g.ops.Children(name)
	if err != nil {
		return nil
	}
	for i, k := range kids {
		kids[i] = g.display(k)
	}
	return kids
}

// describeTasks lists the tasks in name and beneath it, each with its
// command name and state from /proc, or "" when there are none.
func (g *Group) describeTasks(name string) string {
	tree, err := g.subtree(name)
	if err != nil {
		tree = []string{name}
	}
	var parts []string
	for _, c := range tree {
		pids, _ := g.ops.Procs(c)
		for _, pid := range pids {
			where := ""
			if c != name {
				where = " in " + g.display(c)
			}
			parts = append(parts, fmt.Sprintf("pid %d %s%s", pid, describeProcess(pid), where))
		}
	}
	const most = 10
	if len(parts) > most {
		parts = append(parts[:most], fmt.Sprintf("and %d more", len(parts)-most))
	}
	return strings.Join(parts, ", ")
}

// describeProcess returns "(comm, state)" for pid from /proc, or why
// that cannot be known.
func describeProcess(pid int) string {
	if pid > pidMaxLimit {
		return "(a fake task: its pid is above the kernel's limit, so /proc knows nothing of it)"
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return "(gone from /proc: it exited meanwhile)"
	}
	return fmt.Sprintf("(%s, %s)", strings.TrimSpace(string(comm)), processState(pid))
}

// processState returns the state letter of pid from /proc/<pid>/stat,
// with its meaning.
func processState(pid int) string {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "state unknown"
	}
	// The command name in parentheses may contain spaces and
	// parentheses: the state is the first field after the last ')'.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return "state unknown"
	}
	letter := s[i+2 : i+3]
	meaning := map[string]string{
		"R": "running", "S": "sleeping", "D": "in uninterruptible sleep, stuck in the kernel",
		"Z": "a zombie, not yet reaped", "T": "stopped", "t": "stopped by a tracer",
		"X": "dead", "I": "idle",
	}[letter]
	if meaning == "" {
		return "state " + letter
	}
	return "state " + letter + ": " + meaning
}

// describeOwner says who owns name's directory and who we are, when the
// FS is a real directory; otherwise "".
func (g *Group) describeOwner(name string) string {
	dirFS, ok := g.ops.FS().(interface{ Dir() string })
	if !ok {
		return ""
	}
	p, err := g.ops.Path(name)
	if err != nil {
		return ""
	}
	// rmdir needs write permission on the directory above the cgroup,
	// so that directory's owner is the one that matters.
	dir := filepath.Dir(filepath.Join(dirFS.Dir(), p))
	info, err := os.Stat(dir)
	if err != nil {
		return ""
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	return fmt.Sprintf("; %s is owned by uid %s, and this process runs as uid %d", dir, strconv.FormatUint(uint64(st.Uid), 10), os.Geteuid())
}
