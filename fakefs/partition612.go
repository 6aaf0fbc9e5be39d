package fakefs

import (
	"slices"

	"github.com/cgguard/cgguard/cgroupfs"
	"golang.org/x/sys/unix"
)

// Linux 6.12 keeps the same kind of event-driven bookkeeping as 6.1
// (partition61.go) with exclusive CPUs: a partition takes its
// effective_xcpus (cpuset.cpus.exclusive, or cpuset.cpus within the
// parent's exclusive CPUs) out of its parent's effective CPUs, and a
// partition whose parent is not a partition root is a remote one, its
// CPUs taken from the hierarchy root (update_parent_effective_cpumask,
// remote_partition_enable, update_cpumasks_hier, update_prstate,
// update_cpumask and update_exclusive_cpumask).

// Reasons of an invalid partition, as 6.12 prints them.
const (
	perr12InvCPUs   = "Invalid cpu list in cpuset.cpus.exclusive"
	perr12CPUsEmpty = "cpuset.cpus and cpuset.cpus.exclusive are empty"
	perr12Remote    = "Have remote partition underneath"
)

// online612 follows cpuset_css_online: the parent's effective CPUs.
func (f *FS) online612(c *cgroup) {
	p := f.cpusetOf(c.parent)
	if p == nil {
		return
	}
	c.cs = &cpusetState{eff: p.eff, noBalance: p.noBalance}
}

// killed612 follows cpuset_css_killed at rmdir: a valid partition ends.
func (f *FS) killed612(c *cgroup) {
	if c.cs != nil && c.cs.valid() {
		f.updatePrstate612(c, prsMember)
	}
	c.cs = nil
}

// userX is user_xcpus: cpuset.cpus.exclusive, or cpuset.cpus without it.
func (f *FS) userX(c *cgroup, cpus, xcpus cgroupfs.CPUSet) cgroupfs.CPUSet {
	if !xcpus.IsEmpty() {
		return xcpus
	}
	if c.isRoot() {
		return f.cpus
	}
	return cpus
}

// effX612 follows compute_effective_exclusive_cpumask for c with cpus
// and exclusive CPUs xcpus: its exclusive CPUs within its parent's, less
// those a sibling holds exclusively. Without trial (c's own values), a
// cgroup with cpuset.cpus.exclusive keeps its siblings' CPUs. It also
// returns how many siblings took CPUs away.
func (f *FS) effX612(c *cgroup, cpus, xcpus cgroupfs.CPUSet, trial bool) (cgroupfs.CPUSet, int) {
	x := f.userX(c, cpus, xcpus).Intersect(f.cpusetOf(c.parent).effX)
	if !trial && !c.cs.xcpus.IsEmpty() {
		return x, 0
	}
	n := 0
	for _, sib := range f.cpusetChildren(c.parent) {
		switch {
		case sib == c:
		case !sib.cs.xcpus.IsEmpty() && !x.Intersect(sib.cs.xcpus).IsEmpty():
			x = difference(x, sib.cs.xcpus)
			n++
		case !sib.cs.effX.IsEmpty() && !x.Intersect(sib.cs.effX).IsEmpty():
			x = difference(x, sib.cs.effX)
			n++
		}
	}
	return x, n
}

// validate612 follows validate_change for a trial of c with cpus,
// exclusive CPUs xcpus and CPU exclusivity excl.
func (f *FS) validate612(c *cgroup, cpus, xcpus cgroupfs.CPUSet, excl bool) error {
	s := c.cs
	// Shrinking an exclusive cpuset to no CPUs leaves its root domain no
	// room for the deadline servers' bandwidth.
	if s.excl && !c.cpus.IsEmpty() && cpus.IsEmpty() {
		return unix.EBUSY
	}
	tx := f.userX(c, cpus, xcpus)
	for _, sib := range f.cpusetChildren(c.parent) {
		if sib == c {
			continue
		}
		txset, cxset := !xcpus.IsEmpty(), !sib.cs.xcpus.IsEmpty()
		switch {
		case excl || sib.cs.excl || (txset && cxset):
			if !tx.Intersect(f.userX(sib, sib.cpus, sib.cs.xcpus)).IsEmpty() {
				return unix.EINVAL
			}
		case txset || cxset:
			x, a := sib.cs.xcpus, cpus
			if txset {
				x, a = xcpus, sib.cpus
			}
			if !a.IsEmpty() && a.IsSubsetOf(x) {
				return unix.EINVAL
			}
		}
	}
	return nil
}

