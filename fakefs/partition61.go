package fakefs

import (
	"cmp"
	"slices"

	"github.com/cgguard/cgguard/cgroupfs"
)

// Linux 6.1 keeps a cpuset's partition state as bookkeeping updated by
// events (update_prstate, update_cpumask, update_cpumasks_hier and
// update_parent_subparts_cpumask), not as a function of the current
// configuration: a parent holds the CPUs it lent to its child
// partitions (subparts_cpus) and takes back only those the events
// compute, and a verdict on a partition changes only when an event
// re-evaluates it. cpusetState is that bookkeeping for one cgroup with the
// cpuset controller (6.12's, partition612.go, adds exclusive CPUs); the
// fake reads effective CPUs and partitions from it.
type cpusetState struct {
	prs       int    // 0 member, 1 root, 2 isolated; negative: invalid
	err       string // the reason of an invalid partition ("" none)
	eff       cgroupfs.CPUSet
	subparts  cgroupfs.CPUSet // CPUs lent to valid child partitions
	useParent bool            // effective CPUs inherited (no own CPUs left)
	nUsing    int             // children with useParent (child_ecpus_count)
	excl      bool            // CS_CPU_EXCLUSIVE
	noBalance bool            // CS_SCHED_LOAD_BALANCE cleared (isolated)
	// 6.12 and later.
	xcpus  cgroupfs.CPUSet // cpuset.cpus.exclusive (exclusive_cpus)
	effX   cgroupfs.CPUSet // cpuset.cpus.exclusive.effective
	nrSub  int             // valid child partitions (nr_subparts)
	remote bool            // a partition whose parent is not one
}

const (
	prsMember   = 0
	prsRoot     = 1
	prsIsolated = 2
)

// Reasons of an invalid partition, as 6.1 prints them.
const (
	perrInvCPUs   = "Invalid cpu list in cpuset.cpus"
	perrInvParent = "Parent is an invalid partition root"
	perrNotPart   = "Parent is not a partition root"
	perrNotExcl   = "Cpu list in cpuset.cpus not exclusive"
	perrNoCPUs    = "Parent unable to distribute cpu downstream"
	perrCPUsEmpty = "cpuset.cpus is empty"
)

// What a partition change asks of its parent's bookkeeping (6.12 adds
// partcmdEnableI, an isolated one).
const (
	partcmdEnable = iota
	partcmdDisable
	partcmdUpdate
	partcmdInvalid
	partcmdEnableI
)

func (s *cpusetState) valid() bool { return s.prs > 0 }

// cpusetOf returns c's bookkeeping, nil without the cpuset controller.
// The hierarchy root's is made on first use: a valid partition root
// owning every CPU, exclusively.
func (f *FS) cpusetOf(c *cgroup) *cpusetState {
	switch {
	case c.cs != nil:
	case c.isRoot():
		c.cs = &cpusetState{prs: prsRoot, eff: f.cpus, effX: f.cpus, excl: true}
	case f.enabled(c).has(controllerIndex("cpuset")):
		// Not set up when the controller came (a path the hooks do
		// not see): set up now.
		f.cpusetOnline(c)
	}
	return c.cs
}

// cpusetOnline sets up the bookkeeping of c, whose parent just offered
// it the cpuset controller (mkdir, or cgroup.subtree_control).
func (f *FS) cpusetOnline(c *cgroup) {
	if f.kernel < kernel6_12 {
		f.online61(c)
	} else {
		f.online612(c)
	}
}

// cpusetOffline ends the bookkeeping of c, removed or no longer offered
// the cpuset controller.
func (f *FS) cpusetOffline(c *cgroup) {
	if f.kernel < kernel6_12 {
		f.offline61(c)
	} else {
		f.killed612(c)
	}
}

// cpusAllowed is the cpuset.cpus the kernel checks against: the
// hierarchy root's are the machine's.
func (f *FS) cpusAllowed(c *cgroup) cgroupfs.CPUSet {
	if c.isRoot() {
		return f.cpus
	}
	return c.cpus
}

// sortedByID returns the children of c in creation order.
func (f *FS) sortedByID(c *cgroup) []*cgroup {
	var out []*cgroup
	for _, ch := range c.children {
		out = append(out, ch)
	}
	slices.SortFunc(out, func(a, b *cgroup) int { return cmp.Compare(a.id, b.id) })
	return out
}

