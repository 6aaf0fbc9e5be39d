package cgtest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
)

// The checks answer the two questions of a scheduler test: did every
// task of a cgroup run only on its cgroup's CPUs (CheckIsolation), and
// how was CPU time split between cgroups (CheckCPUShare). Both read the
// cgroups through a CgroupReader (a *cgroupfs.Manager) over a window of
// time, and fail with an error that wraps ErrCheckFailed and shows the
// numbers.
//
// On fakefs nothing runs: a check that finds fake tasks (pids above the
// kernel's limit) fails at once with ErrNeedsKernel, unless
// CheckIsolation is given a /proc fixture (ProcFS) that describes where
// they run: then it judges the fixture exactly as it would /proc.

// ErrCheckFailed is wrapped by the error of a check whose condition did
// not hold, so that a test can tell a failed check from a check that
// could not run.
var ErrCheckFailed = errors.New("check failed")

// ErrNeedsKernel is wrapped by the error of a check run on cgroups that
// hold fake tasks (fakefs), which run on no CPU and use no CPU time.
var ErrNeedsKernel = errors.New("this check needs a kernel: the cgroups hold fake tasks, which run nowhere (use cgtest.Root, in the VM runner for cpuset; or give CheckIsolation a ProcFS fixture)")

// CgroupReader is what the checks read of the cgroups they watch.
// *cgroupfs.Manager implements it; names are relative to its parent.
type CgroupReader interface {
	Procs(name string) ([]int, error)
	EffectiveCpuset(name string) (cgroupfs.CPUSet, error)
	CPUStat(name string) (cgroupfs.CPUStat, error)
}

var _ CgroupReader = (*cgroupfs.Manager)(nil)

// CheckOption configures a check. The defaults: a window of one second,
// a sample every 10 ms, and the machine's /proc.
type CheckOption func(*checkConfig)

type checkConfig struct {
	window   time.Duration
	interval time.Duration
	proc     fs.FS
	realProc bool
}

func newCheckConfig(opts []CheckOption) checkConfig {
	c := checkConfig{window: time.Second, interval: 10 * time.Millisecond}
	for _, o := range opts {
		o(&c)
	}
	if c.proc == nil {
		c.proc, c.realProc = os.DirFS("/proc"), true
	}
	return c
}

// Window sets how long a check watches (default 1 s). CheckIsolation
// with a window of zero takes a single sample; CheckCPUShare needs a
// positive window.
func Window(d time.Duration) CheckOption {
	return func(c *checkConfig) { c.window = max(d, 0) }
}

// Interval sets how often CheckIsolation samples (default 10 ms; zero or
// less keeps it).
func Interval(d time.Duration) CheckOption {
	return func(c *checkConfig) {
		if d > 0 {
			c.interval = d
		}
	}
}

// ProcFS makes CheckIsolation read the task files
// (<pid>/task/<tid>/stat and status) from fsys instead of /proc: a
// fixture such as fstest.MapFS describing where fake tasks run, which
// makes the check deterministic and usable on fakefs.
func ProcFS(fsys fs.FS) CheckOption {
	return func(c *checkConfig) { c.proc, c.realProc = fsys, false }
}

// Escape is one observation of a thread outside its cgroup's CPUs.
type Escape struct {
	Cgroup   string
	Pid, Tid int
	// CPU is where the thread ran last (field 39, "processor", of
	// /proc/<pid>/task/<tid>/stat) when sampled.
	CPU int
	// Affinity is the thread's CPU affinity (Cpus_allowed_list of its
	// status file), and Allowed the cgroup's cpuset.cpus.effective, at
	// the sample.
	Affinity, Allowed cgroupfs.CPUSet
	// At is when the sample was taken, since the window began.
	At time.Duration
}

// String says what escaped where: "cgroup a pid 12 tid 13 at +40ms: ran
// on CPU 3, affinity 0-3, allowed 0-1".
func (e Escape) String() string {
	var what []string
	if !e.Allowed.Contains(e.CPU) {
		what = append(what, "ran on CPU "+strconv.Itoa(e.CPU))
	}
	if !e.Affinity.IsSubsetOf(e.Allowed) {
		what = append(what, "affinity "+e.Affinity.String()+" is wider")
	}
	return fmt.Sprintf("cgroup %s pid %d tid %d at +%v: %s (CPU %d, affinity %s, allowed %s)",
		e.Cgroup, e.Pid, e.Tid, e.At.Round(time.Millisecond), strings.Join(what, ", "), e.CPU, e.Affinity, e.Allowed)
}

