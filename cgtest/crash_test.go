package cgtest_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/internal/kerneltest"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// The crash tests run this package's test binary again as a child test
// process (TestCrashHelper, chosen by crashModeEnv) that makes a
// per-test root with cgtest.Root, a group of nested cgroups and a
// sleeping process in them, says READY, and then dies the way a real
// test run does without running its cleanups: SIGKILL, or go test's
// -timeout panic. The sleeper is the test binary again (kerneltest.SleeperCmd),
// as the cgvm VM has no sleep(1).
const (
	crashModeEnv = "CGGUARD_CRASH_MODE" // kill, timeout, live or inside
	crashBaseEnv = "CGGUARD_CRASH_BASE" // the directory Root works under
)

// deadline bounds every wait of these tests for a child or the kernel:
// generous, as a wait that succeeds ends at once.
const deadline = 30 * time.Second

// TestCrashHelper is not a test: it is the child process of
// TestCrashReclaim, and skips unless run as one.
func TestCrashHelper(t *testing.T) {
	mode := os.Getenv(crashModeEnv)
	switch mode {
	case "":
		t.Skip("not a test: the child process of TestCrashReclaim (run only with " + crashModeEnv + " set)")
	case "inside":
		sweepFromInside(t)
		return
	}
	mgr := cgtest.Root(t, cgtest.Under(os.Getenv(crashBaseEnv)))
	g := cgtest.NewGroup(t, mgr)
	for _, name := range []string{"work/a/b", "work/c"} {
		assert.NilError(t, g.AddCgroupNoCpuset(name))
	}
	sleeper := kerneltest.SleeperCmd(0)
	assert.NilError(t, g.Start("work/a/b", sleeper))
	fmt.Printf("READY %s %d\n", mgr.ParentPath(), sleeper.Process.Pid)
	// Block until the parent closes stdin (mode live: then end
	// normally, running every cleanup), or until we are killed (kill)
	// or the -test.timeout panic ends the process (timeout).
	_, _ = io.Copy(io.Discard, os.Stdin)
	if mode != "live" {
		t.Errorf("mode %s: stdin closed before the process was killed", mode)
	}
}

// sweepFromInside moves this process into a stale root under the base,
// sweeps, prints what Sweep said, and moves back: the child half of
// TestSweepRefusesWhenInside. Should Sweep kill, only this child dies.
func sweepFromInside(t *testing.T) {
	base := os.Getenv(crashBaseEnv)
	stale := filepath.Join(base, cgtest.RootName(cgtest.Owner{PID: neverPid, StartTime: 1}, "TestInside", 1))
	for _, d := range []string{stale, stale + "/work"} {
		assert.NilError(t, os.Mkdir(d, 0o755))
	}
	home, err := cgroupfs.SelfCgroup()
	assert.NilError(t, err)
	mnt, err := cgroupfs.Mountpoint()
	assert.NilError(t, err)
	pid := []byte(strconv.Itoa(os.Getpid()))
	assert.NilError(t, os.WriteFile(stale+"/work/cgroup.procs", pid, 0))
	fsys, err := cgroupfs.Open(base)
	assert.NilError(t, err)
	rep, err := cgtest.Sweep(fsys, ".")
	fsys.Close()
	assert.NilError(t, os.WriteFile(filepath.Join(mnt, home, "cgroup.procs"), pid, 0), "move back home to %s", home)
	assert.NilError(t, err)
	for _, c := range cgtest.SweptCgroups(rep) {
		fmt.Printf("RESULT %s %s removed=%v inside=%v\n", c.Name, c.Verdict, c.Removed, errors.Is(c.Err, cgroupfs.ErrCallerInside))
		fmt.Printf("ERROR %v\n", c.Err)
	}
}

// neverPid is above the kernel's PID_MAX_LIMIT (4194304): an owner with
// it is dead for sure.
const neverPid = 4194305

// proc is a process the test watches through a pidfd, so that it can
// wait for its death with a deadline, and tell it from a process that
// reuses its pid later.
type proc struct {
	pid   int
	pidfd int
}

func watchProc(t *testing.T, pid int) proc {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	assert.NilError(t, err, "pidfd_open(%d)", pid)
	t.Cleanup(func() { unix.Close(fd) })
	return proc{pid: pid, pidfd: fd}
}