// partitionExcl612 follows update_partition_exclusive.
func (f *FS) partitionExcl612(c *cgroup, newPrs int) string {
	s := c.cs
	switch excl := newPrs > 0; {
	case excl && !s.excl:
		if f.validate612(c, c.cpus, s.xcpus, true) != nil {
			return perrNotExcl
		}
		s.excl = true
	case !excl && s.excl:
		s.excl = false
	}
	return ""
}

// sdLB612 follows update_partition_sd_lb for the load balance flag.
func (f *FS) sdLB612(c *cgroup) {
	s := c.cs
	if s.prs > 0 {
		s.noBalance = s.prs == prsIsolated
	} else {
		s.noBalance = f.cpusetOf(c.parent).noBalance
	}
}

// notify612 follows notify_partition_change: a partition that became
// valid loses its reason.
func notify612(c *cgroup, oldPrs int) {
	if c.cs.prs != oldPrs && c.cs.valid() {
		c.cs.err = ""
	}
}

// reset612 follows reset_partition_data.
func (f *FS) reset612(c *cgroup) {
	s, p := c.cs, f.cpusetOf(c.parent)
	s.nrSub = 0
	if s.xcpus.IsEmpty() {
		s.effX = cgroupfs.CPUSet{}
		s.excl = false
	}
	if s.eff = p.eff.Intersect(c.cpus); s.eff.IsEmpty() {
		s.eff = p.eff
	}
}

func (f *FS) xcpusNewstate(newPrs int, x cgroupfs.CPUSet) {
	if newPrs == prsIsolated {
		f.isolated = f.isolated.Union(x)
	} else {
		f.isolated = difference(f.isolated, x)
	}
}

// xcpusAdd follows partition_xcpus_add: x leaves parent's effective CPUs
// for a partition of type newPrs.
func (f *FS) xcpusAdd(newPrs int, parent *cgroup, x cgroupfs.CPUSet) {
	p := f.cpusetOf(parent)
	if parent.isRoot() {
		f.subparts = f.subparts.Union(x)
	}
	if newPrs != p.prs {
		f.xcpusNewstate(newPrs, x)
	}
	p.eff = difference(p.eff, x)
}

// xcpusDel follows partition_xcpus_del: x goes back to parent.
func (f *FS) xcpusDel(oldPrs int, parent *cgroup, x cgroupfs.CPUSet) {
	p := f.cpusetOf(parent)
	if parent.isRoot() {
		f.subparts = difference(f.subparts, x)
	}
	if oldPrs != p.prs {
		f.xcpusNewstate(p.prs, x)
	}
	p.eff = p.eff.Union(x.Intersect(f.cpus))
}

// nocpu612 follows tasks_nocpu_error.
func (f *FS) nocpu612(parent, c *cgroup, x cgroupfs.CPUSet) bool {
	return (f.cpusetOf(parent).eff.IsSubsetOf(x) && f.partitionPopulated(parent, c)) ||
		(x.Intersect(f.cpus).IsEmpty() && f.partitionPopulated(c, nil))
}

