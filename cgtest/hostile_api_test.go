package cgtest_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/fakefs"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
)

// Hostile uses of the API (issue 11, items 12, 13, 14 and 17): what a
// test writer gets wrong, or an environment variable left set.

// nilManagerEnv, set to "untyped" or "typed", makes TestNilManagerChild
// call NewGroup with a nil Manager under a real testing.T.
const nilManagerEnv = "CGGUARD_NIL_MANAGER"

// TestNilManagerChild is not a test: it is the child process of
// TestHostileNilManager, and skips unless run as one. It prints the
// line of its NewGroup call, then makes it.
func TestNilManagerChild(t *testing.T) {
	mode := os.Getenv(nilManagerEnv)
	if mode == "" {
		t.Skip("not a test: the child process of TestHostileNilManager (run only with " + nilManagerEnv + " set)")
	}
	var typed *cgroupfs.Manager
	_, file, line, _ := runtime.Caller(0)
	fmt.Printf("CALL %s:%d\n", filepath.Base(file), line+3)
	if mode == "untyped" {
		cgtest.NewGroup(t, nil) // line+3
	} else {
		cgtest.NewGroup(t, typed) // line+5
	}
	t.Errorf("NewGroup with a nil Manager returned")
}

// TestHostileNilManager (item 13): NewGroup(t, nil), or a typed nil
// *Manager, crashed the test binary from a library goroutine with a nil
// dereference, and the user's line was nowhere. Under a real testing.T
// the test fails at the call, naming its line, with no panic; with a T
// whose Fatalf returns, every method of the group returned refuses work
// and its cleanups run without a panic.
func TestHostileNilManager(t *testing.T) {
	tried, held := 0, 0
	for i, mode := range []string{"untyped", "typed"} {
		tried++
		cmd := exec.Command(os.Args[0], "-test.run=^TestNilManagerChild$", "-test.v")
		cmd.Env = append(os.Environ(), nilManagerEnv+"="+mode)
		out, err := cmd.CombinedOutput()
		var call string
		for l := range strings.Lines(string(out)) {
			if c, ok := strings.CutPrefix(l, "CALL "); ok {
				call = strings.TrimSpace(c)
			}
		}
		if mode == "typed" && call != "" {
			file, n, _ := strings.Cut(call, ":")
			var line int
			fmt.Sscan(n, &line)
			call = fmt.Sprintf("%s:%d", file, line+2)
		}
		var exit *exec.ExitError
		failed := errors.As(err, &exit) && exit.ExitCode() == 1
		atCall := call != "" && strings.Contains(string(out), call+": cgtest: NewGroup: the Manager is nil")
		panicked := strings.Contains(string(out), "panic:") || strings.Contains(string(out), "nil pointer")
		if failed && atCall && !panicked {
			held++
		} else {
			t.Errorf("case %d (%s nil): exit %v, failure at the call (%s) %v, panic %v; output:\n%s", i, mode, err, call, atCall, panicked, out)
		}
	}
	var typed *cgroupfs.Manager
	for _, mgr := range []*cgroupfs.Manager{nil, typed} {
		rec := newRecorder(t.Name())
		var g *cgtest.Group
		tried++
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("NewGroup with a nil Manager panicked: %v", p)
				}
			}()
			g = cgtest.NewGroup(rec, mgr)
			held++
		}()
		if g == nil {
			continue
		}
		for what, call := range map[string]func() error{
			"AddCgroup":         func() error { return g.AddCgroup("a", cgroupfs.NewCPUSet(0)) },
			"AddCgroupNoCpuset": func() error { return g.AddCgroupNoCpuset("a") },
			"Apply":             func() error { return g.Apply(cgtest.Layout{{Name: "a"}}) },
			"Spawn":             func() error { _, err := g.Spawn("a", cgtest.Sleeper()); return err },
			"Start":             func() error { return g.Start("a", exec.Command("true")) },
			"Kill":              func() error { return g.Kill("a") },
		} {
			tried++
			err := func() (err error) {
				defer func() {
					if p := recover(); p != nil {
						err = fmt.Errorf("panic: %v", p)
					}
				}()
				return call()
			}()
			if err != nil && !strings.HasPrefix(err.Error(), "panic") {
				held++
			} else {
				t.Errorf("%s on a group of a nil Manager = %v, want an error", what, err)
			}
		}
		tried++
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("the cleanups of a group of a nil Manager panicked: %v", p)
					held--
				}
			}()
			held++
			rec.Finish()
		}()
		if errs := rec.Errors(); len(errs) != 1 || !strings.Contains(errs[0], "the Manager is nil") {
			t.Errorf("errors reported = %q, want one saying the Manager is nil", errs)
		}
	}
	tried++
	if _, err := (*cgroupfs.Manager)(nil).Path("a"); err != nil && strings.Contains(err.Error(), "nil") {
		held++
	} else {
		t.Errorf("Path on a nil Manager = %v, want an error saying it is nil", err)
	}
	t.Logf("hostile nil Manager: %d cases tried, %d held", tried, held)
}

