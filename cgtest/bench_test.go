package cgtest_test

// Benchmarks of the guard against what a careful hand-written test
// would do with raw system calls, in the same run so that their ratio
// means something (see BENCHMARKS.md at the repository root, and
// scripts/bench.sh to reproduce it).
//
// Names pair up for benchstat: every sub-benchmark ends in /impl=..., the
// baseline first, so `benchstat -col /impl` puts cgtest next to it.
//
// Timing: b.Loop allows b.StopTimer and b.StartTimer inside the loop (it
// only insists that the timer runs when b.Loop is called), so each
// iteration does its setup with the timer stopped and times only the
// half it is about: op=create times the mkdirs (the teardown is not
// timed), op=teardown times the removal (the mkdirs are not), and
// op=cycle times both without touching the timer, as a check that
// create + teardown add up and that stopping the timer does not bend
// the numbers.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/fakefs"
	"github.com/cgguard/cgguard/internal/kerneltest"
	"golang.org/x/sys/unix"
)

// benchT is a cgtest.T for running a group's teardown inside a benchmark
// loop: Cleanup collects the functions and runCleanups runs them last in,
// first out, as testing does at the end of a test. Any teardown warning
// fails the benchmark, as a teardown that warns did not do its job.
type benchT struct {
	b        *testing.B
	cleanups []func()
	mu       sync.Mutex
	logs     []string
}

func (t *benchT) Helper()          {}
func (t *benchT) Name() string     { return t.b.Name() }
func (t *benchT) Cleanup(f func()) { t.cleanups = append(t.cleanups, f) }
func (t *benchT) Logf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.logs = append(t.logs, fmt.Sprintf(format, args...))
}
func (t *benchT) Errorf(format string, args ...any) { t.b.Errorf(format, args...) }
func (t *benchT) Skipf(format string, args ...any)  { t.b.Skipf(format, args...) }
func (t *benchT) Fatalf(format string, args ...any) { t.b.Fatalf(format, args...) }

// runCleanups runs the collected cleanups LIFO and forgets them.
func (t *benchT) runCleanups() {
	for _, f := range slices.Backward(t.cleanups) {
		f()
	}
	t.cleanups = t.cleanups[:0]
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.logs) > 0 {
		t.b.Fatalf("teardown warned: %s", strings.Join(t.logs, "\n"))
	}
}

// benchBase creates, under the real cgroup2 mount, a cgroup of this
// benchmark's own (kerneltest.Base), and removes it, with anything left
// beneath it (reported as a leak), when the benchmark ends. It skips
// with the reason when the kernel cannot be used here.
func benchBase(b *testing.B) string {
	b.Helper()
	return kerneltest.Base(b, kerneltest.CheckLeaks())
}

// benchEnv is where one sub-benchmark makes its cgroups: a Manager for
// cgtest, and the raw operations a hand-written test would use on the
// same place.
type benchEnv struct {
	m     *cgroupfs.Manager
	mkdir func(name string) error
	rmdir func(name string) error
}

// newBenchEnv returns the environment for fs "kernel" (a cgtest.Root
// beneath benchBase, raw unix.Mkdir and unix.Rmdir on absolute paths)
// or "fake" (a fakefs, raw FS.Mkdir and FS.Rmdir on it).
func newBenchEnv(b *testing.B, fsName string) benchEnv {
	b.Helper()
	if fsName == "fake" {
		fsys := fakefs.New()
		return benchEnv{m: cgroupfs.NewManager(fsys, "."), mkdir: fsys.Mkdir, rmdir: fsys.Rmdir}
	}
	m := cgtest.Root(b, cgtest.Under(benchBase(b)))
	dir := m.ParentPath()
	return benchEnv{
		m:     m,
		mkdir: func(name string) error { return unix.Mkdir(filepath.Join(dir, name), 0o755) },
		rmdir: func(name string) error { return unix.Rmdir(filepath.Join(dir, name)) },
	}
}

