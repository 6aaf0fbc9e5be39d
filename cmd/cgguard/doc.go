// Command cgguard tells whether cgroup tests can run on this machine, and
// reclaims the cgroups that crashed test runs left behind.
//
// Usage:
//
//	cgguard doctor [-json]
//	cgguard sweep [-n] [-json] [root]
//
// # doctor
//
// doctor reports what this machine offers to tests that use cgtest: the
// cgroup2 mount (and whether the host is hybrid, with controllers bound
// to cgroup v1), the process's own cgroup and who owns it, whether this
// user may create cgroups (root, or a delegated subtree) and how to get
// there, the controllers available where per-test roots go and whether
// cpuset is usable, the kernel version, cgroup.kill, and whether a child
// can be spawned straight into a cgroup (clone3 CLONE_INTO_CGROUP, tried
// for real in a temporary cgroup). Then the needs of the VM runner
// (cmd/cgvm): qemu, the kernel image scripts/vm-setup.sh fetches, KVM,
// and cgvm itself. Each missing piece comes with how to get it.
//
// It ends with a live demonstration: a per-test root made with
// cgtest.Root, a group of nested cgroups (with cpusets where cpuset is
// available), a process spawned inside, and the teardown, each step
// timed. Where real cgroups cannot be made (not root, no delegation) the
// demonstration runs on fakefs, the in-memory kernel, and says so. It
// leaves nothing behind: its cgroups are per-test roots, which a later
// sweep reclaims should doctor itself be killed half way.
//
// # sweep
//
// sweep lists the per-test roots (cgroups named by cgtest.RootName) in
// root, and removes those whose owner process is gone or whose pid now
// names another process (its start time differs): their tasks are killed
// with cgroup.kill, and their cgroups removed deepest first. It never
// touches the root of a live run, nor any cgroup whose name is not a
// per-test root's. root defaults to where cgtest.Root creates per-test
// roots: $CGGUARD_CGROUP_PARENT when set, else the cgroup2 mount for root
// and the process's own (delegated) cgroup for other users.
//
//	-n     list only: say what would be removed, and remove nothing
//	-json  print the result as JSON (sweep: cgtest.SweepReport.MarshalJSON;
//	       doctor: the doctorJSON type)
//
// # Exit status
//
//	0  doctor: cgroup tests can run here (missing optional pieces, such as
//	   cpuset or the VM runner, are warnings); sweep: every stale root was
//	   removed, or there was none (with -n: none was found)
//	1  doctor: a check failed (no cgroup2, cgroups cannot be created here,
//	   the demonstration failed or left something behind); sweep: a stale
//	   root could not be removed, an owner could not be checked, or root
//	   could not be read (with -n: stale roots were found)
//	2  usage: an unknown command or flag, or extra arguments
//
// cgguard probe is internal: doctor runs its own binary with it inside a
// cgroup to see where the child lands.
package main
