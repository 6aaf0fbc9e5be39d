package cgtest_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// procThread adds to fsys the stat and status files of one thread: it
// last ran on cpu and may run on affinity. The command name has spaces
// and a parenthesis, as a real one may.
func procThread(fsys fstest.MapFS, pid, tid, cpu int, affinity string) {
	dir := fmt.Sprintf("%d/task/%d", pid, tid)
	// Fields 3 to 38 are placeholders; field 39 is the processor.
	fields := make([]string, 0, 50)
	for i := 3; i <= 52; i++ {
		fields = append(fields, "0")
	}
	fields[39-3] = fmt.Sprint(cpu)
	fsys[dir+"/stat"] = &fstest.MapFile{Data: []byte(fmt.Sprintf("%d (a (odd) name) R %s\n", tid, strings.Join(fields[1:], " ")))}
	fsys[dir+"/status"] = &fstest.MapFile{Data: []byte("Name:\tx\nCpus_allowed:\tf\nCpus_allowed_list:\t" + affinity + "\nMems_allowed_list:\t0\n")}
}

// isolationFixture: two cgroups with split cpusets on fakefs, a fake
// task in each, and a /proc fixture that places their threads.
func isolationFixture(t *testing.T) (*cgroupfs.Manager, [2]int, fstest.MapFS) {
	t.Helper()
	f := newFixture(t)
	g := cgtest.NewGroup(t, f.mgr)
	var pids [2]int
	for i, l := range []struct {
		name string
		cpus cgroupfs.CPUSet
	}{{"a", cgroupfs.NewCPUSet(0, 1)}, {"b", cgroupfs.NewCPUSet(2, 3)}} {
		if err := g.AddCgroup(l.name, l.cpus); err != nil {
			t.Fatal(err)
		}
		task, err := g.Spawn(l.name, cgtest.Spinner())
		if err != nil {
			t.Fatal(err)
		}
		pids[i] = task.Pid()
	}
	return f.mgr, pids, fstest.MapFS{}
}

// With a /proc fixture the check judges fake tasks deterministically:
// threads on their cgroup's CPUs pass; a thread that ran elsewhere, or
// whose affinity is wider, is an escape with every number in the error.
func TestCheckIsolationOnAFixture(t *testing.T) {
	m, pids, proc := isolationFixture(t)
	procThread(proc, pids[0], pids[0], 1, "0-1")
	procThread(proc, pids[0], pids[0]+100, 0, "0-1")
	procThread(proc, pids[1], pids[1], 3, "2-3")
	rep, err := cgtest.CheckIsolation(context.Background(), m, []string{"a", "b"}, cgtest.Window(0), cgtest.ProcFS(proc))
	assert.NilError(t, err, "CheckIsolation of isolated threads")
	if rep.Samples != 1 || rep.Threads != 3 || len(rep.Escapes) != 0 {
		t.Errorf("report = %+v, want 1 sample of 3 threads, no escape", rep)
	}

	procThread(proc, pids[1], pids[1]+1, 0, "2-3")   // ran on a CPU of a
	procThread(proc, pids[1], pids[1]+2, 2, "0-3")   // may run anywhere
	procThread(proc, pids[0], pids[0]+100, 3, "0-3") // both
	rep, err = cgtest.CheckIsolation(context.Background(), m, []string{"a", "b"}, cgtest.Window(0), cgtest.ProcFS(proc))
	assert.ErrorIs(t, err, cgtest.ErrCheckFailed, "CheckIsolation with escapes")
	type esc struct {
		Cgroup        string
		Pid, Tid, CPU int
		Affinity      string
		Allowed       string
	}
	var got []esc
	for _, e := range rep.Escapes {
		got = append(got, esc{e.Cgroup, e.Pid, e.Tid, e.CPU, e.Affinity.String(), e.Allowed.String()})
	}
	want := []esc{
		{"a", pids[0], pids[0] + 100, 3, "0-3", "0-1"},
		{"b", pids[1], pids[1] + 1, 0, "2-3", "2-3"},
		{"b", pids[1], pids[1] + 2, 2, "0-3", "2-3"},
	}
	assert.Check(t, is.DeepEqual(got, want), "escapes")
	assert.Check(t, is.Contains(err.Error(), "3 escape(s) in 1 sample(s) of 5 thread(s)"))
	// The sample's time since the window began is whatever the machine
	// took to take it (3 ms once, in a VM on a busy host): any is right.
	for _, line := range [][2]string{
		{fmt.Sprintf("cgroup a pid %d tid %d", pids[0], pids[0]+100), "ran on CPU 3, affinity 0-3 is wider (CPU 3, affinity 0-3, allowed 0-1)"},
		{fmt.Sprintf("cgroup b pid %d tid %d", pids[1], pids[1]+1), "ran on CPU 0 (CPU 0, affinity 2-3, allowed 2-3)"},
	} {
		re := regexp.QuoteMeta(line[0]) + ` at \+[0-9.]+[mµn]?s: ` + regexp.QuoteMeta(line[1])
		assert.Check(t, is.Regexp(re, err.Error()), "the error does not say %q", line)
	}
}