// dead reports whether the process has exited, waiting up to wait for
// it: a pidfd polls readable once the process is a zombie or reaped.
func (p proc) dead(t *testing.T, wait time.Duration) bool {
	t.Helper()
	fds := []unix.PollFd{{Fd: int32(p.pidfd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, int(wait.Milliseconds()))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		assert.NilError(t, err, "poll the pidfd of %d", p.pid)
		return n > 0
	}
}

// reap collects the exit status of a dead sleeper whose parent died, so
// that no zombie is left: with PR_SET_CHILD_SUBREAPER this process
// inherited it. A process that is not our child (ECHILD) was reaped by
// its own parent.
func (p proc) reap(t *testing.T) {
	t.Helper()
	var ws unix.WaitStatus
	if _, err := unix.Wait4(p.pid, &ws, unix.WNOHANG, nil); err != nil && !errors.Is(err, unix.ECHILD) {
		t.Errorf("reap pid %d: %v", p.pid, err)
	}
}

// crashChild is a running TestCrashHelper.
type crashChild struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stderr  *syncBuffer
	root    string // absolute directory of its per-test root
	sleeper proc
	exited  chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startCrashChild runs TestCrashHelper in mode under base and waits for
// it to say READY.
func startCrashChild(t *testing.T, base, mode string, args ...string) *crashChild {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestCrashHelper$"}, args...)...)
	cmd.Env = append(os.Environ(), crashModeEnv+"="+mode, crashBaseEnv+"="+base)
	c := &crashChild{cmd: cmd, stderr: &syncBuffer{}, exited: make(chan error, 1)}
	cmd.Stderr = c.stderr
	stdout, err := cmd.StdoutPipe()
	assert.NilError(t, err)
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	assert.NilError(t, cmd.Start(), "start the %s child", mode)
	t.Cleanup(func() {
		// Normally gone already; this only matters when the test failed
		// half way.
		_ = cmd.Process.Kill()
		c.stdin.Close()
		select {
		case <-c.exited:
		case <-time.After(deadline):
			t.Errorf("the %s child, pid %d, did not exit within %v of SIGKILL", mode, cmd.Process.Pid, deadline)
		}
	})
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		c.exited <- cmd.Wait() // after stdout is drained, as StdoutPipe requires
	}()
	var seen []string
	timeout := time.After(deadline)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the %s child ended before it was READY; stdout %q, stderr:\n%s", mode, seen, c.stderr)
			}
			seen = append(seen, l)
			f := strings.Fields(l)
			if len(f) != 3 || f[0] != "READY" {
				continue
			}
			pid, err := strconv.Atoi(f[2])
			if err != nil {
				t.Fatalf("the %s child said %q", mode, l)
			}
			c.root = f[1]
			c.sleeper = watchProc(t, pid)
			return c
		case <-timeout:
			t.Fatalf("the %s child was not READY within %v; stdout %q, stderr:\n%s", mode, deadline, seen, c.stderr)
		}
	}
}

// wait waits for the child to exit, with the deadline.
func (c *crashChild) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-c.exited:
		c.exited <- err // for the cleanup
		return err
	case <-time.After(deadline):
		t.Fatalf("the child pid %d did not exit within %v; stderr:\n%s", c.cmd.Process.Pid, deadline, c.stderr)
		return nil
	}
}

// crashBase creates this test's own cgroup under the real cgroup2 mount
// (kerneltest.Base), for the roots of the parent and its children and
// the foreign and forged cgroups, and returns the mount and the base.
// Its cleanup, which runs last, counts as a leak anything left in it,
// then kills and removes it all anyway, so that no process or cgroup
// outlives the test even when it failed.
func crashBase(t *testing.T) (mnt, base string) {
	t.Helper()
	base = kerneltest.Base(t, kerneltest.CheckLeaks())
	return filepath.Dir(base), base
}

