package schedext_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
)

// The scheduler checks of this file are plain functions of the workloads,
// so that they can be swapped for cgtest's own checks when those exist.

// checkIsolation fails the test for every thread of a workload that may
// run, or last ran, outside its cgroup's cpuset: the scheduler must honour
// the affinity that cpuset gives each task.
func checkIsolation(t *testing.T, ws []workload) {
	t.Helper()
	for _, w := range ws {
		tids, err := threads(w.cmd.Process.Pid)
		if err != nil {
			t.Errorf("isolation of %v: %v", w, err)
			continue
		}
		for _, tid := range tids {
			allowed, cpu, err := placement(w.cmd.Process.Pid, tid)
			if err != nil {
				t.Errorf("isolation of %v: %v", w, err)
				continue
			}
			if !allowed.Equal(w.cpus) {
				t.Errorf("isolation of %v: thread %d may run on cpus %s", w, tid, allowed)
			}
			if !w.cpus.Contains(cpu) {
				t.Errorf("isolation of %v: thread %d last ran on cpu %d", w, tid, cpu)
			}
		}
	}
}

// placement returns the CPUs thread tid of pid may run on, and the CPU it
// last ran on.
func placement(pid, tid int) (allowed cgroupfs.CPUSet, last int, err error) {
	dir := fmt.Sprintf("/proc/%d/task/%d", pid, tid)
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return allowed, 0, err
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			if allowed, err = cgroupfs.ParseCPUSet(strings.TrimSpace(v)); err != nil {
				return allowed, 0, fmt.Errorf("%s/status: %w", dir, err)
			}
		}
	}
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return allowed, 0, err
	}
	// Fields after the command name (which may hold spaces) start with
	// the state, field 3; "processor" is field 39 (proc_pid_stat(5)).
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	const processor = 39 - 3
	if len(fields) <= processor {
		return allowed, 0, fmt.Errorf("%s/stat has %d fields after the command name, want more than %d", dir, len(fields), processor)
	}
	last, err = strconv.Atoi(fields[processor])
	return allowed, last, err
}

// cpuTime returns the CPU time all threads of pid have had, from each
// thread's /proc/<pid>/task/<tid>/schedstat (nanoseconds on a CPU).
func cpuTime(pid int) (time.Duration, error) {
	tids, err := threads(pid)
	if err != nil {
		return 0, err
	}
	var sum time.Duration
	for _, tid := range tids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/schedstat", pid, tid))
		if err != nil {
			continue // the thread exited meanwhile
		}
		ns, err := strconv.ParseInt(strings.Fields(string(b))[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("schedstat of thread %d of pid %d: %w", tid, pid, err)
		}
		sum += time.Duration(ns)
	}
	return sum, nil
}

// shareTolerance is how far apart, as a ratio, the workloads' normalised
// CPU shares may be before checkCPUShare fails: generous, as the guest's
// CPUs are host threads on a shared machine and some of their time goes
// to the test itself and the kernel.
const shareTolerance = 3.0

// checkCPUShare measures the CPU time each workload gets over window (at
// least; the report gives the real length) and
// fails the test when a workload made no progress, or when the shares are
// not fair: a workload's fair share is its cgroup's CPUs divided among the
// workloads of that cgroup (at most one CPU, as each spins on one thread),
// and the largest share relative to its fair share may exceed the smallest
// by shareTolerance at most. It assumes the cgroups' cpusets are disjoint.
func checkCPUShare(t *testing.T, ws []workload, window time.Duration) {
	t.Helper()
	perCgroup := map[string]int{}
	for _, w := range ws {
		perCgroup[w.cgroup]++
	}
	before := make([]time.Duration, len(ws))
	for i, w := range ws {
		var err error
		if before[i], err = cpuTime(w.cmd.Process.Pid); err != nil {
			t.Fatalf("CPU time of %v: %v", w, err)
		}
	}
	start := time.Now()
	time.Sleep(window)
	// The sleep can take longer than asked under a FIFO scheduler, where
	// the woken test waits its turn behind the workloads: say how long the
	// window really was.
	window = time.Since(start).Round(time.Millisecond)
	lo, hi := -1.0, -1.0
	var report []string
	for i, w := range ws {
		after, err := cpuTime(w.cmd.Process.Pid)
		if err != nil {
			t.Fatalf("CPU time of %v: %v", w, err)
		}
		got := after - before[i]
		fair := min(1, float64(w.cpus.Len())/float64(perCgroup[w.cgroup]))
		norm := got.Seconds() / fair
		report = append(report, fmt.Sprintf("%v: %v (fair share %.2f CPU)", w, got.Round(time.Millisecond), fair))
		if got <= 0 {
			t.Errorf("CPU share: %v got no CPU time in %v", w, window)
		}
		if lo < 0 || norm < lo {
			lo = norm
		}
		hi = max(hi, norm)
	}
	t.Logf("CPU time in %v: %s", window, strings.Join(report, "; "))
	if lo > 0 && hi/lo > shareTolerance {
		t.Errorf("CPU share: relative to their fair shares, the workloads' CPU times differ by %.1fx, more than %.1fx: %s",
			hi/lo, shareTolerance, strings.Join(report, "; "))
	}
}
