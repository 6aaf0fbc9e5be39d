// Package fakefs is cgroup v2 in memory: an implementation of
// cgroupfs.FS that answers like the kernel, for tests that must run
// without root.
//
// New builds a machine (CPUs 0-3, memory node 0, huge pages of 2 MB and
// 1 GB, root controllers "cpuset cpu io memory hugetlb pids", no block,
// RDMA or misc devices, unless options say otherwise) whose hierarchy
// holds only the root, and answers as the kernel version WithKernel
// names: "6.1", "6.12" or "6.18" (the default). Mkdir, Rmdir, ReadFile,
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
//	cpu.max                       sscanf "%20s %llu": "max" or a quota, an optional
//	                              period (more is ignored), in microseconds: EINVAL
//	                              quota or period under 1000, period over 1000000,
//	                              quota over 2^44-1, or below cpu.max.burst
//	cpu.max.burst                 kstrtoull (EINVAL, ERANGE); EINVAL above the quota
//	io.weight                     "default N" or "N", 1-10000 (EINVAL); a device
//	                              line as io.max
//	io.max, io.cost.*             "MAJ:MIN " first (EINVAL), then ENODEV: the fake
//	                              machine has no block devices
//	rdma.max                      "dev hca_handle=N hca_object=N" (EINVAL), then
//	                              ENODEV: no RDMA devices
//	misc.max                      "name max|N" (EINVAL, ERANGE), then EINVAL: no
//	                              misc resource has a capacity
//	memory.reclaim                a size (6.12: and "swappiness=0-200" options):
//	                              EINVAL; the fake holds no memory, so a page or more
//	                              is EAGAIN, as an unmeetable reclaim
//	memory.zswap.writeback        0 or 1 as memory.oom.group
//	memory.peak, memory.swap.peak any write resets the peak (6.12 and later)
//	cpuset.cpus.exclusive         as cpuset.cpus; EINVAL overlapping a sibling's
//	                              exclusive CPUs, or holding all of a sibling's
//	                              cpuset.cpus
//	cpuset.cpus.partition         "member", "root", "isolated" (EINVAL otherwise);
//	                              validity shows in what it reads (below)
//	*.pressure                    a PSI trigger "some|full <threshold> <window>"
//	                              (microseconds): EINVAL unless 0 < threshold <=
//	                              window <= 10 s (6.1: window >= 500 ms;
//	                              WithoutCapSysResource: a multiple of 2 s); a valid
//	                              one succeeds and ends as the file closes
//	cgroup.pressure               0 or 1 (ERANGE); 0 hides the pressure files
//	read-only files               EINVAL; longer than a page: E2BIG; empty: ignored
//
// cpuset partitions: a cgroup asked to be "root" or "isolated" reads
// that when the kernel grants it, and "root invalid (<reason>)" when it
// does not: no CPUs, a parent that is not a partition root, CPUs shared
// with a sibling, or a parent left without CPUs while it has tasks (the
// hierarchy root always has). A valid partition takes its CPUs out of
// its parent's cpuset.cpus.effective; isolated ones show in the root's
// cpuset.cpus.isolated. The kernel keeps partitions as bookkeeping that
// events update (a write of cpuset.cpus, cpuset.cpus.exclusive or
// cpuset.cpus.partition, a removal), not as a function of the current
// settings: a verdict stays until an event judges it again, and a
// parent gets back only the CPUs the events hand back. The fake keeps
// the same bookkeeping, 6.1's (CPUs lent to child partitions) and
// 6.12's (exclusive CPUs, remote partitions under a member parent, the
// hierarchy root's lent and isolated CPUs), so long mixed sequences of
// partition changes read as on the kernel, verdicts and effective CPUs
// included.
//
// # Kernel versions
//
// Each profile was measured on a kernel (Debian's 6.1 and 6.12 in the
// cgvm VM with every controller; the host's 6.18, which offers a test
// cgroup no controller, for the core files: its controller files follow
// 6.12). The kernels' answers are recorded in testdata/kernel and
// replayed on every profile by the tests, and the differential tests
// compare the running kernel with its profile live. What differs
// between the versions, as the profiles answer (each row is checked by
// TestVersionTable):
//
//	cgroup.stat lists nr_subsys_*, nr_dying_subsys_*
//	    6.1:  no
//	    6.12: yes
//	    6.18: yes
//	cgroup.stat.local
//	    6.1:  absent
//	    6.12: absent
//	    6.18: present
//	cpu.stat has nice_usec
//	    6.1:  no
//	    6.12: yes
//	    6.18: yes
//	cpu.stat.local
//	    6.1:  absent
//	    6.12: present
//	    6.18: present
//	cpu.weight while cpu.idle is 1
//	    6.1:  0
//	    6.12: 1
//	    6.18: 1
//	cpuset.cpus.exclusive(.effective), root's cpuset.cpus.isolated
//	    6.1:  absent
//	    6.12: present
//	    6.18: present
//	partition "root" with no CPUs reads
//	    6.1:  root invalid (cpuset.cpus is empty)
//	    6.12: root invalid (cpuset.cpus and cpuset.cpus.exclusive are empty)
//	    6.18: root invalid (cpuset.cpus and cpuset.cpus.exclusive are empty)
//	partition "root" under a member parent reads
//	    6.1:  root invalid (Parent is not a partition root)
//	    6.12: root invalid (Invalid cpu list in cpuset.cpus.exclusive)
//	    6.18: root invalid (Invalid cpu list in cpuset.cpus.exclusive)
//	memory.peak mode
//	    6.1:  0444
//	    6.12: 0644
//	    6.18: 0644
//	memory.swap.peak, memory.zswap.writeback
//	    6.1:  absent
//	    6.12: present
//	    6.18: present
//	memory.reclaim "\n" (empty cgroup)
//	    6.1:  EAGAIN
//	    6.12: EINVAL
//	    6.18: EINVAL
//	memory.reclaim "0 swappiness=10"
//	    6.1:  EINVAL
//	    6.12: ok
//	    6.18: ok
//	PSI trigger with a 100 ms window
//	    6.1:  EINVAL
//	    6.12: ok
//	    6.18: ok
//	pids.events.local, misc.events.local, misc.peak
//	    6.1:  absent
//	    6.12: present
//	    6.18: present
//	misc.current, misc.peak on the root
//	    6.1:  absent
//	    6.12: present
//	    6.18: present
//	memory.stat counters
//	    6.1:  51
//	    6.12: 65
//	    6.18: 65
//
// The machine is not the kernel's: CPUs (WithCPUs), memory nodes
// (WithMems), huge page sizes (WithHugePageSizes), the root's
// controllers (WithControllers) and the caller's CAP_SYS_RESOURCE
// (WithoutCapSysResource) are options of their own.
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
// Not emulated: resource accounting (usage and statistics files read
// zero: the counters of an empty cgroup), devices (block, RDMA, misc),
// permissions and delegation (every caller is root), file descriptors
// held across a removal (ENODEV), and, for cpuset partitions: CPU
// hotplug; the housekeeping CPUs of isolcpus= (the fake boots without);
// the removal of a cgroup taking effect on its parent's partition some
// time after rmdir on 6.1 (the fake: at once); emptying the cpuset.cpus
// of a valid 6.1 partition, after which the kernel never gives the CPUs
// back (the fake follows the bookkeeping, which does the same, but no
// test checks it against the kernel: it would leave the test machine
// without those CPUs); and 6.12's EBUSY for emptying the cpuset.cpus of
// a CPU-exclusive cpuset, which depends on the deadline bandwidth
// earlier sched domain rebuilds left in its root domain: the fake
// answers EBUSY always (the kernel did in 4 of the 5 cases measured).
// The random sequences that check the bookkeeping run without tasks: the
// rules about a parent that must keep a CPU for its tasks follow the
// kernel's code but are measured only for the hierarchy root (which
// always has tasks). The 6.18 profile follows 6.12's bookkeeping,
// unmeasured for partitions.
package fakefs