// IsolationReport is what CheckIsolation saw.
type IsolationReport struct {
	// Samples is how many times every cgroup was sampled, and Threads
	// how many distinct threads were seen in all.
	Samples, Threads int
	// Window is the time from the first sample to the last.
	Window time.Duration
	// Escapes lists every observation of a thread outside its cgroup's
	// CPUs, in the order seen.
	Escapes []Escape
}

// String summarizes the report, listing the first 20 escapes.
func (r *IsolationReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d escape(s) in %d sample(s) of %d thread(s) over %v", len(r.Escapes), r.Samples, r.Threads, r.Window.Round(time.Millisecond))
	for i, e := range r.Escapes {
		if i == 20 {
			fmt.Fprintf(&b, "\n\t... and %d more", len(r.Escapes)-i)
			break
		}
		b.WriteString("\n\t" + e.String())
	}
	return b.String()
}

// CheckIsolation samples, every Interval over the Window, where each
// thread of each process in the cgroups names runs: the CPU it last ran
// on (field 39 of /proc/<pid>/task/<tid>/stat) and its affinity
// (Cpus_allowed_list), against the cgroup's cpuset.cpus.effective read
// at the same sample. Only the tasks listed in each named cgroup's own
// cgroup.procs are sampled: name child cgroups too to check them.
//
// It returns the report and, when any thread was seen outside its
// cgroup's CPUs, an error wrapping ErrCheckFailed that lists the
// escapes (pid, tid, CPU, affinity, allowed CPUs, time). A thread that
// has not run since its cpuset changed still names its old CPU: start
// the check once the layout is in place. It also fails when no thread
// was found in any of the cgroups (nothing was checked), when a cgroup
// cannot be read, when it holds fake tasks and no ProcFS fixture was
// given (ErrNeedsKernel), or when ctx ends (the report holds what was
// seen until then).
func CheckIsolation(ctx context.Context, m CgroupReader, names []string, opts ...CheckOption) (*IsolationReport, error) {
	cfg := newCheckConfig(opts)
	rep := &IsolationReport{}
	if len(names) == 0 {
		return rep, errors.New("cgtest: check isolation: no cgroup named")
	}
	seen := make(map[[2]int]bool)
	start := time.Now()
	end := start.Add(cfg.window)
	for {
		at := time.Since(start)
		for _, name := range names {
			if err := sampleIsolation(m, cfg, name, at, seen, rep); err != nil {
				return rep, fmt.Errorf("cgtest: check isolation of cgroup %s: %w", name, err)
			}
		}
		rep.Samples++
		rep.Window = at
		rep.Threads = len(seen)
		if !time.Now().Add(cfg.interval).Before(end) {
			break
		}
		select {
		case <-ctx.Done():
			return rep, fmt.Errorf("cgtest: check isolation of %s: %w after %v; %s", strings.Join(names, ", "), ctx.Err(), at.Round(time.Millisecond), rep)
		case <-time.After(cfg.interval):
		}
	}
	if rep.Threads == 0 {
		return rep, fmt.Errorf("cgtest: check isolation of %s: no task was found in them during %v, so nothing was checked; spawn the workloads first", strings.Join(names, ", "), rep.Window.Round(time.Millisecond))
	}
	if len(rep.Escapes) > 0 {
		return rep, fmt.Errorf("cgtest: isolation of %s: %w: %s", strings.Join(names, ", "), ErrCheckFailed, rep)
	}
	return rep, nil
}

