package cgtest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// keepEnv is gotest.tools' switch for keeping what a test made, for a
// post-mortem; users already know it. It is read as strconv.ParseBool
// reads it ("1", "t", "true", ...), here and nowhere else.
const keepEnv = "TEST_NOCLEANUP"

func keepAll() bool {
	keep, _ := strconv.ParseBool(os.Getenv(keepEnv))
	return keep
}

// keptSuffix ends the name of a per-test root made with
// TEST_NOCLEANUP=true. Sanitized test names hold no '-', so the suffix
// cannot be part of one.
const keptSuffix = "-kept"

// isKept reports whether the per-test root name was made to be kept.
func isKept(name string) bool { return strings.HasSuffix(name, keptSuffix) }

// maxBackoff caps the pause between two rmdir attempts that failed with
// EBUSY while neither tasks nor child cgroups were visible (tasks still
// exiting): short enough to notice the end quickly, long enough not to
// starve the exiting tasks on a small machine.
const maxBackoff = 50 * time.Millisecond

// teardown is the t.Cleanup of the cgroup name: it removes name, and
// everything beneath it first, and reports a failure as one warning.
func (g *Group) teardown(name string) {
	g.t.Helper()
	if keepAll() {
		g.t.Logf("cgtest: %s=true: keeping cgroup %s", keepEnv, g.display(name))
		return
	}
	ctx, hardStop, cancel := g.teardownContext()
	defer cancel()
	if err := g.checkIdentity(name); err != nil {
		g.warn(name, err)
		return
	}
	// The removal runs in its own goroutine so that a cgroupfs call that
	// never returns (a write blocked in the kernel, an injected hang)
	// cannot hold the test beyond the budget: it is abandoned instead.
	done := make(chan error, 1)
	go func() { done <- g.remove(ctx, name) }()
	var err error
	select {
	case err = <-done:
	case <-hardStop.Done():
		select {
		case err = <-done:
		default:
			err = &budgetError{budget: g.cfg.budget, stuck: true, err: context.DeadlineExceeded}
		}
	}
	if err != nil {
		g.warn(name, err)
	}
}

// teardownContext starts the group's budget on the first call and
// returns a context for waits and retries (it ends with the budget) and
// a hard stop for the whole removal of one cgroup (the budget, but at
// least a short grace after now, so that a cgroup torn down after the
// budget still gets one quick attempt). Within the budget every
// teardown shares the two contexts the first one made (a context with a
// deadline per cgroup cost a sixth of an rmdir); the group's last
// cleanup cancels them.
func (g *Group) teardownContext() (ctx, hardStop context.Context, cancel func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ended = true
	// Generous, as finishing a wait takes time of its own: closing an
	// inotify instance waits for an RCU grace period (measured on 6.18:
	// median 12 ms, up to 270 ms).
	grace := g.cfg.grace
	if grace == 0 {
		grace = min(max(g.cfg.budget/10, 500*time.Millisecond), 2*time.Second)
	}
	now := time.Now()
	if g.deadline.IsZero() {
		g.deadline = now.Add(g.cfg.budget)
	}
	if g.budgetCtx == nil {
		var cancel1, cancel2 context.CancelFunc
		g.budgetCtx, cancel1 = context.WithDeadline(context.Background(), g.deadline)
		// The hard stop lies a grace after the budget, so that a removal
		// that ran out of budget by itself reports its own last error.
		g.stopCtx, cancel2 = context.WithDeadline(context.Background(), g.deadline.Add(grace))
		g.cancelCtxs = func() { cancel1(); cancel2() }
	}
	if now.Before(g.deadline) {
		return g.budgetCtx, g.stopCtx, func() {}
	}
	hardStop, cancel = context.WithDeadline(context.Background(), now.Add(grace))
	return g.budgetCtx, hardStop, cancel
}

// budgetError is a removal that ran out of the teardown budget.
type budgetError struct {
	budget time.Duration
	stuck  bool  // an operation never returned
	err    error // the last error seen (EBUSY, ...) or DeadlineExceeded
}

func (e *budgetError) Error() string {
	if e.stuck {
		return fmt.Sprintf("teardown budget of %v used up while a cgroupfs operation had not returned", e.budget)
	}
	return fmt.Sprintf("teardown budget of %v used up; last attempt: %v", e.budget, e.err)
}

func (e *budgetError) Unwrap() []error { return []error{context.DeadlineExceeded, e.err} }