// cpusetChildren returns the children of c that have the cpuset
// controller, in creation order (css order).
func (f *FS) cpusetChildren(c *cgroup) []*cgroup {
	var out []*cgroup
	for _, ch := range f.sortedByID(c) {
		if ch.cs != nil {
			out = append(out, ch)
		}
	}
	return out
}

// online61 follows cpuset_css_online on cgroup v2: a new cpuset starts
// with its parent's effective CPUs.
func (f *FS) online61(c *cgroup) {
	p := f.cpusetOf(c.parent)
	if p == nil {
		return
	}
	c.cs = &cpusetState{eff: p.eff, useParent: true, noBalance: p.noBalance}
	p.nUsing++
}

// offline61 follows cpuset_css_offline: a valid partition ends first.
func (f *FS) offline61(c *cgroup) {
	s := c.cs
	if s == nil {
		return
	}
	if s.valid() {
		f.updatePrstate61(c, prsMember)
	}
	if s.useParent {
		f.cpusetOf(c.parent).nUsing--
	}
	c.cs = nil
}

// partitionPopulated follows partition_is_populated: tasks in c or in
// descendants outside valid partitions (but excluded). The hierarchy
// root always has tasks (kernel threads).
func (f *FS) partitionPopulated(c, excluded *cgroup) bool {
	if c.isRoot() || hasTasks(c) {
		return true
	}
	if excluded == nil && !slices.ContainsFunc(f.cpusetChildren(c), func(ch *cgroup) bool { return ch.cs.valid() }) {
		return isPopulated(c)
	}
	var walk func(g *cgroup) bool
	walk = func(g *cgroup) bool {
		for _, ch := range g.children {
			if ch == excluded || (ch.cs != nil && ch.cs.valid()) {
				continue
			}
			if hasTasks(ch) || walk(ch) {
				return true
			}
		}
		return false
	}
	return walk(c)
}

// computeEff61 follows compute_effective_cpumask: cpus within the
// parent's effective CPUs and those it lent out.
func (f *FS) computeEff61(c *cgroup, cpus cgroupfs.CPUSet) cgroupfs.CPUSet {
	p := f.cpusetOf(c.parent)
	if !p.subparts.IsEmpty() {
		return p.eff.Union(p.subparts).Intersect(cpus)
	}
	return cpus.Intersect(p.eff)
}

// setExcl61 follows update_flag(CS_CPU_EXCLUSIVE, on): it fails when a
// sibling's cpuset.cpus overlaps c's.
func (f *FS) setExcl61(c *cgroup) bool {
	for _, sib := range f.cpusetChildren(c.parent) {
		if sib != c && !sib.cpus.Intersect(c.cpus).IsEmpty() {
			return false
		}
	}
	c.cs.excl = true
	return true
}

