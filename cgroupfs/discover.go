package cgroupfs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrNoCgroup2 is wrapped by the errors of Mountpoint and SelfCgroup (and
// so Discover) when the system has no cgroup v2 hierarchy: cgroup v1 only,
// or no cgroup filesystem mounted at all.
var ErrNoCgroup2 = errors.New("no cgroup2 filesystem")

// howToGetCgroup2 is the advice every "no cgroup2" error ends with.
const howToGetCgroup2 = "boot with systemd.unified_cgroup_hierarchy=1 (pure v2) or " +
	"systemd.legacy_systemd_cgroup_controller=0 (hybrid, v2 at /sys/fs/cgroup/unified), " +
	"or as root: mount -t cgroup2 none /sys/fs/cgroup/unified"

// Mount is one cgroup2 mount from /proc/self/mountinfo.
type Mount struct {
	// Point is where it is mounted, with the kernel's octal escapes
	// (\040 for a space) decoded.
	Point string
	// Root is the directory of the hierarchy mounted there: "/" for the
	// whole hierarchy; a cgroup path inside a cgroup namespace or a bind
	// mount of a subtree.
	Root string
	// ReadOnly is true for a mount with the "ro" option (typical in
	// containers), where no cgroup can be created.
	ReadOnly bool
}

// ParseMountInfo returns the cgroup2 mounts (filesystem type "cgroup2")
// listed in r, in the format of /proc/self/mountinfo (proc(5)), in the
// order listed. Mounts of other types, cgroup v1 ones included, are
// skipped. A line that does not have the mountinfo shape is an error
// naming its number.
func ParseMountInfo(r io.Reader) ([]Mount, error) {
	var mounts []Mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		// id parent major:minor root point options [optional...] - type source superopts
		fields := strings.Fields(line)
		sep := slices.Index(fields, "-")
		if sep < 6 || len(fields) < sep+2 {
			return nil, fmt.Errorf("cgroupfs: mountinfo line %d is malformed (want \"id parent maj:min root point options [tags] - type source options\"): %q", n, line)
		}
		if fields[sep+1] != "cgroup2" {
			continue
		}
		opts := strings.Split(fields[5], ",")
		mounts = append(mounts, Mount{
			Point:    unescapeMountInfo(fields[4]),
			Root:     unescapeMountInfo(fields[3]),
			ReadOnly: slices.Contains(opts, "ro"),
		})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cgroupfs: read mountinfo: %w", err)
	}
	return mounts, nil
}

// unescapeMountInfo decodes the octal escapes the kernel writes for space,
// tab, newline and backslash in mountinfo paths (\040, \011, \012, \134).
func unescapeMountInfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			v, _ := strconv.ParseUint(s[i+1:i+4], 8, 8)
			b.WriteByte(byte(v))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// Mountpoint returns the directory where the cgroup v2 hierarchy is
// mounted, from /proc/self/mountinfo: /sys/fs/cgroup on a pure v2 host,
// /sys/fs/cgroup/unified on a hybrid one. When several cgroup2 mounts
// exist it prefers a read-write mount of the whole hierarchy, at
// /sys/fs/cgroup, then /sys/fs/cgroup/unified, then the first listed.
// Without any cgroup2 mount the error wraps ErrNoCgroup2 and says how to
// get one.
func Mountpoint() (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", fmt.Errorf("cgroupfs: find the cgroup2 mount: %w (is /proc mounted?)", err)
	}
	defer f.Close()
	mounts, err := ParseMountInfo(f)
	if err != nil {
		return "", err
	}
	m, err := pickMount(mounts)
	if err != nil {
		return "", err
	}
	return m.Point, nil
}

