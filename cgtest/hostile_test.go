package cgtest_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/fakefs"
	"github.com/cgguard/cgguard/internal/kerneltest"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// Hostile cases for the guard on the real kernel, each beneath the
// test's own base cgroup, touching only processes the test started.

// deathWait bounds the wait for a killed sleeper: a deadline for the
// failure message, not a timing assertion.
const deathWait = 10 * time.Second

// makeThreaded makes dir/t a threaded child of the cgroup directory dir
// and moves the main thread of pid (a process the test started) into
// it, as containerd does for its users: dir becomes a thread root whose
// child's cgroup.procs cannot be read (EOPNOTSUPP). It skips when the
// kernel has no threaded cgroups.
func makeThreaded(t *testing.T, dir string, pid int) {
	t.Helper()
	assert.NilError(t, os.Mkdir(filepath.Join(dir, "t"), 0o755))
	if err := os.WriteFile(filepath.Join(dir, "t", "cgroup.type"), []byte("threaded"), 0); err != nil {
		if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, os.ErrNotExist) {
			t.Skipf("no threaded cgroups here: %v", err)
		}
		t.Fatal(err)
	}
	// pid is a sleeper this test started.
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "t", "cgroup.threads"), []byte(strconv.Itoa(pid)), 0))
	if _, err := os.ReadFile(filepath.Join(dir, "t", "cgroup.procs")); !errors.Is(err, unix.EOPNOTSUPP) {
		t.Fatalf("read %s/t/cgroup.procs: %v, want EOPNOTSUPP", dir, err)
	}
}

// TestHostileThreadedGuard: a thread of a live process in a threaded
// child of a tracked cgroup. Group.Kill, the group's teardown and Sweep
// each read cgroup.procs in every descendant, failed EOPNOTSUPP there
// and never killed: the process lived and every level leaked.
func TestHostileThreadedGuard(t *testing.T) {
	base := kernelBase(t)
	tried, held := 0, 0
	for _, explicit := range []bool{true, false} {
		tried++
		rec := &cgtest.Recorder{}
		var pid proc
		var dir string
		t.Run("group/kill="+strconv.FormatBool(explicit), func(t *testing.T) {
			mgr := cgtest.Root(t, cgtest.Under(base))
			g := cgtest.NewGroup(rec, mgr, cgtest.Strict())
			assert.NilError(t, g.AddCgroupNoCpuset("w"))
			// Not Start: its own cleanup would kill the sleeper before
			// the cgroup's teardown runs; the teardown must do it here.
			dir = filepath.Join(mgr.ParentPath(), "w")
			cmd, p := startIn(t, dir)
			pid = p
			makeThreaded(t, dir, cmd.Process.Pid)
			if explicit {
				assert.Check(t, g.Kill("w"), "Group.Kill(w)")
			}
			rec.Finish() // the group's teardown
			errs := rec.Errors()
			for _, e := range errs {
				t.Errorf("teardown: %s", e)
			}
			if !pid.dead(t, deathWait) {
				t.Errorf("sleeper %d still runs after the teardown", pid.pid)
			}
			if exists(dir) {
				t.Errorf("%s still exists after the teardown", dir)
			}
			if len(errs) == 0 && !exists(dir) {
				held++
			}
		})
	}

	t.Run("sweep", func(t *testing.T) {
		tried++
		// A stale root (its owner pid cannot exist) holding a thread
		// root and its threaded child with a live sleeper's thread.
		stale := filepath.Join(base, cgtest.RootName(cgtest.Owner{PID: neverPid, StartTime: 1}, t.Name(), 0))
		dir := filepath.Join(stale, "w")
		for _, d := range []string{stale, dir} {
			assert.NilError(t, os.Mkdir(d, 0o755))
		}
		cmd, p := startIn(t, dir)
		makeThreaded(t, dir, cmd.Process.Pid)
		fsys, err := cgroupfs.Open(base)
		assert.NilError(t, err)
		defer fsys.Close()
		rep, err := cgtest.Sweep(fsys, ".")
		assert.NilError(t, err)
		if rerr := rep.Err(); rerr != nil {
			t.Errorf("Sweep: %v", rerr)
		}
		if !p.dead(t, deathWait) {
			t.Errorf("sleeper %d of the stale root still runs after Sweep", p.pid)
		}
		if exists(stale) {
			t.Errorf("stale root %s still exists after Sweep:\n%s", stale, rep)
		} else if rep.Err() == nil && !strings.Contains(rep.String(), "NOT removed") {
			held++
		}
	})
	t.Logf("hostile threaded (cgtest): %d cases tried, %d held", tried, held)
}