// startIn starts a sleeper inside the cgroup directory dir (not through
// a Group: these stand for cgroups the test did not make with cgtest),
// and registers its kill-and-reap.
func startIn(t *testing.T, dir string) (*exec.Cmd, proc) {
	t.Helper()
	f, err := os.Open(dir)
	assert.NilError(t, err)
	defer f.Close()
	cmd := kerneltest.SleeperCmd(0)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(f.Fd())}
	assert.NilError(t, cmd.Start(), "start a sleeper in %s", dir)
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, watchProc(t, cmd.Process.Pid)
}

// cgroupOfPid returns the absolute cgroup directory of pid.
func cgroupOfPid(t *testing.T, mnt string, pid int) string {
	t.Helper()
	return filepath.Join(mnt, kerneltest.CgroupOf(t, pid))
}

func exists(dir string) bool {
	_, err := os.Stat(dir)
	return err == nil
}

// TestCrashReclaim kills test processes the two ways that skip their
// cleanups (SIGKILL, and the -test.timeout panic) and checks that a
// later Sweep reclaims what they left, their workloads included, as well
// as a root whose owner pid now names another process; and that it
// leaves alone the root of a live run (this process's and a running
// child's) and cgroups cgtest did not make.
func TestCrashReclaim(t *testing.T) {
	mnt, base := crashBase(t)
	// Sleepers orphaned by the killed children are reparented to us, so
	// that we can reap them: no zombie is left behind.
	assert.NilError(t, unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "PR_SET_CHILD_SUBREAPER")
	t.Cleanup(func() { _ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) })

	// A live run: this process, with a workload in its own root.
	mine := cgtest.Root(t, cgtest.Under(base))
	g := cgtest.NewGroup(t, mine, cgtest.Strict())
	assert.NilError(t, g.AddCgroupNoCpuset("mine/x"))
	mySleeper := kerneltest.SleeperCmd(0)
	assert.NilError(t, g.Start("mine/x", mySleeper))
	mySleep := watchProc(t, mySleeper.Process.Pid)

	// Foreign cgroups, one with the prefix but not a root's name, each
	// with a process inside.
	var foreignSleep []proc
	for _, name := range []string{"foreign", "cgguard-notaroot"} {
		dir := filepath.Join(base, name)
		assert.NilError(t, os.Mkdir(dir, 0o755))
		t.Cleanup(func() {
			assert.Check(t, unix.Rmdir(dir), "remove %s", dir)
		})
		_, p := startIn(t, dir)
		foreignSleep = append(foreignSleep, p)
	}

	// The children: every one READY before any dies, so that a sweep a
	// child's Root may run cannot reclaim before ours.
	killed := startCrashChild(t, base, "kill")
	live := startCrashChild(t, base, "live")
	timedOut := startCrashChild(t, base, "timeout", "-test.timeout=2s")
	for _, c := range []*crashChild{killed, live, timedOut} {
		if got := cgroupOfPid(t, mnt, c.sleeper.pid); got != filepath.Join(c.root, "work/a/b") {
			t.Fatalf("the sleeper of child %d is in %s, want %s/work/a/b", c.cmd.Process.Pid, got, c.root)
		}
	}

	// A root whose owner's pid is alive but names another process (pid
	// reuse): this process's pid, with a start time that is not ours.
	// Made after the children's Roots, which may sweep.
	self, err := cgtest.Self()
	assert.NilError(t, err)
	forged := filepath.Join(base, cgtest.RootName(cgtest.Owner{PID: self.PID, StartTime: self.StartTime + 1}, "TestPidReused", 1))
	for _, dir := range []string{forged, forged + "/work"} {
		assert.NilError(t, os.Mkdir(dir, 0o755))
	}
	forgedCmd, forgedSleep := startIn(t, forged+"/work")

	assert.NilError(t, killed.cmd.Process.Signal(unix.SIGKILL))
	var ee *exec.ExitError
	if err := killed.wait(t); !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != unix.SIGKILL {
		t.Fatalf("the SIGKILLed child ended with %v, want killed by SIGKILL", err)
	}
	if err := timedOut.wait(t); !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(timedOut.stderr.String(), "panic: test timed out after 2s") {
		t.Fatalf("the timeout child ended with %v, want exit status 2 and the -test.timeout panic; stderr:\n%s", err, timedOut.stderr)
	}
	for _, c := range []*crashChild{killed, timedOut} {
		if !exists(c.root + "/work/a/b") {
			t.Fatalf("the crashed child's root %s is gone before any sweep: did its cleanups run?", c.root)
		}
		if c.sleeper.dead(t, 0) {
			t.Fatalf("the crashed child's sleeper %d died with it: nothing left for the sweep to kill", c.sleeper.pid)
		}
	}

	baseFS, err := cgroupfs.Open(base)
	assert.NilError(t, err)
	defer baseFS.Close()
	rel := func(dir string) string { return strings.TrimPrefix(dir, base+"/") }
	wantVerdicts := map[string]cgtest.Verdict{
		rel(killed.root):       cgtest.SweepStale,
		rel(timedOut.root):     cgtest.SweepStale,
		rel(forged):            cgtest.SweepStale,
		rel(mine.ParentPath()): cgtest.SweepLive,
		rel(live.root):         cgtest.SweepLive,
		"foreign":              cgtest.SweepForeign,
		"cgguard-notaroot":     cgtest.SweepForeign,
	}
	check := func(rep cgtest.SweepReport) {
		t.Helper()
		got := map[string]cgtest.Verdict{}
		for _, c := range cgtest.SweptCgroups(rep) {
			got[c.Name] = c.Verdict
		}
		for name, want := range wantVerdicts {
			if got[name] != want {
				t.Errorf("%s: verdict %q, want %q", name, got[name], want)
			}
		}
		if len(got) != len(wantVerdicts) {
			t.Errorf("the sweep found %d cgroups, want %d:\n%s", len(got), len(wantVerdicts), rep)
		}
	}
	stillThere := func(when string) {
		t.Helper()
		for _, c := range []*crashChild{live} {
			if !exists(c.root+"/work/a/b") || c.sleeper.dead(t, 0) {
				t.Errorf("%s: the live child's root or sleeper is gone", when)
			}
		}
		if !exists(mine.ParentPath()+"/mine/x") || mySleep.dead(t, 0) {
			t.Errorf("%s: this process's root or sleeper is gone", when)
		}
		for i, p := range foreignSleep {
			if p.dead(t, 0) {
				t.Errorf("%s: the sleeper in foreign cgroup %d was killed", when, i)
			}
		}
	}

	dry, err := cgtest.SweepDryRun(baseFS, ".")
	assert.NilError(t, err)
	check(dry)
	for _, c := range cgtest.SweptCgroups(dry) {
		if c.Removed {
			t.Errorf("dry run removed %s", c.Name)
		}
	}
	for _, dir := range []string{killed.root, timedOut.root, forged} {
		if !exists(dir) {
			t.Errorf("dry run removed %s", dir)
		}
	}
	for _, p := range []proc{killed.sleeper, timedOut.sleeper, forgedSleep} {
		if p.dead(t, 0) {
			t.Errorf("dry run killed pid %d", p.pid)
		}
	}
	stillThere("after the dry run")

	rep, err := cgtest.Sweep(baseFS, ".")
	assert.NilError(t, err)
	t.Logf("sweep:\n%s", rep)
	check(rep)
	reclaimed := 0
	for _, c := range cgtest.SweptCgroups(rep) {
		if c.Verdict != cgtest.SweepStale {
			continue
		}
		if !c.Removed || c.Err != nil {
			t.Errorf("stale %s: Removed=%v Err=%v, want reclaimed", c.Name, c.Removed, c.Err)
			continue
		}
		reclaimed++
		t.Logf("reclaimed %s: %d cgroups, %d tasks killed, in %v", c.Name, len(c.Cgroups), len(c.Pids), c.Took)
	}
	for _, dir := range []string{killed.root, timedOut.root, forged} {
		if exists(dir) {
			t.Errorf("stale root %s survived the sweep", dir)
		}
	}
	for _, p := range []proc{killed.sleeper, timedOut.sleeper} {
		if !p.dead(t, deadline) {
			t.Errorf("the sleeper %d of a crashed child is alive after the sweep", p.pid)
		}
		p.reap(t)
	}
	if !forgedSleep.dead(t, deadline) {
		t.Errorf("the sleeper %d in the pid-reused root is alive after the sweep", forgedSleep.pid)
	}
	if err := forgedCmd.Wait(); !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != unix.SIGKILL {
		t.Errorf("the sleeper in the pid-reused root ended with %v, want SIGKILL from cgroup.kill", err)
	}
	stillThere("after the sweep")

	again, err := cgtest.Sweep(baseFS, ".")
	if err != nil || again.Counts().Stale != 0 {
		t.Errorf("a second sweep found %d stale roots (%v), want none:\n%s", again.Counts().Stale, err, again)
	}

	// The live child ends normally and cleans up after itself.
	live.stdin.Close()
	if err := live.wait(t); err != nil {
		t.Errorf("the live child failed: %v\n%s", err, live.stderr)
	}
	if exists(live.root) || !live.sleeper.dead(t, deadline) {
		t.Errorf("the live child's own cleanup left its root or sleeper")
	}
	t.Logf("crash scenarios: %d run (SIGKILL, -test.timeout panic, pid reuse), %d reclaimed; live roots kept: %d; foreign kept: %d",
		3, reclaimed, rep.Counts().Live, rep.Counts().Foreign)
	if reclaimed != 3 {
		t.Errorf("reclaimed %d of 3 crash scenarios", reclaimed)
	}
}