// pickMount chooses the mount Mountpoint returns.
func pickMount(mounts []Mount) (Mount, error) {
	if len(mounts) == 0 {
		return Mount{}, fmt.Errorf("cgroupfs: %w is mounted (/proc/self/mountinfo lists no filesystem of type cgroup2; "+
			"this host has cgroup v1 only): %s", ErrNoCgroup2, howToGetCgroup2)
	}
	score := func(m Mount) int {
		s := 0
		if !m.ReadOnly {
			s += 4
		}
		if m.Root == "/" {
			s += 2
		}
		switch m.Point {
		case "/sys/fs/cgroup":
			s++
		case "/sys/fs/cgroup/unified":
			s++
		}
		return s
	}
	best := mounts[0]
	for _, m := range mounts[1:] {
		// Strictly better only: ties keep the first listed, and a later
		// mount on the same point hides an earlier one.
		if score(m) > score(best) || m.Point == best.Point {
			best = m
		}
	}
	return best, nil
}

// ParseProcCgroup returns the cgroup v2 path (the "0::" line) of a file in
// the format of /proc/<pid>/cgroup: "/" for the root,
// "/user.slice/session-1.scope" and the like otherwise. The path is
// relative to the mount (or to the cgroup namespace root). Without a
// "0::" line (a cgroup v1 only host) the error wraps ErrNoCgroup2; a
// cgroup removed while the process is still in it (the kernel appends
// " (deleted)") is an error too.
func ParseProcCgroup(r io.Reader) (string, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return "", fmt.Errorf("cgroupfs: read cgroup membership: %w", err)
	}
	for line := range bytes.Lines(data) {
		l := strings.TrimRight(string(line), "\n")
		// hierarchy-id:controllers:path; the path may itself hold ':'.
		if p, ok := strings.CutPrefix(l, "0::"); ok {
			if d, deleted := strings.CutSuffix(p, " (deleted)"); deleted {
				return "", fmt.Errorf("cgroupfs: the process is in cgroup %s, which has been removed: "+
					"move it to a live cgroup (write its pid to that cgroup's cgroup.procs)", d)
			}
			if !strings.HasPrefix(p, "/") {
				return "", fmt.Errorf("cgroupfs: cgroup v2 line %q has no absolute path", l)
			}
			return p, nil
		}
	}
	return "", fmt.Errorf("cgroupfs: %w: the process cgroup list has no \"0::\" line (cgroup v1 only): %s",
		ErrNoCgroup2, howToGetCgroup2)
}

// SelfCgroup returns the calling process's cgroup v2 path from the "0::"
// line of /proc/self/cgroup, such as "/" or "/user.slice/x.scope"; join
// it to Mountpoint for a directory. Errors are those of ParseProcCgroup,
// or the read error of /proc/self/cgroup.
func SelfCgroup() (string, error) {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return "", fmt.Errorf("cgroupfs: find our own cgroup: %w (is /proc mounted?)", err)
	}
	defer f.Close()
	return ParseProcCgroup(f)
}

// Capabilities says what this process may do with cgroup v2 here, and
// when it may not create cgroups, why and how to get there.
type Capabilities struct {
	// Mountpoint is the cgroup2 mount (see Mountpoint).
	Mountpoint string
	// Cgroup is the process's own cgroup, relative to Mountpoint (see
	// SelfCgroup).
	Cgroup string
	// Parent is the absolute directory where this process would create
	// cgroups: the mountpoint for root, the process's own cgroup (a
	// delegated subtree) otherwise.
	Parent string
	// Controllers lists Parent's cgroup.controllers: the controllers
	// that cgroups created there can enable. Nil when unreadable.
	Controllers []string
	// Root is true when the effective uid is 0.
	Root bool
	// Delegated is true when a non-root process owns Parent, its
	// cgroup.procs and its cgroup.subtree_control, the marks of a
	// subtree delegated to it (systemd Delegate=yes).
	Delegated bool
	// CanCreate is true when cgroups may be created under Parent.
	CanCreate bool
	// Reason says why CanCreate is false and what to do about it; it
	// is empty when CanCreate is true.
	Reason string
}

// HasController reports whether name is in c.Controllers.
func (c Capabilities) HasController(name string) bool {
	return slices.Contains(c.Controllers, name)
}

