package cgroupfs

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// nameMethods calls every Manager method that takes a cgroup name. The
// pid no process can have: nothing may reach the FS anyway.
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
	"MoveTask":            func(m *Manager, n string) error { return m.MoveTask(n, noSuchPid) },
	"MoveTasks":           func(m *Manager, n string) error { return m.MoveTasks(n, []int{noSuchPid}) },
	"ClearSubtreeControl": (*Manager).ClearSubtreeControl,
	"DrainTasks":          (*Manager).DrainTasks,
	"KillTasks":           (*Manager).KillTasks,
	"WaitEmpty":           func(m *Manager, n string) error { return m.WaitEmpty(context.Background(), n) },
}

func TestOddButValidNames(t *testing.T) {
	// The kernel allows these; so does the Manager (TestOddButValidNamesAreCreated).
	for _, name := range []string{
		"a b", "-x", "...", "a..b", ".hidden", "ünïcödé", "tab\there", "a/b/c/d/e/f",
		strings.Repeat("n", 255),
	} {
		if err := brokenNameRule(name); err != "" {
			t.Errorf("brokenNameRule(%q) = %q, want none", name, err)
		}
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
