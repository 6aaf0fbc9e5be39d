package cgtest_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/internal/kerneltest"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// kernelBase creates, under the real cgroup2 mount, a directory of this
// test's own (kerneltest.Base) for Root to work beneath, so that nothing
// this package's tests make is ever beside a cgroup they did not create.
// Its cleanup fails the test if anything was left in it (a leak), and
// kills and removes it all anyway. It skips with the reason when the
// kernel cannot be used here.
func kernelBase(t *testing.T) string {
	t.Helper()
	return kerneltest.Base(t, kerneltest.CheckLeaks())
}

// Real processes, a shell with background children among them, are
// started inside the group's cgroups and are all gone, with their
// cgroups and the per-test root, when the test ends.
func TestKernelStartAndTeardown(t *testing.T) {
	base := kernelBase(t)
	mnt, _ := cgroupfs.Mountpoint()
	var rootDir string
	var pids []int
	t.Run("test", func(t *testing.T) {
		mgr := cgtest.Root(t, cgtest.Under(base))
		rootDir = mgr.ParentPath()
		if got := filepath.Base(rootDir); !strings.HasPrefix(got, "cgguard-") || !strings.Contains(got, "-TestKernelStartAndTeardown_test-") {
			t.Errorf("per-test root named %q, want cgguard-<pid>-<starttime>-<test>-<n>", got)
		}
		if owner, ok := cgtest.ParseRootName(rootDir); !ok || owner.PID != os.Getpid() {
			t.Errorf("ParseRootName(%q) = %+v, %v; want this process", rootDir, owner, ok)
		} else if alive, err := owner.Alive(); !alive || err != nil {
			t.Errorf("the owner of the root, this process, is not alive: %v, %v", alive, err)
		}
		g := cgtest.NewGroup(t, mgr, cgtest.Strict())
		for _, n := range []string{"work/a", "work/b"} {
			assert.NilError(t, g.AddCgroupNoCpuset(n))
		}
		for _, tc := range []struct {
			cgroup string
			args   []string
		}{
			{"work/a", []string{"sleep", "1000"}},
			// The shell's children are in the cgroup too, and outlive
			// the shell's own kill: teardown must wait for them.
			{"work/b", []string{"sh", "-c", "sleep 1000 & sleep 1000 & wait"}},
		} {
			cmd := exec.Command(tc.args[0], tc.args[1:]...)
			assert.NilError(t, g.Start(tc.cgroup, cmd), "Start(%q, %v)", tc.cgroup, tc.args)
			pids = append(pids, cmd.Process.Pid)
			if !cmd.SysProcAttr.UseCgroupFD {
				t.Errorf("Start did not use CLONE_INTO_CGROUP, though clone3 works on this kernel")
			}
			want := strings.TrimPrefix(filepath.Join(rootDir, tc.cgroup), mnt)
			if got := kerneltest.CgroupOf(t, cmd.Process.Pid); got != want {
				t.Errorf("pid %d is in cgroup %s, want %s", cmd.Process.Pid, got, want)
			}
		}
		if err := g.Start("elsewhere", exec.Command("true")); err == nil {
			t.Error("Start into a cgroup the group did not create succeeded, want an error")
		}
	})
	if _, err := os.Stat(rootDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the per-test root %s still exists after the test: %v", rootDir, err)
	}
	for _, pid := range pids {
		assert.Check(t, is.ErrorIs(unix.Kill(pid, 0), unix.ESRCH), "pid %d survived the test: kill(0)", pid)
	}
}

// After cgroup.kill, the kernel kills what is spawned into the cgroup
// (Linux 6.18): Start refuses instead.
func TestKernelStartRefusesKilledCgroup(t *testing.T) {
	base := kernelBase(t)
	mgr := cgtest.Root(t, cgtest.Under(base))
	g := cgtest.NewGroup(t, mgr, cgtest.Strict())
	assert.NilError(t, g.AddCgroupNoCpuset("a/b"))
	cmd := exec.Command("sleep", "1000")
	assert.NilError(t, g.Start("a/b", cmd))
	assert.NilError(t, g.Kill("a"), "Kill")
	if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("Wait after Kill = %v, want signal: killed", err)
	}
	for _, n := range []string{"a", "a/b"} {
		assert.Check(t, is.ErrorIs(g.Start(n, exec.Command("true")), cgtest.ErrKilledCgroup), "Start(%q) after Kill", n)
	}
	// A cgroup made after the kill is a new one.
	assert.NilError(t, g.AddCgroupNoCpuset("a/c"))
	fresh := exec.Command("true")
	assert.NilError(t, g.Start("a/c", fresh), "Start into a cgroup added after the kill")
	assert.Check(t, fresh.Wait(), "a process started into a cgroup added after the kill")
}

