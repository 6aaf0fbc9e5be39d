package fakefs

import (
	"github.com/cgguard/cgguard/cgroupfs"
	"golang.org/x/sys/unix"
)

// cpuset partitions (cpuset.cpus.partition) as the kernel keeps them:
// a cgroup asks to be a partition root ("root") or an isolated one
// ("isolated", no load balancing), and the kernel grants it or marks it
// invalid with a reason it prints in parentheses. A valid partition root
// takes its CPUs from its parent: the parent's cpuset.cpus.effective
// loses them.

// partition is what a cgroup asked for.
type partition int

const (
	member partition = iota
	rootPartition
	isolatedPartition
)

var partitionNames = map[partition]string{member: "member", rootPartition: "root", isolatedPartition: "isolated"}

func partitionOf(c *cgroup) partition {
	switch c.values["cpuset.cpus.partition"] {
	case "root":
		return rootPartition
	case "isolated":
		return isolatedPartition
	}
	return member
}

// isPartitionRoot reports whether c is a valid partition root; the
// hierarchy root always is.
func (f *FS) isPartitionRoot(c *cgroup) bool {
	if c.isRoot() {
		return true
	}
	return partitionOf(c) != member && f.partitionError(c) == ""
}

// errKey holds the kernel's verdict on a cgroup's partition ("" valid,
// noReason for an invalid one whose reason the kernel does not print),
// set when the partition is asked for and when a change the kernel
// reacts to comes. The kernel keeps a verdict until such a change, so a
// partition's state depends on its history, not only on the current
// configuration.
const errKey = "cpuset.cpus.partition.err"

const noReason = "-"

// partitionError returns the verdict on c's partition: why c, asking to
// be a partition root, is not one ("" when it is valid).
func (f *FS) partitionError(c *cgroup) string {
	if partitionOf(c) == member {
		return ""
	}
	return c.values[errKey]
}

// judge returns why c, asking to be a partition root, cannot be one
// now, in the kernel's words ("" when it can). The checks follow
// update_prstate and update_parent_effective_cpumask (6.1) and
// update_parent_effective_cpumask and remote partitions (6.12), in the
// order the measured kernels apply them.
func (f *FS) judge(c *cgroup) string {
	excl := f.exclusiveOf(c)
	if c.cpus.IsEmpty() && excl.IsEmpty() {
		if f.kernel >= kernel6_12 {
			return "cpuset.cpus and cpuset.cpus.exclusive are empty"
		}
		return "cpuset.cpus is empty"
	}
	p := c.parent
	want := c.cpus
	if !excl.IsEmpty() {
		want = excl
	}
	// Becoming a partition makes the cpuset CPU-exclusive first, which
	// fails when a sibling shares a CPU, whatever the parent is.
	for _, sib := range p.children {
		if sib != c && !sib.cpus.Intersect(want).IsEmpty() {
			return "Cpu list in cpuset.cpus not exclusive"
		}
	}
	if !p.isRoot() && partitionOf(p) != member && f.partitionError(p) != "" {
		return "Parent is an invalid partition root"
	}
	if !f.isPartitionRoot(p) {
		if f.kernel >= kernel6_12 {
			return "Invalid cpu list in cpuset.cpus.exclusive"
		}
		return "Parent is not a partition root"
	}
	// The parent keeps at least one CPU while it has tasks; the
	// hierarchy root always has (kernel threads).
	left := difference(f.parentCPUs(p), want)
	if left.IsEmpty() && (p.isRoot() || hasTasks(p)) {
		return "Parent unable to distribute cpu downstream"
	}
	return ""
}

// parentCPUs is what p can give its children: its own effective CPUs
// before any child partition took some.
func (f *FS) parentCPUs(p *cgroup) cgroupfs.CPUSet {
	if p.isRoot() {
		return f.cpus
	}
	return f.ownCPUs(p)
}

// exclusiveOf returns cpuset.cpus.exclusive of c (6.12 and later).
func (f *FS) exclusiveOf(c *cgroup) cgroupfs.CPUSet {
	if f.kernel < kernel6_12 {
		return cgroupfs.CPUSet{}
	}
	set, _ := cgroupfs.ParseCPUSet(c.values["cpuset.cpus.exclusive"])
	return set
}

// takenByPartitions returns the CPUs c's valid child partitions took.
func (f *FS) takenByPartitions(c *cgroup) cgroupfs.CPUSet {
	var ids []int
	for _, ch := range c.children {
		if !f.enabled(ch).has(controllerIndex("cpuset")) || partitionOf(ch) == member || f.partitionError(ch) != "" {
			continue
		}
		want := ch.cpus
		if ex := f.exclusiveOf(ch); !ex.IsEmpty() {
			want = ex
		}
		ids = append(ids, want.IDs()...)
	}
	return cgroupfs.NewCPUSet(ids...)
}