// TestCrashNextRunReclaims is the whole story: a test binary is killed,
// and the next test's cgtest.Root reclaims what it left (its root and
// its workload), with no sweep called by hand.
func TestCrashNextRunReclaims(t *testing.T) {
	_, base := crashBase(t)
	assert.NilError(t, unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "PR_SET_CHILD_SUBREAPER")
	t.Cleanup(func() { _ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) })
	killed := startCrashChild(t, base, "kill")
	assert.NilError(t, killed.cmd.Process.Signal(unix.SIGKILL))
	_ = killed.wait(t)
	if !exists(killed.root) {
		t.Fatalf("the killed child's root %s is gone before the next run", killed.root)
	}
	t.Run("next run", func(t *testing.T) {
		cgtest.Root(t, cgtest.Under(base))
	})
	if exists(killed.root) {
		// Clean up by hand, so that the base's leak check measures
		// only what Root should have done.
		fsys, err := cgroupfs.Open(base)
		assert.NilError(t, err)
		defer fsys.Close()
		if _, err := cgtest.Sweep(fsys, "."); err != nil {
			t.Fatal(err)
		}
		killed.sleeper.dead(t, deadline)
		killed.sleeper.reap(t)
		t.Errorf("the next run's cgtest.Root left the stale root %s of a killed run (removed by hand): Root must sweep the directory it makes roots in", killed.root)
	}
	if !killed.sleeper.dead(t, deadline) {
		t.Errorf("the killed child's sleeper %d survived the next run's Root", killed.sleeper.pid)
	}
	killed.sleeper.reap(t)
}