// TestHostilePermanentErrorDeepBelow: a cgroup that can never be
// removed (EACCES, EPERM, EROFS on its rmdir) one, two or three levels
// below a tracked cgroup, made there by someone else. At depth two and
// more the level above answered EBUSY, which hid the permanent error,
// and the teardown retried until its whole budget was spent. It must
// give up at once, at any depth, and say the real cause.
func TestHostilePermanentErrorDeepBelow(t *testing.T) {
	tried, held := 0, 0
	for _, errno := range []unix.Errno{unix.EACCES, unix.EPERM, unix.EROFS} {
		for depth := 1; depth <= 3; depth++ {
			t.Run(fmt.Sprintf("%v/depth=%d", errno, depth), func(t *testing.T) {
				tried++
				f := newFixture(t)
				rec := newRecorder(t.Name())
				// A budget the teardown must not need: a fast failure
				// ends long before it.
				g := cgtest.NewGroup(rec, f.mgr, cgtest.Budget(2*time.Second))
				assert.NilError(t, g.AddCgroupNoCpuset("a"))
				deep := "a"
				for i := 1; i <= depth; i++ {
					deep += fmt.Sprintf("/l%d", i)
				}
				assert.NilError(t, f.mgr.CreateCgroup(deep))
				f.fs.Fail(fakefs.OpRmdir, "test/"+deep, errno, -1)
				rec.Finish()
				logs := rec.Logs()
				assert.Assert(t, is.Len(logs, 1), "teardown logged %d warnings, want one for a:\n%s", len(logs), strings.Join(logs, "\n"))
				ok := true
				if strings.Contains(logs[0], "budget") {
					t.Errorf("teardown spent its budget retrying, want it to give up at once:\n%s", logs[0])
					ok = false
				}
				if !strings.Contains(logs[0], errno.Error()) || !strings.Contains(logs[0], deep) {
					t.Errorf("warning does not name %v and %s:\n%s", errno, deep, logs[0])
					ok = false
				}
				if n := strings.Count(strings.Join(f.ops(fakefs.OpRmdir), "\n"), "rmdir test/a:"); n > 3 {
					t.Errorf("rmdir of a tried %d times, want at most 3", n)
					ok = false
				}
				if ok {
					held++
				}
			})
		}
	}
	t.Logf("hostile permanent errors below: %d cases tried, %d held", tried, held)
}

// hostileModeEnv, set to "sweep", makes TestHostileHelper a sweeper of
// the directory crashBaseEnv names, which prints one "VERDICT <name>
// <verdict> <removed>" line per cgroup it found.
const hostileModeEnv = "CGGUARD_HOSTILE_MODE"

// TestHostileHelper is not a test: it is the sweeping child of
// TestHostileNamespaces, and skips unless run as one.
func TestHostileHelper(t *testing.T) {
	if os.Getenv(hostileModeEnv) != "sweep" {
		t.Skip("not a test: the child process of TestHostileNamespaces (run only with " + hostileModeEnv + " set)")
	}
	fsys, err := cgroupfs.Open(os.Getenv(crashBaseEnv))
	assert.NilError(t, err)
	defer fsys.Close()
	rep, err := cgtest.Sweep(fsys, ".")
	assert.NilError(t, err)
	for _, c := range cgtest.SweptCgroups(rep) {
		fmt.Printf("VERDICT %s %s %v\n", c.Name, c.Verdict, c.Removed)
	}
	fmt.Print(rep)
}

