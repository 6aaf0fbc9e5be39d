package cgtest_test

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/fakefs"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// matrixErrnos are the errnos a cgroupfs operation can give, whatever
// operation it is: the matrix injects each of them into each operation
// the guard and the Manager perform, even where the kernel would never
// answer it, since the code must not rely on which errno comes from
// where.
var matrixErrnos = []syscall.Errno{
	unix.EBUSY, unix.EACCES, unix.EPERM, unix.ENOENT, unix.EROFS,
	unix.EINVAL, unix.ERANGE, unix.ENOSPC, unix.EAGAIN, unix.ENODEV,
}

// matrixBudget is the teardown budget of a case whose teardown is
// expected to use it up (its hint says so, or names tasks that stay):
// small, so that such a case costs little; any size gives the same
// result.
const matrixBudget = 200 * time.Millisecond

// recoverBudget is the teardown budget of every other case: teardown is
// expected to get past the fault, or to give up on it, long before, so
// the budget only bounds a broken loop. With the small budget the result
// depended on the machine's speed: a loaded VM under -race used up 200 ms
// before the teardown even reached the fault (wait read
// cgroup.events/EPERM/once), and the warning then named the budget
// instead of the errno.
const recoverBudget = time.Minute

// budgetFor returns the teardown budget of site s with fault f.
func budgetFor(s site, f matrixFault) time.Duration {
	// A Manager case checks the call's error, and a trusted ENOENT the
	// fake's lie, not how the teardown ends.
	trusted := f.errno == unix.ENOENT && s.trustsENOENT
	if h := s.wantHint(f); s.phase == atManager || trusted || strings.Contains(h, "budget") || strings.Contains(h, "live tasks") {
		return matrixBudget
	}
	return recoverBudget
}

// phase says where a site's fault surfaces.
type phase int

const (
	// atAdd: in the error of a Group method (AddCgroup, Apply).
	atAdd phase = iota
	// atManager: in the error of a Manager method.
	atManager
	// atTeardown: in a warning of the group's teardown.
	atTeardown
)

// site is one operation of the guard or the Manager, at one path, and
// how to drive it.
type site struct {
	name  string
	phase phase
	op    fakefs.Op
	path  string // fakefs path the fault is injected at
	// policy is the group's teardown policy (atTeardown only).
	policy cgtest.Policy
	// prepare builds the state before the fault is injected: cgroups,
	// tasks. It runs with the group already made.
	prepare func(t *testing.T, e *matrixEnv)
	// act runs the operation (atAdd, atManager).
	act func(e *matrixEnv) error
	// nilFor lists the errnos for which the call must succeed all the
	// same, because the code rightly takes them to mean "gone" (ENOENT
	// from rmdir) or retries them (EBUSY); once means only when the
	// fault is injected once.
	nilFor, nilOnce []syscall.Errno
	// anyErrFor lists the errnos for which the call fails with an error
	// that does not carry the errno (the code takes another way, such as
	// the signal fallback when cgroup.kill is missing).
	anyErrFor []syscall.Errno
	// trustsENOENT marks a site where ENOENT means the cgroup is gone:
	// the fake lies, so the cgroup stays, and teardown rightly says
	// nothing (the kernel never answers ENOENT for a cgroup that exists).
	trustsENOENT bool
	// hintFor overrides the hint expected for a fault.
	hintFor map[matrixFault]string
	// errnoHidden lists errnos that the warning cannot quote, because
	// the code took another way.
	errnoHidden []syscall.Errno
	// taskFault marks a teardown site whose failure leaves live tasks
	// behind: the warning's hint must then name the tasks.
	taskFault bool
}

// matrixEnv is the world of one case: a fakefs, a Manager with parent
// "test", a group on it with the recording T.
type matrixEnv struct {
	fs  *gateFS
	mgr *cgroupfs.Manager
	rec *recorder
	g   *cgtest.Group
	pid int // a fake task, when prepare spawned one
}

