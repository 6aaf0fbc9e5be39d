package cgroupfs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Unlimited stands for the kernel's "max" in a limit (memory.max,
// memory.high, pids.max, the quota of cpu.max): setters write "max" for
// it, readers return it for "max".
const Unlimited = -1

// knobPath returns the FS-relative path of the interface file file of
// the cgroup name, where name may be "." for the parent cgroup itself
// (the per-test root under cgtest.Root). file must be one plain name
// ("cpu.weight").
func (m *Manager) knobPath(name, file string) (string, error) {
	if m.err != nil {
		return "", m.err
	}
	if err := checkCgroupName("cgroup name", name, true); err != nil {
		return "", err
	}
	if rule := brokenNameRule(file); rule != "" || strings.Contains(file, "/") {
		if rule == "" {
			rule = "an interface file name has no slash"
		}
		return "", &nameError{"interface file name", file, rule}
	}
	return joinName(joinName(m.parent, name), file), nil
}

// ReadFile returns the contents of the interface file file ("cpu.stat")
// of the cgroup name, or of the parent cgroup itself when name is ".".
// The errno of the FS is kept: ENOENT (errors.Is(err, fs.ErrNotExist))
// for a missing cgroup, or a file whose controller the parent does not
// enable.
func (m *Manager) ReadFile(name, file string) ([]byte, error) {
	p, err := m.knobPath(name, file)
	if err != nil {
		return nil, err
	}
	data, err := m.fsys.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("cgroupfs: read cgroup %s's %s: %w%s", joinName(m.parent, name), file, err, knobHint(err))
	}
	return data, nil
}

// WriteFile writes data to the interface file file of the cgroup name
// (or of the parent cgroup itself when name is ".") in one write, which
// the kernel parses and validates as a whole: its errno is kept (EINVAL
// for a value it refuses, ERANGE out of range, ENOENT for a file that
// is missing, ...). Empty data is refused before any I/O, as the kernel
// would ignore it: write "\n" to clear a file.
func (m *Manager) WriteFile(name, file string, data []byte) error {
	p, err := m.knobPath(name, file)
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return fmt.Errorf("cgroupfs: write nothing to %s: %w: the kernel ignores an empty write; write \"\\n\" to clear", p, fs.ErrInvalid)
	}
	if err := m.fsys.WriteFile(p, data); err != nil {
		return fmt.Errorf("cgroupfs: set cgroup %s's %s to %q: %w%s", joinName(m.parent, name), file, data, err, knobHint(err))
	}
	return nil
}

func knobHint(err error) string {
	switch {
	case errors.Is(err, unix.EINVAL):
		return "; the kernel refused the value (see the file's format and range in the kernel's cgroup-v2 documentation)"
	case errors.Is(err, fs.ErrNotExist):
		return "; the cgroup is missing, or its parent does not enable the file's controller in cgroup.subtree_control (the root cgroup has no controller knobs)"
	}
	return accessHint(err)
}

// readValue reads file of name and returns its content trimmed of
// surrounding whitespace.
func (m *Manager) readValue(name, file string) (string, error) {
	data, err := m.ReadFile(name, file)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(data)), nil
}

// parseError says that file of name did not read as expected.
func (m *Manager) parseError(name, file, content, want string) error {
	return fmt.Errorf("cgroupfs: cgroup %s's %s reads %q, not %s; is this a cgroup2 filesystem?", joinName(m.parent, name), file, content, want)
}

// readInt reads a file holding one decimal integer.
func (m *Manager) readInt(name, file string) (int64, error) {
	s, err := m.readValue(name, file)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, m.parseError(name, file, s, "a number")
	}
	return v, nil
}

// formatLimit writes Unlimited as "max".
func formatLimit(v int64) string {
	if v == Unlimited {
		return "max"
	}
	return strconv.FormatInt(v, 10)
}

// readLimit reads a file holding a number or "max" (Unlimited).
func (m *Manager) readLimit(name, file string) (int64, error) {
	s, err := m.readValue(name, file)
	if err != nil {
		return 0, err
	}
	if s == "max" {
		return Unlimited, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, m.parseError(name, file, s, "a number or \"max\"")
	}
	return v, nil
}