// shape is a set of empty cgroups: n siblings, or one chain n deep.
type shape struct {
	name  string
	chain bool
	n     int
}

// names returns the cgroups of the shape in creation order (parents
// first). The raw baseline makes them in this order and removes them in
// the reverse order.
func (s shape) names() []string {
	out := make([]string, s.n)
	for i := range s.n {
		if s.chain {
			out[i] = strings.Repeat("c/", i) + "c"
		} else {
			out[i] = fmt.Sprintf("s%04d", i)
		}
	}
	return out
}

var shapes = []shape{
	{"n=1", false, 1},
	{"n=10", false, 10},
	{"n=100", false, 100},
	{"n=1000", false, 1000},
	{"depth=10", true, 10},
	{"depth=50", true, 50},
}

// BenchmarkEmpty creates and tears down empty cgroups through cgtest
// (AddCgroupNoCpuset, then the group's t.Cleanup functions) and with a
// raw mkdir/rmdir loop, on the kernel and on fakefs. A chain is added
// to cgtest as one nested name, the way a test would write it.
func BenchmarkEmpty(b *testing.B) {
	for _, fsName := range []string{"kernel", "fake"} {
		b.Run("fs="+fsName, func(b *testing.B) {
			for _, s := range shapes {
				b.Run(s.name, func(b *testing.B) {
					for _, op := range []string{"create", "teardown", "cycle"} {
						b.Run("op="+op, func(b *testing.B) {
							b.Run("impl=raw", func(b *testing.B) { benchRaw(b, newBenchEnv(b, fsName), s, op) })
							b.Run("impl=cgtest", func(b *testing.B) { benchGuard(b, newBenchEnv(b, fsName), s, op) })
						})
					}
				})
			}
		})
	}
}

