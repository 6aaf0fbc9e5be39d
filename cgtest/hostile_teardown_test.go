package cgtest_test

import (
	"errors"
	"io/fs"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/fakefs"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// finishWithin runs rec.Finish (the test's cleanups) and fails the test
// if it has not returned after limit: a teardown held by a stuck call.
// The limit is far beyond any budget these tests set, so a busy machine
// cannot fail it; only a teardown that waits for the stuck call can.
func finishWithin(t *testing.T, rec *cgtest.Recorder, limit time.Duration) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		rec.Finish()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(limit):
		t.Fatalf("teardown did not return within %v: it waits for the stuck call", limit)
	}
}

// Issue 11, item 7: an AddCgroup stuck in the kernel holds nothing the
// teardown needs, so the teardown's budget holds. A cgroupfs write of
// the add never returns (until the test releases it), and the rmdir of
// its cgroup waits for it, as the kernel's does (the stuck write holds
// the lock that rmdir takes): teardown gives up at its budget and says
// so, instead of waiting for the write.
func TestTeardownBudgetHoldsWhileAddCgroupIsStuck(t *testing.T) {
	for _, tc := range []struct {
		add, stuckWrite, stuckRmdir string
	}{
		{"a", "test/a/cpuset.cpus", "test/a"},
		// Enabling cpuset in a for a/b.
		{"a/b", "test/a/cgroup.subtree_control", "test/a/b"},
	} {
		t.Run(tc.stuckWrite, func(t *testing.T) {
			f := newFixture(t)
			rec := newRecorder(t.Name())
			g := cgtest.NewGroup(rec, f.mgr, cgtest.Budget(time.Second))
			writing, releaseWrite := f.fs.HangEntered(fakefs.OpWrite, tc.stuckWrite)
			releaseRmdir := f.fs.Hang(fakefs.OpRmdir, tc.stuckRmdir)
			defer releaseRmdir()
			defer releaseWrite()
			added := make(chan error, 1)
			go func() { added <- g.AddCgroup(tc.add, cpus01) }()
			<-writing

			finishWithin(t, rec, 60*time.Second)
			// Each cgroup whose removal reaches the stuck rmdir (the
			// cgroup itself, and those above it) is reported.
			logs := rec.Logs()
			named := false
			for _, l := range logs {
				named = named || strings.Contains(l, "/"+tc.stuckRmdir+":")
				assert.Check(t, is.Contains(l, "budget of 1s used up while a cgroupfs operation had not returned"), "teardown warning without the budget: %q", l)
			}
			if !named {
				t.Errorf("teardown warnings = %q, want one saying the budget ran out on %s", logs, tc.stuckRmdir)
			}

			releaseWrite()
			select {
			case <-added: // its cgroups were created before the teardown, which owns them
			case <-time.After(60 * time.Second):
				t.Fatal("AddCgroup did not return after its write was released")
			}
		})
	}
}

// The same with the mkdir stuck: the teardown returns within its budget,
// and when the mkdir completes after the teardown, nobody would remove
// the new cgroup, so the AddCgroup that made it removes it and fails
// with ErrTestEnded.
func TestAddCgroupStuckPastTeardownRemovesWhatItMade(t *testing.T) {
	f := newFixture(t)
	rec := newRecorder(t.Name())
	g := cgtest.NewGroup(rec, f.mgr, cgtest.Budget(time.Second))
	assert.NilError(t, g.AddCgroupNoCpuset("first"))
	making, releaseMkdir := f.fs.HangEntered(fakefs.OpMkdir, "test/late")
	defer releaseMkdir()
	added := make(chan error, 1)
	go func() { added <- g.AddCgroupNoCpuset("late") }()
	<-making

	finishWithin(t, rec, 60*time.Second)
	if logs := rec.Logs(); len(logs) != 0 {
		t.Errorf("teardown warnings = %q, want none (test/first is removable, test/late does not exist yet)", logs)
	}

	releaseMkdir()
	select {
	case err := <-added:
		assert.Check(t, is.ErrorIs(err, cgtest.ErrTestEnded), "AddCgroupNoCpuset whose mkdir completed after the teardown")
	case <-time.After(60 * time.Second):
		t.Fatal("AddCgroupNoCpuset did not return after its mkdir was released")
	}
	assert.Check(t, is.DeepEqual(f.cgroups(), []string{"test"}), "cgroups after the teardown and the late mkdir")
}

