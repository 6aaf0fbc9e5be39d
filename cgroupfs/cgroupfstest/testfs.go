// Package cgroupfstest checks that an implementation of cgroupfs.FS
// behaves like the kernel's cgroup v2, in the spirit of testing/fstest.
//
// TestFS runs every conformance scenario as a subtest and reports every
// difference, one t.Errorf line each, not just the first. The project
// runs it against fakefs always, against the host kernel as root, and
// against a VM kernel; users can run it against their own fakes.
package cgroupfstest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"golang.org/x/sys/unix"
)

// Tasks places live tasks into cgroups of the FS under test, so that
// the scenarios about populated cgroups, EBUSY and cgroup.procs can run.
// fakefs.FS implements it; for the real kernel use ProcessTasks.
type Tasks interface {
	// Spawn starts a task inside the cgroup name (FS-relative) and
	// returns its pid. It fails with the kernel's errno (EBUSY under the
	// no-internal-process rule).
	Spawn(name string) (pid int, err error)
	// Kill ends the task pid; once it returns the task no longer keeps
	// its cgroup populated (a real process is killed and reaped). A task
	// already gone (killed through cgroup.kill) may give ESRCH.
	Kill(pid int) error
}

// Option configures TestFS and Check.
type Option func(*config)

type config struct {
	tasks   Tasks
	timeout time.Duration
	onSkip  func(scenario, reason string)
}

// WithTasks gives TestFS a way to run tasks in cgroups. Without it the
// scenarios that need tasks are skipped, saying so.
func WithTasks(t Tasks) Option { return func(c *config) { c.tasks = t } }

// WithTimeout bounds each wait for a cgroup.events change (default 10s).
// A wait that runs out reports the last content it read.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// OnSkip makes Check call f with the name of each scenario it skips and
// the reason. TestFS reports skips through t.Skip and does not call f.
func OnSkip(f func(scenario, reason string)) Option { return func(c *config) { c.onSkip = f } }

// TestFS runs the conformance scenarios against fsys, each as a subtest
// of t named after the behaviour it checks. A difference from the kernel
// is reported with t.Errorf, one line each, naming the operation, what
// the FS did and what the kernel does; a scenario goes on after a
// difference where it can, so one run shows all of them.
//
// fsys must be rooted at an empty cgroup that the test owns: no tasks,
// no child cgroups, and writable cgroup.subtree_control, because the
// scenarios create children under it and enable the controllers its
// cgroup.controllers offers (they restore it afterwards). Never root it
// at a cgroup other software uses. The hierarchy root of a fake is fine.
// TestFS stops the test (t.Fatalf) when the root is not such a cgroup.
//
// Scenarios needing a controller (cpuset, or any domain controller) are
// skipped, with the reason, when the root's cgroup.controllers lacks it;
// scenarios needing tasks are skipped without WithTasks. Every cgroup a
// scenario makes is removed when it ends, tasks killed first.
func TestFS(t *testing.T, fsys cgroupfs.FS, opts ...Option) {
	t.Helper()
	cfg, ctrls, err := prepare(fsys, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) { runScenario(t, s, fsys, cfg, ctrls) })
	}
}

// Check runs the same scenarios as TestFS without a testing.T, as
// testing/fstest.TestFS does: it returns nil when fsys behaves like the
// kernel, and otherwise one error joining every difference, one line
// each, prefixed with the scenario's name. Skipped scenarios are not
// errors; their names and reasons go to the OnSkip option's function.
// The requirements on fsys are TestFS's.
func Check(fsys cgroupfs.FS, opts ...Option) error {
	cfg, ctrls, err := prepare(fsys, opts)
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range scenarios {
		r := &recorder{}
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer r.runCleanups()
			runScenario(r, s, fsys, cfg, ctrls)
		}()
		<-done
		for _, msg := range r.errs {
			errs = append(errs, fmt.Errorf("%s: %s", s.name, msg))
		}
		if r.skip != "" && cfg.onSkip != nil {
			cfg.onSkip(s.name, r.skip)
		}
	}
	return errors.Join(errs...)
}

