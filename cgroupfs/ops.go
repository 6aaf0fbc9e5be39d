package cgroupfs

import "context"

// Ops is the set of cgroup operations a test needs: ktstr's CgroupOps
// trait in Go form. Names passed to it are cgroup names relative to the
// parent directory (ParentPath), slash-separated for nesting ("a/b").
// Manager implements it on any FS; tests may implement it themselves.
type Ops interface {
	// ParentPath returns the path of the parent directory under which
	// every named cgroup lives.
	ParentPath() string
	// Setup creates the parent directory (and its missing ancestors) and
	// enables the cpuset controller (and cpu when enableCPU is true) in
	// cgroup.subtree_control of every level from the FS root down to the
	// parent, one controller at a time and only where the level's
	// cgroup.controllers lists it.
	Setup(enableCPU bool) error
	// CreateCgroup creates the cgroup name and any missing intermediate
	// cgroups. It is idempotent.
	CreateCgroup(name string) error
	// RemoveCgroup empties and removes the leaf cgroup name. A missing
	// cgroup is not an error.
	RemoveCgroup(name string) error
	// SetCpuset writes cpus to the cgroup's cpuset.cpus.
	SetCpuset(name string, cpus CPUSet) error
	// ClearCpuset clears cpuset.cpus so the cgroup inherits its parent's
	// effective CPUs.
	ClearCpuset(name string) error
	// SetCpusetMems writes mems to the cgroup's cpuset.mems.
	SetCpusetMems(name string, mems CPUSet) error
	// ClearCpusetMems clears cpuset.mems so the cgroup inherits its
	// parent's effective memory nodes.
	ClearCpusetMems(name string) error
	// MoveTask moves the process pid into the cgroup.
	MoveTask(name string, pid int) error
	// MoveTasks moves every pid into the cgroup, one write per pid.
	// A pid that no longer exists (ESRCH) is skipped; EBUSY is retried.
	MoveTasks(name string, pids []int) error
	// ClearSubtreeControl disables every controller enabled in the
	// cgroup's cgroup.subtree_control, so tasks may be moved into it.
	ClearSubtreeControl(name string) error
	// DrainTasks moves every task out of the cgroup, to a cgroup the
	// caller may write, until cgroup.procs reads empty.
	DrainTasks(name string) error
	// CleanupAll removes every cgroup beneath the parent, deepest first,
	// and keeps the parent itself.
	CleanupAll() error
}

// Extended is implemented by Manager: the operations beyond Ops that a
// careful teardown needs. cgtest uses them when the Ops it is given also
// implements Extended, and does without them (with less precise
// teardown and hints) otherwise.
type Extended interface {
	Ops
	// FS returns the filesystem the operations act on.
	FS() FS
	// Path returns the FS-relative path of the cgroup name after checking
	// the name; it does no I/O.
	Path(name string) (string, error)
	// Exists reports whether the cgroup name exists.
	Exists(name string) (bool, error)
	// Procs returns the pids in the cgroup's cgroup.procs, in the order
	// the kernel lists them.
	Procs(name string) ([]int, error)
	// Children returns the names (relative to the parent, like name
	// itself) of the direct child cgroups of name.
	Children(name string) ([]string, error)
	// KillTasks kills every task in the cgroup and its descendants
	// (cgroup.kill, or SIGKILL to each pid where cgroup.kill is missing).
	// It refuses, with an error, when the calling process is inside.
	KillTasks(name string) error
	// WaitEmpty waits until the kernel reports "populated 0" in the
	// cgroup's cgroup.events, or ctx ends. On timeout the error says what
	// was last observed.
	WaitEmpty(ctx context.Context, name string) error
}
