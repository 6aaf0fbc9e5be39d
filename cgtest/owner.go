package cgtest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// rootPrefix starts the name of every per-test root cgroup that Root
// creates: "cgguard-<pid>-<starttime>-ns<pidns>.<timens>-<test>-<n>" (see
// RootName). A sweep looks for it.
const rootPrefix = "cgguard-"

// Owner identifies the process that created a per-test root: its pid
// and its start time (in clock ticks since boot, field 22 of
// /proc/<pid>/stat), which together stay unique even when the pid is
// reused, and the namespaces both were read in.
//
// A pid means something only in its pid namespace, and the kernel shifts
// the start times in /proc/<pid>/stat by the reader's time namespace
// (its boottime offset), so a process in another pid or time namespace
// cannot check them: see Alive.
type Owner struct {
	PID       int
	StartTime uint64
	// PidNS and TimeNS are the inode numbers of the owner's pid and time
	// namespaces (/proc/self/ns/pid, /proc/self/ns/time; TimeNS is 0 on
	// a kernel without time namespaces). Both 0: not recorded, as in
	// names made before they were (see Alive).
	PidNS, TimeNS uint64
}

// RootName returns the name of a per-test root cgroup owned by o for
// the test named test (sanitized, so that a subtest's "/" cannot nest
// it) and sequence number n (unique within the process):
// "cgguard-<pid>-<starttime>-ns<pidns>.<timens>-<test>-<n>", or without
// the ns field when o records no namespace.
func RootName(o Owner, test string, n int) string {
	if o.PidNS == 0 && o.TimeNS == 0 {
		return fmt.Sprintf("%s%d-%d-%s-%d", rootPrefix, o.PID, o.StartTime, sanitize(test), n)
	}
	return fmt.Sprintf("%s%d-%d-ns%d.%d-%s-%d", rootPrefix, o.PID, o.StartTime, o.PidNS, o.TimeNS, sanitize(test), n)
}

// maxTestNameLen keeps root names well below NAME_MAX (255 bytes) once
// the prefix, pid, start time and sequence number are added.
const maxTestNameLen = 160

// sanitize maps a test name to a safe cgroup name component: letters,
// digits, '_' and '.' stay, everything else (the '/' of subtests, spaces)
// becomes '_', and it is truncated.
func sanitize(test string) string {
	b := []byte(test)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '.':
		default:
			b[i] = '_'
		}
	}
	if len(b) > maxTestNameLen {
		b = b[:maxTestNameLen]
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}

// parseRootName returns the owner encoded in the name of a per-test root
// cgroup (only the last path component is looked at), and false when
// name is not one.
func parseRootName(name string) (Owner, bool) {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	rest, ok := strings.CutPrefix(name, rootPrefix)
	if !ok {
		return Owner{}, false
	}
	fields := strings.SplitN(rest, "-", 3)
	if len(fields) != 3 {
		return Owner{}, false
	}
	pid, err := strconv.Atoi(fields[0])
	if err != nil || pid <= 0 {
		return Owner{}, false
	}
	start, err := strconv.ParseUint(fields[1], 10, 64)
	if err != nil {
		return Owner{}, false
	}
	o := Owner{PID: pid, StartTime: start}
	// The test name never holds '-' (sanitize): a third field starting
	// with "ns" before two more is the namespace field.
	if ns, rest, ok := strings.Cut(fields[2], "-"); ok && strings.HasPrefix(ns, "ns") && strings.Contains(rest, "-") {
		p, t, ok := strings.Cut(ns[2:], ".")
		pidNS, err1 := strconv.ParseUint(p, 10, 64)
		timeNS, err2 := strconv.ParseUint(t, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return Owner{}, false
		}
		o.PidNS, o.TimeNS = pidNS, timeNS
	}
	return o, true
}

// Self returns the Owner of the calling process, with its namespaces.
func Self() (Owner, error) {
	pid := os.Getpid()
	start, err := processStartTime(pid)
	if err != nil {
		return Owner{}, err
	}
	pidNS, timeNS, err := selfNamespaces()
	if err != nil {
		return Owner{}, err
	}
	return Owner{PID: pid, StartTime: start, PidNS: pidNS, TimeNS: timeNS}, nil
}

