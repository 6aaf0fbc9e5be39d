package cgroupfs

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// The advice for each errno, said once. An operation's own entries come
// first; the entries with no operation apply to every one.
const (
	opAny     = ""
	opMkdir   = "mkdir"
	opEnable  = "enable"  // "+c" to cgroup.subtree_control
	opDisable = "disable" // "-c" to cgroup.subtree_control
	opCpuset  = "cpuset"  // cpuset.cpus, cpuset.mems
	opMove    = "move"    // a pid to cgroup.procs
	opRemove  = "remove"  // rmdir
	opDrain   = "drain"   // a pid to the DrainTo cgroup's cgroup.procs
	opSpawn   = "spawn"   // a process started inside the cgroup (CLONE_INTO_CGROUP)
)

// domainBusy is the move's EBUSY when the cgroup enables a domain
// controller; a move into a cgroup that enables none gets opMove's.
const domainBusy = "move-domain"

// domainInvalid is the EOPNOTSUPP advice of every way into a cgroup.
const domainInvalid = "the cgroup is \"domain invalid\" (see its cgroup.type): an ancestor holds tasks while enabling threaded controllers such as cpuset or cpu, which makes it a thread root; move that ancestor's tasks into a leaf"

// delegateAdvice is the EACCES and EPERM advice of every operation that
// has none of its own.
const delegateAdvice = "run as root, or in a cgroup subtree delegated to your user (for example: " + DelegateCommand + ")"

var hints = []struct {
	op    string
	errno syscall.Errno
	text  string
}{
	{opMkdir, unix.ENOENT, "the level above is missing: was it removed meanwhile?"},
	{opEnable, unix.EBUSY, "the cgroup holds tasks, and a domain controller may not be enabled above them (no-internal-process rule): move them to a leaf cgroup first"},
	{opEnable, unix.ENOENT, "the controller is not available here (its parent does not enable it in cgroup.subtree_control)"},
	{opEnable, unix.EOPNOTSUPP, "the cgroup is threaded or \"domain invalid\" (see its cgroup.type): an ancestor holds tasks while enabling threaded controllers; move those tasks into a leaf"},
	{opDisable, unix.EBUSY, "a child cgroup still enables it in its own cgroup.subtree_control: clear the children first"},
	{opCpuset, unix.ERANGE, "the set names CPUs or memory nodes the machine or the parent cgroup does not have (see the parent's cpuset.cpus.effective)"},
	{opCpuset, unix.ENOENT, "the cgroup is missing, or cpuset is not enabled in its parent's cgroup.subtree_control (call Setup; cgroup v2 here may lack cpuset)"},
	{opMove, unix.ESRCH, "the process is gone"},
	{domainBusy, unix.EBUSY, "the cgroup enables a domain controller (memory, io, ...) in its cgroup.subtree_control (no-internal-process rule): move tasks into a leaf, or call ClearSubtreeControl first"},
	{opMove, unix.EBUSY, "the cgroup enables no domain controller in its cgroup.subtree_control, so this is not the no-internal-process rule: a controller or a sched_ext scheduler refused the move (MoveTasks retries it)"},
	{opMove, unix.EOPNOTSUPP, domainInvalid},
	{opMove, unix.EACCES, "moving a process needs write access to the cgroup.procs of the target and of the common ancestor of both cgroups (run as root, or stay within a delegated subtree)"},
	{opMove, unix.EPERM, "moving a process needs write access to the cgroup.procs of the target and of the common ancestor of both cgroups (run as root, or stay within a delegated subtree)"},
	{opSpawn, unix.EBUSY, "the cgroup enables a domain controller (memory, io, ...) in its cgroup.subtree_control, and the no-internal-process rule keeps tasks out of it: start in a leaf cgroup"},
	{opSpawn, unix.ENOENT, "the cgroup is missing: removed, or never made"},
	{opSpawn, unix.EBADF, "the directory is not on a cgroup2 filesystem"},
	{opSpawn, unix.EOPNOTSUPP, domainInvalid},
	{opSpawn, unix.EINVAL, "starting a process inside a cgroup (clone3's CLONE_INTO_CGROUP) needs Linux 5.7 or later"},
	{opRemove, unix.ENOTEMPTY, "this is a plain directory holding files, not a cgroup2 filesystem (rmdir of a cgroup never says ENOTEMPTY)"},
	{opRemove, unix.ENOTDIR, "the name is an interface file, not a cgroup"},
	{opDrain, unix.EACCES, "pass the DrainTo option a cgroup you may write whose cgroup.subtree_control is empty, such as your own leaf cgroup under a delegated subtree"},
	{opDrain, unix.EPERM, "pass the DrainTo option a cgroup you may write whose cgroup.subtree_control is empty, such as your own leaf cgroup under a delegated subtree"},
	{opDrain, unix.EBUSY, "pass the DrainTo option a cgroup you may write whose cgroup.subtree_control is empty, such as your own leaf cgroup under a delegated subtree"},
	{opAny, unix.EACCES, delegateAdvice},
	{opAny, unix.EPERM, delegateAdvice},
	{opAny, unix.EROFS, "the cgroup filesystem is mounted read-only, as in a container without a writable cgroup namespace: run with a writable /sys/fs/cgroup (a private cgroup namespace with delegation, or --privileged), or test against fakefs"},
	{opAny, unix.ENODEV, "the cgroup was removed while in use"},
}

// hintText returns the advice for err after the operation op, or "".
func hintText(op string, err error) string {
	errno, ok := errors.AsType[syscall.Errno](err)
	if !ok {
		return ""
	}
	for _, h := range hints {
		if h.op == op && h.errno == errno {
			return h.text
		}
	}
	for _, h := range hints {
		if h.op == opAny && h.errno == errno {
			return h.text
		}
	}
	return ""
}

// hint returns hintText's advice as "; advice" to append to an error
// message, or "".
func hint(op string, err error) string {
	if t := hintText(op, err); t != "" {
		return "; " + t
	}
	return ""
}

// accessHint is hint for the errnos any operation can meet.
func accessHint(err error) string { return hint(opAny, err) }

// Hint returns what to try after err, a failed cgroup operation, for
// the errnos any operation can meet (EACCES, EPERM, EROFS, ENODEV), or
// "" when there is nothing to add. cgroupfs's own errors already carry
// it; Hint is for errors of an FS used directly.
func Hint(err error) string { return hintText(opAny, err) }