// prepare applies the options and checks that the root is an empty
// cgroup.
func prepare(fsys cgroupfs.FS, opts []Option) (config, []string, error) {
	cfg := config{timeout: 10 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	ctrls, err := fsys.ReadFile("cgroup.controllers")
	if err != nil {
		return cfg, nil, fmt.Errorf("cgroupfstest: read cgroup.controllers of the FS root: %w; the conformance suite needs an FS rooted at a cgroup", err)
	}
	entries, err := fsys.ReadDir(".")
	if err != nil {
		return cfg, nil, fmt.Errorf("cgroupfstest: list the FS root: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() {
			return cfg, nil, fmt.Errorf("cgroupfstest: the FS root already has the child cgroup %q; the conformance suite needs an empty cgroup it may fill (make a fresh one for it)", e.Name())
		}
	}
	return cfg, strings.Fields(string(ctrls)), nil
}

func runScenario(t reporter, s scenario, fsys cgroupfs.FS, cfg config, ctrls []string) {
	x := &ctx{reporter: t, fsys: fsys, cfg: cfg, rootCtrls: ctrls, dir: strings.ReplaceAll(s.name, "/", "-")}
	if s.needTasks && cfg.tasks == nil {
		t.Skip("needs live tasks: pass cgroupfstest.WithTasks (fakefs.FS is one; for the kernel, NewProcessTasks)")
	}
	t.Cleanup(x.cleanup)
	s.run(x)
}

// reporter is the part of *testing.T the scenarios use; Check provides
// its own.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Skip(args ...any)
	Skipf(format string, args ...any)
	Cleanup(func())
}