func (f *FS) remoteEnable612(c *cgroup, newPrs int) string {
	f.tmpNew, _ = f.effX612(c, c.cpus, c.cs.xcpus, false)
	x := f.tmpNew
	if x.IsEmpty() || !x.Intersect(f.subparts).IsEmpty() || f.cpusetOf(f.root).eff.IsSubsetOf(x) {
		return perr12InvCPUs
	}
	f.xcpusAdd(newPrs, f.root, x)
	c.cs.effX = x
	c.cs.remote = true
	f.remotes = append(f.remotes, c)
	c.cs.err = ""
	f.siblings612(f.root, nil)
	return ""
}

func (f *FS) remoteDisable612(c *cgroup) {
	s := c.cs
	s.remote = false
	f.remotes = slices.DeleteFunc(f.remotes, func(g *cgroup) bool { return g == c })
	f.xcpusDel(s.prs, f.root, s.effX)
	if s.err != "" {
		s.prs = -s.prs
	} else {
		s.prs = prsMember
	}
	s.effX, _ = f.effX612(c, c.cpus, s.xcpus, false)
	f.reset612(c)
	f.siblings612(f.root, nil)
}

// remoteUpdate612 follows remote_cpus_update: the remote partition c
// takes newmask as its exclusive CPUs (and xcpus as its
// cpuset.cpus.exclusive when not nil).
func (f *FS) remoteUpdate612(c *cgroup, xcpus *cgroupfs.CPUSet, newmask cgroupfs.CPUSet) {
	s := c.cs
	if newmask.IsEmpty() {
		s.err = perr12CPUsEmpty
		f.remoteDisable612(c)
		return
	}
	add, del := difference(newmask, s.effX), difference(s.effX, newmask)
	if !add.IsEmpty() && (!add.Intersect(f.subparts).IsEmpty() || f.cpusetOf(f.root).eff.IsSubsetOf(add)) {
		s.err = perrNoCPUs
		f.remoteDisable612(c)
		return
	}
	if !add.IsEmpty() {
		f.xcpusAdd(s.prs, f.root, add)
	}
	if !del.IsEmpty() {
		f.xcpusDel(s.prs, f.root, del)
	}
	s.effX = newmask
	if xcpus != nil {
		s.xcpus = *xcpus
	}
	f.siblings612(f.root, nil)
}

