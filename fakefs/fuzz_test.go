package fakefs_test

import (
	"errors"
	"io/fs"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/cgguard/cgguard/fakefs"
	"github.com/google/go-cmp/cmp"
)

// fuzzScene is a tree with every default controller enabled two levels
// deep, tasks, and a frozen cgroup, so that every kind of file exists.
func fuzzScene(t *testing.T) (*fakefs.FS, []string) {
	t.Helper()
	fsys := fakefs.New()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(fsys.WriteFile("cgroup.subtree_control", []byte("+cpuset +cpu +io +memory +hugetlb +pids")))
	must(fsys.Mkdir("a"))
	must(fsys.Mkdir("a/b"))
	must(fsys.Mkdir("c"))
	must(fsys.WriteFile("a/cgroup.subtree_control", []byte("+cpuset +pids")))
	_, err := fsys.Spawn("a/b")
	must(err)
	_, err = fsys.Spawn("c")
	must(err)
	must(fsys.WriteFile("c/cgroup.freeze", []byte("1")))
	var files []string
	for _, dir := range []string{".", "a", "a/b", "c"} {
		entries, err := fsys.ReadDir(dir)
		must(err)
		for _, e := range entries {
			if !e.IsDir() {
				files = append(files, strings.TrimPrefix(dir+"/"+e.Name(), "./"))
			}
		}
	}
	slices.Sort(files)
	return fsys, files
}

// FuzzWrite writes any bytes to any file of a populated fake tree. The
// fake must never panic; a refused write must carry an errno in an
// *fs.PathError naming the file and must change nothing (the kernel
// validates a write before acting on it); an accepted write to a
// cpuset list must read back in a form that is accepted again.
func FuzzWrite(f *testing.F) {
	for _, seed := range []struct {
		file string
		data string
	}{
		{"a/b/cgroup.procs", "4194305"},
		{"a/b/cgroup.procs", " 0x400001\n"},
		{"cgroup.subtree_control", "+cpuset -memory"},
		{"a/cpuset.cpus", "0-3:1/2,N"},
		{"a/cpuset.mems", "all"},
		{"a/cgroup.kill", "1"},
		{"c/cgroup.freeze", "0"},
		{"a/cgroup.max.depth", "0x10"},
		{"a/cpu.max", "max 1000"},
		{"a/memory.max", "12345"},
		{"a/cgroup.pressure", "off"},
		{"cgroup.procs", "\x004194305"},
	} {
		f.Add(seed.file, []byte(seed.data))
	}
	f.Fuzz(func(t *testing.T, file string, data []byte) {
		fsys, files := fuzzScene(t)
		if !slices.Contains(files, file) {
			// Map any name onto an existing file, so every input
			// exercises a parser.
			file = files[int(crc(file))%len(files)]
		}
		before := fsys.Snapshot()
		err := fsys.WriteFile(file, data)
		if err != nil {
			var pe *fs.PathError
			var errno syscall.Errno
			if !errors.As(err, &pe) || pe.Path != file || !errors.As(err, &errno) || errno == 0 {
				t.Fatalf("write %q to %s: error %v is not an *fs.PathError with an errno", data, file, err)
			}
			if diff := cmp.Diff(before, fsys.Snapshot()); diff != "" {
				t.Fatalf("write %q to %s failed (%v) but changed the tree:\n%s", data, file, err, diff)
			}
			return
		}
		if len(data) == 0 {
			if diff := cmp.Diff(before, fsys.Snapshot()); diff != "" {
				t.Fatalf("a zero-length write to %s changed the tree:\n%s", file, diff)
			}
		}
		if strings.HasSuffix(file, "cpuset.cpus") || strings.HasSuffix(file, "cpuset.mems") {
			back, err := fsys.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if err := fsys.WriteFile(file, back); err != nil {
				t.Fatalf("write %q to %s (its own content after writing %q): %v", back, file, data, err)
			}
		}
	})
}

// crc is a small stable hash of a string.
func crc(s string) uint32 {
	var h uint32 = 2166136261
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}
