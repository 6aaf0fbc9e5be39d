package cgroupfs_test

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/fakefs"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// knobControllers are the controllers of the knobs.
var knobControllers = []string{"cpuset", "cpu", "io", "memory", "pids"}

// knobFixture is a Manager beneath "test" on a fake with every
// controller enabled down to the children of "test", and one child "a".
func knobFixture(t *testing.T) (*fakefs.FS, *cgroupfs.Manager) {
	t.Helper()
	fsys := newFake(knobControllers...)
	m := cgroupfs.NewManager(fsys, "test")
	assert.NilError(t, fsys.Mkdir("test"))
	for _, file := range []string{"cgroup.subtree_control", "test/cgroup.subtree_control"} {
		for _, c := range knobControllers {
			assert.NilError(t, fsys.WriteFile(file, []byte("+"+c)))
		}
	}
	assert.NilError(t, m.CreateCgroup("a"))
	return fsys, m
}

// testKnobs is what fakefs and the kernel must both do with the knobs of
// the fresh cgroup "a" beneath m, which every controller is enabled for:
// each typed setter writes what its reader reads back, and what the kernel
// refuses comes back with its errno, unchanged by the Manager (the
// setters do not judge the values themselves).
func testKnobs(t *testing.T, m *cgroupfs.Manager) {
	t.Helper()
	assert.NilError(t, m.SetCPUWeight("a", 250))
	w, err := m.CPUWeight("a")
	checkRead(t, "CPUWeight", w, err, 250)

	for _, tc := range []struct{ set, want cgroupfs.CPUMax }{
		{cgroupfs.CPUMax{Quota: 50 * time.Millisecond, Period: 100 * time.Millisecond}, cgroupfs.CPUMax{Quota: 50 * time.Millisecond, Period: 100 * time.Millisecond}},
		// A zero period keeps the current one, as the kernel does.
		{cgroupfs.CPUMax{Quota: cgroupfs.Unlimited}, cgroupfs.CPUMax{Quota: cgroupfs.Unlimited, Period: 100 * time.Millisecond}},
		{cgroupfs.CPUMax{Quota: cgroupfs.Unlimited, Period: 20 * time.Millisecond}, cgroupfs.CPUMax{Quota: cgroupfs.Unlimited, Period: 20 * time.Millisecond}},
		{cgroupfs.CPUMax{Quota: 5 * time.Millisecond}, cgroupfs.CPUMax{Quota: 5 * time.Millisecond, Period: 20 * time.Millisecond}},
	} {
		assert.NilError(t, m.SetCPUMax("a", tc.set))
		got, err := m.CPUMax("a")
		checkRead(t, fmt.Sprintf("CPUMax after SetCPUMax(%+v)", tc.set), got, err, tc.want)
	}

	assert.NilError(t, m.SetCPUIdle("a", true))
	idle, err := m.CPUIdle("a")
	checkRead(t, "CPUIdle", idle, err, true)
	assert.NilError(t, m.SetCPUIdle("a", false))

	for _, v := range []int64{64 << 20, cgroupfs.Unlimited} {
		assert.NilError(t, m.SetMemoryMax("a", v))
		got, err := m.MemoryMax("a")
		checkRead(t, "MemoryMax", got, err, v)
		assert.NilError(t, m.SetMemoryHigh("a", v))
		got, err = m.MemoryHigh("a")
		checkRead(t, "MemoryHigh", got, err, v)
	}
	for _, v := range []int64{10, cgroupfs.Unlimited} {
		assert.NilError(t, m.SetPidsMax("a", v))
		got, err := m.PidsMax("a")
		checkRead(t, "PidsMax", got, err, v)
	}
	if _, err := m.ReadFile("a", "io.weight"); err == nil {
		iow, err := m.IOWeight("a")
		checkRead(t, "IOWeight before any write", iow, err, 100)
		assert.NilError(t, m.SetIOWeight("a", 300))
		iow, err = m.IOWeight("a")
		checkRead(t, "IOWeight", iow, err, 300)
		assert.Check(t, is.ErrorIs(m.SetIOWeight("a", 0), unix.EINVAL), "io.weight 0")
	} else {
		t.Logf("this kernel has no io.weight (no io scheduler with weights): %v", err)
	}

	parent, err := m.EffectiveCpuset(".")
	assert.NilError(t, err)
	eff, err := m.EffectiveCpuset("a")
	checkRead(t, "EffectiveCpuset(a), the parent's", eff.String(), err, parent.String())

	for _, tc := range []struct {
		desc string
		err  error
		want error
	}{
		{"cpu.weight 0", m.SetCPUWeight("a", 0), unix.ERANGE},
		{"cpu.weight 10001", m.SetCPUWeight("a", 10001), unix.ERANGE},
		{"cpu.max quota under 1 ms", m.SetCPUMax("a", cgroupfs.CPUMax{Quota: 500 * time.Microsecond, Period: 100 * time.Millisecond}), unix.EINVAL},
		{"cpu.max period over 1 s", m.SetCPUMax("a", cgroupfs.CPUMax{Quota: 10 * time.Millisecond, Period: 2 * time.Second}), unix.EINVAL},
		{"pids.max -5", m.SetPidsMax("a", -5), unix.EINVAL},
		{"a name leaving the parent", m.WriteFile("..", "cpu.weight", []byte("1")), cgroupfs.ErrInvalidName},
	} {
		assert.Check(t, is.ErrorIs(tc.err, tc.want), tc.desc)
	}
}

