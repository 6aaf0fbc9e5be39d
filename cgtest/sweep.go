package cgtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
)

// verdict is what Sweep decided about one cgroup it found.
type verdict string

const (
	// sweepLive is a per-test root whose owner still runs (same pid and
	// same start time): it is left alone, not even read.
	sweepLive verdict = "live"
	// sweepStale is a per-test root whose owner is gone, or whose pid now
	// names another process (the start time differs): its tasks are
	// killed and its subtree removed, deepest first (or, with
	// SweepDryRun, only listed).
	sweepStale verdict = "stale"
	// sweepForeign is a cgroup whose name is not a per-test root's (see
	// RootName): somebody else's, never touched.
	sweepForeign verdict = "foreign"
	// sweepUnknown is a per-test root whose owner cannot be checked for
	// certain (/proc unreadable; made in another pid namespace, or in
	// another time namespace while a process has its pid, see
	// Owner.Alive): it is kept, and the error says why.
	sweepUnknown verdict = "unknown"
)

// sweptCgroup is what Sweep found and did for one child cgroup of the
// directory it swept.
type sweptCgroup struct {
	// Name is the child's name in the swept directory.
	Name string
	// Owner is the process encoded in the name; zero for a foreign one.
	Owner Owner
	// Verdict says whether the cgroup was kept or reclaimed, and why.
	Verdict verdict
	// Cgroups lists, for a stale root, the cgroups of its subtree
	// (relative to the swept directory, the root itself last): the
	// ones removed, or with SweepDryRun the ones that would be.
	Cgroups []string
	// Pids lists, for a stale root, the tasks found in its subtree
	// before the kill (with SweepDryRun: the tasks that would be killed).
	Pids []int
	// Removed is true when the stale root is gone after the sweep (it
	// was removed, or vanished meanwhile). Always false with
	// SweepDryRun.
	Removed bool
	// Err is why the owner could not be checked (sweepUnknown) or why
	// a stale root could not be listed, emptied or removed; nil
	// otherwise.
	Err error
	// Took is how long reclaiming the stale root took.
	Took time.Duration
}

// SweepReport is the result of Sweep: what it found in the swept
// directory and what it did. Print it (String) for people, marshal it
// (MarshalJSON) for programs, check Err for failures.
type SweepReport struct {
	// Dir is the directory swept, as given to Sweep. Err prefixes the
	// entries' errors with it, and MarshalJSON prints it as "root": a
	// caller that swept the root (".") of an FS opened at some path may
	// set Dir to that path, as cgguard sweep does.
	Dir string

	dryRun  bool
	took    time.Duration
	cgroups []sweptCgroup // sorted by name
}

// SweepCounts counts the child cgroups of a swept directory by what
// Sweep decided about them.
type SweepCounts struct {
	// Live counts per-test roots whose owner still runs: kept.
	Live int
	// Stale counts per-test roots whose owner is gone: reclaimed (or,
	// with SweepDryRun, to be reclaimed).
	Stale int
	// Removed counts the stale roots gone after the sweep; Stale minus
	// Removed were kept by an error (see SweepReport.Err). Always zero
	// with SweepDryRun.
	Removed int
	// Unknown counts per-test roots whose owner could not be checked:
	// kept, with an error.
	Unknown int
	// Foreign counts cgroups not made by Root: never touched.
	Foreign int
}

// Counts counts the child cgroups found, by verdict.
func (r SweepReport) Counts() SweepCounts {
	var n SweepCounts
	for _, c := range r.cgroups {
		switch c.Verdict {
		case sweepLive:
			n.Live++
		case sweepStale:
			n.Stale++
		case sweepUnknown:
			n.Unknown++
		case sweepForeign:
			n.Foreign++
		default:
			panic("cgtest: a sweep verdict without a count: " + string(c.Verdict))
		}
		if c.Removed {
			n.Removed++
		}
	}
	return n
}