// gateFS is a fakefs that closes entered the first time op is called on
// path: it tells a case that a call is blocked in an injected hang,
// without sleeping, so that it can release the hang.
type gateFS struct {
	*fakefs.FS
	op      fakefs.Op
	path    string
	entered chan struct{}
	armed   atomic.Bool // set once the fault is injected
	once    sync.Once
}

func (g *gateFS) enter(op fakefs.Op, name string) {
	if g.armed.Load() && op == g.op && name == g.path {
		g.once.Do(func() { close(g.entered) })
	}
}

func (g *gateFS) Mkdir(name string) error { g.enter(fakefs.OpMkdir, name); return g.FS.Mkdir(name) }
func (g *gateFS) Rmdir(name string) error { g.enter(fakefs.OpRmdir, name); return g.FS.Rmdir(name) }
func (g *gateFS) ReadFile(name string) ([]byte, error) {
	g.enter(fakefs.OpRead, name)
	return g.FS.ReadFile(name)
}
func (g *gateFS) WriteFile(name string, data []byte) error {
	g.enter(fakefs.OpWrite, name)
	return g.FS.WriteFile(name, data)
}
func (g *gateFS) ReadDir(name string) ([]fs.DirEntry, error) {
	g.enter(fakefs.OpReadDir, name)
	return g.FS.ReadDir(name)
}
func (g *gateFS) Watch(name string) (cgroupfs.Watcher, error) {
	g.enter(fakefs.OpWatch, name)
	return g.FS.Watch(name)
}

var cpus1 = cgroupfs.NewCPUSet(1)

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func addNoCpuset(names ...string) func(*testing.T, *matrixEnv) {
	return func(t *testing.T, e *matrixEnv) {
		t.Helper()
		for _, n := range names {
			mustDo(t, e.g.AddCgroupNoCpuset(n))
		}
	}
}

// withTask adds the cgroup "a" and places a fake task in it.
func withTask(t *testing.T, e *matrixEnv) {
	t.Helper()
	mustDo(t, e.g.AddCgroupNoCpuset("a"))
	pid, err := e.fs.Spawn("test/a")
	mustDo(t, err)
	e.pid = pid
}

// withExitingTask is withTask where the task has exited and lingers for
// a few observations, as a task still exiting does.
func withExitingTask(t *testing.T, e *matrixEnv) {
	t.Helper()
	withTask(t, e)
	mustDo(t, e.fs.SetLinger(e.pid, 3))
	mustDo(t, e.fs.Exit(e.pid))
}

