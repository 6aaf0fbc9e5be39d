package cgroupfs

import "testing"

// The external tests (package cgroupfs_test) drive the Manager on
// fakefs, which this package's own tests cannot import (fakefs imports
// cgroupfs). These names hand them the few internals they check
// against.

// WantErrContains is the one helper that checks an error's errno and
// words, for both test packages.
var WantErrContains = wantErrContains

// MoveRetries is how many writes MoveTasks tries on EBUSY.
var MoveRetries = defaultTimings.moveRetries

// StartChild starts a sleeper (a process of this test, outside any
// cgroup) and returns its pid and a function that waits for it to end
// and says how it ended; Cleanup kills and reaps it.
func StartChild(t *testing.T) (pid int, wait func(*testing.T) error) {
	c := startChild(t, nil, "", 0)
	return c.cmd.Process.Pid, c.wait
}

// KilledBySIGKILL reports whether err, from StartChild's wait, says the
// process was killed by SIGKILL.
func KilledBySIGKILL(err error) bool { return killedBySIGKILL(err) }

// NameMethods calls every Manager method that takes a cgroup name.
var NameMethods = nameMethods