// TestHostileKeptRoots (item 12): TEST_NOCLEANUP=true kept a run's
// cgroups only until the next test binary's first Root reclaimed them
// as stale. A child test binary run with it leaves its per-test root
// (named "...-kept"); this process's first Root there, which sweeps,
// leaves that root and a hand-made kept root of a dead owner alone
// (and reclaims a plain dead one, so it did sweep); then an explicit
// Sweep removes the kept roots and says they had been kept.
func TestHostileKeptRoots(t *testing.T) {
	base := kernelBase(t)
	t.Setenv("TEST_NOCLEANUP", "true")
	child := startCrashChild(t, base, "live")
	t.Setenv("TEST_NOCLEANUP", "false")
	child.stdin.Close()
	if err := child.wait(t); err != nil {
		t.Fatalf("the TEST_NOCLEANUP=true child failed: %v\n%s", err, child.stderr)
	}
	dead := cgtest.Owner{PID: neverPid, StartTime: 7}
	kept := cgtest.RootName(dead, "TestKept", 1) + "-kept"
	stale := cgtest.RootName(dead, "TestStale", 2)
	for _, d := range []string{kept, kept + "/work", stale} {
		assert.NilError(t, os.Mkdir(filepath.Join(base, d), 0o755))
	}
	keptRoots := []string{filepath.Base(child.root), kept}
	tried, held := 0, 0
	// The next "test binary": this process's first Root under base.
	rec := newRecorder(t.Name())
	cgtest.Root(rec, cgtest.Under(base))
	for _, r := range keptRoots {
		tried++
		if !strings.HasSuffix(r, "-kept") {
			t.Errorf("the root %s of a TEST_NOCLEANUP=true run is not named ...-kept", r)
		} else if _, err := os.Stat(filepath.Join(base, r)); err != nil {
			t.Errorf("Root's sweep removed the kept root %s: %v", r, err)
		} else {
			held++
		}
	}
	tried++
	if _, err := os.Stat(filepath.Join(base, stale)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Root's sweep left the dead root %s (%v): did it sweep at all?", stale, err)
	} else {
		held++
	}
	rec.Finish()
	fsys, err := cgroupfs.Open(base)
	assert.NilError(t, err)
	defer fsys.Close()
	rep, err := cgtest.Sweep(fsys, ".")
	assert.NilError(t, err)
	for _, r := range keptRoots {
		tried++
		var found bool
		for _, c := range cgtest.SweptCgroups(rep) {
			if c.Name == r {
				found = c.Removed
			}
		}
		_, serr := os.Stat(filepath.Join(base, r))
		if found && errors.Is(serr, os.ErrNotExist) && strings.Contains(rep.String(), r) {
			held++
		} else {
			t.Errorf("explicit Sweep: %s removed %v (stat %v); report:\n%s", r, found, serr, rep)
		}
	}
	if n := strings.Count(rep.String(), "kept with TEST_NOCLEANUP=true"); n != len(keptRoots) {
		t.Errorf("the report says %d times that a root had been kept, want %d:\n%s", n, len(keptRoots), rep)
	}
	t.Logf("hostile kept roots: %d cases tried, %d held", tried, held)
}

// TestHostileWaitRace (item 14): Start plus the usual
// go func() { errc <- cmd.Wait() }() raced with the group's own Wait.
// The Task from Spawn(name, Command(cmd)) may be waited on by any
// goroutine while the group stops it, and killed by the test at the
// same moment. Meaningful under -race, which fails the test on a race.
func TestHostileWaitRace(t *testing.T) {
	base := kernelBase(t)
	self, err := os.Executable()
	assert.NilError(t, err)
	tried, held := 0, 0
	for _, tc := range []struct {
		desc    string
		w       func() cgtest.Workload
		userKil bool
	}{
		{"Command, three waiters", func() cgtest.Workload {
			cmd := exec.Command(self, "-test.run=^$")
			cmd.Env = append(os.Environ(), cgtest.WorkloadEnv+"=sleep:1")
			return cgtest.Command(cmd)
		}, false},
		{"Command, three waiters and the test's own Kill", func() cgtest.Workload {
			cmd := exec.Command(self, "-test.run=^$")
			cmd.Env = append(os.Environ(), cgtest.WorkloadEnv+"=sleep:1")
			return cgtest.Command(cmd)
		}, true},
		{"Sleeper, three waiters and the test's own Kill", cgtest.Sleeper, true},
	} {
		tried++
		ok := t.Run(tc.desc, func(t *testing.T) {
			rec := newRecorder(t.Name())
			g := cgtest.NewGroup(rec, cgtest.Root(t, cgtest.Under(base)), cgtest.Strict())
			assert.NilError(t, g.AddCgroupNoCpuset("w"))
			task, err := g.Spawn("w", tc.w())
			assert.NilError(t, err)
			errs := make(chan error, 3)
			for range cap(errs) {
				go func() {
					<-task.Done()
					errs <- task.Err()
				}()
			}
			killed := make(chan error, 1)
			if tc.userKil {
				go func() { killed <- task.Kill() }()
			}
			rec.Finish()
			for range cap(errs) {
				if err := <-errs; err == nil {
					t.Errorf("a waiter saw Err() = nil for a killed task")
				}
			}
			if tc.userKil {
				assert.Check(t, <-killed, "the test's own Kill")
			}
			for _, e := range append(rec.Logs(), rec.Errors()...) {
				t.Errorf("teardown said: %s", e)
			}
		})
		if ok {
			held++
		}
	}
	t.Logf("hostile wait race: %d cases tried, %d held", tried, held)
}