// matrixSites is every operation the guard and the Manager perform.
var matrixSites = []site{
	// The guard's own calls: the error comes back from Add*.
	{name: "add/mkdir", phase: atAdd, op: fakefs.OpMkdir, path: "test/a",
		act: func(e *matrixEnv) error { return e.g.AddCgroupNoCpuset("a") }},
	{name: "add/mkdir nested", phase: atAdd, op: fakefs.OpMkdir, path: "test/a/b",
		act: func(e *matrixEnv) error { return e.g.AddCgroupNoCpuset("a/b") }},
	{name: "add/cgroup.subtree_control", phase: atAdd, op: fakefs.OpWrite, path: "test/a/cgroup.subtree_control",
		act: func(e *matrixEnv) error { return e.g.AddCgroup("a/b", cpus1) }},
	{name: "add/cpuset.cpus", phase: atAdd, op: fakefs.OpWrite, path: "test/a/cpuset.cpus",
		act: func(e *matrixEnv) error { return e.g.AddCgroup("a", cpus1) }},
	{name: "add/cpuset.mems", phase: atAdd, op: fakefs.OpWrite, path: "test/a/cpuset.mems",
		act: func(e *matrixEnv) error {
			return e.g.Apply(cgtest.Layout{{Name: "a", CPUs: cpus1, Mems: cgroupfs.NewCPUSet(0)}})
		}},

	// The Manager's calls: the error comes back from the method.
	{name: "manager/CreateCgroup mkdir", phase: atManager, op: fakefs.OpMkdir, path: "test/a/b",
		act: func(e *matrixEnv) error { return e.mgr.CreateCgroup("a/b") }},
	{name: "manager/CreateCgroup cgroup.subtree_control", phase: atManager, op: fakefs.OpWrite, path: "test/a/cgroup.subtree_control",
		act: func(e *matrixEnv) error { return e.mgr.CreateCgroup("a/b") }},
	{name: "manager/SetCpuset", phase: atManager, op: fakefs.OpWrite, path: "test/a/cpuset.cpus",
		prepare: addNoCpuset("a"),
		act:     func(e *matrixEnv) error { return e.mgr.SetCpuset("a", cpus1) }},
	{name: "manager/ClearCpuset", phase: atManager, op: fakefs.OpWrite, path: "test/a/cpuset.cpus",
		prepare: addNoCpuset("a"),
		act:     func(e *matrixEnv) error { return e.mgr.ClearCpuset("a") }},
	{name: "manager/SetCpusetMems", phase: atManager, op: fakefs.OpWrite, path: "test/a/cpuset.mems",
		prepare: addNoCpuset("a"),
		act:     func(e *matrixEnv) error { return e.mgr.SetCpusetMems("a", cgroupfs.NewCPUSet(0)) }},
	{name: "manager/ClearSubtreeControl", phase: atManager, op: fakefs.OpWrite, path: "test/a/cgroup.subtree_control",
		prepare: addNoCpuset("a/b"),
		act:     func(e *matrixEnv) error { return e.mgr.ClearSubtreeControl("a") }},
	{name: "manager/MoveTask cgroup.procs", phase: atManager, op: fakefs.OpWrite, path: "test/a/cgroup.procs",
		prepare: func(t *testing.T, e *matrixEnv) {
			addNoCpuset("a")(t, e)
			pid, err := e.fs.Spawn(".")
			mustDo(t, err)
			e.pid = pid
		},
		act: func(e *matrixEnv) error { return e.mgr.MoveTask("a", e.pid) }},
	{name: "manager/DrainTasks read cgroup.procs", phase: atManager, op: fakefs.OpRead, path: "test/a/cgroup.procs",
		prepare: withTask,
		act:     func(e *matrixEnv) error { return e.mgr.DrainTasks("a") },
		nilFor:  []syscall.Errno{unix.ENOENT, unix.ENODEV}},
	{name: "manager/DrainTasks write cgroup.procs", phase: atManager, op: fakefs.OpWrite, path: "cgroup.procs",
		prepare: withTask,
		act:     func(e *matrixEnv) error { return e.mgr.DrainTasks("a") }},
	{name: "manager/KillTasks readdir", phase: atManager, op: fakefs.OpReadDir, path: "test/a",
		prepare: withTask,
		act:     func(e *matrixEnv) error { return e.mgr.KillTasks("a") },
		nilFor:  []syscall.Errno{unix.ENOENT}, trustsENOENT: true},
	{name: "manager/KillTasks cgroup.kill", phase: atManager, op: fakefs.OpWrite, path: "test/a/cgroup.kill",
		prepare: withTask,
		act:     func(e *matrixEnv) error { return e.mgr.KillTasks("a") },
		// ENOENT: a kernel without cgroup.kill; the fallback signals
		// each pid, which cannot end a fake task.
		anyErrFor: []syscall.Errno{unix.ENOENT}},
	{name: "manager/WaitEmpty watch", phase: atManager, op: fakefs.OpWatch, path: "test/a/cgroup.events",
		prepare: withExitingTask,
		act:     waitEmpty,
		// ENOSPC: an inotify limit is used up; WaitEmpty reads
		// cgroup.events at intervals instead (issue 11 item 9).
		nilFor: []syscall.Errno{unix.ENOENT, unix.ENOSPC}},
	{name: "manager/WaitEmpty read cgroup.events", phase: atManager, op: fakefs.OpRead, path: "test/a/cgroup.events",
		prepare: withExitingTask,
		act:     waitEmpty,
		nilFor:  []syscall.Errno{unix.ENOENT, unix.ENODEV}},
	{name: "manager/RemoveCgroup rmdir", phase: atManager, op: fakefs.OpRmdir, path: "test/a",
		prepare: addNoCpuset("a"),
		act:     func(e *matrixEnv) error { return e.mgr.RemoveCgroup("a") },
		nilFor:  []syscall.Errno{unix.ENOENT}, nilOnce: []syscall.Errno{unix.EBUSY}, trustsENOENT: true},
	{name: "manager/CleanupAll readdir", phase: atManager, op: fakefs.OpReadDir, path: "test",
		prepare: addNoCpuset("a/b"),
		act:     func(e *matrixEnv) error { return e.mgr.CleanupAll() },
		nilFor:  []syscall.Errno{unix.ENOENT}},
	{name: "manager/CleanupAll rmdir", phase: atManager, op: fakefs.OpRmdir, path: "test/a/b",
		prepare: addNoCpuset("a/b"),
		act:     func(e *matrixEnv) error { return e.mgr.CleanupAll() },
		// ENOENT: the fake says a/b is gone while it is not; a, above
		// it, then rightly fails EBUSY naming its child.
		anyErrFor: []syscall.Errno{unix.ENOENT}, nilOnce: []syscall.Errno{unix.EBUSY}},

	// Teardown: the failure is a warning.
	{name: "teardown/rmdir", phase: atTeardown, op: fakefs.OpRmdir, path: "test/a",
		prepare: addNoCpuset("a"), trustsENOENT: true},
	{name: "teardown/rmdir child", phase: atTeardown, op: fakefs.OpRmdir, path: "test/a/b",
		prepare: addNoCpuset("a/b"), trustsENOENT: true},
	{name: "teardown/readdir", phase: atTeardown, op: fakefs.OpReadDir, path: "test/a",
		prepare: addNoCpuset("a/b"), trustsENOENT: true,
		// The kernel never answers EBUSY to a listing; the hint, keyed
		// on the errno, then blames tasks still exiting.
		hintFor: map[matrixFault]string{
			{unix.EBUSY, 1}:  "hint: the kernel said EBUSY",
			{unix.EBUSY, -1}: "hint: the kernel said EBUSY",
		}},
	{name: "teardown/kill cgroup.kill", phase: atTeardown, op: fakefs.OpWrite, path: "test/a/cgroup.kill",
		prepare: withTask, taskFault: true,
		// ENOENT: a kernel without cgroup.kill. KillTasks falls back to
		// SIGKILL rounds, which cannot end a fake task and outlast the
		// budget: the removal is abandoned as stuck.
		hintFor: map[matrixFault]string{
			{unix.ENOENT, 1}:  "hint: teardown used up its budget; a cgroupfs operation on it never returned",
			{unix.ENOENT, -1}: "hint: teardown used up its budget; a cgroupfs operation on it never returned",
		},
		errnoHidden: []syscall.Errno{unix.ENOENT}},
	{name: "teardown/kill read cgroup.procs", phase: atTeardown, op: fakefs.OpRead, path: "test/a/cgroup.procs",
		prepare: withTask, taskFault: true},
	{name: "teardown/drain write cgroup.procs", phase: atTeardown, op: fakefs.OpWrite, path: "cgroup.procs",
		policy: cgtest.Drain, prepare: withTask, taskFault: true},
	{name: "teardown/drain read cgroup.procs", phase: atTeardown, op: fakefs.OpRead, path: "test/a/cgroup.procs",
		policy: cgtest.Drain, prepare: withTask, taskFault: true,
		// ENOENT, ENODEV: the drain takes the fake's word that the
		// cgroup is gone, and the wait for "populated 0" then uses up
		// the budget; by then cgroup.procs reads again (once), and the
		// hint names the task.
		hintFor: map[matrixFault]string{
			{unix.ENOENT, 1}: "hint: the cgroup still has live tasks (pid",
			{unix.ENODEV, 1}: "hint: the cgroup still has live tasks (pid",
		},
		errnoHidden: []syscall.Errno{unix.ENOENT, unix.ENODEV}},
	{name: "teardown/wait watch", phase: atTeardown, op: fakefs.OpWatch, path: "test/a/cgroup.events",
		prepare: withExitingTask},
	{name: "teardown/wait read cgroup.events", phase: atTeardown, op: fakefs.OpRead, path: "test/a/cgroup.events",
		prepare: withExitingTask},
}

