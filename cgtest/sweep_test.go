package cgtest

// These tests are in package cgtest, not cgtest_test, for one reason:
// ownerAlive, the hook that makes an owner's liveness unknowable, which
// /proc never is for root.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/fakefs"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// neverPid is above the kernel's PID_MAX_LIMIT (4194304): no process
// ever has it, so an owner with it is dead for sure.
const neverPid = fakefs.FirstPid

// sweepFixture is a fakefs holding, under "tests", one cgroup of each
// kind Sweep must tell apart.
type sweepFixture struct {
	fsys                  *fakefs.FS
	self                  Owner
	live, dead, reused    string // per-test roots
	unknown               string // a root whose owner cannot be checked
	foreign, prefixedJunk string // not roots
	deadPids, livePids    []int
}

func newSweepFixture(t *testing.T) sweepFixture {
	t.Helper()
	self, err := Self()
	assert.NilError(t, err)
	fx := sweepFixture{
		fsys:    fakefs.New(),
		self:    self,
		live:    RootName(self, "TestLive", 1),
		dead:    RootName(Owner{PID: neverPid, StartTime: 7}, "TestDead/sub", 2),
		reused:  RootName(Owner{PID: self.PID, StartTime: self.StartTime + 1}, "TestReused", 3),
		unknown: RootName(Owner{PID: neverPid + 1, StartTime: 9}, "TestUnknown", 4),
		foreign: "system.slice",
		// The prefix alone does not make a root: cgtest's own kernel
		// tests name their bases like this.
		prefixedJunk: "cgguard-test-123-abcdef",
	}
	mk := func(name string) {
		t.Helper()
		assert.NilError(t, fx.fsys.Mkdir(name))
	}
	spawn := func(name string) int {
		t.Helper()
		pid, err := fx.fsys.Spawn(name)
		assert.NilError(t, err)
		return pid
	}
	mk("tests")
	for _, root := range []string{fx.live, fx.dead, fx.reused, fx.unknown, fx.foreign, fx.prefixedJunk} {
		mk("tests/" + root)
		mk("tests/" + root + "/work")
		mk("tests/" + root + "/work/a")
		mk("tests/" + root + "/work/b")
		pid := spawn("tests/" + root + "/work/a")
		switch root {
		case fx.dead, fx.reused:
			fx.deadPids = append(fx.deadPids, pid, spawn("tests/"+root+"/work/b"))
		default:
			fx.livePids = append(fx.livePids, pid)
		}
	}
	old := ownerAlive
	ownerAlive = func(o Owner) (bool, error) {
		if o.PID == neverPid+1 {
			return false, &fs.PathError{Op: "open", Path: "/proc/4194306/stat", Err: unix.EACCES}
		}
		return old(o)
	}
	t.Cleanup(func() { ownerAlive = old })
	return fx
}

