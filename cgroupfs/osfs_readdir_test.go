package cgroupfs_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// ReadDir takes each entry's type from the listing, without a stat: the
// type must still agree with what a stat says, Info must stat the entry
// beneath the root (not relative to the working directory), and an entry
// removed after the listing must say ENOENT from Info.
func TestReadDirTypesWithoutStat(t *testing.T) {
	f := plainFS(t)
	assert.NilError(t, f.Mkdir("a"))
	for _, d := range []string{"a/dir", "a/gone"} {
		assert.NilError(t, f.Mkdir(d))
	}
	assert.NilError(t, f.WriteFile("a/file", []byte("x")))
	assert.NilError(t, os.Symlink("/etc", filepath.Join(f.Dir(), "a", "link")))
	assert.NilError(t, unix.Mkfifo(filepath.Join(f.Dir(), "a", "fifo"), 0o600))
	// A working directory holding the same names with other types: an
	// Info relative to it would report those.
	t.Chdir(t.TempDir())
	for _, n := range []string{"a", "a/file", "a/dir", "a/link", "a/fifo"} {
		_ = os.MkdirAll(n+"x", 0o755)
	}

	entries, err := f.ReadDir("a")
	assert.NilError(t, err)
	want := map[string]fs.FileMode{"dir": fs.ModeDir, "gone": fs.ModeDir, "file": 0, "link": fs.ModeSymlink, "fifo": fs.ModeNamedPipe}
	got := map[string]fs.DirEntry{}
	for _, e := range entries {
		got[e.Name()] = e
	}
	assert.Check(t, is.Len(got, len(want)), "ReadDir(a) = %v, want the entries %v and no . or ..", entries, want)
	assert.NilError(t, f.Rmdir("a/gone"))
	for name, mode := range want {
		e, ok := got[name]
		if !assert.Check(t, ok, "ReadDir(a) lacks %s", name) {
			continue
		}
		assert.Check(t, is.Equal(e.Type(), mode), name)
		assert.Check(t, is.Equal(e.IsDir(), mode.IsDir()), name)
		info, err := e.Info()
		if name == "gone" {
			assert.Check(t, is.ErrorIs(err, fs.ErrNotExist), "Info of %s removed after the listing", name)
			continue
		}
		if !assert.Check(t, err, "Info of %s", name) {
			continue
		}
		assert.Check(t, is.Equal(info.Name(), name), "Info of %s", name)
		assert.Check(t, is.Equal(info.Mode().Type(), mode), "Info of %s", name)
	}
}

// A directory with more entries than one getdents buffer holds is
// listed whole.
func TestReadDirManyEntries(t *testing.T) {
	f := plainFS(t)
	const n = 1500 // names of 40 bytes: several 8 KiB getdents batches
	for i := range n {
		assert.NilError(t, os.Mkdir(filepath.Join(f.Dir(), filepathName(i)), 0o755))
	}
	entries, err := f.ReadDir(".")
	assert.NilError(t, err)
	seen := map[string]bool{}
	for _, e := range entries {
		if !e.IsDir() || seen[e.Name()] {
			t.Errorf("entry %v: want each directory once", e)
		}
		seen[e.Name()] = true
	}
	assert.Check(t, is.Equal(len(seen), n), "the number of directories ReadDir listed")
}

func filepathName(i int) string {
	const pad = "0123456789012345678901234567890123"
	return pad + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676%26))
}