// removeError is a cgroup that could not be removed: the rmdir error,
// and what went wrong on the way (emptying it, removing children).
type removeError struct {
	err   error   // of the final rmdir (or of listing the cgroup)
	steps []error // earlier failures, for the error chain
}

func (e *removeError) Error() string {
	var b strings.Builder
	b.WriteString(e.err.Error())
	for _, s := range e.steps {
		b.WriteString("; before that: ")
		b.WriteString(s.Error())
	}
	return b.String()
}

func (e *removeError) Unwrap() []error { return append([]error{e.err}, e.steps...) }

// remove removes the subtree at name deepest first, tracked or
// not: rmdir of a cgroup with children fails with EBUSY, so whatever
// order the cleanups run in (a child added before its parent's name),
// the descendants go first.
func (g *Group) remove(ctx context.Context, name string) error {
	// An empty cgroup without children, the usual case, goes with its
	// first rmdir, so try that before looking inside: the kernel refuses
	// (EBUSY) exactly when there is something to look at, and looking
	// costs more than the rmdir (on Linux 6.18 every interface file
	// opened in a cgroup makes its rmdir about 25 us slower, see
	// BENCHMARKS.md). Any failure takes the careful way below, which
	// tries again and reports it.
	if p, err := g.ops.Path(name); err == nil {
		err = g.ops.FS().Rmdir(p)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil
		}
	}
	tree, err := g.subtree(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // removed already: the post-condition holds
	}
	if err != nil {
		return err
	}
	var steps []error
	if err := g.leave(tree); err != nil {
		steps = append(steps, err)
	}
	if err := g.empty(ctx, name, tree); err != nil {
		steps = append(steps, err)
	}
	for _, c := range tree[:len(tree)-1] {
		if err := g.rmdir(ctx, c); err != nil {
			steps = append(steps, fmt.Errorf("remove child cgroup %s: %w", g.display(c), err))
		}
	}
	if err := g.rmdir(ctx, name); err != nil {
		return &removeError{err: err, steps: steps}
	}
	return nil
}

// subtree returns name and every cgroup beneath it, deepest first
// (children before their parent), name last.
func (g *Group) subtree(name string) ([]string, error) {
	kids, err := g.ops.Children(name)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, k := range kids {
		sub, err := g.subtree(k)
		if errors.Is(err, fs.ErrNotExist) {
			continue // gone meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, sub...)
	}
	return append(out, name), nil
}

// rmdir removes the single cgroup name, retrying EBUSY within ctx. On
// EBUSY it looks at why (the kernel gives the same errno for tasks and
// for child cgroups) and deals with it: children that appeared are
// removed, tasks that appeared are emptied out, and when neither is
// visible (tasks still exiting) it backs off briefly.
func (g *Group) rmdir(ctx context.Context, name string) error {
	p, err := g.ops.Path(name)
	if err != nil {
		return err
	}
	backoff := time.Millisecond
	for {
		err := g.ops.FS().Rmdir(p)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) {
			return err
		}
		if ctx.Err() != nil {
			return &budgetError{budget: g.cfg.budget, err: err}
		}
		progressed := false
		kids, _ := g.ops.Children(name)
		for _, k := range kids {
			kerr := g.remove(ctx, k)
			if kerr == nil {
				progressed = true
				continue
			}
			// A child that cannot be removed for good (EACCES, ...)
			// keeps us busy for good: say so now rather than at the end
			// of the budget, in an error no level above retries.
			if !retryable(kerr) {
				return &blockedError{busy: err, child: g.display(k), cause: kerr}
			}
		}
		if pop, known := g.populated(name); known && pop {
			progressed = g.empty(ctx, name, []string{name}) == nil
		}
		if !progressed {
			// Nothing to act on, or acting failed: pause rather than
			// spin, so exiting tasks get the CPU.
			sleep(ctx, backoff)
			backoff = min(2*backoff, maxBackoff)
		}
	}
}

// retryable reports whether a failure may go away by itself: EBUSY
// (tasks exiting) or running out of budget, not a refusal, nor an EBUSY
// caused by a refusal anywhere below (blockedError).
func retryable(err error) bool {
	var blocked *blockedError
	if errors.As(err, &blocked) {
		return false
	}
	return errors.Is(err, unix.EBUSY) || errors.Is(err, context.DeadlineExceeded)
}