func waitEmpty(e *matrixEnv) error {
	// A bound against a broken wait, not a timing assertion: the fake
	// task empties the cgroup after a few observations.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return e.mgr.WaitEmpty(ctx, "a")
}

// matrixFault is how one case breaks the site's operation.
type matrixFault struct {
	errno syscall.Errno // 0 for a hang
	times int           // 1: once, -1: always
}

func (f matrixFault) String() string {
	if f.errno == 0 {
		return "hang"
	}
	mode := "always"
	if f.times == 1 {
		mode = "once"
	}
	return unix.ErrnoName(f.errno) + "/" + mode
}

func matrixFaults() []matrixFault {
	var out []matrixFault
	for _, e := range matrixErrnos {
		out = append(out, matrixFault{e, 1}, matrixFault{e, -1})
	}
	return append(out, matrixFault{})
}

// TestFaultMatrix injects every errno (once, and for good) and a hang
// into every operation the guard and the Manager perform, and checks
// that nothing panics or hangs, that the error or the warning carries
// the errno and the right hint, and that nothing the group created is
// left behind unless a warning names it.
func TestFaultMatrix(t *testing.T) {
	var n atomic.Int64
	t.Run("case", func(t *testing.T) {
		for _, s := range matrixSites {
			for _, f := range matrixFaults() {
				t.Run(s.name+"/"+f.String(), func(t *testing.T) {
					t.Parallel()
					n.Add(1)
					runMatrixCase(t, s, f)
				})
			}
		}
	})
	t.Logf("fault matrix: %d cases (%d sites x %d faults)", n.Load(), len(matrixSites), len(matrixFaults()))
}