// shifted is the unshare(1) command line prefix that runs a command in
// a new time namespace whose boot and monotonic clocks are 100000 s
// ahead, which is what shifts the start times in /proc/<pid>/stat.
var shifted = []string{"unshare", "--time", "--fork", "--kill-child", "--boottime", "100000", "--monotonic", "100000"}

// needUnshare skips unless unshare(1) can make the namespaces of args.
func needUnshare(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("unshare", append(args, "true")...).CombinedOutput(); err != nil {
		t.Skipf("unshare %v cannot run here: %v: %s", args, err, out)
	}
}

// TestHostileNamespaces: per-test roots made and swept from different
// time and pid namespaces. The start time in a root's name is read
// through its owner's time namespace, and its pid means something only
// in its owner's pid namespace: a sweep from elsewhere judged a live
// run's root stale, killed its workload and removed its cgroups. A
// root may be reclaimed only when its owner is dead for certain; these
// must be kept, as unknown.
func TestHostileNamespaces(t *testing.T) {
	base := kernelBase(t)
	needUnshare(t, shifted[1:]...)
	tried, held := 0, 0

	// 1. The owner runs in a shifted time namespace, the sweep here.
	t.Run("owner-in-time-namespace", func(t *testing.T) {
		tried++
		args := append(shifted[1:], os.Args[0], "-test.run=^TestCrashHelper$")
		cmd := exec.Command(shifted[0], args...)
		cmd.Env = append(os.Environ(), crashModeEnv+"=live", crashBaseEnv+"="+base)
		stdin, err := cmd.StdinPipe()
		assert.NilError(t, err)
		stdout, err := cmd.StdoutPipe()
		assert.NilError(t, err)
		var stderr syncBuffer
		cmd.Stderr = &stderr
		assert.NilError(t, cmd.Start())
		defer func() {
			stdin.Close() // the child ends normally and cleans up
			if err := cmd.Wait(); err != nil {
				t.Errorf("the child in the time namespace: %v\n%s", err, stderr.String())
			}
		}()
		sc := bufio.NewScanner(stdout)
		var root string
		var sleeper proc
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "READY" {
				pid, _ := strconv.Atoi(f[2])
				root, sleeper = f[1], watchProc(t, pid)
				break
			}
		}
		if root == "" {
			t.Fatalf("the child never said READY:\n%s", stderr.String())
		}
		go func() { _, _ = io.Copy(io.Discard, stdout) }()
		fsys, err := cgroupfs.Open(base)
		assert.NilError(t, err)
		defer fsys.Close()
		rep, err := cgtest.Sweep(fsys, ".")
		assert.NilError(t, err)
		if checkKept(t, rep, filepath.Base(root), sleeper) {
			held++
		}
	})

	// 2 and 3. The owner runs here, the sweep in a shifted time
	// namespace, or in a pid namespace of its own.
	for _, tc := range []struct {
		name string
		ns   []string
	}{
		{"sweeper-in-time-namespace", shifted},
		{"sweeper-in-pid-namespace", []string{"unshare", "--pid", "--fork", "--kill-child", "--mount-proc"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			needUnshare(t, tc.ns[1:]...)
			tried++
			mgr := cgtest.Root(t, cgtest.Under(base))
			g := cgtest.NewGroup(t, mgr, cgtest.Strict())
			assert.NilError(t, g.AddCgroupNoCpuset("w"))
			cmd := kerneltest.SleeperCmd(0)
			assert.NilError(t, g.Start("w", cmd))
			sleeper := watchProc(t, cmd.Process.Pid)
			args := append(tc.ns[1:], os.Args[0], "-test.run=^TestHostileHelper$", "-test.v")
			sweep := exec.Command(tc.ns[0], args...)
			sweep.Env = append(os.Environ(), hostileModeEnv+"=sweep", crashBaseEnv+"="+base)
			out, err := sweep.CombinedOutput()
			if err != nil {
				t.Fatalf("the sweeping child: %v\n%s", err, out)
			}
			name := filepath.Base(mgr.ParentPath())
			var verdict string
			for line := range strings.Lines(string(out)) {
				if f := strings.Fields(line); len(f) == 4 && f[0] == "VERDICT" && f[1] == name {
					verdict = f[2]
				}
			}
			ok := true
			if verdict != string(cgtest.SweepUnknown) {
				t.Errorf("the sweep in another namespace judged this run's live root %s %q, want %q:\n%s", name, verdict, cgtest.SweepUnknown, out)
				ok = false
			}
			if sleeper.dead(t, 0) {
				t.Errorf("the sweep in another namespace killed this run's workload %d", sleeper.pid)
				ok = false
			}
			if !exists(filepath.Join(mgr.ParentPath(), "w")) {
				t.Errorf("the sweep in another namespace removed this run's cgroups")
				ok = false
			}
			if ok {
				held++
			}
		})
	}
	t.Logf("hostile namespaces: %d cases tried, %d held", tried, held)
}