// recorder is Check's reporter. Fatalf and Skip end the scenario's
// goroutine with runtime.Goexit, as testing.T does.
type recorder struct {
	errs     []string
	skip     string
	cleanups []func()
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Skip(args ...any) {
	r.skip = fmt.Sprint(args...)
	runtime.Goexit()
}
func (r *recorder) Skipf(format string, args ...any) {
	r.skip = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

func (r *recorder) runCleanups() {
	for _, f := range slices.Backward(r.cleanups) {
		f()
	}
}

// scenario is one conformance check. Scenarios run one after another,
// never in parallel: they share the root's cgroup.subtree_control.
type scenario struct {
	name      string
	needTasks bool
	run       func(x *ctx)
}

// ctx is what a scenario works with: its own directory under the root,
// and everything it made, for cleanup.
type ctx struct {
	reporter
	fsys      cgroupfs.FS
	cfg       config
	rootCtrls []string
	dir       string   // the scenario's cgroup, a child of the root
	made      []string // cgroups made, in creation order
	pids      []int    // tasks spawned
	enabled   []string // controllers enabled in the root's subtree_control
}

// p joins the scenario directory and rel.
func (x *ctx) p(rel ...string) string {
	return strings.Join(append([]string{x.dir}, rel...), "/")
}

// mkdir makes a cgroup and stops the scenario if it cannot: every later
// check would only repeat the failure.
func (x *ctx) mkdir(name string) {
	x.Helper()
	if err := x.fsys.Mkdir(name); err != nil {
		x.Fatalf("mkdir %s: %v (the scenario needs it)", name, err)
	}
	x.made = append(x.made, name)
}

// spawn starts a task in name and stops the scenario if it cannot.
func (x *ctx) spawn(name string) int {
	x.Helper()
	pid, err := x.cfg.tasks.Spawn(name)
	if err != nil {
		x.Fatalf("spawn a task in %s: %v (the scenario needs it)", name, err)
	}
	x.pids = append(x.pids, pid)
	return pid
}

// kill ends a task; ESRCH (already gone) is fine.
func (x *ctx) kill(pid int) {
	x.Helper()
	if err := x.cfg.tasks.Kill(pid); err != nil && !errors.Is(err, unix.ESRCH) {
		x.Errorf("kill task %d: %v", pid, err)
	}
	x.pids = slices.DeleteFunc(x.pids, func(p int) bool { return p == pid })
}

// enableInRoot enables ctrl in the root's subtree_control, to be undone
// at cleanup.
func (x *ctx) enableInRoot(ctrl string) {
	x.Helper()
	if err := x.fsys.WriteFile("cgroup.subtree_control", []byte("+"+ctrl)); err != nil {
		x.Fatalf("write %q to cgroup.subtree_control of the FS root: %v (cgroup.controllers offers it)", "+"+ctrl, err)
	}
	x.enabled = append(x.enabled, ctrl)
}

// cleanup kills what the scenario started, removes what it made
// (deepest first), and disables what it enabled in the root.
func (x *ctx) cleanup() {
	for _, pid := range slices.Clone(x.pids) {
		x.kill(pid)
	}
	made := slices.Clone(x.made)
	slices.SortStableFunc(made, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	for _, name := range made {
		var err error
		for range 100 {
			if err = x.fsys.Rmdir(name); err == nil || errors.Is(err, fs.ErrNotExist) || !errors.Is(err, unix.EBUSY) {
				break
			}
			x.waitEvents(name, "populated 0")
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			x.Errorf("cleanup: rmdir %s: %v", name, err)
		}
	}
	for _, ctrl := range slices.Backward(x.enabled) {
		if err := x.fsys.WriteFile("cgroup.subtree_control", []byte("-"+ctrl)); err != nil {
			x.Errorf("cleanup: write %q to cgroup.subtree_control of the FS root: %v", "-"+ctrl, err)
		}
	}
}

// has reports whether the root offers ctrl.
func (x *ctx) has(ctrl string) bool { return slices.Contains(x.rootCtrls, ctrl) }

// needController skips the scenario unless the root offers ctrl.
func (x *ctx) needController(ctrl string) {
	x.Helper()
	if !x.has(ctrl) {
		x.Skipf("needs the %s controller, but cgroup.controllers of the FS root lists %q: enable %s in the parent's cgroup.subtree_control (on a hybrid host, where %s is bound to cgroup v1, run in the VM: go test -exec 'go run ./cmd/cgvm')", ctrl, strings.Join(x.rootCtrls, " "), ctrl, ctrl)
	}
}

// domainControllers are the controllers the no-internal-process rule
// applies to (threaded controllers are exempt where a thread root could
// form).
var domainControllers = []string{"memory", "io", "hugetlb", "rdma", "misc"}

// needDomainController returns a domain controller the root offers, or
// skips the scenario.
func (x *ctx) needDomainController() string {
	x.Helper()
	for _, c := range domainControllers {
		if x.has(c) {
			return c
		}
	}
	x.Skipf("needs a domain controller (one of %s), but cgroup.controllers of the FS root lists %q: enable one in the parent's cgroup.subtree_control, or run in the VM (go test -exec 'go run ./cmd/cgvm')", strings.Join(domainControllers, " "), strings.Join(x.rootCtrls, " "))
	return ""
}

// errno returns err's errno, or 0.
func errno(err error) syscall.Errno {
	e, _ := errors.AsType[syscall.Errno](err)
	return e
}

func errnoText(e syscall.Errno) string {
	if e == 0 {
		return "success"
	}
	return unix.ErrnoName(e)
}

// gotErr reports a difference unless err carries want (0: success).
func (x *ctx) gotErr(what string, err error, want syscall.Errno) bool {
	x.Helper()
	if got := errno(err); got != want || (want == 0 && err != nil) {
		x.Errorf("%s: got %s (%v), the kernel gives %s", what, errnoText(got), err, errnoText(want))
		return false
	}
	return true
}

// write writes data to name and checks the errno.
func (x *ctx) write(name, data string, want syscall.Errno) bool {
	x.Helper()
	return x.gotErr(fmt.Sprintf("write %q to %s", data, name), x.fsys.WriteFile(name, []byte(data)), want)
}

// read returns the content of name, reporting a failure.
func (x *ctx) read(name string) string {
	x.Helper()
	data, err := x.fsys.ReadFile(name)
	if err != nil {
		x.Errorf("read %s: %v", name, err)
	}
	return string(data)
}

// content checks that name reads want.
func (x *ctx) content(name, want string) {
	x.Helper()
	data, err := x.fsys.ReadFile(name)
	if err != nil {
		x.Errorf("read %s: %v, the kernel reads %q", name, err, want)
		return
	}
	if string(data) != want {
		x.Errorf("read %s: got %q, the kernel reads %q", name, data, want)
	}
}

// procs returns the pids in name's cgroup.procs, in order.
func (x *ctx) procs(name string) []string {
	x.Helper()
	return strings.Fields(x.read(name + "/cgroup.procs"))
}

// listing returns name's entries: cgroups with a trailing "/".
func (x *ctx) listing(name string) map[string]fs.FileMode {
	x.Helper()
	entries, err := x.fsys.ReadDir(name)
	if err != nil {
		x.Errorf("readdir %s: %v", name, err)
		return nil
	}
	out := make(map[string]fs.FileMode)
	for _, e := range entries {
		mode := e.Type()
		if info, err := e.Info(); err == nil {
			mode = info.Mode()
		}
		n := e.Name()
		if e.IsDir() {
			n += "/"
		}
		out[n] = mode
	}
	return out
}

// waitEvents waits until name's cgroup.events holds the line want, by
// watching it (the way every real caller must), for at most the
// configured timeout. On timeout it reports what it last read.
func (x *ctx) waitEvents(name, want string) bool {
	x.Helper()
	file := name + "/cgroup.events"
	w, err := x.fsys.Watch(file)
	if err != nil {
		x.Errorf("watch %s: %v", file, err)
		return false
	}
	defer w.Close()
	deadline := time.NewTimer(x.cfg.timeout)
	defer deadline.Stop()
	for {
		data, err := x.fsys.ReadFile(file)
		if err != nil {
			x.Errorf("read %s while waiting for %q: %v", file, want, err)
			return false
		}
		if hasLine(data, want) {
			return true
		}
		select {
		case _, ok := <-w.Events():
			if !ok {
				x.Errorf("waiting for %q in %s: the watch channel closed; last read %q", want, file, data)
				return false
			}
		case <-deadline.C:
			x.Errorf("waiting for %q in %s: no such change within %v; last read %q", want, file, x.cfg.timeout, data)
			return false
		}
	}
}

func hasLine(data []byte, line string) bool {
	for l := range bytes.SplitSeq(data, []byte("\n")) {
		if string(l) == line {
			return true
		}
	}
	return false
}