// Issue 11, item 11: AddCgroup("a/b", cpus) while a task runs in a
// would write +cpuset into a's cgroup.subtree_control, which the kernel
// accepts (cpuset is a threaded controller): a becomes a thread root
// and a/b an invalid domain that no process can enter (Start then fails
// with a bare EOPNOTSUPP). AddCgroup refuses before touching anything,
// saying why, with the errno of the no-internal-process rule. The same
// holds when a already is a thread root, and for AddCgroupNoCpuset,
// which enables cpuset above as well.
func TestAddCgroupRefusesToMakeAThreadRoot(t *testing.T) {
	f := newFixture(t)
	rec := newRecorder(t.Name())
	g := cgtest.NewGroup(rec, f.mgr)
	defer rec.Finish()
	assert.NilError(t, g.AddCgroupNoCpuset("a"))
	pid, err := f.fs.Spawn("test/a")
	assert.NilError(t, err)
	for _, add := range []struct {
		how string
		fn  func(string) error
	}{
		{"AddCgroup", func(n string) error { return g.AddCgroup(n, cpus01) }},
		{"AddCgroupNoCpuset", g.AddCgroupNoCpuset},
	} {
		err := add.fn("a/b")
		if !errors.Is(err, unix.EBUSY) {
			t.Errorf("%s(\"a/b\") with a task in a = %v, want an error wrapping EBUSY", add.how, err)
		} else {
			for _, want := range []string{"/test/a", strconv.Itoa(pid), "thread root", "invalid domain", "leaf"} {
				assert.Check(t, is.Contains(err.Error(), want), "%s error lacks %q: %v", add.how, want, err)
			}
		}
		if got, _ := f.fs.ReadFile("test/a/cgroup.type"); string(got) != "domain\n" {
			t.Errorf("after the refused %s, test/a's cgroup.type = %q, want \"domain\\n\"", add.how, got)
		}
		assert.Check(t, is.DeepEqual(f.cgroups(), []string{"test", "test/a"}), "cgroups after the refused %s", add.how)
	}

	// a already a thread root (cpuset enabled in it by an earlier child,
	// then a task arrives): a new child would be born invalid.
	assert.NilError(t, f.fs.WriteFile("cgroup.procs", []byte(strconv.Itoa(pid))))
	assert.NilError(t, g.AddCgroup("a/x", cpus01))
	assert.NilError(t, f.fs.WriteFile("test/a/cgroup.procs", []byte(strconv.Itoa(pid))))
	if err := g.AddCgroup("a/c", cpus01); !errors.Is(err, unix.EBUSY) || !strings.Contains(err.Error(), "thread root") {
		t.Errorf("AddCgroup(\"a/c\") under the thread root a = %v, want EBUSY saying a is a thread root", err)
	}
	if exists, _ := f.mgr.Exists("a/c"); exists {
		t.Error("the refused a/c was created")
	}

	// Once the task is gone from a, a/b is made, and is a domain.
	if err := f.fs.WriteFile("test/a/x/cgroup.procs", []byte(strconv.Itoa(pid))); err == nil {
		t.Fatal("a task entered the invalid domain a/x")
	}
	assert.NilError(t, f.fs.WriteFile("cgroup.procs", []byte(strconv.Itoa(pid))))
	assert.NilError(t, g.AddCgroup("a/b", cpus01), "AddCgroup(\"a/b\") with a empty")
	if got, _ := f.fs.ReadFile("test/a/b/cgroup.type"); string(got) != "domain\n" {
		t.Errorf("test/a/b's cgroup.type = %q, want \"domain\\n\"", got)
	}
}

// Issue 11, item 10, on fakefs: the Manager Root makes, on a per-test
// root r that enables every controller for its children (domain ones
// among them, so r may hold no task). A Drain group's teardown moves its
// tasks into r's drain leaf, where they keep running, within the budget
// and without a warning; the Manager of r that Root made before drained
// into r itself, and every move failed with EBUSY until the budget ran
// out.
func TestDrainUnderRootManager(t *testing.T) {
	fsys := fakefs.New()
	for _, c := range []string{"cpuset", "cpu", "io", "memory", "pids"} {
		assert.NilError(t, fsys.WriteFile("cgroup.subtree_control", []byte("+"+c)))
	}
	assert.NilError(t, fsys.Mkdir("r"))
	for _, c := range []string{"cpuset", "cpu", "io", "memory", "pids"} {
		assert.NilError(t, fsys.WriteFile("r/cgroup.subtree_control", []byte("+"+c)))
	}
	mgr, err := cgtest.RootManager(fsys, "r")
	assert.NilError(t, err)
	rec := newRecorder(t.Name())
	g := cgtest.NewGroup(rec, mgr, cgtest.WithPolicy(cgtest.Drain), cgtest.Budget(5*time.Second))
	assert.NilError(t, g.AddCgroupNoCpuset("work/inner"))
	var pids []int
	for _, c := range []string{"r/work/inner", "r/work/inner"} {
		pid, err := fsys.Spawn(c)
		assert.NilError(t, err)
		pids = append(pids, pid)
	}
	finishWithin(t, rec, 60*time.Second)
	if logs := rec.Logs(); len(logs) != 0 {
		t.Errorf("teardown warnings = %q, want none", logs)
	}
	assert.Check(t, is.DeepEqual(fsys.Pids("r/"+cgtest.DrainLeaf), pids), "tasks in the drain leaf")
	assert.Check(t, is.DeepEqual(cgroupsOf(fsys), []string{"r", "r/" + cgtest.DrainLeaf}), "cgroups after the teardown")
	// CleanupAll removes the leaf with the root's other children (once
	// its tasks are gone); a Drain group's teardown makes it again.
	for _, pid := range pids {
		if err := fsys.Exit(pid); err != nil {
			t.Fatal(err)
		}
	}
	if err := mgr.CleanupAll(); err != nil {
		t.Fatal(err)
	}
	if exists, _ := mgr.Exists(cgtest.DrainLeaf); exists {
		t.Fatal("CleanupAll left the drain leaf")
	}
	rec = newRecorder(t.Name())
	g = cgtest.NewGroup(rec, mgr, cgtest.WithPolicy(cgtest.Drain), cgtest.Budget(5*time.Second))
	if err := g.AddCgroupNoCpuset("again"); err != nil {
		t.Fatal(err)
	}
	pid, err := fsys.Spawn("r/again")
	if err != nil {
		t.Fatal(err)
	}
	finishWithin(t, rec, 60*time.Second)
	if logs := rec.Logs(); len(logs) != 0 {
		t.Errorf("teardown warnings after CleanupAll = %q, want none", logs)
	}
	assert.Check(t, is.DeepEqual(fsys.Pids("r/"+cgtest.DrainLeaf), []int{pid}), "tasks in the drain leaf made again")

	// The name is the leaf's: a group cannot take it.
	g2 := cgtest.NewGroup(newRecorder(t.Name()), mgr)
	assert.Check(t, is.ErrorIs(g2.AddCgroupNoCpuset(cgtest.DrainLeaf), fs.ErrExist), "AddCgroupNoCpuset(DrainLeaf)")
}