func runMatrixCase(t *testing.T, s site, f matrixFault) {
	fsys := &gateFS{FS: fakefs.New(), op: s.op, path: s.path, entered: make(chan struct{})}
	mgr := cgroupfs.NewManager(fsys, "test")
	mustDo(t, mgr.Setup(false))
	rec := newRecorder(t.Name())
	e := &matrixEnv{fs: fsys, mgr: mgr, rec: rec}
	opts := []cgtest.Option{cgtest.Budget(budgetFor(s, f)), cgtest.WithPolicy(s.policy)}
	if !strings.Contains(s.wantHint(f), "never returned") {
		// The removal ends by itself, at the latest when the budget
		// ends: wait for it however slow the machine. With the default
		// grace (500 ms after a 200 ms budget) a VM under -race with two
		// CPU hogs and 630 cases in parallel once abandoned such a
		// removal as stuck (drain write cgroup.procs/ENOENT/once).
		opts = append(opts, cgtest.HardStopGrace(time.Minute))
	}
	e.g = cgtest.NewGroup(rec, mgr, opts...)
	if s.prepare != nil {
		s.prepare(t, e)
	}
	// A sibling without faults: teardown must not stop early.
	mustDo(t, e.g.AddCgroupNoCpuset("fine"))

	var release func()
	if f.errno == 0 {
		release = fsys.Hang(s.op, s.path)
		t.Cleanup(release)
		fsys.armed.Store(true)
	} else {
		fsys.Fail(s.op, s.path, f.errno, f.times)
	}

	switch s.phase {
	case atAdd, atManager:
		var err error
		if f.errno == 0 {
			err = actThroughHang(t, e, s, release)
		} else {
			err = s.act(e)
		}
		checkCallError(t, s, f, err)
		rec.Finish()
		if logs := append(rec.Logs(), rec.Errors()...); len(logs) != 0 && s.phase == atAdd {
			t.Errorf("teardown after a failed %s warned, want silence:\n%s", s.name, strings.Join(logs, "\n"))
		}
		left := leftUnder(fsys.FS, "test")
		if len(left) != 0 && s.phase == atAdd {
			t.Errorf("left behind after a failed %s: %q", s.name, left)
		}
		// A fault that outlives the Manager call hits the teardown too:
		// whatever of the group's it leaves, a warning names. (What the
		// Manager call made itself is no group's: a Manager guards
		// nothing.)
		logs := rec.Logs()
		ours := make(map[string]bool)
		for _, n := range e.g.Names() {
			ours["test/"+n] = true
		}
		trusted := f.errno == unix.ENOENT && f.times < 0 && s.trustsENOENT
		for _, c := range left {
			if trusted && c == s.faulted() {
				continue // the fake keeps saying it is gone
			}
			if ours[c] && !anyContains(logs, "/"+c) {
				t.Errorf("%s is left after %s and teardown, and no warning names it:\n%s", c, s.name, strings.Join(logs, "\n"))
			}
		}
	case atTeardown:
		rec.Finish()
		checkTeardown(t, s, f, fsys.FS, rec.Logs())
	}
	if errs := rec.Errors(); len(errs) != 0 {
		t.Errorf("errors reported without Strict: %q", errs)
	}
}