// parentEff612 follows update_parent_effective_cpumask. newmask is the
// next exclusive CPUs for partcmdUpdate from a write (nil otherwise).
func (f *FS) parentEff612(c *cgroup, cmd int, newmask *cgroupfs.CPUSet) string {
	s, pc := c.cs, c.parent
	p := f.cpusetOf(pc)
	oldPrs, newPrs := s.prs, s.prs
	x := f.userX(c, c.cpus, s.xcpus)
	var add, del cgroupfs.CPUSet
	delta := 0
	perr := ""
	if cmd == partcmdInvalid {
		if oldPrs < 0 {
			return ""
		}
		if p.valid() {
			add = x.Intersect(p.effX)
		}
		if oldPrs > 0 {
			newPrs = -oldPrs
			delta--
		}
	} else {
		if !p.valid() {
			if p.prs < 0 {
				return perrInvParent
			}
			return perrNotPart
		}
		if newmask == nil && c.cpus.IsEmpty() && s.xcpus.IsEmpty() {
			return perr12CPUsEmpty
		}
		nocpu := f.nocpu612(pc, c, x)
		switch {
		case cmd == partcmdEnable || cmd == partcmdEnableI:
			f.tmpNew, _ = f.effX612(c, c.cpus, s.xcpus, false)
			if x = f.tmpNew; x.IsEmpty() {
				return perr12InvCPUs
			}
			if f.nocpu612(pc, c, x) {
				return perrNoCPUs
			}
			if del = x.Intersect(p.effX); !del.IsEmpty() {
				delta++
			}
			newPrs = prsRoot
			if cmd == partcmdEnableI {
				newPrs = prsIsolated
			}
		case cmd == partcmdDisable:
			if s.valid() {
				add = s.effX
				delta--
			}
			newPrs = prsMember
		case newmask != nil:
			if newmask.IsEmpty() {
				perr = perr12CPUsEmpty
				break
			}
			nocpu = nocpu || f.nocpu612(pc, c, *newmask)
			if oldPrs < 0 {
				del = newmask.Intersect(p.effX)
			} else {
				add = difference(x, *newmask).Intersect(p.effX)
				del = difference(*newmask, x).Intersect(p.effX)
			}
			if nocpu && (add.IsEmpty() || add.Intersect(f.cpus).IsEmpty()) {
				perr = perrNoCPUs
				del = cgroupfs.CPUSet{}
				add = x.Intersect(p.effX)
			}
		default:
			switch {
			case nocpu:
				perr = perrNoCPUs
				if s.valid() {
					add = x.Intersect(p.effX)
				}
			case s.prs < 0 && !x.IsEmpty() && x.IsSubsetOf(p.effX):
				exclusive := true
				for _, sib := range f.cpusetChildren(pc) {
					if sib != c && !x.Intersect(f.userX(sib, sib.cpus, sib.cs.xcpus)).IsEmpty() {
						exclusive = false
					}
				}
				if exclusive {
					del = x.Intersect(p.eff)
				} else {
					perr = perrNotExcl
				}
			}
		}
	}
	if perr != "" {
		s.err = perr
	}
	if cmd == partcmdUpdate {
		switch {
		case s.prs > 0 && perr != "":
			newPrs = -oldPrs
			delta--
		case s.prs < 0 && perr == "":
			newPrs = -oldPrs
			delta++
		}
	}
	if add.IsEmpty() && del.IsEmpty() && newPrs == oldPrs {
		return ""
	}
	if oldPrs != newPrs && cmd != partcmdUpdate {
		if e := f.partitionExcl612(c, newPrs); e != "" {
			return e
		}
	}
	if oldPrs != newPrs {
		s.prs = newPrs
		if newPrs <= 0 {
			s.nrSub = 0
		}
	}
	if !add.IsEmpty() {
		f.xcpusDel(oldPrs, pc, add)
	}
	if !del.IsEmpty() {
		f.xcpusAdd(newPrs, pc, del)
	}
	if p.valid() {
		p.nrSub += delta
	}
	if oldPrs != newPrs && cmd == partcmdUpdate {
		f.partitionExcl612(c, newPrs)
	}
	if !add.IsEmpty() || !del.IsEmpty() {
		f.siblings612(pc, c)
	}
	if cmd == partcmdUpdate && newmask == nil {
		f.sdLB612(c)
	}
	notify612(c, oldPrs)
	return ""
}

// partitionEff612 follows compute_partition_effective_cpumask: c's
// exclusive CPUs less those of its valid child partitions, which become
// invalid when c no longer holds their CPUs.
func (f *FS) partitionEff612(c *cgroup) cgroupfs.CPUSet {
	s := c.cs
	populated := f.partitionPopulated(c, nil)
	ne, _ := f.effX612(c, c.cpus, s.xcpus, false)
	ne = ne.Intersect(f.cpus)
	for _, ch := range f.cpusetChildren(c) {
		cs := ch.cs
		if !cs.valid() {
			continue
		}
		cs.err = ""
		switch {
		case !cs.effX.IsSubsetOf(s.effX):
			cs.err = perr12InvCPUs
		case populated && ne.IsSubsetOf(cs.effX):
			cs.err = perrNoCPUs
		}
		if cs.err != "" {
			cs.prs = -cs.prs
			s.nrSub--
			cs.nrSub = 0
			continue
		}
		ne = difference(ne, cs.effX)
	}
	return ne
}

