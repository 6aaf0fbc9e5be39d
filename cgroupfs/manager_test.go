package cgroupfs

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func wantErrContains(t *testing.T, err error, target error, subs ...string) {
	t.Helper()
	assert.Assert(t, err != nil, "got no error, want one wrapping %v and saying %q", target, subs)
	if target != nil {
		assert.Check(t, is.ErrorIs(err, target))
	}
	for _, s := range subs {
		assert.Check(t, is.ErrorContains(err, s))
	}
}

func TestParsePids(t *testing.T) {
	_, err := parsePids("x/cgroup.procs", []byte("12\nabc\n"))
	assert.Check(t, is.ErrorContains(err, `"abc"`), "parsePids of garbage")
	pids, err := parsePids("x/cgroup.procs", []byte("9\n3\n"))
	assert.Check(t, err)
	assert.Check(t, is.DeepEqual(pids, []int{9, 3}), "parsePids, in the file's order")
}

func TestParsePopulated(t *testing.T) {
	for in, want := range map[string]bool{
		"populated 0\nfrozen 0\n": false,
		"populated 1\nfrozen 0\n": true,
		"frozen 1\npopulated 1\n": true,
	} {
		got, err := parsePopulated("f", []byte(in))
		assert.Check(t, err)
		assert.Check(t, is.Equal(got, want), "parsePopulated(%q)", in)
	}
	for _, in := range []string{"", "frozen 0\n", "populated yes\n", "0-1\n"} {
		_, err := parsePopulated("f", []byte(in))
		assert.Check(t, err != nil, "parsePopulated(%q) gave no error", in)
	}
}

// The plain-directory tests stand a temporary directory in for cgroupfs,
// as ktstr's tmpdir tests do: the Manager's paths and writes, nothing of
// the kernel's rules.

func plainManager(t *testing.T, parent string, opts ...ManagerOption) (*Manager, string) {
	t.Helper()
	dir := t.TempDir()
	fsys, err := Open(dir, PlainDirectory())
	assert.NilError(t, err)
	t.Cleanup(func() { fsys.Close() })
	return NewManager(fsys, parent, opts...), dir
}

// tree lists every path beneath dir with its kind and contents.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.IsDir():
			out = append(out, rel+"/")
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out = append(out, rel+" -> "+target)
		default:
			data, _ := os.ReadFile(p)
			out = append(out, rel+" = "+string(data))
		}
		return nil
	})
	assert.NilError(t, err)
	return out
}

func TestManagerOnAPlainDirectory(t *testing.T) {
	m, dir := plainManager(t, "ktstr")
	assert.Check(t, is.Equal(m.ParentPath(), filepath.Join(dir, "ktstr")))
	assert.NilError(t, m.Setup(true), "Setup on a plain directory")
	for range 2 { // idempotent
		for _, n := range []string{"a/b/c", "a/d", "x"} {
			assert.NilError(t, m.CreateCgroup(n), "CreateCgroup(%q)", n)
		}
	}
	assert.NilError(t, m.SetCpuset("x", NewCPUSet(0, 1)))
	data, _ := os.ReadFile(filepath.Join(dir, "ktstr/x/cpuset.cpus"))
	assert.Check(t, is.Equal(string(data), "0-1"), "cpuset.cpus")
	assert.NilError(t, m.ClearCpuset("x"))
	data, _ = os.ReadFile(filepath.Join(dir, "ktstr/x/cpuset.cpus"))
	assert.Check(t, is.Equal(string(data), "\n"), "cleared cpuset.cpus")
	assert.NilError(t, m.SetCpusetMems("x", NewCPUSet(0)))
	want := []string{
		"./", "ktstr/", "ktstr/a/", "ktstr/a/b/", "ktstr/a/b/c/", "ktstr/a/d/",
		"ktstr/x/", "ktstr/x/cpuset.cpus = \n", "ktstr/x/cpuset.mems = 0",
	}
	assert.Check(t, is.DeepEqual(tree(t, dir), want), "tree")
	kids, err := m.Children("a")
	assert.Check(t, err)
	assert.Check(t, is.DeepEqual(kids, []string{"a/b", "a/d"}), "Children(a)")
	for name, want := range map[string]bool{"a/b/c": true, "a/b/nope": false, "x/cpuset.cpus": false} {
		got, err := m.Exists(name)
		assert.Check(t, err)
		assert.Check(t, is.Equal(got, want), "Exists(%q)", name)
	}
}

func TestCleanupAllOnAPlainDirectory(t *testing.T) {
	m, dir := plainManager(t, "ktstr")
	for _, n := range []string{"a/b/c", "a/d", "x"} {
		assert.NilError(t, m.CreateCgroup(n))
	}
	assert.NilError(t, m.SetCpuset("x", NewCPUSet(0)))
	// Files in the parent, and a symlink to a directory outside: kept,
	// and nothing is followed.
	outside := t.TempDir()
	assert.NilError(t, os.Mkdir(filepath.Join(outside, "victim"), 0o755))
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "ktstr/notes"), []byte("keep"), 0o644))
	assert.NilError(t, os.Symlink(outside, filepath.Join(dir, "ktstr/link")))
	err := m.CleanupAll()
	// x holds a plain file, which rmdir cannot remove from a plain
	// directory; the rest goes, and the error says why x stays.
	wantErrContains(t, err, unix.ENOTEMPTY, "remove cgroup ktstr/x", "plain directory")
	want := []string{"./", "ktstr/", "ktstr/link -> " + outside, "ktstr/notes = keep", "ktstr/x/", "ktstr/x/cpuset.cpus = 0"}
	assert.Check(t, is.DeepEqual(tree(t, dir), want), "tree after CleanupAll")
	_, err = os.Stat(filepath.Join(outside, "victim"))
	assert.Check(t, err, "CleanupAll reached outside through the symlink")
}