// ErrOtherNamespace is wrapped by the error of Owner.Alive for an owner
// recorded in another pid or time namespace than the caller's: whether
// it runs cannot be told from here.
var ErrOtherNamespace = errors.New("the owner was recorded in another pid or time namespace")

// selfNamespaces returns the inode numbers of the caller's pid and time
// namespaces; a kernel without time namespaces gives 0 for that one.
func selfNamespaces() (pidNS, timeNS uint64, err error) {
	pidNS, err = nsInode("/proc/self/ns/pid")
	if err != nil {
		return 0, 0, err
	}
	timeNS, err = nsInode("/proc/self/ns/time")
	if errors.Is(err, fs.ErrNotExist) {
		return pidNS, 0, nil
	}
	return pidNS, timeNS, err
}

func nsInode(link string) (uint64, error) {
	fi, err := os.Stat(link)
	if err != nil {
		return 0, fmt.Errorf("cgtest: identify the namespace %s: %w", link, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, fmt.Errorf("cgtest: identify the namespace %s: no inode number", link)
	}
	return st.Ino, nil
}

// Alive reports whether the owner still runs: a process with its pid
// exists and started at the same time (a reused pid has another start
// time). It returns an error when this cannot be known for certain; a
// caller reclaiming leaks must then leave the cgroup alone:
//
//   - /proc is unreadable;
//   - the owner was recorded in another pid namespace than the caller's
//     (its pid means another process here, or none): the error wraps
//     ErrOtherNamespace;
//   - the owner was recorded in another time namespace and a process
//     with its pid runs (the kernel shifts start times by the reader's
//     time namespace, so they cannot be compared): ErrOtherNamespace.
//     When no process has the pid in the same pid namespace, the owner
//     is gone for sure.
//
// An Owner without namespaces (names made before they were recorded) is
// judged by pid and start time alone.
func (o Owner) Alive() (bool, error) {
	recorded := o.PidNS != 0 || o.TimeNS != 0
	var pidNS, timeNS uint64
	if recorded {
		var err error
		if pidNS, timeNS, err = selfNamespaces(); err != nil {
			return false, err
		}
		if pidNS != o.PidNS {
			return false, fmt.Errorf("%w: pid %d is of pid namespace pid:[%d], and this process is in pid:[%d]", ErrOtherNamespace, o.PID, o.PidNS, pidNS)
		}
	}
	start, err := processStartTime(o.PID)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if recorded && timeNS != o.TimeNS {
		return false, fmt.Errorf("%w: start time %d was read in time namespace time:[%d], and this process, in time:[%d], reads %d for pid %d: the two cannot be compared",
			ErrOtherNamespace, o.StartTime, o.TimeNS, timeNS, start, o.PID)
	}
	return start == o.StartTime, nil
}

// processStartTime returns the start time of process pid, in clock ticks
// since boot: field 22 of /proc/<pid>/stat. With the pid it names a
// process for good, as pids are reused but (pid, start time) pairs are
// not; Root and Sweep use it to tell a live owner of a cgroup
// from a dead one. A process that does not exist fails with an error
// satisfying errors.Is(err, fs.ErrNotExist).
func processStartTime(pid int) (uint64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("start time of pid %d: %w", pid, err)
	}
	t, err := parseStatStartTime(string(data))
	if err != nil {
		return 0, fmt.Errorf("start time of pid %d: %w", pid, err)
	}
	return t, nil
}

// parseStatStartTime extracts field 22 (starttime) from the contents of
// /proc/<pid>/stat. The command name (field 2) is in parentheses and may
// hold anything, spaces and ')' included, so fields are counted after the
// last ')'.
func parseStatStartTime(stat string) (uint64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc stat (no \")\" after the command name): %q", stat)
	}
	// After ')' come fields 3 (state), 4, ...: field 22 is index 19.
	rest := strings.Fields(stat[i+1:])
	const idx = 22 - 3
	if len(rest) <= idx {
		return 0, fmt.Errorf("malformed /proc stat (only %d fields after the command name, want at least %d): %q", len(rest), idx+1, stat)
	}
	t, err := strconv.ParseUint(rest[idx], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("malformed /proc stat start time %q: %w", rest[idx], err)
	}
	return t, nil
}