func benchRaw(b *testing.B, env benchEnv, s shape, op string) {
	names := s.names()
	create := func() {
		for _, n := range names {
			if err := env.mkdir(n); err != nil {
				b.Fatal(err)
			}
		}
	}
	teardown := func() {
		for _, n := range slices.Backward(names) {
			if err := env.rmdir(n); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		switch op {
		case "create":
			create()
			b.StopTimer()
			teardown()
			b.StartTimer()
		case "teardown":
			b.StopTimer()
			create()
			b.StartTimer()
			teardown()
		default:
			create()
			teardown()
		}
	}
}

func benchGuard(b *testing.B, env benchEnv, s shape, op string) {
	var add []string
	if s.chain {
		add = []string{s.names()[s.n-1]}
	} else {
		add = s.names()
	}
	t := &benchT{b: b}
	var grp *cgtest.Group
	create := func() {
		for _, n := range add {
			if err := grp.AddCgroupNoCpuset(n); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		// A group per iteration, as a test has one: NewGroup is not
		// timed (BenchmarkNewGroup measures it).
		b.StopTimer()
		grp = cgtest.NewGroup(t, env.m)
		b.StartTimer()
		switch op {
		case "create":
			create()
			b.StopTimer()
			t.runCleanups()
			b.StartTimer()
		case "teardown":
			b.StopTimer()
			create()
			b.StartTimer()
			t.runCleanups()
		default:
			create()
			t.runCleanups()
		}
	}
}

// BenchmarkNewGroup measures what BenchmarkEmpty leaves out of its
// timing: making a group (on the kernel it reads /proc/self/cgroup to
// know where the test process is) and its one cleanup.
func BenchmarkNewGroup(b *testing.B) {
	for _, fsName := range []string{"kernel", "fake"} {
		b.Run("fs="+fsName, func(b *testing.B) {
			env := newBenchEnv(b, fsName)
			t := &benchT{b: b}
			b.ReportAllocs()
			for b.Loop() {
				cgtest.NewGroup(t, env.m)
				t.runCleanups()
			}
		})
	}
}

// sleeper returns the path of sleep(1), the process the busy benchmarks
// start, or skips.
func sleeper(b *testing.B) string {
	b.Helper()
	p, err := exec.LookPath("sleep")
	if err != nil {
		b.Skipf("busy benchmark needs sleep(1) in PATH to have processes to kill: %v", err)
	}
	return p
}

// spawnInto starts n sleepers directly inside the cgroup dir
// (CLONE_INTO_CGROUP), so the cgroup is populated before spawnInto
// returns.
func spawnInto(b *testing.B, sleep, dir string, n int) []*exec.Cmd {
	b.Helper()
	f, err := os.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	cmds := make([]*exec.Cmd, n)
	for i := range cmds {
		cmd := exec.Command(sleep, "1000")
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(f.Fd()), Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			reap(cmds[:i])
			b.Fatalf("start a sleeper in %s: %v", dir, err)
		}
		cmds[i] = cmd
	}
	return cmds
}

// reap kills (if still alive) and waits for every cmd, so that no
// process outlives the benchmark.
func reap(cmds []*exec.Cmd) {
	for _, c := range cmds {
		_ = c.Process.Kill()
		_ = c.Wait()
	}
}

// BenchmarkBusy tears down one cgroup holding 1 or 10 live processes on
// the kernel: cgtest's teardown (cgroup.kill, wait for "populated 0",
// rmdir) against a hand-written cgroup.kill + inotify + rmdir, and
// against ktstr's policy of a fixed 50 ms sleep before rmdir. The
// processes are started straight into the cgroup before the timer
// runs, and reaped after it stopped: only the teardown is timed.
//
// The hand-written baseline closes its inotify instance in a goroutine
// (impl=handwritten): on this kernel closing an inotify instance waits
// for an SRCU grace period, which impl=handwrittenSyncClose shows.
// impl=cgtestStart starts the processes with Group.Start instead, so
// that its cleanups kill and reap each process before the cgroup's
// teardown runs (reaping is then timed).
//
// The processes have run for settle (25 ms) when the timer starts, as a
// test's workload has: the kernel sends cgroup.events notifications at
// most once per 10 ms per file (rounded up to jiffies: 8 to 12 ms at
// HZ=250), delaying (not dropping) the rest, so a teardown right after
// the spawn that made the cgroup populated waits for that notification
// unless it reads the file again by itself. BenchmarkBusyJustStarted
// shows that case.
func BenchmarkBusy(b *testing.B) {
	for _, procs := range []int{1, 10} {
		b.Run(fmt.Sprintf("procs=%d", procs), func(b *testing.B) {
			for _, impl := range []string{"handwritten", "cgtest", "cgtestStart", "handwrittenSyncClose", "sleep50ms"} {
				b.Run("impl="+impl, func(b *testing.B) { benchBusy(b, impl, procs, settle) })
			}
		})
	}
}

// BenchmarkBusyJustStarted is BenchmarkBusy/procs=1 with the teardown
// right after the spawn, inside the kernel's 10 ms notification
// interval.
func BenchmarkBusyJustStarted(b *testing.B) {
	for _, impl := range []string{"handwritten", "cgtest"} {
		b.Run("procs=1/impl="+impl, func(b *testing.B) { benchBusy(b, impl, 1, 0) })
	}
}

// settle is how long the busy benchmarks' processes run before the
// teardown is timed: more than the kernel's interval between two
// cgroup.events notifications (CGROUP_FILE_NOTIFY_MIN_INTV, 10 ms, in
// whole jiffies; measured: after 11 ms the kill's notification was
// still held back about 4 ms on average, after 20 ms no longer). It is
// the workload's run time, not a wait for the kernel.
const settle = 25 * time.Millisecond

func benchBusy(b *testing.B, impl string, procs int, settle time.Duration) {
	sleep := sleeper(b)
	env := newBenchEnv(b, "kernel")
	dir := filepath.Join(env.m.ParentPath(), "busy")
	t := &benchT{b: b}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		var cmds []*exec.Cmd
		switch impl {
		case "cgtest", "cgtestStart":
			grp := cgtest.NewGroup(t, env.m)
			if err := grp.AddCgroupNoCpuset("busy"); err != nil {
				b.Fatal(err)
			}
			if impl == "cgtest" {
				cmds = spawnInto(b, sleep, dir, procs)
				break
			}
			for range procs {
				cmd := exec.Command(sleep, "1000")
				if err := grp.Start("busy", cmd); err != nil {
					b.Fatal(err)
				}
				cmds = append(cmds, cmd)
			}
		default:
			if err := unix.Mkdir(dir, 0o755); err != nil {
				b.Fatal(err)
			}
			cmds = spawnInto(b, sleep, dir, procs)
		}
		time.Sleep(settle)
		b.StartTimer()
		switch impl {
		case "cgtest", "cgtestStart":
			t.runCleanups()
		case "handwritten":
			killNotifyRmdir(b, dir, false)
		case "handwrittenSyncClose":
			killNotifyRmdir(b, dir, true)
		case "sleep50ms":
			killSleepRmdir(b, dir)
		}
		b.StopTimer()
		reap(cmds)
		b.StartTimer()
	}
}

