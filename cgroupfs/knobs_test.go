package cgroupfs_test

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/fakefs"
	"golang.org/x/sys/unix"
)

// knobFixture is a Manager beneath "test" on a fake with every
// controller enabled down to the children of "test", and one child "a".
func knobFixture(t *testing.T) (*fakefs.FS, *cgroupfs.Manager) {
	t.Helper()
	fsys := newFake("cpuset", "cpu", "io", "memory", "pids")
	m := cgroupfs.NewManager(fsys, "test")
	if err := fsys.Mkdir("test"); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"cgroup.subtree_control", "test/cgroup.subtree_control"} {
		for _, c := range []string{"cpuset", "cpu", "io", "memory", "pids"} {
			if err := fsys.WriteFile(file, []byte("+"+c)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := m.CreateCgroup("a"); err != nil {
		t.Fatal(err)
	}
	return fsys, m
}

// Every typed setter writes what its reader reads back, in the file the
// kernel has.
func TestKnobsRoundTrip(t *testing.T) {
	fsys, m := knobFixture(t)
	check := func(what string, err error, got, want any) {
		t.Helper()
		if err != nil || got != want {
			t.Errorf("%s = %v, %v; want %v", what, got, err, want)
		}
	}
	if err := m.SetCPUWeight("a", 200); err != nil {
		t.Fatal(err)
	}
	w, err := m.CPUWeight("a")
	check("CPUWeight", err, w, 200)

	for _, max := range []cgroupfs.CPUMax{
		{Quota: 50 * time.Millisecond, Period: 100 * time.Millisecond},
		{Quota: cgroupfs.Unlimited, Period: 20 * time.Millisecond},
	} {
		if err := m.SetCPUMax("a", max); err != nil {
			t.Fatal(err)
		}
		got, err := m.CPUMax("a")
		check("CPUMax", err, got, max)
	}
	// A zero period keeps the current one, as the kernel does.
	if err := m.SetCPUMax("a", cgroupfs.CPUMax{Quota: 5 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	got, err := m.CPUMax("a")
	check("CPUMax after a quota alone", err, got, cgroupfs.CPUMax{Quota: 5 * time.Millisecond, Period: 20 * time.Millisecond})

	if err := m.SetCPUIdle("a", true); err != nil {
		t.Fatal(err)
	}
	idle, err := m.CPUIdle("a")
	check("CPUIdle", err, idle, true)
	if err := m.SetCPUIdle("a", false); err != nil {
		t.Fatal(err)
	}

	for _, v := range []int64{64 << 20, cgroupfs.Unlimited} {
		if err := m.SetMemoryMax("a", v); err != nil {
			t.Fatal(err)
		}
		got, err := m.MemoryMax("a")
		check("MemoryMax", err, got, v)
		if err := m.SetMemoryHigh("a", v); err != nil {
			t.Fatal(err)
		}
		got, err = m.MemoryHigh("a")
		check("MemoryHigh", err, got, v)
	}
	for _, v := range []int64{7, cgroupfs.Unlimited} {
		if err := m.SetPidsMax("a", v); err != nil {
			t.Fatal(err)
		}
		got, err := m.PidsMax("a")
		check("PidsMax", err, got, v)
	}
	iow, err := m.IOWeight("a")
	check("IOWeight before any write", err, iow, 100)

	if err := m.SetCpuset("a", cgroupfs.NewCPUSet(1, 2)); err != nil {
		t.Fatal(err)
	}
	eff, err := m.EffectiveCpuset("a")
	check("EffectiveCpuset", err, eff.String(), "1-2")

	ev, err := m.Events("a")
	check("Events of an empty cgroup", err, ev, cgroupfs.Events{})
	pid, err := fsys.Spawn("test/a")
	if err != nil {
		t.Fatal(err)
	}
	ev, err = m.Events(".")
	check("Events of the parent with a task below", err, ev, cgroupfs.Events{Populated: true})
	st, err := m.CPUStat("a")
	check("CPUStat of a fake (nothing runs)", err, st, cgroupfs.CPUStat{})
	_ = fsys.Kill(pid)
}

// The kernel's (here the fake's) validation and errno are kept: the
// setters do not judge the values themselves.
func TestKnobsKeepTheKernelsErrno(t *testing.T) {
	_, m := knobFixture(t)
	for _, tc := range []struct {
		desc string
		err  error
		want error
	}{
		{"cpu.weight 0", m.SetCPUWeight("a", 0), unix.ERANGE},
		{"cpu.weight 10001", m.SetCPUWeight("a", 10001), unix.ERANGE},
		{"cpu.weight garbage", m.WriteFile("a", "cpu.weight", []byte("heavy")), unix.EINVAL},
		{"pids.max -5", m.SetPidsMax("a", -5), unix.EINVAL},
		{"cpu.weight of a missing cgroup", m.SetCPUWeight("missing", 100), fs.ErrNotExist},
		{"cpu.weight of the hierarchy root", cgroupfs.NewManager(m.FS(), ".").SetCPUWeight(".", 100), fs.ErrNotExist},
		{"an unknown file", m.WriteFile("a", "cpu.bogus", []byte("1")), fs.ErrNotExist},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want an error wrapping %v", tc.desc, tc.err, tc.want)
		}
	}
	// What cannot be said in the file is refused before any I/O.
	for _, tc := range []struct {
		desc string
		err  error
	}{
		{"empty write", m.WriteFile("a", "cpu.weight", nil)},
		{"file with a slash", m.WriteFile("a", "b/cpu.weight", []byte("1"))},
		{"file ..", m.WriteFile("a", "..", []byte("1"))},
		{"name ..", m.WriteFile("..", "cpu.weight", []byte("1"))},
		{"sub-microsecond quota", m.SetCPUMax("a", cgroupfs.CPUMax{Quota: 1500 * time.Nanosecond})},
	} {
		if !errors.Is(tc.err, fs.ErrInvalid) {
			t.Errorf("%s: %v, want an error wrapping fs.ErrInvalid", tc.desc, tc.err)
		}
	}
}

// The generic read and write reach any interface file of the parent
// cgroup itself: the per-test root under cgtest.Root.
func TestReadWriteFileOfTheParent(t *testing.T) {
	_, m := knobFixture(t)
	if err := m.SetCPUWeight(".", 300); err != nil {
		t.Fatal(err)
	}
	data, err := m.ReadFile(".", "cpu.weight")
	if err != nil || string(data) != "300\n" {
		t.Errorf("ReadFile(\".\", \"cpu.weight\") = %q, %v; want \"300\\n\"", data, err)
	}
	data, err = m.ReadFile(".", "cgroup.subtree_control")
	if err != nil || !strings.Contains(string(data), "cpu") {
		t.Errorf("ReadFile(\".\", \"cgroup.subtree_control\") = %q, %v; want it to list cpu", data, err)
	}
}

// garbledFS answers every read with content.
type garbledFS struct {
	cgroupfs.FS
	content string
}

func (g garbledFS) ReadFile(string) ([]byte, error) { return []byte(g.content), nil }

// A file that does not read as its format is an error quoting it.
func TestKnobReadersRefuseGarbage(t *testing.T) {
	m := cgroupfs.NewManager(garbledFS{newFake(), "garbage\n"}, ".")
	for _, tc := range []struct {
		desc string
		read func() error
	}{
		{"CPUWeight", func() error { _, err := m.CPUWeight("a"); return err }},
		{"CPUMax", func() error { _, err := m.CPUMax("a"); return err }},
		{"MemoryMax", func() error { _, err := m.MemoryMax("a"); return err }},
		{"IOWeight", func() error { _, err := m.IOWeight("a"); return err }},
		{"EffectiveCpuset", func() error { _, err := m.EffectiveCpuset("a"); return err }},
		{"CPUStat", func() error { _, err := m.CPUStat("a"); return err }},
		{"Events", func() error { _, err := m.Events("a"); return err }},
	} {
		if err := tc.read(); err == nil || !strings.Contains(err.Error(), `"garbage`) {
			t.Errorf("%s of garbage: %v, want an error quoting it", tc.desc, err)
		}
	}
}