// Sweep never kills the process that runs it: a sweeper that sits in a
// stale root (it moved itself there) keeps the root and says why. The
// sweeper is a child process, so that a bug kills only the child.
func TestSweepRefusesWhenInside(t *testing.T) {
	_, base := crashBase(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$")
	cmd.Env = append(os.Environ(), crashModeEnv+"=inside", crashBaseEnv+"="+base)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the sweeping child failed: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
	}
	stale := cgtest.RootName(cgtest.Owner{PID: neverPid, StartTime: 1}, "TestInside", 1)
	if want := "RESULT " + stale + " stale removed=false inside=true"; !strings.Contains(string(out), want) {
		t.Errorf("the child's sweep said:\n%s\nwant %q", out, want)
	}
	assert.Check(t, is.Contains(string(out), "is inside"), "the error does not say the sweeper is inside:\n%s", out)
	if !exists(filepath.Join(base, stale, "work")) {
		t.Fatalf("the root the sweeper sat in was removed")
	}
	// Now that nobody is inside, a sweep reclaims it.
	fsys, err := cgroupfs.Open(base)
	assert.NilError(t, err)
	defer fsys.Close()
	rep, err := cgtest.Sweep(fsys, ".")
	if err != nil || rep.Err() != nil || rep.Counts().Stale != 1 || exists(filepath.Join(base, stale)) {
		t.Errorf("the sweep after the child left: %v, %v\n%s", err, rep.Err(), rep)
	}
}