// checkRead checks that a knob's reader gave want without error.
func checkRead[T comparable](t *testing.T, what string, got T, err error, want T) {
	t.Helper()
	assert.Check(t, err, what)
	assert.Check(t, is.Equal(got, want), what)
}

// On the fake, beyond testKnobs: cpuset, Events and CPUStat, which need
// the fake's CPUs and fake tasks.
func TestKnobsRoundTrip(t *testing.T) {
	fsys, m := knobFixture(t)
	testKnobs(t, m)

	assert.NilError(t, m.SetCpuset("a", cgroupfs.NewCPUSet(1, 2)))
	eff, err := m.EffectiveCpuset("a")
	checkRead(t, "EffectiveCpuset", eff.String(), err, "1-2")

	ev, err := m.Events("a")
	checkRead(t, "Events of an empty cgroup", ev, err, cgroupfs.Events{})
	pid, err := fsys.Spawn("test/a")
	assert.NilError(t, err)
	ev, err = m.Events(".")
	checkRead(t, "Events of the parent with a task below", ev, err, cgroupfs.Events{Populated: true})
	st, err := m.CPUStat("a")
	checkRead(t, "CPUStat of a fake (nothing runs)", st, err, cgroupfs.CPUStat{})
	_ = fsys.Kill(pid)
}

// The fake's own refusals, beyond testKnobs's: values it cannot parse,
// files and cgroups that are not there, and what cannot be said in the
// file, refused before any I/O.
func TestKnobsKeepTheKernelsErrno(t *testing.T) {
	_, m := knobFixture(t)
	for _, tc := range []struct {
		desc string
		err  error
		want error
	}{
		{"cpu.weight garbage", m.WriteFile("a", "cpu.weight", []byte("heavy")), unix.EINVAL},
		{"cpu.weight of a missing cgroup", m.SetCPUWeight("missing", 100), fs.ErrNotExist},
		{"cpu.weight of the hierarchy root", cgroupfs.NewManager(m.FS(), ".").SetCPUWeight(".", 100), fs.ErrNotExist},
		{"an unknown file", m.WriteFile("a", "cpu.bogus", []byte("1")), fs.ErrNotExist},
	} {
		assert.Check(t, is.ErrorIs(tc.err, tc.want), tc.desc)
	}
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
		assert.Check(t, is.ErrorIs(tc.err, fs.ErrInvalid), tc.desc)
	}
}

// The generic read and write reach any interface file of the parent
// cgroup itself: the per-test root under cgtest.Root.
func TestReadWriteFileOfTheParent(t *testing.T) {
	_, m := knobFixture(t)
	assert.NilError(t, m.SetCPUWeight(".", 300))
	data, err := m.ReadFile(".", "cpu.weight")
	assert.Check(t, err)
	assert.Check(t, is.Equal(string(data), "300\n"), `ReadFile(".", "cpu.weight")`)
	data, err = m.ReadFile(".", "cgroup.subtree_control")
	assert.Check(t, err)
	assert.Check(t, is.Contains(string(data), "cpu"), `ReadFile(".", "cgroup.subtree_control")`)
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
