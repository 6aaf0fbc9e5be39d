// Package fakefs is cgroup v2 in memory: an implementation of
// cgroupfs.FS that answers like the kernel, for tests that must run
// without root.
//
// New builds a machine (CPUs 0-3, memory node 0, root controllers
// "cpuset cpu io memory hugetlb pids" unless options say otherwise)
// whose hierarchy holds only the root. Mkdir, Rmdir, ReadFile,
// WriteFile, ReadDir and Watch then behave as on cgroupfs, down to the
// errno: EBUSY (never ENOTEMPTY) for a cgroup with tasks or children,
// EEXIST for a name taken by an interface file, EINVAL for a write to a
// read-only file, ENOENT for a controller file whose controller the
// parent does not enable. The write parsers are the kernel's (kstrtoint
// with base 0 for cgroup.procs, bitmap_parselist for cpuset.cpus, the
// all-or-nothing cgroup.subtree_control parser, ...), so any byte string
// gets the kernel's answer. The conformance suite in
// cgroupfs/cgroupfstest checks this against the real kernel.
//
// Fake tasks stand in for processes: Spawn places one in a cgroup (its
// pid is FirstPid or above, never a real pid), cgroup.procs moves it,
// Exit, Kill and cgroup.kill end it, cgroup.freeze freezes it. SetLinger
// keeps an exited task populating its cgroup for a number of
// observations (reads of cgroup.events, rmdir attempts), so teardown
// code that waits for "populated 0" can be tested deterministically,
// without sleeping.
//
// Fail, Hang and HangEntered inject faults per operation and path (an
// errno once, n times or always; a call that blocks until released);
// Snapshot (cmp.Diff-able, golden-file text) and Log show the state and
// the history. Fake tasks implement cgroupfstest.Tasks, so
// cgroupfstest.TestFS(t, fsys, cgroupfstest.WithTasks(fsys)) checks the
// fake against the kernel's behaviour; the project runs it, and the same
// suite runs against the real kernel on the host and in a VM.
//
// Threaded mode is emulated: cgroup.type ("threaded", "domain threaded",
// "domain invalid"), threaded controllers only in threaded cgroups,
// cgroup.procs of a thread root listing its whole threaded subtree, and
// cgroup.threads moves confined to one domain. A fake task has one
// thread, whose id is its pid.
//
// Not emulated: pressure triggers (EOPNOTSUPP), partition validity,
// resource accounting (usage files read zero), permissions and
// delegation (every caller is root), and file descriptors held across a
// removal (ENODEV).
package fakefs