// blockedError is an rmdir that failed EBUSY because a child cgroup
// cannot be removed for good (EACCES, EPERM, EROFS, ... at any depth
// below): retrying cannot help, and the child's error is the cause.
type blockedError struct {
	busy  error  // the rmdir's EBUSY
	child string // the child, for people
	cause error  // why the child cannot be removed
}

// Error names the child but not its error, which the removal reports
// with the child's own step.
func (e *blockedError) Error() string {
	return fmt.Sprintf("%v, as its child cgroup %s cannot be removed", e.busy, e.child)
}

func (e *blockedError) Unwrap() []error { return []error{e.busy, e.cause} }

// rootCause follows removeError and blockedError down to the error that
// decides the hint: the final rmdir's, or the refusal that blocked it.
func rootCause(err error) error {
	for {
		var re *removeError
		var blocked *blockedError
		switch {
		case errors.As(err, &blocked) && blocked.cause != err:
			err = blocked.cause
		case errors.As(err, &re) && re.err != err:
			err = re.err
		default:
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}

// populated reads the cgroup's "populated" key from cgroup.events: true
// when any task lives in it or beneath it. known is false when the file
// cannot be read (a plain directory standing in for cgroupfs).
func (g *Group) populated(name string) (pop, known bool) {
	p, err := g.ops.Path(name)
	if err != nil {
		return false, false
	}
	data, err := g.ops.FS().ReadFile(p + "/cgroup.events")
	if err != nil {
		return false, false
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "populated "); ok {
			return v != "0", true
		}
	}
	return false, false
}

// empty makes the subtree at name (tree, deepest first) hold no task,
// by the group's policy, and waits for the kernel to say so.
func (g *Group) empty(ctx context.Context, name string, tree []string) error {
	pop, known := g.populated(name)
	if !known {
		// Without cgroup.events (a plain directory), look at the pids.
		for _, c := range tree {
			if pids, _ := g.ops.Procs(c); len(pids) > 0 {
				pop = true
				break
			}
		}
	}
	if !pop {
		return nil
	}
	// Drain, or Kill with the test process still inside (it could not
	// be moved back): moving the tasks out is the only way that does not
	// kill the test itself.
	drain := g.cfg.policy.drain || g.selfInside(tree)
	if !drain {
		g.markKilled(tree)
		if err := g.ops.KillTasks(name); err != nil {
			return fmt.Errorf("kill the tasks of cgroup %s: %w", g.display(name), err)
		}
	} else {
		g.remakeDrainLeaf()
		var errs []error
		for _, c := range tree {
			// DrainTasks ignores a missing cgroup itself; an ENOENT
			// here is about the drain target, and must be reported.
			if err := g.ops.DrainTasks(c); err != nil {
				errs = append(errs, fmt.Errorf("drain the tasks of cgroup %s: %w", g.display(c), err))
			}
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
	}
	if !known {
		return nil
	}
	if err := g.ops.WaitEmpty(ctx, name); err != nil {
		return fmt.Errorf("wait for cgroup %s to be empty: %w", g.display(name), err)
	}
	return nil
}

func (g *Group) markKilled(tree []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range tree {
		g.killed[c] = true
	}
}

// selfInside reports whether the test process is in one of the cgroups
// of tree. Only a real cgroupfs can hold it.
func (g *Group) selfInside(tree []string) bool {
	if !g.self.real {
		return false
	}
	pid := os.Getpid()
	for _, c := range tree {
		if pids, _ := g.ops.Procs(c); slices.Contains(pids, pid) {
			return true
		}
	}
	return false
}

// leave moves the test process out of tree, back to the cgroup it was in
// when the group was made, if the test moved itself in. Killing the
// tasks of a cgroup that holds the test would kill the test.
func (g *Group) leave(tree []string) error {
	if !g.selfInside(tree) {
		return nil
	}
	if err := g.self.moveBack(); err != nil {
		return fmt.Errorf("the test process (pid %d) is inside the cgroup and could not be moved back: %w; its tasks are drained instead of killed", os.Getpid(), err)
	}
	return nil
}

// warn reports the cgroup name that teardown could not remove: its path,
// the error chain, and a hint naming the cause.
func (g *Group) warn(name string, err error) {
	g.t.Helper()
	msg := fmt.Sprintf("cgtest: teardown could not remove cgroup %s: %v\n\thint: %s", g.display(name), err, g.hint(name, err))
	if g.cfg.strict {
		g.t.Errorf("%s", msg)
		return
	}
	g.t.Logf("%s", msg)
}