// Err returns the errors of every entry, joined (each prefixed with the
// entry's path, Dir joined with its name), or nil when the sweep met
// none.
func (r SweepReport) Err() error {
	return r.joinErrs(r.Dir)
}

// joinErrs joins the entries' errors, each prefixed with its name
// joined to dir.
func (r SweepReport) joinErrs(dir string) error {
	var errs []error
	for _, c := range r.cgroups {
		if c.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path.Join(dir, c.Name), c.Err))
		}
	}
	return errors.Join(errs...)
}

// String renders the report for people: one line per per-test root
// (live, stale, unknown), foreign cgroups counted on a last line.
func (r SweepReport) String() string {
	var b strings.Builder
	for _, c := range r.cgroups {
		if c.Verdict == sweepForeign {
			continue
		}
		fmt.Fprintf(&b, "%-7s %s (pid %d, start time %d)", c.Verdict, c.Name, c.Owner.PID, c.Owner.StartTime)
		switch {
		case c.Verdict == sweepLive:
			b.WriteString(": owner running, kept")
		case c.Verdict == sweepUnknown:
			b.WriteString(": kept")
		case r.dryRun:
			fmt.Fprintf(&b, ": would remove %d cgroup(s) and kill %d task(s)", len(c.Cgroups), len(c.Pids))
		case c.Removed:
			fmt.Fprintf(&b, ": removed %d cgroup(s), killed %d task(s) in %v", len(c.Cgroups), len(c.Pids), c.Took.Round(time.Microsecond))
			if isKept(c.Name) {
				fmt.Fprintf(&b, " (it was kept with %s=true)", keepEnv)
			}
		default:
			b.WriteString(": NOT removed")
		}
		if c.Err != nil {
			fmt.Fprintf(&b, ": %v", c.Err)
		}
		b.WriteByte('\n')
	}
	if n := r.Counts().Foreign; n > 0 {
		fmt.Fprintf(&b, "foreign %d other cgroup(s), not made by cgtest.Root: left alone\n", n)
	}
	return b.String()
}

// MarshalJSON renders the report for programs, as cgguard sweep -json
// prints it: an object with "root" (Dir), "dry_run", "cgroups" (one
// object per child cgroup, sorted by name: "name", "verdict" (live,
// stale, foreign or unknown), "owner" ("pid", "start_time"; not for a
// foreign one), for stale roots "cgroups" and "pids" (what was, or
// would be, removed and killed) and "took_ns", "removed", and "error"
// when it failed), "counts" (by verdict), "error" (all the entries'
// errors, each prefixed with its name) and "took_ns" (the whole sweep).
func (r SweepReport) MarshalJSON() ([]byte, error) {
	type ownerJSON struct {
		PID       int    `json:"pid"`
		StartTime uint64 `json:"start_time"`
	}
	type sweptJSON struct {
		Name    string        `json:"name"`
		Verdict verdict       `json:"verdict"`
		Owner   *ownerJSON    `json:"owner,omitempty"`
		Cgroups []string      `json:"cgroups,omitempty"`
		Pids    []int         `json:"pids,omitempty"`
		Removed bool          `json:"removed"`
		Error   string        `json:"error,omitempty"`
		Took    time.Duration `json:"took_ns,omitempty"`
	}
	out := struct {
		Root    string          `json:"root"`
		DryRun  bool            `json:"dry_run"`
		Cgroups []sweptJSON     `json:"cgroups"`
		Counts  map[verdict]int `json:"counts"`
		Error   string          `json:"error,omitempty"`
		Took    time.Duration   `json:"took_ns"`
	}{Root: r.Dir, DryRun: r.dryRun, Cgroups: []sweptJSON{}, Counts: map[verdict]int{}, Took: r.took}
	for _, c := range r.cgroups {
		j := sweptJSON{Name: c.Name, Verdict: c.Verdict, Cgroups: c.Cgroups, Pids: c.Pids, Removed: c.Removed, Took: c.Took}
		if c.Verdict != sweepForeign {
			j.Owner = &ownerJSON{PID: c.Owner.PID, StartTime: c.Owner.StartTime}
		}
		if c.Err != nil {
			j.Error = c.Err.Error()
		}
		out.Counts[c.Verdict]++
		out.Cgroups = append(out.Cgroups, j)
	}
	// The names are relative to "root", which the object says already.
	if err := r.joinErrs(""); err != nil {
		out.Error = err.Error()
	}
	return json.Marshal(out)
}

