package cgroupfs

import (
	"os"
	"testing"
	"time"
)

// The external tests (package cgroupfs_test) drive the Manager on
// fakefs, which this package's own tests cannot import (fakefs imports
// cgroupfs). These names hand them the few internals they check
// against.

// WantErrContains is the one helper that checks an error's errno and
// words, for both test packages.
var WantErrContains = wantErrContains

// MoveRetries is how many writes MoveTasks tries on EBUSY.
var MoveRetries = defaultTimings.moveRetries

// OpenAsCgroupfs opens the plain directory dir as Open does a cgroupfs
// directory (no PlainDirectory: WriteFile never creates a file), without
// the filesystem check that would refuse it.
func OpenAsCgroupfs(dir string) (*OSFS, error) {
	root, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	return &OSFS{dir: dir, opts: options{writeTimeout: time.Second}, root: root}, nil
}

// RefuseClone3 makes StartTask take the path of a kernel that refuses
// clone3 (a start, then a move) until the test ends.
func RefuseClone3(t testing.TB) {
	old := clone3Refused
	clone3Refused = func() bool { return true }
	t.Cleanup(func() { clone3Refused = old })
}

// MaxInterfaceFile is the longest interface file name of the kernel.
const MaxInterfaceFile = maxInterfaceFile

// SubtreePids returns the pids listed in the cgroup.procs of the FS
// path p and of every cgroup beneath it.
func (m *Manager) SubtreePids(p string) (map[int]string, error) { return m.subtreePids(p) }

// EnableControllers enables each of ctrls in the cgroup.subtree_control
// of the FS path level, as Setup does, and returns what the kernel
// refused.
func (m *Manager) EnableControllers(level string, ctrls []string) []error {
	return m.enableControllers(level, ctrls)
}