// noClone3Env makes TestKernelStartFallsBackWhenClone3IsRefused, in a
// child test binary, refuse clone3 and start there; it holds the
// directory for Root.
const noClone3Env = "CGGUARD_TEST_NOCLONE3_BASE"

// Where clone3 is refused (seccomp, old kernels), Start starts the
// process normally and moves it in. A child test binary refuses clone3
// with a seccomp filter (ENOSYS, as Docker's default profile answers) and
// starts a process there.
func TestKernelStartFallsBackWhenClone3IsRefused(t *testing.T) {
	if base := os.Getenv(noClone3Env); base != "" {
		startWithoutClone3(t, base)
		return
	}
	base := kernelBase(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestKernelStartFallsBackWhenClone3IsRefused$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), noClone3Env+"="+base)
	out, err := cmd.CombinedOutput()
	t.Logf("the child that refuses clone3:\n%s", out)
	assert.NilError(t, err, "the child that refuses clone3 failed")
	assert.Assert(t, strings.Contains(string(out), "--- PASS: TestKernelStartFallsBackWhenClone3IsRefused"), "the child did not run the test")
}

// startWithoutClone3 refuses clone3 to every thread of this process,
// then starts a process with Start in a per-test root under base.
func startWithoutClone3(t *testing.T, base string) {
	refuseClone3(t)
	if _, _, errno := unix.Syscall(unix.SYS_CLONE3, 0, 0, 0); errno != unix.ENOSYS {
		t.Fatalf("clone3 after the seccomp filter: %v, want ENOSYS", errno)
	}
	mgr := cgtest.Root(t, cgtest.Under(base))
	g := cgtest.NewGroup(t, mgr, cgtest.Strict())
	assert.NilError(t, g.AddCgroupNoCpuset("w"))
	cmd := exec.Command("sleep", "1000")
	assert.NilError(t, g.Start("w", cmd))
	if cmd.SysProcAttr.UseCgroupFD {
		t.Errorf("SysProcAttr.UseCgroupFD is set, want the start-then-move way")
	}
	mnt, _ := cgroupfs.Mountpoint()
	want := strings.TrimPrefix(filepath.Join(mgr.ParentPath(), "w"), mnt)
	if got := kerneltest.CgroupOf(t, cmd.Process.Pid); got != want {
		t.Errorf("pid %d is in cgroup %s, want %s", cmd.Process.Pid, got, want)
	}
}

// refuseClone3 installs, on every thread of this process
// (SECCOMP_FILTER_FLAG_TSYNC), a seccomp filter under which clone3
// fails with ENOSYS and every other system call is allowed. It cannot be
// undone: only a child test binary calls it.
func refuseClone3(t *testing.T) {
	filter := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0}, // seccomp_data.nr
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: unix.SYS_CLONE3},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	assert.NilError(t, unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
	if _, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&prog))); errno != 0 {
		t.Fatalf("install the seccomp filter that refuses clone3: %v", errno)
	}
}

// A test that moved its own process into a tracked cgroup survives the
// teardown (which would otherwise kill it) and is back where it was.
func TestKernelTestProcessInsideSurvives(t *testing.T) {
	base := kernelBase(t)
	home := kerneltest.CgroupOf(t, os.Getpid())
	t.Run("test", func(t *testing.T) {
		mgr := cgtest.Root(t, cgtest.Under(base))
		g := cgtest.NewGroup(t, mgr, cgtest.Strict())
		assert.NilError(t, g.AddCgroupNoCpuset("me"))
		assert.NilError(t, mgr.MoveTask("me", os.Getpid()))
		if got := kerneltest.CgroupOf(t, os.Getpid()); got == home {
			t.Fatalf("the test process did not move: still in %s", got)
		}
	})
	if got := kerneltest.CgroupOf(t, os.Getpid()); got != home {
		t.Errorf("after teardown the test process is in %s, want %s (where it was)", got, home)
	}
}