// Over a window every sample reports its escapes again: the count is
// samples times escaping threads, whatever the number of samples the
// busy machine allowed.
func TestCheckIsolationReportsEverySample(t *testing.T) {
	m, pids, proc := isolationFixture(t)
	procThread(proc, pids[0], pids[0], 2, "0-1")
	procThread(proc, pids[1], pids[1], 2, "2-3")
	rep, err := cgtest.CheckIsolation(context.Background(), m, []string{"a", "b"}, cgtest.Window(30*time.Millisecond), cgtest.Interval(5*time.Millisecond), cgtest.ProcFS(proc))
	assert.ErrorIs(t, err, cgtest.ErrCheckFailed, "CheckIsolation")
	if rep.Samples < 1 || len(rep.Escapes) != rep.Samples || rep.Threads != 2 {
		t.Errorf("%d samples, %d escapes of %d threads; want one escape per sample, 2 threads", rep.Samples, len(rep.Escapes), rep.Threads)
	}
	for i := 1; i < len(rep.Escapes); i++ {
		if rep.Escapes[i].At < rep.Escapes[i-1].At {
			t.Errorf("escape %d at %v is before escape %d at %v", i, rep.Escapes[i].At, i-1, rep.Escapes[i-1].At)
		}
	}
}

// Without a fixture, fake tasks run nowhere: the checks say they need a
// kernel instead of passing or failing.
func TestChecksNeedAKernelForFakeTasks(t *testing.T) {
	m, _, _ := isolationFixture(t)
	_, err := cgtest.CheckIsolation(context.Background(), m, []string{"a"}, cgtest.Window(0))
	assert.Check(t, is.ErrorIs(err, cgtest.ErrNeedsKernel), "CheckIsolation on fakefs")
	_, err = cgtest.CheckCPUShare(context.Background(), m, []cgtest.Share{{"a", 1}, {"b", 2}}, 0.2, cgtest.Window(time.Millisecond))
	assert.Check(t, is.ErrorIs(err, cgtest.ErrNeedsKernel), "CheckCPUShare on fakefs")
}

// Nothing to check is an error, not a pass.
func TestCheckIsolationWithoutTasksFails(t *testing.T) {
	f := newFixture(t)
	g := cgtest.NewGroup(t, f.mgr)
	if err := g.AddCgroup("empty", cgroupfs.NewCPUSet(0)); err != nil {
		t.Fatal(err)
	}
	_, err := cgtest.CheckIsolation(context.Background(), f.mgr, []string{"empty"}, cgtest.Window(0))
	if err == nil || errors.Is(err, cgtest.ErrCheckFailed) || !strings.Contains(err.Error(), "nothing was checked") {
		t.Errorf("CheckIsolation of an empty cgroup: %v, want an error saying nothing was checked", err)
	}
	if _, err := cgtest.CheckIsolation(context.Background(), f.mgr, nil); err == nil {
		t.Error("CheckIsolation of no cgroup: nil error")
	}
	_, err = cgtest.CheckIsolation(context.Background(), f.mgr, []string{"missing"}, cgtest.Window(0))
	assert.Check(t, is.ErrorContains(err, "cgroup missing"), "CheckIsolation of a missing cgroup")
}

// scripted is a CgroupReader whose cpu.stat usage is the next value of
// a script at each read.
type scripted struct {
	usage map[string][]time.Duration
}

