package cgtest

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"unicode"
)

// ErrInvalidName is wrapped by the error for a cgroup name that the
// group refuses before doing any I/O. errors.Is(err, fs.ErrInvalid)
// holds too. The message names the rule broken.
var ErrInvalidName = fmt.Errorf("invalid cgroup name: %w", fs.ErrInvalid)

// ErrTestEnded is wrapped by the error of a Group method called after
// the group's teardown has begun (the test has ended): the cgroup could
// no longer be removed by anyone, so nothing is created.
var ErrTestEnded = errors.New("the test has ended, and its cgroups were torn down")

// maxNameLen is the longest component the kernel can ever accept: a
// path given to mkdir must be shorter than PATH_MAX (4096 bytes).
// cgroupfs (kernfs), unlike most filesystems, has no NAME_MAX of 255:
// mkdir of a 300- or 4095-byte name succeeds there (measured on 6.18).
const maxNameLen = 4095

// checkName returns an error wrapping ErrInvalidName unless name is a
// relative, slash-separated cgroup name that stays beneath the parent:
// ktstr joined names unchecked, and "../x" or "/x" escaped it.
func checkName(name string) error {
	if rule := brokenNameRule(name); rule != "" {
		return fmt.Errorf("%w %q: %s", ErrInvalidName, name, rule)
	}
	return nil
}

func brokenNameRule(name string) string {
	switch {
	case name == "":
		return "the name is empty"
	case strings.HasPrefix(name, "/"):
		return "the name is absolute; names are relative to the parent cgroup of the Ops"
	case strings.HasSuffix(name, "/"):
		return "the name ends with a slash"
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "the name contains a control character (NUL, newline, ...), which would corrupt line-based files such as /proc/self/cgroup"
	}
	for elem := range strings.SplitSeq(name, "/") {
		switch {
		case elem == "":
			return "the name has an empty component (\"//\")"
		case elem == ".":
			return "the name has a \".\" component"
		case elem == "..":
			return "the name has a \"..\" component, which would leave the parent cgroup"
		case strings.HasPrefix(elem, "cgroup."):
			return fmt.Sprintf("the component %q is reserved for interface files (the kernel answers EEXIST)", elem)
		case len(elem) > maxNameLen:
			return fmt.Sprintf("a component is %d bytes long, and the kernel refuses paths of 4096 bytes or more (PATH_MAX)", len(elem))
		}
	}
	return ""
}

// levels returns every prefix of the checked name, shortest first:
// "a/b/c" gives "a", "a/b", "a/b/c".
func levels(name string) []string {
	var out []string
	for i := 0; i < len(name); i++ {
		if name[i] == '/' {
			out = append(out, name[:i])
		}
	}
	return append(out, name)
}

// depth returns the number of components of the checked name.
func depth(name string) int { return strings.Count(name, "/") + 1 }

// isBeneath reports whether the checked name p lies strictly beneath dir.
func isBeneath(p, dir string) bool { return strings.HasPrefix(p, dir+"/") }
