package cgroupfs

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

// ErrInvalidName is wrapped by every error about a cgroup name refused
// before any I/O: an empty name, an absolute name, a trailing slash, an
// empty component ("a//b"), a "." or ".." component, a NUL or newline
// byte, a path too long to reach the cgroup's files, and (for a cgroup
// to create, see CheckName) a component named like an interface file.
// errors.Is(err, fs.ErrInvalid) holds for these errors as well. The
// message names the rule broken.
var ErrInvalidName = errors.New("invalid cgroup name")

// nameError is a name refused before any I/O, with the rule it broke.
type nameError struct{ what, name, rule string }

func (e *nameError) Error() string {
	name := strconv.Quote(e.name)
	if len(e.name) > 80 { // a 4000-byte name would drown the message
		name = fmt.Sprintf("%q... (%d bytes)", e.name[:60], len(e.name))
	}
	return fmt.Sprintf("cgroupfs: invalid %s %s: %s", e.what, name, e.rule)
}

// Is makes errors.Is hold for ErrInvalidName and fs.ErrInvalid, without
// "invalid argument" in every message.
func (e *nameError) Is(target error) bool { return target == ErrInvalidName || target == fs.ErrInvalid }

// CheckName returns an error wrapping ErrInvalidName unless name is a
// good name for a new cgroup: relative, slash-separated, staying beneath
// the parent cgroup, and with no component named like an interface file
// ("cgroup.procs", "memory.max", any "cgroup.<x>" or "<controller>.<x>").
// It does no I/O. Manager.CreateCgroup, Manager.Setup and cgtest check
// every name they create with it.
func CheckName(name string) error {
	if rule := brokenNameRule(name); rule != "" {
		return &nameError{"cgroup name", name, rule}
	}
	for elem := range strings.SplitSeq(name, "/") {
		if rule := reservedRule(elem); rule != "" {
			return &nameError{"cgroup name", name, rule}
		}
	}
	return nil
}

// checkCgroupName returns nil when name is a relative, slash-separated
// cgroup name that stays beneath the directory it is resolved against:
// "../x" or "/x" would escape it. The OS-backed FS also resolves every
// path beneath its root, so this is the first of two fences, and the one
// that gives the clearer error. Names found in the filesystem pass it
// even when CheckName would refuse to create them, so that what others
// made can still be listed and removed.
//
// allowRoot lets "." through as the name of the directory itself; only
// the Manager's parent and DrainTo cgroup may be ".".
func checkCgroupName(what, name string, allowRoot bool) error {
	if allowRoot && name == "." {
		return nil
	}
	if rule := brokenNameRule(name); rule != "" {
		return &nameError{what, name, rule}
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

// interfacePrefixes are the prefixes of the kernel's interface file
// names: "cgroup." for the core files, a controller's name (v1 or v2)
// for its own, and "irq." for irq.pressure.
var interfacePrefixes = []string{
	"cgroup", "cpuset", "cpu", "cpuacct", "io", "blkio", "memory", "devices", "freezer",
	"net_cls", "net_prio", "perf_event", "hugetlb", "pids", "rdma", "misc", "dmem", "irq",
}

// reservedRule returns why the component elem may not name a new
// cgroup, or "". mkdir of a name taken by an interface file answers
// EEXIST, which reads as if a stale cgroup were there; where the
// controller is not enabled yet, the directory is made and later keeps
// the controller from being enabled in its parent.
func reservedRule(elem string) string {
	prefix, _, ok := strings.Cut(elem, ".")
	switch {
	case !ok || !slices.Contains(interfacePrefixes, prefix):
		return ""
	case prefix == "cgroup":
		return fmt.Sprintf("the component %q is named like the kernel's cgroup.* interface files, which every cgroup has (mkdir answers EEXIST); choose another name", elem)
	}
	return fmt.Sprintf("the component %q is named like an interface file of the %s controller: mkdir answers EEXIST where %s is enabled, and elsewhere the cgroup made keeps %s from being enabled later; choose a name without the %q prefix", elem, prefix, prefix, prefix, prefix+".")
}

// maxInterfaceFile is the kernel's CGROUP_FILE_NAME_MAX less its NUL:
// the longest interface file name a cgroup can have.
const maxInterfaceFile = 97

// pathMax is the kernel's PATH_MAX: a path passed to a system call,
// its NUL included, must fit.
const pathMax = 4096

// reachRule returns why a cgroup whose absolute path is n bytes long
// could not be reached, or "": its interface files must be openable by
// path (the inotify fallback, /proc/self/cgroup readers and people use
// the full path, not only fd-relative calls).
func reachRule(n int) string {
	if n+len("/")+maxInterfaceFile+len("\x00") > pathMax {
		return fmt.Sprintf("the cgroup's path would be %d bytes long, and with \"/\" and an interface file name (up to %d bytes) it would not fit in PATH_MAX (%d bytes): its cgroup.procs could not be reached; choose a shorter name", n, maxInterfaceFile, pathMax)
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
// beneath it ("." holds every name).
func isBeneath(p, dir string) bool {
	return dir == "." || p == dir || strings.HasPrefix(p, dir+"/")
}
