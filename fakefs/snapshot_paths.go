package fakefs

// Paths returns the path of every cgroup of the snapshot but the root,
// parents first: what a test compares to see which cgroups are left.
func (s Snapshot) Paths() []string {
	var out []string
	for _, c := range s.Cgroups {
		if c.Path != "." {
			out = append(out, c.Path)
		}
	}
	return out
}