type sweepConfig struct {
	dryRun   bool
	budget   time.Duration
	skipKept bool // leave roots kept with TEST_NOCLEANUP=true out (Root's own sweep)
}

// ownerAlive is Owner.Alive, a variable so that the tests can make
// liveness unknowable, which /proc never is for root.
var ownerAlive = Owner.Alive

// Sweep reclaims the per-test roots (see Root and RootName) that dead
// test runs left in the directory dir of fsys ("." for its root): a run
// killed by SIGKILL, by go test's -timeout panic or by a crash never ran
// its cleanups. It lists the child cgroups of dir and, for each:
//
//   - a name that is not one RootName makes is foreign and never
//     touched;
//   - an owner that still runs, with the same pid and start time, is
//     live: kept, not even read;
//   - an owner that is gone, or whose pid now names a process with
//     another start time (pid reuse), is stale: every task in the
//     subtree is killed (cgroup.kill), Sweep waits for the kernel to
//     report "populated 0", and removes the subtree deepest first;
//   - an owner that cannot be checked for certain is unknown: kept, and
//     reported with the error. That is /proc unreadable, and a root
//     recorded in another pid namespace, or in another time namespace
//     while a process has its pid (start times read through different
//     time namespaces differ by their offsets; see Owner.Alive).
//
// A root made with TEST_NOCLEANUP=true is reclaimed like any other once
// its owner is gone, and the report says it was kept; Root's own sweep
// leaves such roots alone.
//
// It never kills when the calling process is inside the stale root
// (cgroupfs.ErrCallerInside); the root is then kept and the entry's Err
// says so. A root that vanishes meanwhile (another sweep took it) is
// not an error. Roots named before owners recorded their namespaces
// (no "ns" field) are judged by pid and start time alone, in this
// process's namespaces.
//
// The error is non-nil only when dir cannot be listed; failures for
// single cgroups are in their entries (see SweepReport.Err). Of the
// options, Sweep reads only Budget.
func Sweep(fsys cgroupfs.FS, dir string, opts ...Option) (SweepReport, error) {
	return sweep(fsys, dir, sweepConfig{budget: newConfig(opts).budget})
}

// SweepDryRun is Sweep that only lists: it decides every verdict, and
// for stale roots lists their cgroups and tasks, but kills and removes
// nothing.
func SweepDryRun(fsys cgroupfs.FS, dir string) (SweepReport, error) {
	return sweep(fsys, dir, sweepConfig{dryRun: true, budget: defaultBudget})
}

func sweep(fsys cgroupfs.FS, dir string, cfg sweepConfig) (SweepReport, error) {
	start := time.Now()
	rep := SweepReport{Dir: dir, dryRun: cfg.dryRun}
	m := cgroupfs.NewManager(fsys, dir)
	if _, err := m.Path("x"); err != nil { // a bad dir: no I/O yet
		return rep, fmt.Errorf("cgtest: sweep %s: %w", dir, err)
	}
	entries, err := fsys.ReadDir(dir)
	if err != nil {
		return rep, fmt.Errorf("cgtest: sweep %s for stale per-test roots: list it: %w", dir, err)
	}
	for _, e := range entries {
		// IsDir does not follow symlinks: only real cgroups count.
		if !e.IsDir() {
			continue
		}
		c := sweptCgroup{Name: e.Name(), Verdict: sweepForeign}
		owner, ok := parseRootName(c.Name)
		if !ok {
			rep.cgroups = append(rep.cgroups, c)
			continue
		}
		if cfg.skipKept && isKept(c.Name) {
			continue // kept until an explicit sweep
		}
		c.Owner = owner
		alive, err := ownerAlive(owner)
		switch {
		case err != nil:
			c.Verdict = sweepUnknown
			c.Err = fmt.Errorf("cannot tell whether its owner, pid %d, still runs, so it is kept: %w", owner.PID, err)
		case alive:
			c.Verdict = sweepLive
		default:
			c.Verdict = sweepStale
			began := time.Now()
			reclaim(m, &c, cfg)
			c.Took = time.Since(began)
		}
		rep.cgroups = append(rep.cgroups, c)
	}
	slices.SortFunc(rep.cgroups, func(a, b sweptCgroup) int { return strings.Compare(a.Name, b.Name) })
	rep.took = time.Since(start)
	return rep, nil
}