// sampleIsolation samples the threads of the cgroup name once.
func sampleIsolation(m CgroupReader, cfg checkConfig, name string, at time.Duration, seen map[[2]int]bool, rep *IsolationReport) error {
	allowed, err := m.EffectiveCpuset(name)
	if err != nil {
		return err
	}
	pids, err := m.Procs(name)
	if err != nil {
		return err
	}
	for _, pid := range pids {
		if cfg.realProc && pid > pidMaxLimit {
			return fmt.Errorf("pid %d is a fake task: %w", pid, ErrNeedsKernel)
		}
		tids, err := fs.ReadDir(cfg.proc, strconv.Itoa(pid)+"/task")
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // exited since cgroup.procs was read
			}
			return fmt.Errorf("list the threads of pid %d: %w", pid, err)
		}
		for _, d := range tids {
			tid, err := strconv.Atoi(d.Name())
			if err != nil {
				continue
			}
			cpu, affinity, err := threadPlacement(cfg.proc, pid, tid)
			if errors.Is(err, fs.ErrNotExist) {
				continue // the thread exited meanwhile
			}
			if err != nil {
				return err
			}
			seen[[2]int{pid, tid}] = true
			if !allowed.Contains(cpu) || !affinity.IsSubsetOf(allowed) {
				rep.Escapes = append(rep.Escapes, Escape{Cgroup: name, Pid: pid, Tid: tid, CPU: cpu, Affinity: affinity, Allowed: allowed, At: at})
			}
		}
	}
	return nil
}

// threadPlacement reads the CPU the thread last ran on and its affinity.
func threadPlacement(proc fs.FS, pid, tid int) (cpu int, affinity cgroupfs.CPUSet, err error) {
	dir := strconv.Itoa(pid) + "/task/" + strconv.Itoa(tid)
	stat, err := fs.ReadFile(proc, dir+"/stat")
	if err != nil {
		return 0, affinity, err
	}
	cpu, err = parseProcessor(string(stat))
	if err != nil {
		return 0, affinity, fmt.Errorf("%s/stat: %w", dir, err)
	}
	status, err := fs.ReadFile(proc, dir+"/status")
	if err != nil {
		return 0, affinity, err
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			affinity, err = cgroupfs.ParseCPUSet(strings.TrimSpace(v))
			if err != nil {
				return 0, affinity, fmt.Errorf("%s/status: Cpus_allowed_list: %w", dir, err)
			}
			return cpu, affinity, nil
		}
	}
	return 0, affinity, fmt.Errorf("%s/status has no Cpus_allowed_list line", dir)
}

// parseProcessor returns field 39 (processor) of a stat line. The
// command name (field 2) is in parentheses and may hold spaces and
// parentheses itself, so fields are counted after the last ')'.
func parseProcessor(stat string) (int, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("no command name in %q", stat)
	}
	fields := strings.Fields(stat[i+1:]) // fields 3 and on
	const processor = 39 - 3
	if len(fields) <= processor {
		return 0, fmt.Errorf("%d fields after the command name, want at least %d: %q", len(fields), processor+1, stat)
	}
	cpu, err := strconv.Atoi(fields[processor])
	if err != nil || cpu < 0 {
		return 0, fmt.Errorf("field 39 (processor) is %q, not a CPU number", fields[processor])
	}
	return cpu, nil
}

// Share is a cgroup's expected share of CPU time in CheckCPUShare,
// relative to the others' (weights 100 and 200 expect 1/3 and 2/3).
type Share struct {
	Cgroup string
	Weight float64
}

// ShareResult is one cgroup's CPU time in the window.
type ShareResult struct {
	Cgroup string
	// Usage is the CPU time its tasks (and its descendants') used.
	Usage time.Duration
	// Got and Want are its fraction of the total, measured and expected.
	Got, Want float64
}

// Off returns how far Got is from Want, relative to Want (-0.1: a
// tenth less than expected).
func (r ShareResult) Off() float64 { return r.Got/r.Want - 1 }

// ShareReport is what CheckCPUShare measured.
type ShareReport struct {
	// Window is the time between the two readings of cpu.stat.
	Window time.Duration
	// Total is the CPU time all the cgroups used in the window.
	Total time.Duration
	// Tolerance is the largest relative error allowed.
	Tolerance float64
	Results   []ShareResult
}

// String shows every cgroup's usage, share and expected share.
func (r *ShareReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v of CPU time in %v, tolerance ±%.0f%%:", r.Total.Round(time.Millisecond), r.Window.Round(time.Millisecond), 100*r.Tolerance)
	for _, res := range r.Results {
		mark := ""
		if math.Abs(res.Off()) > r.Tolerance {
			mark = "  <- out of tolerance"
		}
		fmt.Fprintf(&b, "\n\t%s: %v = %.1f%%, want %.1f%% (%+.1f%%)%s", res.Cgroup, res.Usage.Round(time.Millisecond), 100*res.Got, 100*res.Want, 100*res.Off(), mark)
	}
	return b.String()
}