func readPartition(f *FS, c *cgroup) string {
	if f.kernel < kernel6_12 {
		return readPartition61(c)
	}
	p := partitionOf(c)
	if p == member {
		return "member\n"
	}
	switch why := f.partitionError(c); why {
	case "":
	case noReason:
		return partitionNames[p] + " invalid\n"
	default:
		return partitionNames[p] + " invalid (" + why + ")\n"
	}
	return partitionNames[p] + "\n"
}

// writePartition follows sched_partition_write: after strstrip "root",
// "isolated" or "member" (EINVAL otherwise). Asking is always accepted;
// whether the cgroup becomes a partition root shows in what it reads.
func writePartition(f *FS, c *cgroup, s string) error {
	switch v := strstrip(s); v {
	case "member", "root", "isolated":
		if f.kernel < kernel6_12 {
			f.updatePrstate61(c, map[string]int{"member": prsMember, "root": prsRoot, "isolated": prsIsolated}[v])
			return nil
		}
		c.values["cpuset.cpus.partition"] = v
		delete(c.values, errKey)
		if v != "member" {
			c.values[errKey] = f.judge(c)
		}
		f.rejudgeChildren(c)
		return nil
	}
	return unix.EINVAL
}

// rejudgeChildren gives a verdict again on the partitions below c, as
// the kernel does when c's partition or CPUs change.
func (f *FS) rejudgeChildren(c *cgroup) {
	for _, ch := range c.sortedChildren() {
		if partitionOf(ch) != member {
			ch.values[errKey] = f.judge(ch)
		}
		f.rejudgeChildren(ch)
	}
}

// cpusChanged follows what update_cpumask does to partitions after c's
// cpuset.cpus changed: c's own partition is judged again where its
// parent is a partition root (elsewhere the kernel keeps the old
// verdict); a valid sibling partition now sharing a CPU with c becomes
// invalid; partitions below c are judged again.
func (f *FS) cpusChanged(c *cgroup) {
	if partitionOf(c) != member && f.isPartitionRoot(c.parent) {
		c.values[errKey] = f.judge(c)
	}
	for _, sib := range c.parent.sortedChildren() {
		if sib == c || partitionOf(sib) == member || f.partitionError(sib) != "" {
			continue
		}
		if !sib.cpus.Intersect(c.cpus).IsEmpty() {
			if f.kernel >= kernel6_12 {
				sib.values[errKey] = noReason
			} else {
				sib.values[errKey] = "Cpu list in cpuset.cpus not exclusive"
			}
		}
	}
	f.rejudgeChildren(c)
}

func readExclusive(f *FS, c *cgroup) string { return f.exclusiveOf(c).String() + "\n" }

// readExclusiveEff prints the CPUs c holds exclusively: its
// cpuset.cpus.exclusive, or a valid partition root's CPUs.
func readExclusiveEff(f *FS, c *cgroup) string {
	if ex := f.exclusiveOf(c); !ex.IsEmpty() && partitionOf(c) == member {
		// Exclusive CPUs set under a partition root are the cgroup's
		// own, partition or not.
		if !f.isPartitionRoot(c.parent) {
			return "\n"
		}
		return ex.Intersect(f.parentCPUs(c.parent)).String() + "\n"
	}
	if partitionOf(c) == member || f.partitionError(c) != "" {
		return "\n"
	}
	return f.ownCPUs(c).String() + "\n"
}

// readIsolated prints the root's cpuset.cpus.isolated: the CPUs of every
// valid isolated partition.
func readIsolated(f *FS, _ *cgroup) string {
	var ids []int
	var walk func(c *cgroup)
	walk = func(c *cgroup) {
		for _, ch := range c.children {
			if partitionOf(ch) == isolatedPartition && f.enabled(ch).has(controllerIndex("cpuset")) && f.partitionError(ch) == "" {
				ids = append(ids, f.ownCPUs(ch).IDs()...)
			}
			walk(ch)
		}
	}
	walk(f.root)
	return cgroupfs.NewCPUSet(ids...).String() + "\n"
}

// writeExclusive follows update_exclusive_cpumask: the CPU list parser
// of cpuset.cpus, and EINVAL when the CPUs overlap a sibling's
// exclusive CPUs.
func writeExclusive(f *FS, c *cgroup, s string) error {
	set, err := f.parseCPUs(s, f.cpuBits, f.cpus)
	if err != nil {
		return err
	}
	for _, sib := range c.parent.children {
		if sib != c && !f.exclusiveOf(sib).Intersect(set).IsEmpty() {
			return unix.EINVAL
		}
	}
	c.values["cpuset.cpus.exclusive"] = set.String()
	return nil
}
