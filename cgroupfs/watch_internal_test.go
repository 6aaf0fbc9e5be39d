package cgroupfs

import (
	"encoding/binary"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"golang.org/x/sys/unix"
)

// The inotify internals of OSFS.Watch, which the external tests reach
// only through a real watch.

func TestInotifyLimitErrorsSayWhichLimit(t *testing.T) {
	for errno, want := range map[unix.Errno]string{
		unix.EMFILE: "fs.inotify.max_user_instances",
		unix.ENOSPC: "fs.inotify.max_user_watches",
	} {
		err := inotifyError(errno)
		assert.Check(t, is.ErrorIs(err, errno), "inotifyError(%v)", errno)
		assert.Check(t, is.ErrorContains(err, want), "inotifyError(%v)", errno)
	}
	assert.Check(t, is.Equal(inotifyError(unix.ENOENT), error(unix.ENOENT)), "inotifyError(ENOENT), unchanged")
}

func TestParseInotify(t *testing.T) {
	event := func(wd int32, mask uint32, name string) []byte {
		b := make([]byte, inotifyEventSize)
		padded := 0
		if name != "" {
			padded = (len(name) + 1 + 15) / 16 * 16
		}
		binary.NativeEndian.PutUint32(b[0:], uint32(wd))
		binary.NativeEndian.PutUint32(b[4:], mask)
		binary.NativeEndian.PutUint32(b[12:], uint32(padded))
		nb := make([]byte, padded)
		copy(nb, name)
		return append(b, nb...)
	}
	const file, dir = 1, 2
	tests := []struct {
		desc          string
		buf           []byte
		modified, end bool
	}{
		{"modify", event(file, unix.IN_MODIFY, ""), true, false},
		{"other cgroup removed", event(dir, unix.IN_DELETE|unix.IN_ISDIR, "cg2"), false, false},
		{"prefix is not a match", event(dir, unix.IN_DELETE|unix.IN_ISDIR, "cg-longer"), false, false},
		{"our cgroup removed", event(dir, unix.IN_DELETE|unix.IN_ISDIR, "cg"), false, true},
		{"modify then removal", append(event(file, unix.IN_MODIFY, ""), event(dir, unix.IN_DELETE|unix.IN_ISDIR, "cg")...), true, true},
		{"file deleted", append(event(file, unix.IN_DELETE_SELF, ""), event(file, unix.IN_IGNORED, "")...), false, true},
		{"holder removed", event(dir, unix.IN_IGNORED, ""), false, true},
		{"overflow", event(-1, unix.IN_Q_OVERFLOW, ""), true, false},
		{"truncated", event(file, unix.IN_MODIFY, "")[:8], false, false},
	}
	for _, tc := range tests {
		m, g := parseInotify(tc.buf, file, dir, "cg")
		assert.Check(t, is.DeepEqual([]bool{m, g}, []bool{tc.modified, tc.end}), "%s: modified, gone", tc.desc)
	}
}