// actThroughHang runs the site's call into a hang, waits until it is
// blocked in the fake, releases it and returns the call's result: a
// slow cgroupfs operation must delay the call, not break it.
func actThroughHang(t *testing.T, e *matrixEnv, s site, release func()) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.act(e) }()
	select {
	case <-e.fs.entered:
	case err := <-done:
		t.Fatalf("%s returned %v without reaching the hung %s %s", s.name, err, s.op, s.path)
	}
	release()
	return <-done
}

// checkCallError checks the error of a Group or Manager call.
func checkCallError(t *testing.T, s site, f matrixFault, err error) {
	t.Helper()
	isNil := f.errno == 0 || containsErrno(s.nilFor, f.errno) || (f.times == 1 && containsErrno(s.nilOnce, f.errno))
	switch {
	case isNil:
		if err != nil {
			t.Errorf("%s with %v = %v, want success", s.name, f, err)
		}
	case containsErrno(s.anyErrFor, f.errno):
		if err == nil {
			t.Errorf("%s with %v succeeded, want an error", s.name, f)
		}
	default:
		if !errors.Is(err, f.errno) {
			t.Errorf("%s with %v = %v, want an error wrapping %s", s.name, f, err, unix.ErrnoName(f.errno))
		} else if f.errno == unix.EACCES || f.errno == unix.EPERM || f.errno == unix.EROFS {
			assert.Check(t, is.Contains(err.Error(), callHints[f.errno]), "%s with %v = %v, want the hint %q", s.name, f, err, callHints[f.errno])
		}
	}
}

// callHints are words every error of a call carries for the errnos that
// have one remedy whatever the call.
var callHints = map[syscall.Errno]string{
	unix.EACCES: "permission denied",
	unix.EPERM:  "operation not permitted",
	unix.EROFS:  "read-only",
}

// The hint each errno of a failed rmdir must give in a warning.
var rmdirHints = map[syscall.Errno]string{
	unix.EBUSY:  "hint: teardown used up its budget",
	unix.EACCES: "hint: run as root, or in a cgroup subtree delegated to your user",
	unix.EPERM:  "hint: run as root, or in a cgroup subtree delegated to your user",
	unix.EROFS:  "hint: the cgroup filesystem is mounted read-only",
}

const otherHint = "hint: the cgroup is left behind"