// CheckCPUShare reads cpu.stat's usage_usec of every cgroup in want,
// waits for the Window (ctx may end it early, which fails), reads again,
// and compares each cgroup's share of the CPU time used in between with
// its expected share (its Weight over the sum of weights). The check
// holds when every share is within tolerance of its expectation,
// relative to it (0.2: 1/3 expected, 0.267 to 0.4 accepted). Start it
// once every workload runs: a built-in workload is the test binary
// started again, which takes a while (seconds in an emulated VM), and a
// cgroup whose task is still starting reads as starved.
//
// It returns the report and, when a share is out of tolerance, an error
// wrapping ErrCheckFailed that shows every cgroup's numbers. It fails
// before waiting when fewer than two cgroups are given, a weight is not
// positive, the window is not positive, or a cgroup holds fake tasks
// (ErrNeedsKernel); and after it when no CPU time was used at all.
func CheckCPUShare(ctx context.Context, m CgroupReader, want []Share, tolerance float64, opts ...CheckOption) (*ShareReport, error) {
	cfg := newCheckConfig(opts)
	var names []string
	var sum float64
	for _, s := range want {
		if !(s.Weight > 0) || math.IsInf(s.Weight, 0) {
			return nil, fmt.Errorf("cgtest: check CPU share: cgroup %s has weight %v; weights must be positive", s.Cgroup, s.Weight)
		}
		names = append(names, s.Cgroup)
		sum += s.Weight
	}
	switch {
	case len(want) < 2:
		return nil, errors.New("cgtest: check CPU share: name at least two cgroups (a share of one is always 100%)")
	case cfg.window <= 0:
		return nil, errors.New("cgtest: check CPU share: the window must be positive")
	case !(tolerance >= 0):
		return nil, fmt.Errorf("cgtest: check CPU share: tolerance %v is negative", tolerance)
	}
	for _, name := range names {
		pids, err := m.Procs(name)
		if err != nil {
			return nil, fmt.Errorf("cgtest: check CPU share of cgroup %s: %w", name, err)
		}
		for _, pid := range pids {
			if pid > pidMaxLimit {
				return nil, fmt.Errorf("cgtest: check CPU share of cgroup %s: pid %d is a fake task: %w", name, pid, ErrNeedsKernel)
			}
		}
	}
	read := func() ([]time.Duration, time.Time, error) {
		out := make([]time.Duration, len(names))
		for i, name := range names {
			st, err := m.CPUStat(name)
			if err != nil {
				return nil, time.Time{}, fmt.Errorf("cgtest: check CPU share of cgroup %s: %w", name, err)
			}
			out[i] = st.Usage
		}
		return out, time.Now(), nil
	}
	before, t0, err := read()
	if err != nil {
		return nil, err
	}
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("cgtest: check CPU share of %s: %w before the %v window ended", strings.Join(names, ", "), ctx.Err(), cfg.window)
	case <-time.After(cfg.window):
	}
	after, t1, err := read()
	if err != nil {
		return nil, err
	}
	rep := &ShareReport{Window: t1.Sub(t0), Tolerance: tolerance}
	for i, s := range want {
		d := after[i] - before[i]
		rep.Total += d
		rep.Results = append(rep.Results, ShareResult{Cgroup: s.Cgroup, Usage: d, Want: s.Weight / sum})
	}
	if rep.Total <= 0 {
		return rep, fmt.Errorf("cgtest: check CPU share of %s: no CPU time was used by any of them in %v (usage_usec did not move): spawn CPU-bound workloads (Spinner) first",
			strings.Join(names, ", "), rep.Window.Round(time.Millisecond))
	}
	bad := false
	for i := range rep.Results {
		r := &rep.Results[i]
		r.Got = float64(r.Usage) / float64(rep.Total)
		bad = bad || math.Abs(r.Off()) > tolerance
	}
	if bad {
		return rep, fmt.Errorf("cgtest: CPU share of %s: %w: %s", strings.Join(names, ", "), ErrCheckFailed, rep)
	}
	return rep, nil
}