func TestSweepVerdicts(t *testing.T) {
	fx := newSweepFixture(t)
	before := len(fx.fsys.Log())
	rep, err := Sweep(fx.fsys, "tests")
	assert.NilError(t, err)
	got := map[string]Verdict{}
	for _, c := range rep.cgroups {
		got[c.Name] = c.Verdict
	}
	want := map[string]Verdict{
		fx.live: SweepLive, fx.dead: SweepStale, fx.reused: SweepStale, fx.unknown: SweepUnknown,
		fx.foreign: SweepForeign, fx.prefixedJunk: SweepForeign,
	}
	assert.Check(t, is.DeepEqual(got, want), "verdicts")
	if !slices.IsSortedFunc(rep.cgroups, func(a, b SweptCgroup) int { return strings.Compare(a.Name, b.Name) }) {
		t.Errorf("entries are not sorted by name: %v", rep.cgroups)
	}
	for _, c := range rep.cgroups {
		switch c.Verdict {
		case SweepStale:
			if !c.Removed || c.Err != nil {
				t.Errorf("%s: Removed=%v Err=%v, want removed without error", c.Name, c.Removed, c.Err)
			}
			wantTree := []string{c.Name + "/work/a", c.Name + "/work/b", c.Name + "/work", c.Name}
			if d := cmp.Diff(wantTree, c.Cgroups); d != "" {
				t.Errorf("%s: cgroups, deepest first (-want +got):\n%s", c.Name, d)
			}
			assert.Check(t, is.Len(c.Pids, 2), "%s: Pids = %v, want the 2 tasks it held", c.Name, c.Pids)
		case SweepUnknown:
			if !errors.Is(c.Err, unix.EACCES) || !strings.Contains(c.Err.Error(), "kept") {
				t.Errorf("%s: Err = %v, want the EACCES of /proc and that it is kept", c.Name, c.Err)
			}
		default:
			if c.Err != nil || c.Removed || c.Cgroups != nil {
				t.Errorf("%s (%s): %+v, want nothing done", c.Name, c.Verdict, c)
			}
		}
	}
	assert.Equal(t, rep.Counts(), SweepCounts{Live: 1, Stale: 2, Removed: 2, Unknown: 1, Foreign: 2})
	if err := rep.Err(); !errors.Is(err, unix.EACCES) || !strings.Contains(err.Error(), "tests/"+fx.unknown) {
		t.Errorf("report Err() = %v, want the unknown root's error, named", err)
	}

	for _, root := range []string{fx.dead, fx.reused} {
		if ok, _ := cgroupfs.NewManager(fx.fsys, "tests").Exists(root); ok {
			t.Errorf("stale root %s still exists", root)
		}
	}
	for _, pid := range fx.deadPids {
		if err := fx.fsys.Kill(pid); !errors.Is(err, unix.ESRCH) {
			t.Errorf("task %d of a stale root is still alive (Kill = %v)", pid, err)
		}
	}
	for _, root := range []string{fx.live, fx.unknown, fx.foreign, fx.prefixedJunk} {
		if fx.fsys.Pids("tests/"+root+"/work/a") == nil {
			t.Errorf("kept cgroup %s/work/a is gone", root)
		}
	}
	for _, pid := range fx.livePids {
		if err := fx.fsys.SetLinger(pid, 0); err != nil { // fails with ESRCH for a dead task
			t.Errorf("task %d of a kept cgroup was killed: %v", pid, err)
		}
	}
	// Kept means untouched: not even read.
	log := fx.fsys.Log()[before:]
	var onKept []string
	for _, e := range log {
		for _, r := range []string{fx.live, fx.unknown, fx.foreign, fx.prefixedJunk} {
			if strings.HasPrefix(e.Path, "tests/"+r) {
				onKept = append(onKept, e.String())
			}
		}
	}
	if len(onKept) > 0 {
		t.Errorf("the sweep touched kept cgroups:\n%s", strings.Join(onKept, "\n"))
	}

	s := rep.String()
	for _, want := range []string{
		"live    " + fx.live + " (pid ", ": owner running, kept",
		"stale   " + fx.dead, "removed 4 cgroup(s), killed 2 task(s)",
		"unknown " + fx.unknown, "foreign 2 other cgroup(s)",
	} {
		assert.Check(t, is.Contains(s, want), "String() lacks %q:\n%s", want, s)
	}

	again, err := Sweep(fx.fsys, "tests")
	if err != nil || again.Counts().Stale != 0 {
		t.Errorf("a second sweep found %d stale roots (err %v), want none: %s", again.Counts().Stale, err, again)
	}
}

func TestSweepDryRunChangesNothing(t *testing.T) {
	fx := newSweepFixture(t)
	before := fx.fsys.Snapshot()
	nlog := len(fx.fsys.Log())
	rep, err := SweepDryRun(fx.fsys, "tests")
	assert.NilError(t, err)
	assert.Assert(t, rep.dryRun)
	assert.Equal(t, rep.Counts(), SweepCounts{Live: 1, Stale: 2, Removed: 0, Unknown: 1, Foreign: 2})
	for _, c := range rep.cgroups {
		if c.Verdict == SweepStale && (c.Removed || len(c.Cgroups) != 4 || len(c.Pids) != 2) {
			t.Errorf("%s: Removed=%v cgroups=%v pids=%v, want 4 cgroups and 2 pids listed, not removed", c.Name, c.Removed, c.Cgroups, c.Pids)
		}
	}
	assert.Check(t, is.DeepEqual(before, fx.fsys.Snapshot()), "a dry run changed the hierarchy")
	for _, e := range fx.fsys.Log()[nlog:] {
		if e.Op != fakefs.OpRead && e.Op != fakefs.OpReadDir {
			t.Errorf("a dry run did %s", e)
		}
	}
	if s := rep.String(); !strings.Contains(s, "would remove 4 cgroup(s) and kill 2 task(s)") {
		t.Errorf("dry-run String() does not say what it would do:\n%s", s)
	}
}