func (s *scripted) Procs(string) ([]int, error) { return []int{1234}, nil }
func (s *scripted) EffectiveCpuset(string) (cgroupfs.CPUSet, error) {
	return cgroupfs.NewCPUSet(0), nil
}
func (s *scripted) CPUStat(name string) (cgroupfs.CPUStat, error) {
	v := s.usage[name]
	if len(v) == 0 {
		return cgroupfs.CPUStat{}, fmt.Errorf("no more usage for %s", name)
	}
	s.usage[name] = v[1:]
	return cgroupfs.CPUStat{Usage: v[0]}, nil
}

// CheckCPUShare compares usage deltas with the expected ratio, within a
// relative tolerance, and shows every number when it does not hold.
func TestCheckCPUShare(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		desc       string
		a0, a1     time.Duration
		b0, b1     time.Duration
		tol        float64
		wantFailed bool
		wantText   []string
	}{
		{"exactly 1:2", 1000 * ms, 1100 * ms, 500 * ms, 700 * ms, 0.01, false, nil},
		{"within 20%", 0, 90 * ms, 0, 210 * ms, 0.2, false, nil},
		{"1:1 instead of 1:2", 0, 150 * ms, 0, 150 * ms, 0.2, true, []string{
			"300ms of CPU time in", "tolerance ±20%",
			"a: 150ms = 50.0%, want 33.3% (+50.0%)  <- out of tolerance",
			"b: 150ms = 50.0%, want 66.7% (-25.0%)  <- out of tolerance",
		}},
		{"starved", 0, 300 * ms, 0, 0, 0.5, true, []string{"b: 0s = 0.0%, want 66.7% (-100.0%)"}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			r := &scripted{usage: map[string][]time.Duration{"a": {tc.a0, tc.a1}, "b": {tc.b0, tc.b1}}}
			rep, err := cgtest.CheckCPUShare(context.Background(), r, []cgtest.Share{{"a", 100}, {"b", 200}}, tc.tol, cgtest.Window(time.Millisecond))
			if got := errors.Is(err, cgtest.ErrCheckFailed); got != tc.wantFailed {
				t.Fatalf("CheckCPUShare: %v; failed = %v, want %v", err, got, tc.wantFailed)
			}
			if rep == nil || len(rep.Results) != 2 || rep.Total != tc.a1-tc.a0+tc.b1-tc.b0 {
				t.Fatalf("report %+v, want two results and the total of the deltas", rep)
			}
			for _, s := range tc.wantText {
				assert.Check(t, is.Contains(err.Error(), s), "the error does not say %q:\n%v", s, err)
			}
		})
	}
}

// What cannot be measured is refused with a reason.
func TestCheckCPUShareRefusals(t *testing.T) {
	idle := &scripted{usage: map[string][]time.Duration{"a": {5, 5}, "b": {7, 7}}}
	_, err := cgtest.CheckCPUShare(context.Background(), idle, []cgtest.Share{{"a", 1}, {"b", 1}}, 0.1, cgtest.Window(time.Millisecond))
	if err == nil || errors.Is(err, cgtest.ErrCheckFailed) || !strings.Contains(err.Error(), "no CPU time was used") {
		t.Errorf("no usage: %v, want an error saying no CPU time was used", err)
	}
	r := &scripted{usage: map[string][]time.Duration{}}
	for _, tc := range []struct {
		desc  string
		share []cgtest.Share
		tol   float64
		opts  []cgtest.CheckOption
	}{
		{"one cgroup", []cgtest.Share{{"a", 1}}, 0.1, nil},
		{"zero weight", []cgtest.Share{{"a", 1}, {"b", 0}}, 0.1, nil},
		{"negative tolerance", []cgtest.Share{{"a", 1}, {"b", 1}}, -1, nil},
		{"no window", []cgtest.Share{{"a", 1}, {"b", 1}}, 0.1, []cgtest.CheckOption{cgtest.Window(0)}},
	} {
		if _, err := cgtest.CheckCPUShare(context.Background(), r, tc.share, tc.tol, tc.opts...); err == nil {
			t.Errorf("%s: nil error", tc.desc)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r = &scripted{usage: map[string][]time.Duration{"a": {0, 1}, "b": {0, 1}}}
	if _, err := cgtest.CheckCPUShare(ctx, r, []cgtest.Share{{"a", 1}, {"b", 1}}, 0.1); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled context: %v, want context.Canceled", err)
	}
}