// killNotifyRmdir is what a careful hand-written teardown does: watch
// cgroup.events, write cgroup.kill, read cgroup.events after each
// notification until it says "populated 0", rmdir. syncClose closes the
// inotify instance before returning; otherwise a goroutine does.
func killNotifyRmdir(b *testing.B, dir string, syncClose bool) {
	ifd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		b.Fatal(err)
	}
	events := filepath.Join(dir, "cgroup.events")
	if _, err := unix.InotifyAddWatch(ifd, events, unix.IN_MODIFY); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0); err != nil {
		b.Fatal(err)
	}
	var buf [4096]byte
	for {
		data, err := os.ReadFile(events)
		if err != nil {
			b.Fatal(err)
		}
		if bytes.Contains(data, []byte("populated 0")) {
			break
		}
		if _, err := unix.Read(ifd, buf[:]); err != nil {
			b.Fatal(err)
		}
	}
	if err := unix.Rmdir(dir); err != nil {
		b.Fatal(err)
	}
	if syncClose {
		unix.Close(ifd)
	} else {
		go unix.Close(ifd)
	}
}

// killSleepRmdir is ktstr's policy: empty the cgroup, sleep a fixed
// 50 ms, rmdir.
func killSleepRmdir(b *testing.B, dir string) {
	if err := os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0); err != nil {
		b.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if err := unix.Rmdir(dir); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRmdirPath takes apart the removal of one empty cgroup on the
// kernel, to explain BenchmarkEmpty's op=teardown: unix.Rmdir of an
// absolute path (impl=raw); cgroupfs.OSFS.Rmdir (impl=osfs); the same in
// a goroutine of its own that the caller waits for, as cgtest's
// teardown does so that a removal blocked in the kernel cannot hold the
// test past its budget (impl=osfsGoroutine); and unix.Rmdir after
// cgroup.events was read, as a teardown that looks before it removes
// would (impl=rawAfterRead).
func BenchmarkRmdirPath(b *testing.B) {
	for _, impl := range []string{"raw", "osfs", "osfsGoroutine", "rawAfterRead"} {
		b.Run("impl="+impl, func(b *testing.B) {
			env := newBenchEnv(b, "kernel")
			fsys := env.m.FS()
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				if err := env.mkdir("x"); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				var err error
				switch impl {
				case "raw":
					err = env.rmdir("x")
				case "osfs":
					err = fsys.Rmdir("x")
				case "osfsGoroutine":
					done := make(chan error, 1)
					go func() { done <- fsys.Rmdir("x") }()
					err = <-done
				case "rawAfterRead":
					if _, err = fsys.ReadFile("x/cgroup.events"); err == nil {
						err = env.rmdir("x")
					}
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
