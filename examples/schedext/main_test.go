package schedext_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/examples/schedext"
	"github.com/cgguard/cgguard/vmtest"
	"golang.org/x/sys/unix"
)

// spinEnv, set to "1", makes the test binary a CPU-bound workload: it
// spins on one CPU until killed.
const spinEnv = "SCHEDEXT_SPIN"

func TestMain(m *testing.M) {
	if os.Getenv(spinEnv) == "1" {
		runtime.GOMAXPROCS(1)
		//lint:ignore SA5002 the workload's job is to use 100% of a CPU
		for {
		}
	}
	os.Exit(m.Run())
}

// skipUnlessSchedExt skips the test unless it runs in the cgvm VM on a
// kernel with sched_ext: attaching a BPF scheduler replaces the scheduler
// of the whole machine, which a test must never do to its host.
func skipUnlessSchedExt(t *testing.T) {
	t.Helper()
	vmtest.SkipUnlessVM(t)
	if _, err := schedext.State(); err != nil {
		t.Skipf("this kernel has no sched_ext (CONFIG_SCHED_CLASS_EXT): %v; "+
			`run: CGVM_KERNEL=$(scripts/fetch-kernel-sid.sh | tail -n 1) go test -exec "$(go env GOPATH)/bin/cgvm" .`, err)
	}
}

// attach attaches s, asserts that sched_ext runs it, and registers its
// detach with t.Cleanup. Call it before making cgroups and workloads, so
// that their cleanups run first: workloads, then cgroups, then the
// scheduler. The cleanup asserts that the scheduler ended as wantExit says
// (ExitUnreg: by this Detach; anything else: the kernel disabled it before)
// and that sched_ext is idle again.
func attach(t *testing.T, s schedext.Scheduler, wantExit schedext.ExitKind) *schedext.Attached {
	t.Helper()
	if st, err := schedext.State(); err != nil || st != "disabled" {
		t.Fatalf("before attaching %s, sched_ext's state is %q (%v), want disabled: another scheduler is attached", s.Name(), st, err)
	}
	a, err := s.Attach()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if wantExit != schedext.ExitUnreg {
			// The kernel was to disable it before the test ended. It
			// does so in a kernel thread, which may still be at work
			// ("disabling"); Detach waits for it to finish.
			if st, err := schedext.State(); err != nil || (st != "disabled" && st != "disabling") {
				t.Errorf("at the end of the test, sched_ext's state is %q (%v), want disabling or disabled: the kernel did not disable %s", st, err, s.Name())
			}
		}
		if err := a.Detach(); err != nil {
			t.Error(err)
		}
		if got, err := a.ExitKind(); err != nil || got != wantExit {
			t.Errorf("%s ended with %v (%v), want %v", s.Name(), got, err, wantExit)
		}
		if st, err := schedext.State(); err != nil || st != "disabled" {
			t.Errorf("after detaching %s, sched_ext's state is %q (%v), want disabled", s.Name(), st, err)
		}
	})
	if st, err := schedext.State(); err != nil || st != "enabled" {
		t.Fatalf("after attaching %s, sched_ext's state is %q (%v), want enabled", s.Name(), st, err)
	}
	if ops, err := schedext.Ops(); err != nil || ops != s.Name() {
		t.Fatalf("after attaching %s, the attached scheduler is %q (%v)", s.Name(), ops, err)
	}
	return a
}

// cpusetRoot gives the test a per-test root cgroup with cpuset enabled
// for its children. In the throwaway VM, cpuset is first enabled at the
// cgroup2 root, as systemd does on a host; never on a host.
func cpusetRoot(t *testing.T) *cgroupfs.Manager {
	t.Helper()
	err := os.WriteFile(filepath.Join(vmtest.CgroupRoot, "cgroup.subtree_control"), []byte("+cpuset"), 0)
	if err != nil {
		t.Fatalf("enable cpuset at the VM's cgroup2 root: %v", err)
	}
	// The root's budget outlasts the Stall scheduler's watchdog, for the
	// tests that leave the root to kill the tasks it holds.
	return cgtest.Root(t, cgtest.RequireControllers("cpuset"),
		cgtest.RootGroupOptions(cgtest.Strict(), cgtest.Budget(stallBudget)))
}

