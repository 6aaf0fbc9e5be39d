package cgroupfs_test

import (
	"context"
	"io/fs"
	"strings"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// nameMethods calls every Manager method that takes a cgroup name. The
// pid no process can have: nothing may reach the FS anyway.
var nameMethods = map[string]func(m *cgroupfs.Manager, name string) error{
	"Path":                func(m *cgroupfs.Manager, n string) error { _, err := m.Path(n); return err },
	"Exists":              func(m *cgroupfs.Manager, n string) error { _, err := m.Exists(n); return err },
	"Procs":               func(m *cgroupfs.Manager, n string) error { _, err := m.Procs(n); return err },
	"Children":            func(m *cgroupfs.Manager, n string) error { _, err := m.Children(n); return err },
	"CreateCgroup":        (*cgroupfs.Manager).CreateCgroup,
	"RemoveCgroup":        (*cgroupfs.Manager).RemoveCgroup,
	"SetCpuset":           func(m *cgroupfs.Manager, n string) error { return m.SetCpuset(n, cgroupfs.NewCPUSet(0)) },
	"ClearCpuset":         (*cgroupfs.Manager).ClearCpuset,
	"SetCpusetMems":       func(m *cgroupfs.Manager, n string) error { return m.SetCpusetMems(n, cgroupfs.NewCPUSet(0)) },
	"ClearCpusetMems":     (*cgroupfs.Manager).ClearCpusetMems,
	"MoveTask":            func(m *cgroupfs.Manager, n string) error { return m.MoveTask(n, noSuchPid) },
	"MoveTasks":           func(m *cgroupfs.Manager, n string) error { return m.MoveTasks(n, []int{noSuchPid}) },
	"ClearSubtreeControl": (*cgroupfs.Manager).ClearSubtreeControl,
	"DrainTasks":          (*cgroupfs.Manager).DrainTasks,
	"KillTasks":           (*cgroupfs.Manager).KillTasks,
	"WaitEmpty":           func(m *cgroupfs.Manager, n string) error { return m.WaitEmpty(context.Background(), n) },
}

// badNames are names every Manager method refuses before any I/O, each
// with the words of the rule its error must name.
var badNames = []struct {
	name, rule string
}{
	{"", "empty"},
	{"/abs", "absolute"},
	{"/", "absolute"},
	{"/sys/fs/cgroup/x", "absolute"},
	{"..", `".." component`},
	{"../x", `".." component`},
	{"a/../../x", `".." component`},
	{"a/..", `".." component`},
	{".", `"." component`},
	{"./a", `"." component`},
	{"a/./b", `"." component`},
	{"a//b", "empty component"},
	{"a/", "ends with a slash"},
	{"a/b/", "ends with a slash"},
	{"a\x00b", "NUL"},
	{"a\nb", "newline"},
	{"a\n", "newline"},
	{strings.Repeat("n", 4095), "PATH_MAX"},
	{strings.Repeat("nested/", 600) + "x", "PATH_MAX"},
}

func TestBadNamesAreRefusedBeforeAnyIO(t *testing.T) {
	fsys := newFake("cpuset")
	m := cgroupfs.NewManager(fsys, "p")
	for _, bad := range badNames {
		for method, call := range nameMethods {
			err := call(m, bad.name)
			assert.Check(t, is.ErrorIs(err, cgroupfs.ErrInvalidName), "%s(%q)", method, bad.name)
			assert.Check(t, is.ErrorIs(err, fs.ErrInvalid), "%s(%q)", method, bad.name)
			assert.Check(t, is.ErrorContains(err, bad.rule), "%s(%q): the rule", method, bad.name)
		}
	}
	assert.Check(t, is.Len(fsys.Log(), 0), "bad names reached the FS")
}

// A cgroup whose cgroup.procs would lie beyond PATH_MAX could be made
// but never looked into, killed or swept: Path refuses it, counting the
// FS's root directory (the OS-backed FS's Dir) and the parent, at any
// depth, and the longest name it accepts is created and reachable.
func TestNamesBeyondPathMaxAreRefused(t *testing.T) {
	plain, err := cgroupfs.Open(t.TempDir(), cgroupfs.PlainDirectory())
	assert.NilError(t, err)
	defer plain.Close()
	for _, fsys := range []cgroupfs.FS{newFake(), plain} {
		m := cgroupfs.NewManager(fsys, "p")
		// PATH_MAX (4096) holds the path, "/", an interface file name of
		// up to 97 bytes (CGROUP_FILE_NAME_MAX less its NUL) and a NUL.
		room := 4096 - len(m.ParentPath()) - len("/") - len("/") - 97 - 1
		// Components of 200 bytes at most, as a plain directory has a
		// NAME_MAX of 255 (cgroupfs has none).
		deep := strings.Repeat(strings.Repeat("d", 199)+"/", room/200) + strings.Repeat("x", room%200)
		names := []string{deep}
		if fsys != cgroupfs.FS(plain) {
			names = append(names, strings.Repeat("n", room))
		}
		for _, name := range names {
			assert.Assert(t, is.Equal(len(name), room), "test bug: the length of the name")
			assert.NilError(t, m.CreateCgroup(name), "%T: CreateCgroup of a %d-byte name, the longest that fits", fsys, len(name))
			// A plain directory has no cgroup.procs: list the cgroup there.
			reach := func() error { _, err := m.Procs(name); return err }
			if fsys == cgroupfs.FS(plain) {
				reach = func() error { _, err := m.Children(name); return err }
			}
			assert.Check(t, reach(), "%T: the cgroup of a %d-byte name, the longest that fits, cannot be reached", fsys, len(name))
			_, err := m.Path(name + "x")
			assert.Check(t, is.ErrorIs(err, cgroupfs.ErrInvalidName), "%T: Path of a %d-byte name", fsys, len(name)+1)
			assert.Check(t, is.ErrorContains(err, "PATH_MAX"), "%T: Path of a %d-byte name", fsys, len(name)+1)
		}
		assert.Check(t, m.CleanupAll(), "%T: CleanupAll", fsys)
	}
}

func TestOddButValidNamesAreCreated(t *testing.T) {
	fsys := newFake()
	m := cgroupfs.NewManager(fsys, ".")
	for _, name := range []string{"a b", "...", ".hidden", "a/b/c/d/e/f"} {
		assert.Check(t, m.CreateCgroup(name), "CreateCgroup(%q)", name)
	}
}

func TestBadParentOrDrainToFailsEveryMethod(t *testing.T) {
	fsys := newFake()
	for _, tc := range []struct {
		parent, drainTo string
	}{
		{"../up", ""},
		{"/abs", ""},
		{"", ""},
		{"ok", "a//b"},
		{"ok", "/"},
	} {
		var opts []cgroupfs.ManagerOption
		if tc.drainTo != "" {
			opts = append(opts, cgroupfs.DrainTo(tc.drainTo))
		}
		m := cgroupfs.NewManager(fsys, tc.parent, opts...)
		calls := map[string]error{
			"Setup":      m.Setup(true),
			"CleanupAll": m.CleanupAll(),
		}
		for method, call := range nameMethods {
			calls[method] = call(m, "fine")
		}
		for method, err := range calls {
			assert.Check(t, is.ErrorIs(err, cgroupfs.ErrInvalidName), "%s with parent %q, DrainTo %q", method, tc.parent, tc.drainTo)
		}
	}
	assert.Check(t, is.Len(fsys.Log(), 0), "a bad parent or DrainTo reached the FS")
}

func TestBadNamesLeaveAPlainDirectoryUntouched(t *testing.T) {
	dir := t.TempDir()
	fsys, err := cgroupfs.Open(dir, cgroupfs.PlainDirectory())
	assert.NilError(t, err)
	t.Cleanup(func() { fsys.Close() })
	m := cgroupfs.NewManager(fsys, "p")
	assert.NilError(t, m.CreateCgroup("a"))
	before := snapshotTree(t, dir)
	for _, bad := range badNames {
		for method, call := range nameMethods {
			assert.Check(t, is.ErrorIs(call(m, bad.name), cgroupfs.ErrInvalidName), "%s(%q)", method, bad.name)
		}
	}
	assert.Check(t, is.DeepEqual(before, snapshotTree(t, dir)), "bad names changed the directory")
}
