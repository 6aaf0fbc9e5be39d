package fakefs

import "strings"

// controller is a subsystem the kernel knows on the default hierarchy.
type controller struct {
	name string
	// threaded controllers (cpuset, cpu, perf_event, pids) can handle
	// tasks competing with child cgroups, so the no-internal-process rule
	// does not apply to them (cgroup_vet_subtree_control_enable,
	// cgroup_migrate_vet_dst in kernel/cgroup/cgroup.c).
	threaded bool
	// implicit controllers are on everywhere and never listed in
	// cgroup.controllers; writing +name gives ENOENT (measured on 6.18).
	implicit bool
}

// knownControllers is the kernel's subsystem order (cgroup_subsys.h):
// cgroup.controllers and cgroup.subtree_control list names in this
// order. Names missing here (cpuacct, devices, freezer, net_cls,
// net_prio, and controllers a kernel was built without) get EINVAL from
// a subtree_control write, as on the measured kernel.
var knownControllers = []controller{
	{name: "cpuset", threaded: true},
	{name: "cpu", threaded: true},
	{name: "io"},
	{name: "memory"},
	{name: "perf_event", threaded: true, implicit: true},
	{name: "hugetlb"},
	{name: "pids", threaded: true},
	{name: "rdma"},
	{name: "misc"},
}

// ctrlMask is a set of controllers: bit i is knownControllers[i].
type ctrlMask uint32

func controllerIndex(name string) int {
	for i, c := range knownControllers {
		if c.name == name {
			return i
		}
	}
	return -1
}

func (m ctrlMask) has(i int) bool { return m&(1<<i) != 0 }

// threadedMask holds every threaded controller.
var threadedMask = func() ctrlMask {
	var m ctrlMask
	for i, c := range knownControllers {
		if c.threaded {
			m |= 1 << i
		}
	}
	return m
}()

// String lists the controllers in kernel order, space-separated, without
// a newline; implicit controllers are never listed.
func (m ctrlMask) String() string {
	var names []string
	for i, c := range knownControllers {
		if m.has(i) && !c.implicit {
			names = append(names, c.name)
		}
	}
	return strings.Join(names, " ")
}