// SetCPUWeight writes weight to the cgroup's cpu.weight, its share of
// CPU time against its siblings (the kernel's default is 100; it
// accepts 1 to 10000 and answers ERANGE otherwise). name may be "." for
// the parent cgroup.
func (m *Manager) SetCPUWeight(name string, weight int) error {
	return m.WriteFile(name, "cpu.weight", []byte(strconv.Itoa(weight)))
}

// CPUWeight reads the cgroup's cpu.weight. (A cgroup with cpu.idle 1
// reads 0 on Linux 6.1 and 1 on 6.12.)
func (m *Manager) CPUWeight(name string) (int, error) {
	v, err := m.readInt(name, "cpu.weight")
	return int(v), err
}

// CPUMax is the content of cpu.max: the cgroup may use Quota of CPU
// time every Period. A Quota of Unlimited is "max" (no limit). A zero
// Period in SetCPUMax keeps the current period.
type CPUMax struct {
	Quota  time.Duration
	Period time.Duration
}

// String returns the cpu.max format, "<quota µs|max> <period µs>", or
// the quota alone when Period is zero.
func (c CPUMax) String() string {
	q := "max"
	if c.Quota != Unlimited {
		q = strconv.FormatInt(c.Quota.Microseconds(), 10)
	}
	if c.Period == 0 {
		return q
	}
	return q + " " + strconv.FormatInt(c.Period.Microseconds(), 10)
}

// SetCPUMax writes max to the cgroup's cpu.max, in microseconds. The
// kernel validates it (EINVAL for a quota under 1 ms or a period
// outside 1 ms to 1 s). A quota or period that is not a whole number of
// microseconds is refused before any I/O, as the file cannot hold it.
func (m *Manager) SetCPUMax(name string, max CPUMax) error {
	for _, d := range []time.Duration{max.Quota, max.Period} {
		if d != Unlimited && d%time.Microsecond != 0 {
			return fmt.Errorf("cgroupfs: set cgroup %s's cpu.max to %v: %w: cpu.max holds whole microseconds", joinName(m.parent, name), d, fs.ErrInvalid)
		}
	}
	return m.WriteFile(name, "cpu.max", []byte(max.String()))
}

// CPUMax reads the cgroup's cpu.max.
func (m *Manager) CPUMax(name string) (CPUMax, error) {
	s, err := m.readValue(name, "cpu.max")
	if err != nil {
		return CPUMax{}, err
	}
	q, p, ok := strings.Cut(s, " ")
	period, perr := strconv.ParseInt(p, 10, 64)
	if !ok || perr != nil {
		return CPUMax{}, m.parseError(name, "cpu.max", s, "\"<quota|max> <period>\"")
	}
	c := CPUMax{Quota: Unlimited, Period: time.Duration(period) * time.Microsecond}
	if q != "max" {
		quota, err := strconv.ParseInt(q, 10, 64)
		if err != nil {
			return CPUMax{}, m.parseError(name, "cpu.max", s, "\"<quota|max> <period>\"")
		}
		c.Quota = time.Duration(quota) * time.Microsecond
	}
	return c, nil
}

// SetCPUIdle writes the cgroup's cpu.idle: 1 makes its tasks
// SCHED_IDLE-like against its siblings, 0 restores its weight.
func (m *Manager) SetCPUIdle(name string, idle bool) error {
	v := "0"
	if idle {
		v = "1"
	}
	return m.WriteFile(name, "cpu.idle", []byte(v))
}

// CPUIdle reads the cgroup's cpu.idle.
func (m *Manager) CPUIdle(name string) (bool, error) {
	v, err := m.readInt(name, "cpu.idle")
	return v != 0, err
}

// SetMemoryMax writes the cgroup's memory.max, in bytes (Unlimited for
// "max"). The kernel rounds it down to whole pages.
func (m *Manager) SetMemoryMax(name string, bytes int64) error {
	return m.WriteFile(name, "memory.max", []byte(formatLimit(bytes)))
}

// MemoryMax reads the cgroup's memory.max in bytes, Unlimited for "max".
func (m *Manager) MemoryMax(name string) (int64, error) { return m.readLimit(name, "memory.max") }

// SetMemoryHigh writes the cgroup's memory.high, in bytes (Unlimited for
// "max").
func (m *Manager) SetMemoryHigh(name string, bytes int64) error {
	return m.WriteFile(name, "memory.high", []byte(formatLimit(bytes)))
}

