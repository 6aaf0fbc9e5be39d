package cgroupfs

import (
	"fmt"
	"io/fs"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// Every (operation, errno) pair is in the table once: a second entry
// would never be reached.
func TestHintsSaidOnce(t *testing.T) {
	type key struct {
		op    string
		errno syscall.Errno
	}
	seen := map[key]bool{}
	for _, h := range hints {
		k := key{h.op, h.errno}
		assert.Check(t, !seen[k], "two hints for %q and %v", h.op, h.errno)
		seen[k] = true
	}
}

// The advice is found through wrapping, an operation's own entry comes
// before the one for every operation, and an operation without its own
// falls back to it.
func TestHintLookup(t *testing.T) {
	wrapped := func(errno syscall.Errno) error {
		return fmt.Errorf("start: %w", &fs.PathError{Op: "open", Path: "a", Err: errno})
	}
	for _, tc := range []struct {
		op   string
		err  error
		want string // a part of the advice; "" for none
	}{
		{opSpawn, wrapped(unix.EBUSY), "start in a leaf cgroup"},
		{opSpawn, wrapped(unix.ENOENT), "removed, or never made"},
		{opSpawn, wrapped(unix.EBADF), "not on a cgroup2 filesystem"},
		{opSpawn, wrapped(unix.EINVAL), "Linux 5.7"},
		{opSpawn, wrapped(unix.EOPNOTSUPP), "domain invalid"},
		{opMove, wrapped(unix.EOPNOTSUPP), "domain invalid"},
		{opSpawn, wrapped(unix.EACCES), "delegated to your user"}, // no own entry: every operation's
		{opMove, wrapped(unix.EACCES), "common ancestor"},         // its own first
		{opSpawn, wrapped(unix.ENOSYS), ""},
		{opSpawn, fmt.Errorf("no errno"), ""},
	} {
		got := hintText(tc.op, tc.err)
		if tc.want == "" {
			assert.Check(t, is.Equal(got, ""), "%s after %v", tc.op, tc.err)
			assert.Check(t, is.Equal(hint(tc.op, tc.err), ""))
			continue
		}
		assert.Check(t, is.Contains(got, tc.want), "%s after %v", tc.op, tc.err)
		assert.Check(t, is.Equal(hint(tc.op, tc.err), "; "+got))
	}
}