// A stale root whose kill fails, or whose tasks do not die within the
// budget, is kept and reported; the other stale roots are still
// reclaimed.
func TestSweepFailuresAreReportedAndKept(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(fx sweepFixture)
		want   []string
		errno  error
	}{
		{
			name: "kill refused",
			break_: func(fx sweepFixture) {
				fx.fsys.Fail(fakefs.OpWrite, "tests/"+fx.dead+"/cgroup.kill", unix.EACCES, -1)
			},
			want:  []string{"killing its tasks failed", "nothing was removed", "permission denied"},
			errno: unix.EACCES,
		},
		{
			name: "task will not die",
			break_: func(fx sweepFixture) {
				if err := fx.fsys.SetLinger(fx.deadPids[0], -1); err != nil {
					panic(err)
				}
			},
			want:  []string{"tasks were killed, but", "populated 1", "context deadline exceeded"},
			errno: context.DeadlineExceeded,
		},
		{
			name: "rmdir refused",
			break_: func(fx sweepFixture) {
				fx.fsys.Fail(fakefs.OpRmdir, "tests/"+fx.dead+"/work/b", unix.EROFS, -1)
			},
			want:  []string{"removing its cgroups failed", "read-only"},
			errno: unix.EROFS,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newSweepFixture(t)
			tc.break_(fx)
			rep, err := Sweep(fx.fsys, "tests", Budget(50*time.Millisecond))
			assert.NilError(t, err)
			for _, c := range rep.cgroups {
				switch c.Name {
				case fx.dead:
					if c.Removed || c.Err == nil {
						t.Fatalf("broken stale root: Removed=%v Err=%v, want kept with an error", c.Removed, c.Err)
					}
					for _, w := range tc.want {
						assert.Check(t, is.Contains(c.Err.Error(), w), "error lacks %q: %v", w, c.Err)
					}
					assert.Check(t, is.ErrorIs(c.Err, tc.errno), "error does not wrap %v", tc.errno)
				case fx.reused:
					if !c.Removed || c.Err != nil {
						t.Errorf("the other stale root: Removed=%v Err=%v, want removed", c.Removed, c.Err)
					}
				}
			}
			if ok, _ := cgroupfs.NewManager(fx.fsys, "tests").Exists(fx.dead); !ok && tc.name != "rmdir refused" {
				t.Errorf("the stale root %s was removed although the sweep failed before removing", fx.dead)
			}
		})
	}
}

func TestSweepBadDir(t *testing.T) {
	fsys := fakefs.New()
	if _, err := Sweep(fsys, "../up"); !errors.Is(err, cgroupfs.ErrInvalidName) {
		t.Errorf("Sweep(../up) = %v, want ErrInvalidName", err)
	}
	if _, err := Sweep(fsys, "missing"); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "list it") {
		t.Errorf("Sweep(missing) = %v, want ENOENT saying the listing failed", err)
	}
	rep, err := Sweep(fsys, ".")
	if err != nil || len(rep.cgroups) != 0 {
		t.Errorf("Sweep of an empty hierarchy = %+v, %v; want nothing", rep, err)
	}
}

// Two sweeps at once (two test binaries starting together) reclaim
// every stale root between them, without an error and without the
// race detector complaining.
func TestSweepConcurrent(t *testing.T) {
	fx := newSweepFixture(t)
	var wg sync.WaitGroup
	reps := make([]SweepReport, 4)
	errs := make([]error, 4)
	for i := range reps {
		wg.Go(func() { reps[i], errs[i] = Sweep(fx.fsys, "tests") })
	}
	wg.Wait()
	for i, rep := range reps {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		for _, c := range rep.cgroups {
			if c.Verdict == SweepStale && (c.Err != nil || !c.Removed) {
				t.Errorf("sweep %d: %s: Removed=%v Err=%v", i, c.Name, c.Removed, c.Err)
			}
		}
	}
	for _, root := range []string{fx.dead, fx.reused} {
		if ok, _ := cgroupfs.NewManager(fx.fsys, "tests").Exists(root); ok {
			t.Errorf("stale root %s survived 4 concurrent sweeps", root)
		}
	}
	if fx.fsys.Pids("tests/"+fx.live+"/work/a") == nil {
		t.Errorf("the live root lost its cgroups")
	}
}