// DelegateCommand runs every test binary of a module in a cgroup
// delegated to it alone: go test starts each binary through systemd-run,
// which asks the user's systemd for a scope of its own with Delegate=yes.
// Wrapping go test itself (systemd-run ... go test ./...) delegates a
// cgroup too, but the go command and every test binary it runs share it,
// and a test process can then not move out of the way to enable
// controllers for its children (see cgtest.Root).
const DelegateCommand = "go test -exec 'systemd-run --user --scope -p Delegate=yes' ./..."

// delegationHint is how an unprivileged user gets a subtree of their own.
const delegationHint = "ask for delegation: systemd-run --user --scope -p Delegate=yes <command> " +
	"(for go test: " + DelegateCommand + "), or run as root"

// Discover finds the cgroup2 mount and the process's own cgroup, reads the
// controllers available where the process would create cgroups, and says
// whether it may create them there: root may, on a read-write mount; any
// other user only in a subtree delegated to it (it owns the directory and
// its cgroup.procs and cgroup.subtree_control). When it may not,
// CanCreate is false and Reason says why and how to get delegation.
//
// The error is non-nil only when the facts cannot be found: no cgroup2
// mount (it wraps ErrNoCgroup2), or /proc unreadable. Reason then holds
// the same message.
func Discover() (Capabilities, error) {
	var c Capabilities
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		err = fmt.Errorf("cgroupfs: find the cgroup2 mount: %w (is /proc mounted?)", err)
		c.Reason = err.Error()
		return c, err
	}
	mounts, err := ParseMountInfo(f)
	f.Close()
	if err == nil {
		var m Mount
		if m, err = pickMount(mounts); err == nil {
			c.Mountpoint = m.Point
			if m.ReadOnly {
				c.Reason = fmt.Sprintf("cgroup2 is mounted read-only at %s (inside a container?): "+
					"run where cgroupfs is writable (for docker: --cgroupns=private with a writable "+
					"/sys/fs/cgroup, or --privileged)", m.Point)
			}
		}
	}
	if err == nil {
		c.Cgroup, err = SelfCgroup()
	}
	if err != nil {
		c.Reason = err.Error()
		return c, err
	}
	c.Root = os.Geteuid() == 0
	if c.Root {
		c.Parent = c.Mountpoint
	} else {
		c.Parent = filepath.Join(c.Mountpoint, c.Cgroup)
	}
	if data, err := os.ReadFile(filepath.Join(c.Parent, "cgroup.controllers")); err == nil {
		c.Controllers = strings.Fields(string(data))
	}
	if c.Reason != "" { // read-only mount
		return c, nil
	}
	c.Delegated, c.CanCreate, c.Reason = mayCreate(c.Parent, os.Geteuid())
	return c, nil
}

// mayCreate decides whether euid may create cgroups in dir: root if the
// directory is writable, anyone else only when it owns dir, its
// cgroup.procs and its cgroup.subtree_control (what delegation hands
// over) and may write dir.
func mayCreate(dir string, euid int) (delegated, can bool, reason string) {
	if euid != 0 {
		for _, p := range []string{dir, filepath.Join(dir, "cgroup.procs"), filepath.Join(dir, "cgroup.subtree_control")} {
			var st unix.Stat_t
			if err := unix.Stat(p, &st); err != nil {
				return false, false, fmt.Sprintf("cannot check who owns %s: %v; %s", p, err, delegationHint)
			}
			if int(st.Uid) != euid {
				return false, false, fmt.Sprintf("uid %d may not create cgroups under %s: it is owned by uid %d, "+
					"so this subtree is not delegated to you; %s", euid, p, st.Uid, delegationHint)
			}
		}
		delegated = true
	}
	// Ownership is not enough: a read-only bind mount, or missing write
	// permission on the directory, still refuses mkdir.
	if err := unix.Faccessat(unix.AT_FDCWD, dir, unix.W_OK|unix.X_OK, unix.AT_EACCESS); err != nil {
		hint := delegationHint
		if errors.Is(err, unix.EROFS) {
			hint = "the cgroup filesystem is read-only here; run where it is writable"
		}
		return delegated, false, fmt.Sprintf("uid %d may not create directories in %s: %v; %s",
			euid, dir, &fs.PathError{Op: "access", Path: dir, Err: err}, hint)
	}
	return delegated, true, ""
}
