package cgtest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/cgguard/cgguard/cgroupfs"
)

// RootPrefix starts the name of every per-test root cgroup that Root
// creates: "cgguard-<pid>-<starttime>-<test>-<n>". A sweep looks for it.
const RootPrefix = "cgguard-"

// Owner identifies the process that created a per-test root: its pid
// and its start time (in clock ticks since boot, field 22 of
// /proc/<pid>/stat), which together stay unique even when the pid is
// reused.
type Owner struct {
	PID       int
	StartTime uint64
}

// RootName returns the name of a per-test root cgroup owned by o for
// the test named test (sanitized, so that a subtest's "/" cannot nest
// it) and sequence number n (unique within the process).
func RootName(o Owner, test string, n int) string {
	return fmt.Sprintf("%s%d-%d-%s-%d", RootPrefix, o.PID, o.StartTime, sanitize(test), n)
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

// ParseRootName returns the owner encoded in the name of a per-test root
// cgroup (only the last path component is looked at), and false when
// name is not one.
func ParseRootName(name string) (Owner, bool) {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	rest, ok := strings.CutPrefix(name, RootPrefix)
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
	return Owner{PID: pid, StartTime: start}, true
}

// Self returns the Owner of the calling process.
func Self() (Owner, error) {
	pid := os.Getpid()
	start, err := cgroupfs.ProcessStartTime(pid)
	if err != nil {
		return Owner{}, err
	}
	return Owner{PID: pid, StartTime: start}, nil
}

// Alive reports whether the owner still runs: a process with its pid
// exists and started at the same time (a reused pid has another start
// time). It returns an error only when this cannot be known (/proc
// unreadable); a caller reclaiming leaks must then leave the cgroup
// alone.
func (o Owner) Alive() (bool, error) {
	start, err := cgroupfs.ProcessStartTime(o.PID)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return start == o.StartTime, nil
}
