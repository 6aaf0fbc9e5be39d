package fakefs

import "golang.org/x/sys/unix"

// cpuset partitions (cpuset.cpus.partition): a cgroup asks to be a
// partition root ("root") or an isolated one ("isolated", no load
// balancing), and the kernel grants it or marks it invalid with a reason
// it prints in parentheses. A valid partition takes its CPUs from its
// parent, whose cpuset.cpus.effective loses them. The kernel keeps all
// this as bookkeeping updated by events (partition61.go for 6.1,
// partition612.go for 6.12 and later), and so does the fake.

// writePartition follows sched_partition_write: after strstrip "root",
// "isolated" or "member" (EINVAL otherwise). Asking is always accepted;
// whether the cgroup becomes a partition root shows in what it reads.
func writePartition(f *FS, c *cgroup, s string) error {
	prs, ok := map[string]int{"member": prsMember, "root": prsRoot, "isolated": prsIsolated}[strstrip(s)]
	if !ok {
		return unix.EINVAL
	}
	f.cpusetOf(c)
	if f.kernel < kernel6_12 {
		f.updatePrstate61(c, prs)
	} else {
		f.updatePrstate612(c, prs)
	}
	return nil
}

func readExclusive(f *FS, c *cgroup) string    { return f.cpusetOf(c).xcpus.String() + "\n" }
func readExclusiveEff(f *FS, c *cgroup) string { return f.cpusetOf(c).effX.String() + "\n" }

// readIsolated prints the root's cpuset.cpus.isolated: the CPUs of every
// valid isolated partition.
func readIsolated(f *FS, _ *cgroup) string { return f.isolated.String() + "\n" }

// writeExclusive follows update_exclusive_cpumask: the CPU list parser
// of cpuset.cpus, then validate_change (EINVAL when the CPUs overlap a
// sibling's exclusive CPUs, or hold all of a sibling's cpuset.cpus).
func writeExclusive(f *FS, c *cgroup, s string) error {
	set, err := f.parseCPUs(s, f.cpuBits, f.cpus)
	if err != nil {
		return err
	}
	f.cpusetOf(c)
	return f.updateExclusive612(c, set)
}