// hier612 follows update_cpumasks_hier.
func (f *FS) hier612(c *cgroup, force bool) {
	var visit func(cp *cgroup)
	visit = func(cp *cgroup) {
		s, pc := cp.cs, cp.parent
		p := f.cpusetOf(pc)
		remote := s.remote
		oldPrs, newPrs := s.prs, s.prs
		if remote && cp != c {
			f.tmpNew, _ = f.effX612(cp, cp.cpus, s.xcpus, false)
			if f.tmpNew.Equal(s.effX) {
				return
			}
			f.remoteUpdate612(cp, nil, f.tmpNew)
			newPrs = s.prs
			remote = newPrs == oldPrs
		}
		if remote || (p.valid() && s.valid()) {
			f.tmpNew = f.partitionEff612(cp)
		} else {
			f.tmpNew = cp.cpus.Intersect(p.eff)
		}
		updateParent := false
		if !remote {
			updateParent = s.valid() && f.tmpNew.IsEmpty()
			if !updateParent {
				if f.tmpNew.IsEmpty() {
					f.tmpNew = p.eff
				}
				if s.prs == prsMember && !force && f.tmpNew.Equal(s.eff) && p.noBalance == s.noBalance {
					return
				}
			}
			if cp != c && oldPrs != prsMember {
				if p.valid() {
					updateParent = true
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
		}
		if updateParent {
			f.parentEff612(cp, partcmdUpdate, nil)
			newPrs = s.prs
		}
		// What the kernel stores is its scratch mask, which what
		// parentEff612 set off (siblings612, hier612 on a sibling) may
		// have overwritten with another cgroup's CPUs.
		s.eff = f.tmpNew
		s.prs = newPrs
		if !s.xcpus.IsEmpty() && cp != c {
			s.effX, _ = f.effX612(cp, cp.cpus, s.xcpus, false)
		}
		if newPrs > 0 && s.xcpus.IsEmpty() {
			s.effX = cp.cpus.Intersect(p.effX)
		} else if newPrs < 0 {
			f.reset612(cp)
		}
		notify612(cp, oldPrs)
		if !s.valid() {
			s.noBalance = p.noBalance
		}
		for _, ch := range f.cpusetChildren(cp) {
			visit(ch)
		}
	}
	visit(c)
}

// siblings612 follows update_sibling_cpumasks.
func (f *FS) siblings612(parent, c *cgroup) {
	p := f.cpusetOf(parent)
	for _, sib := range f.cpusetChildren(parent) {
		if sib == c {
			continue
		}
		if !sib.cs.valid() {
			if f.tmpNew = sib.cpus.Intersect(p.eff); f.tmpNew.Equal(sib.cs.eff) {
				continue
			}
		} else if sib.cs.remote {
			continue
		}
		f.hier612(sib, false)
	}
}

// updateCpumask612 follows update_cpumask after the list is parsed.
func (f *FS) updateCpumask612(c *cgroup, cpus cgroupfs.CPUSet) error {
	s, pc := c.cs, c.parent
	oldPrs := s.prs
	trialX := s.effX
	switch {
	case cpus.IsEmpty():
		if s.xcpus.IsEmpty() {
			trialX = cgroupfs.CPUSet{}
		}
	case !s.xcpus.IsEmpty() || s.valid():
		trialX, _ = f.effX612(c, cpus, s.xcpus, true)
	}
	if c.cpus.Equal(cpus) {
		return nil
	}
	invalidate := false
	if oldPrs != prsMember {
		switch {
		case s.valid() && trialX.IsEmpty():
			invalidate, s.err = true, perr12InvCPUs
		case f.nocpu612(pc, c, trialX):
			invalidate, s.err = true, perrNoCPUs
		}
	}
	force := !s.effX.Equal(trialX)
	err := f.validate612(c, cpus, s.xcpus, s.excl)
	if err == unix.EINVAL {
		invalidate = true
		x := f.userX(c, cpus, s.xcpus)
		for _, sib := range f.cpusetChildren(pc) {
			if sib.cs.valid() && !x.Intersect(sib.cs.effX).IsEmpty() {
				f.parentEff612(sib, partcmdInvalid, nil)
			}
		}
		err = nil
	}
	if err != nil {
		return err
	}
	switch {
	case s.valid() || (s.prs < 0 && !invalidate):
		x := trialX
		if x.IsEmpty() && s.prs < 0 {
			x = cpus
		}
		switch {
		case s.remote:
			f.remoteUpdate612(c, nil, x)
		case invalidate:
			f.parentEff612(c, partcmdInvalid, nil)
		default:
			f.parentEff612(c, partcmdUpdate, &x)
		}
	}
	c.cpus, s.effX = cpus, trialX
	if oldPrs > 0 && !s.valid() {
		f.reset612(c)
	}
	f.hier612(c, force)
	if s.prs != prsMember {
		f.sdLB612(c)
	}
	return nil
}

// updateExclusive612 follows update_exclusive_cpumask after the list
// is parsed.
func (f *FS) updateExclusive612(c *cgroup, xcpus cgroupfs.CPUSet) error {
	s, pc := c.cs, c.parent
	oldPrs := s.prs
	if xcpus.Equal(s.xcpus) {
		return nil
	}
	var trialX cgroupfs.CPUSet
	if !xcpus.IsEmpty() {
		var taken int
		if trialX, taken = f.effX612(c, c.cpus, xcpus, true); taken > 0 {
			return unix.EINVAL // a sibling holds some of them
		}
	}
	force := !s.effX.Equal(trialX)
	if err := f.validate612(c, c.cpus, xcpus, s.excl); err != nil {
		return err
	}
	if oldPrs != prsMember {
		invalidate := false
		switch {
		case trialX.IsEmpty():
			invalidate, s.err = true, perr12InvCPUs
		case f.nocpu612(pc, c, trialX):
			invalidate, s.err = true, perrNoCPUs
		}
		switch {
		case s.remote && invalidate:
			f.remoteDisable612(c)
		case s.remote:
			f.remoteUpdate612(c, &xcpus, trialX)
		case invalidate:
			f.parentEff612(c, partcmdInvalid, nil)
		default:
			f.parentEff612(c, partcmdUpdate, &trialX)
		}
	}
	s.xcpus, s.effX = xcpus, trialX
	if oldPrs > 0 && !s.valid() {
		f.reset612(c)
	}
	if s.valid() || force {
		f.hier612(c, force)
	}
	if s.prs != prsMember {
		f.sdLB612(c)
	}
	return nil
}

// updatePrstate612 follows update_prstate.
func (f *FS) updatePrstate612(c *cgroup, newPrs int) {
	s, pc := c.cs, c.parent
	p := f.cpusetOf(pc)
	oldPrs := s.prs
	if oldPrs == newPrs {
		return
	}
	// An invalid partition asked to be one again is judged anew.
	if newPrs != prsMember && oldPrs < 0 {
		oldPrs = prsMember
	}
	newState := false
	perr := f.partitionExcl612(c, newPrs)
	if perr == "" {
		switch {
		case oldPrs == prsMember:
			switch {
			case c.cpus.IsEmpty() && s.xcpus.IsEmpty():
				perr = perr12CPUsEmpty
			case pc.isRoot() && !s.xcpus.Intersect(f.subparts).IsEmpty():
				perr = perr12Remote
			case p.valid():
				cmd := partcmdEnable
				if newPrs == prsIsolated {
					cmd = partcmdEnableI
				}
				perr = f.parentEff612(c, cmd, nil)
			default:
				perr = f.remoteEnable612(c, newPrs)
			}
		case newPrs != prsMember:
			newState = true
		case s.remote:
			f.remoteDisable612(c)
		default:
			f.parentEff612(c, partcmdDisable, nil)
		}
	}
	if perr != "" {
		newPrs = -newPrs
		f.partitionExcl612(c, newPrs)
	}
	s.prs, s.err = newPrs, perr
	if !s.valid() {
		f.reset612(c)
	} else if newState {
		f.xcpusNewstate(newPrs, s.effX)
	}
	f.hier612(c, newPrs == prsMember)
	f.sdLB612(c)
	notify612(c, oldPrs)
}