// TestHostileHints (item 17): hints that misled. Each case is a
// situation that used to give one.
func TestHostileHints(t *testing.T) {
	tried, held := 0, 0
	check := func(t *testing.T, what string, ok bool, got string) {
		t.Helper()
		tried++
		if ok {
			held++
		} else {
			t.Errorf("%s: %s", what, got)
		}
	}

	// MoveTask's EBUSY with an empty cgroup.subtree_control: not "the
	// cgroup enables a domain controller".
	fsys := fakefs.New()
	m := cgroupfs.NewManager(fsys, ".")
	assert.NilError(t, m.CreateCgroup("plain/leaf"))
	pid, err := fsys.Spawn(".")
	assert.NilError(t, err)
	fsys.Fail(fakefs.OpWrite, "plain/cgroup.procs", unix.EBUSY, 1)
	err = m.MoveTask("plain", pid)
	check(t, "MoveTask EBUSY, empty subtree_control", errors.Is(err, unix.EBUSY) && strings.Contains(err.Error(), "enables no domain controller") && !strings.Contains(err.Error(), "enables a domain controller"), fmt.Sprint(err))

	// Context said once: a refused mkdir, through the guard.
	f := newFixture(t)
	rec := newRecorder(t.Name())
	g := cgtest.NewGroup(rec, f.mgr)
	f.fs.Fail(fakefs.OpMkdir, "test/a/b", unix.EACCES, -1)
	err = g.AddCgroupNoCpuset("a/b")
	once := err != nil
	for _, s := range []string{"mkdir test/a/b", "permission denied"} {
		once = once && strings.Count(err.Error(), s) == 1
	}
	check(t, "AddCgroupNoCpuset EACCES says its context once", once, fmt.Sprint(err))
	rec.Finish()

	// "(listing error: <nil>)": Root's sweep reclaiming a dead run's
	// root, on the kernel (the subtest skips where there is none).
	t.Run("root's sweep log", func(t *testing.T) {
		base := kernelBase(t)
		stale := cgtest.RootName(cgtest.Owner{PID: neverPid, StartTime: 7}, "TestStale", 1)
		assert.NilError(t, os.Mkdir(filepath.Join(base, stale), 0o755))
		rec := newRecorder(t.Name())
		cgtest.Root(rec, cgtest.Under(base))
		logs := strings.Join(rec.Logs(), "\n")
		check(t, "Root's sweep log", strings.Contains(logs, "reclaimed") && strings.Contains(logs, stale) && !strings.Contains(logs, "<nil>"), logs)
		rec.Finish()
	})

	// What cgguard sweep prints for a directory that is not cgroup2 (a
	// cgroup v1 hierarchy where the host has one, else a plain
	// directory): where cgroup2 is, never a Go option.
	dirs := []string{t.TempDir()}
	for _, d := range []string{"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/memory"} {
		var st unix.Statfs_t
		if unix.Statfs(d, &st) == nil && st.Type == unix.CGROUP_SUPER_MAGIC {
			dirs = append(dirs, d)
		}
	}
	for _, d := range dirs {
		fsys, err := cgroupfs.Open(d)
		if err == nil {
			fsys.Close()
		}
		check(t, "Open of "+d, errors.Is(err, cgroupfs.ErrNotCgroup2) && !strings.Contains(fmt.Sprint(err), "PlainDirectory"), fmt.Sprint(err))
	}

	// Root's skip for a missing controller, where the directory is the
	// cgroup2 mount's root: never "write its cgroup.subtree_control".
	if mnt, err := cgroupfs.Mountpoint(); err == nil {
		for _, c := range []string{"cpuset", "memory", "cpu"} {
			hint := cgtest.MissingControllerHint(mnt, c)
			check(t, "missing "+c+" at the mount root", !strings.Contains(hint, "write") && !strings.Contains(hint, "subtree_control"), hint)
		}
	}
	t.Logf("hostile hints: %d cases tried, %d held", tried, held)
}
