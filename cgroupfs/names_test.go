package cgroupfs

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

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
}

// nameMethods calls every Manager method that takes a cgroup name.
var nameMethods = map[string]func(m *Manager, name string) error{
	"Path":                func(m *Manager, n string) error { _, err := m.Path(n); return err },
	"Exists":              func(m *Manager, n string) error { _, err := m.Exists(n); return err },
	"Procs":               func(m *Manager, n string) error { _, err := m.Procs(n); return err },
	"Children":            func(m *Manager, n string) error { _, err := m.Children(n); return err },
	"CreateCgroup":        (*Manager).CreateCgroup,
	"RemoveCgroup":        (*Manager).RemoveCgroup,
	"SetCpuset":           func(m *Manager, n string) error { return m.SetCpuset(n, NewCPUSet(0)) },
	"ClearCpuset":         (*Manager).ClearCpuset,
	"SetCpusetMems":       func(m *Manager, n string) error { return m.SetCpusetMems(n, NewCPUSet(0)) },
	"ClearCpusetMems":     (*Manager).ClearCpusetMems,
	"MoveTask":            func(m *Manager, n string) error { return m.MoveTask(n, fakePid(1)) },
	"MoveTasks":           func(m *Manager, n string) error { return m.MoveTasks(n, []int{fakePid(1)}) },
	"ClearSubtreeControl": (*Manager).ClearSubtreeControl,
	"DrainTasks":          (*Manager).DrainTasks,
	"KillTasks":           (*Manager).KillTasks,
	"WaitEmpty":           func(m *Manager, n string) error { return m.WaitEmpty(context.Background(), n) },
}

func TestBadNamesAreRefusedBeforeAnyIO(t *testing.T) {
	mem := newMemFS("cpuset")
	m := NewManager(mem, "p")
	mem.ops()
	for _, bad := range badNames {
		for method, call := range nameMethods {
			err := call(m, bad.name)
			if err == nil {
				t.Errorf("%s(%q) gave no error", method, bad.name)
				continue
			}
			if !errors.Is(err, ErrInvalidName) || !errors.Is(err, fs.ErrInvalid) {
				t.Errorf("%s(%q) error %q does not wrap ErrInvalidName and fs.ErrInvalid", method, bad.name, err)
			}
			if !strings.Contains(err.Error(), bad.rule) {
				t.Errorf("%s(%q) error %q does not name the rule (%q)", method, bad.name, err, bad.rule)
			}
		}
	}
	if ops := mem.ops(); len(ops) != 0 {
		t.Errorf("bad names reached the FS: %q", ops)
	}
}

func TestOddButValidNames(t *testing.T) {
	// The kernel allows these; so does the Manager.
	for _, name := range []string{
		"a b", "-x", "...", "a..b", ".hidden", "ünïcödé", "tab\there", "a/b/c/d/e/f",
		strings.Repeat("n", 255),
	} {
		if err := brokenNameRule(name); err != "" {
			t.Errorf("brokenNameRule(%q) = %q, want none", name, err)
		}
	}
	mem := newMemFS()
	m := NewManager(mem, ".")
	for _, name := range []string{"a b", "...", ".hidden", "a/b/c/d/e/f"} {
		if err := m.CreateCgroup(name); err != nil {
			t.Errorf("CreateCgroup(%q): %v", name, err)
		}
	}
}

func TestBadParentOrDrainToFailsEveryMethod(t *testing.T) {
	mem := newMemFS()
	for _, m := range []*Manager{
		NewManager(mem, "../up"),
		NewManager(mem, "/abs"),
		NewManager(mem, ""),
		NewManager(mem, "ok", DrainTo("a//b")),
		NewManager(mem, "ok", DrainTo("/")),
	} {
		calls := map[string]error{
			"Setup":      m.Setup(true),
			"CleanupAll": m.CleanupAll(),
		}
		for method, call := range nameMethods {
			calls[method] = call(m, "fine")
		}
		for method, err := range calls {
			if !errors.Is(err, ErrInvalidName) {
				t.Errorf("%s with parent %q, DrainTo %q: error %v, want ErrInvalidName", method, m.parent, m.drainTo, err)
			}
		}
	}
	if ops := mem.ops(); len(ops) != 0 {
		t.Errorf("a bad parent or DrainTo reached the FS: %q", ops)
	}
}

func TestBadNamesLeaveAPlainDirectoryUntouched(t *testing.T) {
	m, dir := plainManager(t, "p")
	if err := m.CreateCgroup("a"); err != nil {
		t.Fatal(err)
	}
	before := tree(t, dir)
	for _, bad := range badNames {
		for method, call := range nameMethods {
			if err := call(m, bad.name); !errors.Is(err, ErrInvalidName) {
				t.Errorf("%s(%q) = %v, want ErrInvalidName", method, bad.name, err)
			}
		}
	}
	if diff := cmp.Diff(before, tree(t, dir)); diff != "" {
		t.Errorf("bad names changed the directory (-before +after):\n%s", diff)
	}
}

func TestLevels(t *testing.T) {
	for in, want := range map[string][]string{
		".":     nil,
		"a":     {"a"},
		"a/b/c": {"a", "a/b", "a/b/c"},
	} {
		if diff := cmp.Diff(want, levels(in)); diff != "" {
			t.Errorf("levels(%q) (-want +got):\n%s", in, diff)
		}
	}
	for _, tc := range []struct {
		p, dir string
		want   bool
	}{
		{"a", ".", true}, {"a/b", "a", true}, {"a", "a", true}, {"ab", "a", false}, {"a", "a/b", false},
	} {
		if got := isBeneath(tc.p, tc.dir); got != tc.want {
			t.Errorf("isBeneath(%q, %q) = %v", tc.p, tc.dir, got)
		}
	}
}
