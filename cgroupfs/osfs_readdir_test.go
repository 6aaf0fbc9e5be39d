package cgroupfs_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
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
	if len(got) != len(want) {
		t.Errorf("ReadDir(a) = %v, want the entries %v and no . or ..", entries, want)
	}
	assert.NilError(t, f.Rmdir("a/gone"))
	for name, mode := range want {
		e, ok := got[name]
		if !ok {
			t.Errorf("ReadDir(a) lacks %s", name)
			continue
		}
		if e.Type() != mode || e.IsDir() != mode.IsDir() {
			t.Errorf("%s: Type() = %v, IsDir() = %v; want %v", name, e.Type(), e.IsDir(), mode)
		}
		info, err := e.Info()
		if name == "gone" {
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Info of %s removed after the listing = %v, %v; want ENOENT", name, info, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Info of %s: %v", name, err)
			continue
		}
		if info.Name() != name || info.Mode().Type() != mode {
			t.Errorf("Info of %s = %s %v, want its own name and type %v", name, info.Name(), info.Mode(), mode)
		}
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
	if len(seen) != n {
		t.Errorf("ReadDir listed %d directories, want %d", len(seen), n)
	}
}

func filepathName(i int) string {
	const pad = "0123456789012345678901234567890123"
	return pad + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676%26))
}
