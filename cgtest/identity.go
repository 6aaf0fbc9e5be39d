package cgtest

import (
	"fmt"

	"github.com/cgguard/cgguard/cgroupfs"
)

// A cgroup the group made can be removed and made again under the same
// name by someone else (a container runtime, another test): that one is
// theirs. The group records the identity of each cgroup it makes (its
// cgroup id, through cgroupfs.Identifier) and acts on a name only while
// the identity is the one it recorded.

// replacedError says that the cgroup name is no longer the one the group
// made: a teardown warns with it instead of acting.
type replacedError struct {
	path      string
	made, now uint64
}

func (e *replacedError) Error() string {
	return fmt.Sprintf("%s is not the cgroup this group made (identity %d): it was removed and made again by someone else (identity %d), so it is left alone, with its tasks",
		e.path, e.made, e.now)
}

// identifier returns the group's FS as a cgroupfs.Identifier, and the
// path of name in it, or false when the FS cannot tell identities.
func (g *Group) identifier(name string) (cgroupfs.Identifier, string, bool) {
	if g.ops == nil {
		return nil, "", false
	}
	id, ok := g.ops.FS().(cgroupfs.Identifier)
	if !ok {
		return nil, "", false
	}
	p, err := g.ops.Path(name)
	if err != nil {
		return nil, "", false
	}
	return id, p, true
}

// recordIdentity notes the identity of name, which the group just made.
// g.mu is held. Without one (an FS that cannot tell, a failed stat) the
// name is acted on as before, by name alone.
func (g *Group) recordIdentity(name string) {
	id, p, ok := g.identifier(name)
	if !ok {
		return
	}
	if n, err := id.Identity(p); err == nil {
		if g.ids == nil {
			g.ids = make(map[string]uint64)
		}
		g.ids[name] = n
	}
}

// checkIdentity returns a *replacedError when name exists but is not the
// cgroup the group made. A missing cgroup, or one whose identity is not
// known, passes: acting on it is what it was before.
func (g *Group) checkIdentity(name string) error {
	g.mu.Lock()
	made, known := g.ids[name]
	g.mu.Unlock()
	if !known {
		return nil
	}
	id, p, ok := g.identifier(name)
	if !ok {
		return nil
	}
	now, err := id.Identity(p)
	if err != nil || now == made {
		// Gone (ENOENT): nothing to protect; any other failure, the
		// removal meets too and reports.
		return nil
	}
	return &replacedError{path: g.display(name), made: made, now: now}
}