// checkKept checks that rep kept the root name, as unknown, and that its
// workload still runs.
func checkKept(t *testing.T, rep cgtest.SweepReport, name string, workload proc) bool {
	t.Helper()
	ok := true
	for _, c := range cgtest.SweptCgroups(rep) {
		if c.Name != name {
			continue
		}
		if c.Verdict != cgtest.SweepUnknown || c.Removed {
			t.Errorf("Sweep judged the live root %s %s (removed %v), want kept as unknown:\n%s", name, c.Verdict, c.Removed, rep)
			ok = false
		}
	}
	if workload.dead(t, 0) {
		t.Errorf("Sweep killed the workload %d of a live run", workload.pid)
		ok = false
	}
	return ok
}

// TestHostileReplacedCgroup: a tracked cgroup removed and made again
// under the same name by someone else, who runs a task in it. The
// teardown emptied it (killing their task) and removed it, as Group.Kill
// did: it must leave it alone and say so.
func TestHostileReplacedCgroup(t *testing.T) {
	tried, held := 0, 0
	for _, kill := range []bool{false, true} {
		t.Run(fmt.Sprintf("kill=%v", kill), func(t *testing.T) {
			tried++
			f := newFixture(t)
			rec := newRecorder(t.Name())
			g := cgtest.NewGroup(rec, f.mgr)
			assert.NilError(t, g.AddCgroupNoCpuset("a"))
			// Someone else: rmdir, mkdir, and a task of theirs inside.
			assert.NilError(t, f.fs.Rmdir("test/a"))
			assert.NilError(t, f.fs.Mkdir("test/a"))
			theirs, err := f.fs.Spawn("test/a")
			assert.NilError(t, err)
			ok := true
			if kill {
				if err := g.Kill("a"); err == nil || !strings.Contains(err.Error(), "someone else") {
					t.Errorf("Group.Kill of the cgroup someone else made again = %v, want a refusal saying so", err)
					ok = false
				}
			}
			rec.Finish()
			if pids := f.fs.Pids("test/a"); len(pids) != 1 || pids[0] != theirs {
				t.Errorf("their task %d: the cgroup lists %v after the teardown, want it alive there", theirs, pids)
				ok = false
			}
			logs := rec.Logs()
			if len(logs) != 1 || !strings.Contains(logs[0], "someone else") || !strings.Contains(logs[0], "test/a") {
				t.Errorf("teardown logged %q, want one warning that test/a was made again by someone else and is left alone", logs)
				ok = false
			}
			if ok {
				held++
			}
		})
	}
	t.Logf("hostile replaced cgroups: %d cases tried, %d held", tried, held)
}