// subparts61 follows update_parent_subparts_cpumask: it moves CPUs
// between c's parent's effective CPUs and those it lends to partitions
// for cmd, and returns the reason c cannot be a partition ("" none).
// newmask is c's next cpuset.cpus for partcmdUpdate from a write (nil
// otherwise).
func (f *FS) subparts61(c *cgroup, cmd int, newmask *cgroupfs.CPUSet) string {
	s, pc := c.cs, c.parent
	p := f.cpusetOf(pc)
	if !p.valid() {
		if p.prs < 0 {
			return perrInvParent
		}
		return perrNotPart
	}
	if (newmask != nil && newmask.IsEmpty()) || (newmask == nil && c.cpus.IsEmpty()) {
		return perrCPUsEmpty
	}
	var add, del cgroupfs.CPUSet
	oldPrs, newPrs := s.prs, s.prs
	perr := ""
	switch {
	case cmd == partcmdEnable:
		if c.cpus.Intersect(f.cpusAllowed(pc)).IsEmpty() {
			return perrInvCPUs
		}
		if p.eff.IsSubsetOf(c.cpus) && f.partitionPopulated(pc, c) {
			return perrNoCPUs
		}
		add = c.cpus
	case cmd == partcmdDisable:
		if oldPrs >= 0 {
			del = c.cpus.Intersect(p.subparts)
		}
	case cmd == partcmdInvalid:
		if oldPrs < 0 {
			return ""
		}
		del = c.cpus.Intersect(p.subparts)
		if oldPrs > 0 {
			newPrs, perr = -oldPrs, perrNotExcl
		}
	case newmask != nil:
		del = difference(c.cpus, *newmask).Intersect(p.subparts)
		add = difference(newmask.Intersect(f.cpusAllowed(pc)), p.subparts)
		if !add.IsEmpty() && p.eff.IsSubsetOf(add) && del.IsEmpty() && f.partitionPopulated(pc, c) {
			perr, add = perrNoCPUs, cgroupfs.CPUSet{}
			del = c.cpus.Intersect(p.subparts)
		}
	default:
		add = difference(c.cpus.Intersect(f.cpusAllowed(pc)), p.subparts)
		if (s.valid() && p.subparts.IsEmpty()) || (!add.IsEmpty() && p.eff.IsSubsetOf(add) && f.partitionPopulated(pc, c)) {
			perr, add = perrNoCPUs, cgroupfs.CPUSet{}
		}
		if perr != "" && s.valid() && !p.subparts.IsEmpty() {
			del = c.cpus.Intersect(p.subparts)
		}
	}
	if perr != "" {
		s.err = perr
	}
	if cmd == partcmdUpdate {
		switch {
		case oldPrs > 0 && perr != "":
			newPrs = -oldPrs
		case oldPrs < 0 && perr == "":
			newPrs = -oldPrs
		}
	}
	if add.IsEmpty() && del.IsEmpty() && newPrs == oldPrs {
		return ""
	}
	if oldPrs != newPrs {
		if oldPrs < 0 && !s.excl && !f.setExcl61(c) {
			return perrNotExcl
		}
		if newPrs < 0 {
			s.excl = false
		}
	}
	if !add.IsEmpty() {
		p.subparts = p.subparts.Union(add)
		p.eff = difference(p.eff, add)
	}
	if !del.IsEmpty() {
		p.subparts = difference(p.subparts, del)
		p.eff = p.eff.Union(del)
	}
	s.prs = newPrs
	if oldPrs != newPrs {
		switch {
		case oldPrs == prsIsolated:
			s.noBalance = false
		case newPrs == prsIsolated:
			s.noBalance = true
		}
	}
	return ""
}

// hier61 follows update_cpumasks_hier: effective CPUs and partition
// states again from c down, a subtree skipped when nothing changes for
// it (unless force).
func (f *FS) hier61(c *cgroup, force bool) {
	var visit func(cp *cgroup)
	visit = func(cp *cgroup) {
		s, pc := cp.cs, cp.parent
		p := f.cpusetOf(pc)
		newCPUs := f.computeEff61(cp, cp.cpus)
		jump := false
		if newCPUs.IsEmpty() {
			if s.valid() && cp.cpus.Equal(s.subparts) {
				jump = true
			} else {
				newCPUs = p.eff
				if !s.useParent {
					s.useParent = true
					p.nUsing++
				}
			}
		} else if s.useParent {
			s.useParent = false
			p.nUsing--
		}
		if !jump && s.prs == prsMember && !force && newCPUs.Equal(s.eff) && p.noBalance == s.noBalance {
			return
		}
		newPrs := s.prs
		if cp != c && s.prs != prsMember {
			if p.valid() {
				f.subparts61(cp, partcmdUpdate, nil)
				newPrs = s.prs
			} else {
				if s.valid() {
					newPrs = -s.prs
				}
				s.err = perrNotPart
				if p.prs < 0 {
					s.err = perrInvParent
				}
			}
		}
		// The kernel checks the state before it stores newPrs: a
		// partition made invalid here keeps the CPUs it lent out, and
		// its effective CPUs lose them.
		if !s.subparts.IsEmpty() && !s.valid() {
			newCPUs = newCPUs.Union(s.subparts)
			s.subparts = cgroupfs.CPUSet{}
		}
		s.eff = difference(newCPUs, s.subparts)
		s.prs = newPrs
		if newPrs <= 0 {
			s.noBalance = p.noBalance
		}
		for _, ch := range f.cpusetChildren(cp) {
			visit(ch)
		}
	}
	visit(c)
}

