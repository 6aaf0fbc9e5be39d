package cgroupfs

import (
	"fmt"
	"io/fs"
	"strings"
)

// ErrInvalidName is wrapped by every error about a cgroup name that a
// Manager refuses before doing any I/O: an empty name, an absolute name,
// a trailing slash, an empty component ("a//b"), a "." or ".."
// component, or a NUL or newline byte. errors.Is(err, fs.ErrInvalid)
// holds for these errors as well. The message names the rule broken.
var ErrInvalidName error = invalidNameErr{}

type invalidNameErr struct{}

func (invalidNameErr) Error() string { return "invalid cgroup name" }

// Is makes errors.Is(err, fs.ErrInvalid) hold, without "invalid
// argument" in every message.
func (invalidNameErr) Is(target error) bool { return target == fs.ErrInvalid }

// checkCgroupName returns nil when name is a relative, slash-separated cgroup
// name that stays beneath the directory it is resolved against. The rules
// are checked here, before any I/O, because ktstr joined names to its
// parent unchecked and "../x" or "/x" escaped it. The OS-backed FS also
// resolves every path beneath its root, so this is the first of two
// fences, and the one that gives the clearer error.
//
// allowRoot lets "." through as the name of the directory itself; only
// the Manager's parent and DrainTo cgroup may be ".".
func checkCgroupName(what, name string, allowRoot bool) error {
	if allowRoot && name == "." {
		return nil
	}
	if rule := brokenNameRule(name); rule != "" {
		return fmt.Errorf("cgroupfs: %s %q: %w: %s", what, name, ErrInvalidName, rule)
	}
	return nil
}

// brokenNameRule returns the rule name breaks, or "" when it breaks none.
func brokenNameRule(name string) string {
	switch {
	case name == "":
		return "the name is empty"
	case strings.ContainsRune(name, 0):
		return "the name contains a NUL byte"
	case strings.ContainsAny(name, "\n"):
		return "the name contains a newline (it would corrupt line-based files such as /proc/self/cgroup)"
	case strings.HasPrefix(name, "/"):
		return "the name is absolute; names are relative to the parent cgroup"
	case strings.HasSuffix(name, "/"):
		return "the name ends with a slash"
	}
	for elem := range strings.SplitSeq(name, "/") {
		switch elem {
		case "":
			return "the name has an empty component (\"//\")"
		case ".":
			return "the name has a \".\" component"
		case "..":
			return "the name has a \"..\" component, which would leave the parent cgroup"
		}
	}
	return ""
}

// joinName joins the checked names dir and name; "." stands for the root.
func joinName(dir, name string) string {
	switch {
	case dir == ".":
		return name
	case name == ".":
		return dir
	}
	return dir + "/" + name
}

// levels returns every prefix of the checked name, shortest first:
// "a/b/c" gives "a", "a/b", "a/b/c"; "." gives none.
func levels(name string) []string {
	if name == "." {
		return nil
	}
	var out []string
	for i := 0; i < len(name); i++ {
		if name[i] == '/' {
			out = append(out, name[:i])
		}
	}
	return append(out, name)
}

// isBeneath reports whether the checked name p is dir itself or lies
// beneath it.
func isBeneath(p, dir string) bool {
	return dir == "." || p == dir || strings.HasPrefix(p, dir+"/")
}
