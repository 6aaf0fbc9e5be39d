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
// What a write answers, file by file (every one checked against a real
// kernel by the tests of this package):
//
//	cgroup.procs, cgroup.threads  one pid, kstrtoint base 0 after strstrip: EINVAL
//	                              garbage, negatives, overflow, two pids; ESRCH no
//	                              such task; EBUSY no-internal-process rule;
//	                              EOPNOTSUPP invalid domain, or (threads) a move
//	                              across domains
//	cgroup.subtree_control        "+name"/"-name" tokens, all checked first: EINVAL
//	                              unknown name or no sign; ENOENT not offered;
//	                              EBUSY disabling what a child enables, or enabling
//	                              (a domain controller) with tasks inside;
//	                              EOPNOTSUPP domain controller in a thread root
//	cgroup.kill                   1 kills the subtree; other numbers ERANGE; EINVAL
//	                              garbage; EOPNOTSUPP in a threaded cgroup
//	cgroup.freeze                 0 or 1; ERANGE other numbers; EINVAL garbage
//	cgroup.max.depth/descendants  "max" or a number >= 0 (INT_MAX reads "max");
//	                              ERANGE negative or overflow; EINVAL garbage;
//	                              mkdir beyond them EAGAIN
//	cgroup.type                   only "threaded": EINVAL otherwise; EOPNOTSUPP when
//	                              populated, with domain controllers below, or
//	                              under a parent that cannot be a thread root
//	cgroup.pressure               0 or 1 (kstrtoint): ERANGE, EINVAL
//	cpuset.cpus, cpuset.mems      bitmap_parselist ("0-3,5", "0-7:2/4", "N",
//	                              "all"): ERANGE beyond nr_cpu_ids (MAX_NUMNODES
//	                              for nodes), EINVAL garbage or absent CPUs;
//	                              "\n" clears, but ENOSPC when that would empty a
//	                              populated cpuset
//	memory.{min,low,high,max},    "max" or a size (base 0, K M G T P E suffixes), kept
//	memory.swap.max, hugetlb.*.max  in whole pages (huge pages for hugetlb): EINVAL
//	pids.max                      "max" or 0 <= n < 4194305: EINVAL, ERANGE
//	cpu.weight, cpu.weight.nice   1-10000 and -20-19 (ERANGE), one shared weight;
//	                              EINVAL while cpu.idle is 1
//	cpu.idle                      0 or 1 (EINVAL); a change resets the weight
//	read-only files               EINVAL; longer than a page: E2BIG; empty: ignored
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