// A test process killed before its cleanups ran left its per-test root;
// the next run's sweep finds the owner gone and reclaims it, and leaves
// a live run's root and everything else alone.
func ExampleSweep() {
	fsys := fakefs.New() // in a real run: cgroupfs.Open of the cgroup2 mount
	dead := RootName(Owner{PID: fakefs.FirstPid, StartTime: 1234}, "TestKilled", 1)
	self, _ := Self()
	live := RootName(self, "TestRunning", 1)
	for _, dir := range []string{dead, dead + "/work", live, "system.slice"} {
		_ = fsys.Mkdir(dir)
	}
	_, _ = fsys.Spawn(dead + "/work") // the dead run's workload, still running

	rep, err := Sweep(fsys, ".")
	if err != nil {
		panic(err)
	}
	for _, c := range rep.cgroups {
		who := "another run"
		switch c.Name {
		case dead:
			who = "the killed run"
		case live:
			who = "this run"
		}
		fmt.Printf("%-14s %-7s removed=%-5v cgroups=%d tasks=%d\n", who, c.Verdict, c.Removed, len(c.Cgroups), len(c.Pids))
	}
	fmt.Println("left:", len(fsys.Snapshot().Cgroups)-1, "cgroups")
	// Unordered output:
	// the killed run stale   removed=true  cgroups=2 tasks=1
	// this run       live    removed=false cgroups=0 tasks=0
	// another run    foreign removed=false cgroups=0 tasks=0
	// left: 2 cgroups
}

// An empty stale root (the usual case: a run killed between tests) is
// removed without a kill or a wait; a populated one is killed first.
func TestSweepEmptyRootSkipsKill(t *testing.T) {
	fsys := fakefs.New()
	empty := RootName(Owner{PID: neverPid, StartTime: 1}, "TestEmpty", 1)
	full := RootName(Owner{PID: neverPid, StartTime: 2}, "TestFull", 1)
	for _, d := range []string{empty, empty + "/a", full, full + "/a"} {
		assert.NilError(t, fsys.Mkdir(d))
	}
	if _, err := fsys.Spawn(full + "/a"); err != nil {
		t.Fatal(err)
	}
	rep, err := Sweep(fsys, ".")
	if err != nil || rep.Err() != nil || rep.Counts().Stale != 2 {
		t.Fatalf("Sweep = %v, %v:\n%s", err, rep.Err(), rep)
	}
	var kills []string
	for _, e := range fsys.Log() {
		if e.Op == fakefs.OpWrite && strings.HasSuffix(e.Path, "/cgroup.kill") {
			kills = append(kills, e.Path)
		}
	}
	assert.Check(t, is.DeepEqual(kills, []string{full + "/cgroup.kill"}), "cgroup.kill writes")
	if n := len(fsys.Snapshot().Cgroups); n != 1 {
		t.Errorf("%d cgroups left, want only the root", n)
	}
}

// A root made with TEST_NOCLEANUP=true outlives its owner on purpose:
// Root's own sweep (the next test binary's) leaves it, and only an
// explicit Sweep removes it, saying it had been kept.
func TestKeptRootsWaitForAnExplicitSweep(t *testing.T) {
	fsys := fakefs.New()
	kept := RootName(Owner{PID: neverPid, StartTime: 7}, "TestKept", 1) + keptSuffix
	dead := RootName(Owner{PID: neverPid, StartTime: 7}, "TestDead", 2)
	for _, n := range []string{kept, kept + "/work", dead} {
		assert.NilError(t, fsys.Mkdir(n))
	}
	rep, err := sweep(fsys, ".", sweepConfig{budget: defaultBudget, skipKept: true})
	assert.NilError(t, err)
	assert.Assert(t, is.Len(rep.cgroups, 1), "Root's sweep: %+v", rep.cgroups)
	assert.Equal(t, rep.cgroups[0].Name, dead)
	assert.Assert(t, rep.cgroups[0].Removed)
	ok, err := cgroupfs.NewManager(fsys, ".").Exists(kept + "/work")
	assert.NilError(t, err)
	assert.Assert(t, ok, "Root's sweep removed the kept root %s", kept)

	rep, err = Sweep(fsys, ".")
	assert.NilError(t, err)
	assert.Assert(t, is.Len(rep.cgroups, 1), "explicit Sweep: %+v", rep.cgroups)
	assert.Assert(t, rep.cgroups[0].Removed)
	assert.Assert(t, is.Contains(rep.String(), "kept with TEST_NOCLEANUP=true"))
}
