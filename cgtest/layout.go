package cgtest

import (
	"fmt"

	"github.com/cgguard/cgguard/cgroupfs"
)

// Spec is one cgroup of a Layout.
type Spec struct {
	// Name is the cgroup's slash-separated name, relative to the parent
	// of the Manager ("a", "a/b").
	Name string
	// CPUs is written to cpuset.cpus; when empty, the cgroup inherits
	// its parent's CPUs (AddCgroupNoCpuset).
	CPUs cgroupfs.CPUSet
	// Mems is written to cpuset.mems when not empty.
	Mems cgroupfs.CPUSet
}

// Layout is a table of cgroups to create in order: a row of a
// table-driven test. A parent may come after its child; the group
// creates missing levels itself and removes deepest first.
type Layout []Spec

// Apply creates every cgroup of l in order (AddCgroup or
// AddCgroupNoCpuset, then cpuset.mems). Every name is checked before
// any cgroup is created, so a bad name changes nothing. It stops at the
// first failure and returns it; what was created until then stays
// tracked and is removed when the test ends.
func (g *Group) Apply(l Layout) error {
	g.t.Helper()
	for _, s := range l {
		if err := g.check(s.Name); err != nil {
			return fmt.Errorf("cgtest: apply layout: %w", err)
		}
	}
	for _, s := range l {
		var err error
		if s.CPUs.IsEmpty() {
			err = g.AddCgroupNoCpuset(s.Name)
		} else {
			err = g.AddCgroup(s.Name, s.CPUs)
		}
		if err != nil {
			return err
		}
		if !s.Mems.IsEmpty() {
			if err := g.ops.SetCpusetMems(s.Name, s.Mems); err != nil {
				return fmt.Errorf("cgtest: set the cpuset.mems of cgroup %q to %q (the cgroup stays tracked and is removed when the test ends): %w", s.Name, s.Mems.String(), err)
			}
		}
	}
	return nil
}