// reclaim lists, then (unless dry) kills and removes the stale root
// c.Name, recording what it found and did in c.
func reclaim(m *cgroupfs.Manager, c *sweptCgroup, cfg sweepConfig) {
	tree, pids, err := subtreeOf(m, c.Name)
	c.Cgroups, c.Pids = tree, pids
	if errors.Is(err, fs.ErrNotExist) && len(tree) == 0 {
		c.Removed = !cfg.dryRun // another sweep was faster
		return
	}
	if err != nil {
		c.Err = fmt.Errorf("its owner, pid %d, is gone, but its cgroups could not be listed, so nothing was removed: %w", c.Owner.PID, err)
		return
	}
	if cfg.dryRun {
		return
	}
	// Kill before removing: rmdir of a populated cgroup says EBUSY, and
	// the tasks of a dead run (its workload, a sleeper) would otherwise
	// run on. KillTasks refuses when this process is inside. A root that
	// listed no task and reads "populated 0" skips both: the wait costs
	// about 15 ms even then (closing an inotify watch waits for the
	// kernel's SRCU grace period), and most stale roots are empty.
	if len(pids) > 0 || populated(m, c.Name) {
		if err := m.KillTasks(c.Name); err != nil {
			c.Err = fmt.Errorf("its owner, pid %d, is gone, but killing its tasks failed, so nothing was removed: %w", c.Owner.PID, err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), cfg.budget)
		defer cancel()
		if err := m.WaitEmpty(ctx, c.Name); err != nil {
			c.Err = fmt.Errorf("its owner, pid %d, is gone and its tasks were killed, but: %w", c.Owner.PID, err)
			return
		}
	}
	// tree is deepest first: every child is removed before its parent.
	var errs []error
	for _, name := range tree {
		if err := m.RemoveCgroup(name); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		c.Err = fmt.Errorf("its owner, pid %d, is gone and its tasks were killed, but removing its cgroups failed: %w", c.Owner.PID, errors.Join(errs...))
		return
	}
	c.Removed = true
}

// populated reports whether the cgroup name's cgroup.events says
// "populated 1", or cannot be read (then the kill and wait must run).
func populated(m *cgroupfs.Manager, name string) bool {
	p, err := m.Path(name)
	if err != nil {
		return true
	}
	data, err := m.FS().ReadFile(p + "/cgroup.events")
	if errors.Is(err, fs.ErrNotExist) {
		return false // a plain directory, or gone
	}
	return err != nil || !strings.Contains(string(data), "populated 0")
}

// subtreeOf returns the cgroups of the subtree name, deepest first
// (children in sorted order, each parent after its children), and the
// pids in them. Cgroups that vanish while walked are left out; the
// error wraps fs.ErrNotExist when name itself is missing.
func subtreeOf(m *cgroupfs.Manager, name string) (tree []string, pids []int, err error) {
	kids, err := m.Children(name)
	if err != nil {
		return nil, nil, err
	}
	for _, k := range kids {
		t, p, err := subtreeOf(m, k)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return tree, pids, err
		}
		tree = append(tree, t...)
		pids = append(pids, p...)
	}
	procs, err := m.Procs(name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return tree, pids, err
	}
	return append(tree, name), append(pids, procs...), nil
}