// siblings61 follows update_sibling_cpumasks: siblings of c using their
// parent's effective CPUs take them again.
func (f *FS) siblings61(c *cgroup) {
	for _, sib := range f.cpusetChildren(c.parent) {
		if sib != c && sib.cs.useParent {
			f.hier61(sib, false)
		}
	}
}

// updateCpumask61 follows update_cpumask after the list is parsed and
// checked for a populated cgroup: a change overlapping an exclusive
// sibling is allowed on cgroup v2 but makes the partitions involved
// invalid.
func (f *FS) updateCpumask61(c *cgroup, cpus cgroupfs.CPUSet) {
	if c.cpus.Equal(cpus) {
		return
	}
	s := c.cs
	invalidate := false
	for _, sib := range f.cpusetChildren(c.parent) {
		if sib != c && (s.excl || sib.cs.excl) && !sib.cpus.Intersect(cpus).IsEmpty() {
			invalidate = true
		}
	}
	if invalidate {
		for _, sib := range f.cpusetChildren(c.parent) {
			if sib.cs.valid() && !cpus.Intersect(sib.cpus).IsEmpty() {
				f.subparts61(sib, partcmdInvalid, nil)
			}
		}
	}
	if s.prs != prsMember {
		if invalidate {
			f.subparts61(c, partcmdInvalid, nil)
		} else {
			f.subparts61(c, partcmdUpdate, &cpus)
		}
	}
	trialEff := f.computeEff61(c, cpus)
	c.cpus = cpus
	if !s.subparts.IsEmpty() {
		if !s.valid() || (trialEff.IsSubsetOf(s.subparts) && f.partitionPopulated(c, nil)) {
			s.subparts = cgroupfs.CPUSet{}
		} else {
			s.subparts = s.subparts.Intersect(cpus)
		}
	}
	f.hier61(c, false)
	if s.prs != prsMember && f.cpusetOf(c.parent).nUsing > 0 {
		f.siblings61(c)
	}
}

// updatePrstate61 follows update_prstate for a write of
// cpuset.cpus.partition.
func (f *FS) updatePrstate61(c *cgroup, newPrs int) {
	s := c.cs
	oldPrs := s.prs
	if oldPrs == newPrs {
		return
	}
	// An invalid partition stays invalid, only its type changes.
	if newPrs != prsMember && oldPrs < 0 {
		s.prs = -newPrs
		return
	}
	perr := ""
	siblings := true
	switch {
	case oldPrs == prsMember:
		switch {
		case c.cpus.IsEmpty():
			perr = perrCPUsEmpty
		case !f.setExcl61(c):
			perr = perrNotExcl
		default:
			if perr = f.subparts61(c, partcmdEnable, nil); perr != "" {
				s.excl = false
			} else if newPrs == prsIsolated {
				s.noBalance = true
			}
		}
		siblings = perr == ""
	case newPrs != prsMember:
		s.noBalance = newPrs == prsIsolated
		siblings = false
	default:
		f.subparts61(c, partcmdDisable, nil)
		if !s.subparts.IsEmpty() {
			s.subparts = cgroupfs.CPUSet{}
			s.eff = f.computeEff61(c, c.cpus)
		}
		s.excl = false
		s.noBalance = false
	}
	if siblings && f.cpusetOf(c.parent).nUsing > 0 {
		f.siblings61(c)
	}
	if perr != "" {
		newPrs = -newPrs
	}
	s.prs, s.err = newPrs, perr
	if len(f.cpusetChildren(c)) > 0 {
		f.hier61(c, newPrs == prsMember)
	}
}

// readPartition prints c's partition as sched_partition_show does.
func readPartition(f *FS, c *cgroup) string {
	s := f.cpusetOf(c)
	if s == nil {
		return "member\n"
	}
	name := map[int]string{prsMember: "member", prsRoot: "root", prsIsolated: "isolated"}
	switch {
	case s.prs >= 0:
		return name[s.prs] + "\n"
	case s.err == "":
		return name[-s.prs] + " invalid\n"
	}
	return name[-s.prs] + " invalid (" + s.err + ")\n"
}