// checkTeardown checks the warnings and what is left after a teardown
// with a fault.
func checkTeardown(t *testing.T, s site, f matrixFault, fsys *fakefs.FS, logs []string) {
	t.Helper()
	left := leftUnder(fsys, "test")
	warned := warnedCgroups(logs)
	for _, l := range logs {
		t.Log(l)
	}
	if warned["test/fine"] {
		t.Errorf("a warning about test/fine, which had no fault")
	}
	for _, c := range left {
		if c == "test/fine" {
			t.Errorf("test/fine was not removed: the fault stopped the teardown early")
		}
	}
	trusted := f.errno == unix.ENOENT && s.trustsENOENT
	// Nothing is left that no warning names (a cgroup beneath a named
	// one is named by its path in the warning), but where the fake
	// lied that the cgroup is gone (ENOENT): teardown takes the
	// kernel's word for it, and the cgroup the lie was about stays.
	for _, c := range left {
		if trusted && (c == s.faulted() || strings.HasPrefix(s.faulted(), c+"/")) {
			continue
		}
		if !warned[c] && !anyContains(logs, "/"+c) {
			t.Errorf("%s is left behind, and no warning names it:\n%s", c, strings.Join(logs, "\n"))
		}
	}
	if trusted {
		return
	}
	if f.times == 1 && f.errno == unix.EBUSY && s.op == fakefs.OpRmdir && len(left) != 0 {
		// EBUSY once is what tasks still exiting give: it is retried.
		t.Errorf("a single EBUSY left %q: it was not retried:\n%s", left, strings.Join(logs, "\n"))
	}
	var w string
	for _, l := range logs {
		if strings.Contains(l, "could not remove cgroup /"+s.faulted()+":") {
			w = l
		}
	}
	if w == "" {
		if slices.Contains(left, s.faulted()) {
			t.Errorf("%s is left after %v in %s, and no warning names it:\n%s", s.faulted(), f, s.name, strings.Join(logs, "\n"))
		}
		// Removed after all (a fault once, or one the code rightly
		// takes for "gone" while the next step succeeds): nothing to
		// say.
		return
	}
	want := s.wantHint(f)
	assert.Check(t, is.Contains(w, want), "warning after %v lacks the hint %q:\n%s", f, want, w)
	if f.errno != 0 && !containsErrno(s.errnoHidden, f.errno) && !strings.Contains(w, f.errno.Error()) {
		t.Errorf("warning lacks the errno (%q):\n%s", f.errno.Error(), w)
	}
}

// faulted returns the cgroup whose removal the site's fault hits.
func (s site) faulted() string {
	switch s.path {
	case "cgroup.procs", "test":
		return "test/a"
	}
	for _, f := range []string{"/cgroup.kill", "/cgroup.procs", "/cgroup.events"} {
		if p, ok := strings.CutSuffix(s.path, f); ok {
			return p
		}
	}
	return s.path
}

// wantHint returns the hint a warning about the faulted cgroup must give.
func (s site) wantHint(f matrixFault) string {
	if h, ok := s.hintFor[f]; ok {
		return h
	}
	switch {
	case f.errno == 0:
		// A call that never returned: the cgroup is not looked at again.
		return "hint: teardown used up its budget; a cgroupfs operation on it never returned"
	case s.taskFault && s.op == fakefs.OpWrite:
		// The tasks could not be killed or moved, and are listed.
		return "hint: the cgroup still has live tasks (pid"
	case s.taskFault && f.times == 1:
		// The listing failed once; by the time of the hint it works.
		return "hint: the cgroup still has live tasks (pid"
	case s.taskFault:
		// The tasks could not even be listed.
		return "hint: teardown used up its budget"
	}
	if h, ok := rmdirHints[f.errno]; ok {
		return h
	}
	return otherHint
}

func containsErrno(list []syscall.Errno, e syscall.Errno) bool {
	for _, x := range list {
		if x == e {
			return true
		}
	}
	return false
}

func anyContains(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

// leftUnder returns the cgroups beneath dir in the fake.
func leftUnder(fsys *fakefs.FS, dir string) []string {
	var out []string
	for _, c := range fsys.Snapshot().Cgroups {
		if strings.HasPrefix(c.Path, dir+"/") {
			out = append(out, c.Path)
		}
	}
	return out
}

// warnedCgroups returns the FS paths of the cgroups the warnings name.
func warnedCgroups(logs []string) map[string]bool {
	out := make(map[string]bool)
	for _, l := range logs {
		_, rest, ok := strings.Cut(l, "could not remove cgroup /")
		if !ok {
			continue
		}
		if p, _, ok := strings.Cut(rest, ":"); ok {
			out[p] = true
		}
	}
	return out
}
