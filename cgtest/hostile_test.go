package cgtest_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/fakefs"
	"golang.org/x/sys/unix"
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
	if err := os.Mkdir(filepath.Join(dir, "t"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "t", "cgroup.type"), []byte("threaded"), 0); err != nil {
		if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, os.ErrNotExist) {
			t.Skipf("no threaded cgroups here: %v", err)
		}
		t.Fatal(err)
	}
	// pid is a sleeper this test started.
	if err := os.WriteFile(filepath.Join(dir, "t", "cgroup.threads"), []byte(strconv.Itoa(pid)), 0); err != nil {
		t.Fatal(err)
	}
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
			if err := g.AddCgroupNoCpuset("w"); err != nil {
				t.Fatal(err)
			}
			// Not Start: its own cleanup would kill the sleeper before
			// the cgroup's teardown runs; the teardown must do it here.
			dir = filepath.Join(mgr.ParentPath(), "w")
			cmd, p := startIn(t, dir)
			pid = p
			makeThreaded(t, dir, cmd.Process.Pid)
			if explicit {
				if err := g.Kill("w"); err != nil {
					t.Errorf("Group.Kill(w): %v", err)
				}
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
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		cmd, p := startIn(t, dir)
		makeThreaded(t, dir, cmd.Process.Pid)
		fsys, err := cgroupfs.Open(base)
		if err != nil {
			t.Fatal(err)
		}
		defer fsys.Close()
		rep, err := cgtest.Sweep(fsys, ".")
		if err != nil {
			t.Fatal(err)
		}
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
				if err := g.AddCgroupNoCpuset("a"); err != nil {
					t.Fatal(err)
				}
				deep := "a"
				for i := 1; i <= depth; i++ {
					deep += fmt.Sprintf("/l%d", i)
				}
				if err := f.mgr.CreateCgroup(deep); err != nil {
					t.Fatal(err)
				}
				f.fs.Fail(fakefs.OpRmdir, "test/"+deep, errno, -1)
				rec.Finish()
				logs := rec.Logs()
				if len(logs) != 1 {
					t.Fatalf("teardown logged %d warnings, want one for a:\n%s", len(logs), strings.Join(logs, "\n"))
				}
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