// MemoryHigh reads the cgroup's memory.high in bytes, Unlimited for
// "max".
func (m *Manager) MemoryHigh(name string) (int64, error) { return m.readLimit(name, "memory.high") }

// SetPidsMax writes the cgroup's pids.max (Unlimited for "max").
func (m *Manager) SetPidsMax(name string, n int64) error {
	return m.WriteFile(name, "pids.max", []byte(formatLimit(n)))
}

// PidsMax reads the cgroup's pids.max, Unlimited for "max".
func (m *Manager) PidsMax(name string) (int64, error) { return m.readLimit(name, "pids.max") }

// SetIOWeight writes the cgroup's default io.weight (the kernel accepts
// 1 to 10000, EINVAL otherwise).
func (m *Manager) SetIOWeight(name string, weight int) error {
	return m.WriteFile(name, "io.weight", []byte(strconv.Itoa(weight)))
}

// IOWeight reads the cgroup's default io.weight (its "default" line;
// per-device lines are ignored).
func (m *Manager) IOWeight(name string) (int, error) {
	s, err := m.readValue(name, "io.weight")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(s) {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "default" {
			if v, err := strconv.Atoi(f[1]); err == nil {
				return v, nil
			}
		}
	}
	return 0, m.parseError(name, "io.weight", s, "\"default <weight>\"")
}

// EffectiveCpuset reads the cgroup's cpuset.cpus.effective: the CPUs its
// tasks may run on, granted by its parent (its own cpuset.cpus, or the
// parent's effective CPUs when that is empty).
func (m *Manager) EffectiveCpuset(name string) (CPUSet, error) {
	s, err := m.readValue(name, "cpuset.cpus.effective")
	if err != nil {
		return CPUSet{}, err
	}
	set, err := ParseCPUSet(s)
	if err != nil {
		return CPUSet{}, m.parseError(name, "cpuset.cpus.effective", s, "a CPU list")
	}
	return set, nil
}

// CPUStat is the CPU time a cgroup's tasks used, from its cpu.stat
// (present in every cgroup, the cpu controller enabled or not). The
// throttling fields are those of the cpu controller, zero without it.
type CPUStat struct {
	Usage, User, System    time.Duration
	NrPeriods, NrThrottled uint64
	Throttled              time.Duration
}

// CPUStat reads the cgroup's cpu.stat.
func (m *Manager) CPUStat(name string) (CPUStat, error) {
	data, err := m.ReadFile(name, "cpu.stat")
	if err != nil {
		return CPUStat{}, err
	}
	var st CPUStat
	usage := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		key, val, _ := strings.Cut(sc.Text(), " ")
		v, err := strconv.ParseUint(val, 10, 64)
		if err != nil {
			continue
		}
		us := time.Duration(v) * time.Microsecond
		switch key {
		case "usage_usec":
			st.Usage, usage = us, true
		case "user_usec":
			st.User = us
		case "system_usec":
			st.System = us
		case "nr_periods":
			st.NrPeriods = v
		case "nr_throttled":
			st.NrThrottled = v
		case "throttled_usec":
			st.Throttled = us
		}
	}
	if !usage {
		return CPUStat{}, m.parseError(name, "cpu.stat", string(data), "a list with usage_usec")
	}
	return st, nil
}

// Events is the content of a cgroup's cgroup.events.
type Events struct {
	// Populated: the cgroup or a descendant holds a live task.
	Populated bool
	// Frozen: the cgroup is frozen (cgroup.freeze).
	Frozen bool
}

// Events reads the cgroup's cgroup.events. The root cgroup of a
// hierarchy has none (ENOENT).
func (m *Manager) Events(name string) (Events, error) {
	data, err := m.ReadFile(name, "cgroup.events")
	if err != nil {
		return Events{}, err
	}
	var ev Events
	seen := false
	for line := range strings.Lines(string(data)) {
		key, val, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch key {
		case "populated":
			ev.Populated, seen = val == "1", true
		case "frozen":
			ev.Frozen = val == "1"
		}
	}
	if !seen {
		return Events{}, m.parseError(name, "cgroup.events", string(data), "a list with populated")
	}
	return ev, nil
}