// workload is a CPU-bound process the test started in a cgroup.
type workload struct {
	cgroup string
	cpus   cgroupfs.CPUSet // the cgroup's cpuset
	cmd    *exec.Cmd
}

func (w workload) String() string {
	return fmt.Sprintf("pid %d in %s (cpus %s)", w.cmd.Process.Pid, w.cgroup, w.cpus)
}

// spin starts n CPU-bound workloads in the group's cgroup name, whose
// cpuset is cpus; the group kills them when the test ends, before it
// removes the cgroup.
func spin(t *testing.T, g *cgtest.Group, name string, cpus cgroupfs.CPUSet, n int) []workload {
	t.Helper()
	var ws []workload
	for range n {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), spinEnv+"=1")
		if err := g.Start(name, cmd); err != nil {
			t.Fatal(err)
		}
		ws = append(ws, workload{cgroup: name, cpus: cpus, cmd: cmd})
	}
	return ws
}

// threads returns the thread ids of pid.
func threads(pid int) ([]int, error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return nil, err
	}
	var tids []int
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}

// waitHeld waits until the stall scheduler holds every thread of ws: the
// run time of each (/proc/<pid>/task/<tid>/schedstat, first field) stays
// the same over 100 ms, five of sched_ext's 20 ms slices. A thread that
// was on its CPU when it got SCHED_EXT runs on until its slice ends; a
// kill sent before that lets the workload die at once, and a stall test
// would then see no stall. It fails the test if the threads are not held
// before the watchdog's 3 s timeout would free them.
func waitHeld(t *testing.T, ws []workload) {
	t.Helper()
	runTimes := func() (string, error) {
		var b strings.Builder
		for _, w := range ws {
			tids, err := threads(w.cmd.Process.Pid)
			if err != nil {
				return "", err
			}
			for _, tid := range tids {
				data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/schedstat", w.cmd.Process.Pid, tid))
				if err != nil {
					return "", err
				}
				f := strings.Fields(string(data))
				if len(f) == 0 {
					return "", fmt.Errorf("empty schedstat of thread %d", tid)
				}
				fmt.Fprintf(&b, "%d:%s ", tid, f[0])
			}
		}
		return b.String(), nil
	}
	start := time.Now()
	last, err := runTimes()
	if err != nil {
		t.Fatal(err)
	}
	for time.Since(start) < 3*time.Second {
		time.Sleep(100 * time.Millisecond)
		now, err := runTimes()
		if err != nil {
			t.Fatal(err)
		}
		if now == last {
			return
		}
		last = now
	}
	t.Fatalf("the stall scheduler did not hold %v within 3 s: its threads kept running (run times %s)", ws, last)
}

// schedExt is the kernel's SCHED_EXT scheduling policy (include/uapi/linux/sched.h).
const schedExt = 7

// toSchedExt sets the policy of every thread of w to SCHED_EXT, so that
// a scheduler with SCX_OPS_SWITCH_PARTIAL takes them. A thread that a
// not yet switched thread creates meanwhile inherits the old policy, so it
// goes over the threads again until all of them have SCHED_EXT.
func toSchedExt(t *testing.T, w workload) {
	t.Helper()
	const rounds = 10
	for range rounds {
		tids, err := threads(w.cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		done := true
		for _, tid := range tids {
			if p, err := policy(tid); err == nil && p == schedExt {
				continue
			}
			done = false
			attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: schedExt}
			if err := unix.SchedSetAttr(tid, &attr, 0); err != nil && !errors.Is(err, unix.ESRCH) {
				t.Fatalf("set SCHED_EXT on thread %d of %v: %v", tid, w, err)
			}
		}
		if done {
			return
		}
	}
	t.Fatalf("%v: after %d rounds, some of its threads still do not have SCHED_EXT", w, rounds)
}

// policy returns the scheduling policy of thread tid (the main thread's for
// a pid).
func policy(tid int) (uint32, error) {
	attr, err := unix.SchedGetAttr(tid, 0)
	if err != nil {
		return 0, err
	}
	return attr.Policy, nil
}

// alive reports whether w's process still exists and is not a zombie.
func alive(w workload) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", w.cmd.Process.Pid))
	if errors.Is(err, fs.ErrNotExist) || err != nil {
		return false
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] != 'Z' && stat[i+2] != 'X'
}
