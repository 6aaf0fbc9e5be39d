package fakefs

import (
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Threaded mode, after kernel/cgroup/cgroup.c. A cgroup made threaded
// (writing "threaded" to cgroup.type) joins the resource domain of its
// nearest non-threaded ancestor, the thread root ("domain threaded").
// A domain cgroup below a thread root or a threaded cgroup is "domain
// invalid": it can hold no tasks until it is made threaded too. The
// state is derived from each cgroup's threaded flag, so it follows every
// change (a thread root reverts to "domain" when its threaded children
// go).

// hasTasks reports whether c itself holds tasks, live or exiting
// (cgroup_has_tasks).
func hasTasks(c *cgroup) bool { return len(c.procs) > 0 || len(c.exiting) > 0 }

// dom returns c's resource domain (dom_cgrp): c itself unless threaded.
func dom(c *cgroup) *cgroup {
	for c.threaded {
		c = c.parent
	}
	return c
}

// isThreadRoot follows cgroup_is_thread_root: a domain with threaded
// children, or with tasks and threaded controllers enabled below it.
func isThreadRoot(c *cgroup) bool {
	if c.threaded {
		return false
	}
	return c.nrThreadedChildren > 0 || hasTasks(c) && c.subtree&threadedMask != 0
}

// isValidDomain follows cgroup_is_valid_domain: a domain none of whose
// ancestors is threaded or a thread root (the root excepted). While the
// FS has no threaded cgroup and no task root, there is no thread root
// and no ancestor to look at.
func (f *FS) isValidDomain(c *cgroup) bool {
	if c.threaded {
		return false
	}
	if f.nThreaded == 0 && f.nTaskRoots == 0 {
		return true
	}
	for g := c.parent; g != nil; g = g.parent {
		if !g.isRoot() && isThreadRoot(g) {
			return false
		}
		if g.threaded {
			return false
		}
	}
	return true
}

// canBeThreadRoot follows cgroup_can_be_thread_root: the root always;
// otherwise a domain with no populated domain children and no domain
// controllers enabled below it.
func (f *FS) canBeThreadRoot(c *cgroup) bool {
	if c.isRoot() {
		return true
	}
	if c.threaded {
		return false
	}
	return c.nrPopDomain == 0 && c.subtree&^threadedMask == 0
}

// vetDst follows cgroup_migrate_vet_dst, for every way a task enters c
// (cgroup.procs, cgroup.threads, spawning into it): EOPNOTSUPP when c's
// domain is invalid; the root, threaded cgroups and cgroups that could
// become a thread root take tasks; otherwise a non-empty subtree_control
// gives EBUSY (the no-internal-process rule).
func (f *FS) vetDst(c *cgroup) error {
	if !f.isValidDomain(dom(c)) {
		return unix.EOPNOTSUPP
	}
	if c.isRoot() || c.threaded || f.canBeThreadRoot(c) {
		return nil
	}
	if c.subtree != 0 {
		return unix.EBUSY
	}
	return nil
}

// vetEnable follows cgroup_vet_subtree_control_enable for the
// controllers a subtree_control write enables.
func (f *FS) vetEnable(c *cgroup, enable ctrlMask) error {
	if enable == 0 {
		return nil
	}
	if !f.isValidDomain(dom(c)) {
		return unix.EOPNOTSUPP
	}
	if c.isRoot() {
		return nil
	}
	if enable&^threadedMask != 0 {
		// No domain controllers inside a threaded subtree.
		if isThreadRoot(c) || c.threaded {
			return unix.EOPNOTSUPP
		}
	} else if f.canBeThreadRoot(c) || c.threaded {
		return nil
	}
	if hasTasks(c) {
		return unix.EBUSY
	}
	return nil
}

// readType follows cgroup_type_show.
func readType(f *FS, c *cgroup) string {
	switch {
	case c.threaded:
		return "threaded\n"
	case !f.isValidDomain(c):
		return "domain invalid\n"
	case isThreadRoot(c):
		return "domain threaded\n"
	}
	return "domain\n"
}

// writeType follows cgroup_type_write and cgroup_enable_threaded: only
// "threaded" may be written (EINVAL otherwise); a populated cgroup, or
// one with domain controllers enabled below it, cannot switch, nor can
// one whose parent's domain is invalid or cannot become a thread root
// (EOPNOTSUPP). Switching is one way; writing it again is a no-op.
func writeType(f *FS, c *cgroup, s string) error {
	if strstrip(s) != "threaded" {
		return unix.EINVAL
	}
	if c.threaded {
		return nil
	}
	if f.populated(c) || c.subtree&^threadedMask != 0 {
		return unix.EOPNOTSUPP
	}
	d := dom(c.parent)
	if !f.isValidDomain(d) || !f.canBeThreadRoot(d) {
		return unix.EOPNOTSUPP
	}
	c.threaded = true
	return nil
}

// readProcs lists the processes of c in join order. A thread root lists
// those of its whole threaded subtree (where their threads are); a
// threaded cgroup has no processes of its own to list, so the kernel
// refuses the read with EOPNOTSUPP, which readProcsChecked reports.
func readProcs(_ *FS, c *cgroup) string {
	var b strings.Builder
	var walk func(g *cgroup)
	walk = func(g *cgroup) {
		for _, pid := range g.procs {
			b.WriteString(strconv.Itoa(pid))
			b.WriteByte('\n')
		}
		if g.nrThreadedChildren == 0 {
			return
		}
		for _, ch := range g.sortedChildren() {
			if ch.threaded {
				walk(ch)
			}
		}
	}
	walk(c)
	return b.String()
}

// readThreads lists the threads in c itself: one per fake task.
func readThreads(_ *FS, c *cgroup) string {
	var b strings.Builder
	for _, pid := range c.procs {
		b.WriteString(strconv.Itoa(pid))
		b.WriteByte('\n')
	}
	return b.String()
}

// writeThreads moves one thread (a fake task's only thread, whose id is
// its pid) like cgroup.procs, and, as the kernel does for threads, only
// within one resource domain (EOPNOTSUPP across domains).
func writeThreads(f *FS, c *cgroup, s string) error { return f.move(c, s, false) }