// Root skips with the exact reason where cgroups cannot be made, and
// cleans up what it made before skipping.
func TestRootSkipsWithReason(t *testing.T) {
	t.Setenv(cgtest.NoSkipEnv, "") // the skips are what this test checks
	t.Run("not cgroup2", func(t *testing.T) {
		rec := newRecorder(t.Name())
		if mgr := cgtest.Root(rec, cgtest.Under(t.TempDir())); mgr != nil {
			t.Errorf("Root on a tmpdir returned a Manager")
		}
		rec.Finish()
		if len(rec.Skips()) != 1 || !strings.Contains(rec.Skips()[0], "not a cgroup2 filesystem") {
			t.Errorf("skips = %q, want one saying the directory is not cgroup2", rec.Skips())
		}
	})
	t.Run("controller missing", func(t *testing.T) {
		base := kernelBase(t)
		rec := newRecorder(t.Name())
		mgr := cgtest.Root(rec, cgtest.Under(base), cgtest.RequireControllers("cpuset", "no_such_controller"))
		if mgr != nil {
			t.Errorf("Root returned a Manager although a controller is missing")
		}
		rec.Finish()
		if len(rec.Skips()) != 1 || !strings.Contains(rec.Skips()[0], "controller is not available to new cgroups here") {
			t.Errorf("skips = %q, want one naming the missing controller", rec.Skips())
		}
		// kernelBase's cleanup checks that the root was removed.
	})
}

func TestDescribeProcess(t *testing.T) {
	got := cgtest.DescribeProcess(os.Getpid())
	comm, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if want := "(" + strings.TrimSpace(string(comm)) + ", state "; !strings.HasPrefix(got, want) {
		t.Errorf("DescribeProcess(self) = %q, want it to start with %q", got, want)
	}
	if got := cgtest.DescribeProcess(4194305); !strings.Contains(got, "fake task") {
		t.Errorf("DescribeProcess(fake pid) = %q, want it to say it is a fake task", got)
	}
	if got := cgtest.DescribeProcess(4194304 - 1); !strings.Contains(got, "exited") && !strings.Contains(got, "state") {
		t.Errorf("DescribeProcess(unused pid) = %q", got)
	}
}

// Root honours $CGGUARD_CGROUP_PARENT, the way to point it at a
// delegated subtree.
func TestKernelRootUnderEnvParent(t *testing.T) {
	base := kernelBase(t)
	t.Setenv(cgtest.ParentEnv, base)
	var dir string
	t.Run("test", func(t *testing.T) {
		mgr := cgtest.Root(t)
		dir = mgr.ParentPath()
		if filepath.Dir(dir) != base {
			t.Errorf("the per-test root is %s, want it under %s", dir, base)
		}
	})
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the per-test root %s still exists after the test: %v", dir, err)
	}
}

// A real task that teardown cannot get rid of is named in the hint,
// with its command and state from /proc.
func TestKernelHintNamesLiveTasks(t *testing.T) {
	base := kernelBase(t)
	mgr := cgtest.Root(t, cgtest.Under(base))
	// Drain to a cgroup that does not exist: every drain fails, so the
	// task stays and rmdir keeps answering EBUSY.
	ops := cgroupfs.NewManager(mgr.FS(), ".", cgroupfs.DrainTo("nowhere"))
	rec := newRecorder(t.Name())
	g := cgtest.NewGroup(rec, ops, cgtest.WithPolicy(cgtest.Drain), cgtest.Budget(100*time.Millisecond))
	assert.NilError(t, g.AddCgroupNoCpuset("stuck"))
	cmd := exec.Command("sleep", "1000")
	assert.NilError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }) // runs before Root's cleanup
	assert.NilError(t, ops.MoveTask("stuck", cmd.Process.Pid))
	rec.Finish()
	logs := rec.Logs()
	assert.Assert(t, is.Len(logs, 1), "warnings = %q, want one", logs)
	// The state is the task's at teardown: sleeping, or, on a busy
	// machine, still running its start-up.
	want := fmt.Sprintf("hint: the cgroup still has live tasks (pid %d (sleep, state ", cmd.Process.Pid)
	assert.Check(t, is.Contains(logs[0], want), "warning lacks %q:\n%s", want, logs[0])
	t.Log(logs[0])
}
