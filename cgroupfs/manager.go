package cgroupfs

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Manager creates, configures, empties and removes the cgroups named
// relative to a parent cgroup of an FS. The FS is the one seam: the same
// Manager acts on the kernel (Open) and on an in-memory fake (fakefs).
//
// Every name is checked before any I/O (see ErrInvalidName). Errors say
// what was attempted, on which FS path, what the kernel answered (the
// errno stays reachable with errors.Is) and what to try.
//
// A Manager holds no mutable state: it is safe for concurrent use when
// its FS is.
type Manager struct {
	fsys       FS
	parent     string // checked; "." is the FS root
	parentPath string // ParentPath()
	drainTo    string // checked; "." is the FS root
	err        error  // a bad parent or option, returned by every method
	timings    timings
}

// ManagerOption configures a Manager. The defaults: tasks are drained to
// the FS root; the waits and retries are those RemoveRetry and
// MoveRetry describe.
type ManagerOption func(*managerConfig)

type managerConfig struct {
	drainTo string
	timings timings
}

// DrainTo sets the FS-relative cgroup (like "." or "user/me/tests") that
// DrainTasks and RemoveCgroup move tasks to. The default "." is the FS
// root, right when the FS is opened at the hierarchy root (the root may
// hold tasks whatever its cgroup.subtree_control says). Under a
// delegated subtree the caller passes a cgroup it may write whose
// cgroup.subtree_control is empty; otherwise every move fails with
// EACCES or EBUSY. An invalid name makes every Manager method fail with
// an error wrapping ErrInvalidName.
func DrainTo(name string) ManagerOption {
	return func(c *managerConfig) { c.drainTo = name }
}

// NewManager returns a Manager for the cgroups beneath parent, a cgroup
// named relative to the root of fsys ("." is the root itself). It does
// no I/O; call Setup to create the parent. An invalid parent (absolute,
// with a ".." component, ...) or option is not reported here but by
// every method, as an error wrapping ErrInvalidName.
func NewManager(fsys FS, parent string, opts ...ManagerOption) *Manager {
	cfg := managerConfig{drainTo: ".", timings: defaultTimings}
	for _, opt := range opts {
		opt(&cfg)
	}
	m := &Manager{fsys: fsys, parent: parent, drainTo: cfg.drainTo, timings: cfg.timings}
	m.err = checkCgroupName("parent cgroup", parent, true)
	if err := checkCgroupName("DrainTo cgroup", cfg.drainTo, true); err != nil && m.err == nil {
		m.err = err
	}
	m.parentPath = parentPath(fsys, parent)
	if rule := reachRule(len(m.parentPath)); rule != "" && m.err == nil {
		m.err = &nameError{"parent cgroup", parent, rule}
	}
	return m
}

// FS returns the filesystem the Manager acts on.
func (m *Manager) FS() FS { return m.fsys }

// ParentPath returns the path of the parent cgroup: joined to the FS's
// directory when the FS has a Dir() string method (the OS-backed FS
// does), otherwise "/" followed by the FS-relative parent.
func (m *Manager) ParentPath() string { return m.parentPath }

func parentPath(fsys FS, parent string) string {
	if d, ok := fsys.(interface{ Dir() string }); ok {
		return filepath.Join(d.Dir(), parent)
	}
	if parent == "." {
		return "/"
	}
	return "/" + parent
}

// Path returns the FS-relative path of the cgroup name (the parent
// joined with name). It does no I/O. An invalid name, or one whose
// interface files would lie beyond PATH_MAX counted from the FS's root
// directory, gives an error wrapping ErrInvalidName that names the rule
// broken. A nil Manager gives an error too.
func (m *Manager) Path(name string) (string, error) {
	if m == nil {
		return "", errors.New("cgroupfs: the Manager is nil; make one with NewManager")
	}
	if m.err != nil {
		return "", m.err
	}
	if err := checkCgroupName("cgroup name", name, false); err != nil {
		return "", err
	}
	if rule := reachRule(len(m.parentPath) + len("/") + len(name)); rule != "" {
		return "", &nameError{"cgroup name", name, rule}
	}
	return joinName(m.parent, name), nil
}

// Exists reports whether the cgroup name exists as a directory. A path
// component that is a file (ENOTDIR) means it does not. Other failures
// (EACCES, ...) are returned.
func (m *Manager) Exists(name string) (bool, error) {
	p, err := m.Path(name)
	if err != nil {
		return false, err
	}
	return m.dirExists(p)
}

func (m *Manager) dirExists(p string) (bool, error) {
	_, err := m.fsys.ReadDir(p)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, unix.ENOTDIR):
		return false, nil
	}
	return false, fmt.Errorf("cgroupfs: check whether cgroup %s exists: %w%s", p, err, accessHint(err))
}

// Procs returns the pids listed in the cgroup's cgroup.procs, in the
// order the kernel lists them (join order, not sorted). In a threaded
// cgroup, whose cgroup.procs the kernel refuses to read (EOPNOTSUPP), it
// returns the processes of the threads cgroup.threads lists instead. A
// missing cgroup gives an error wrapping fs.ErrNotExist; a line that is
// not a pid gives an error quoting it.
func (m *Manager) Procs(name string) ([]int, error) {
	p, err := m.Path(name)
	if err != nil {
		return nil, err
	}
	return m.procs(p)
}

func (m *Manager) procs(p string) ([]int, error) {
	file := joinName(p, "cgroup.procs")
	data, err := m.fsys.ReadFile(file)
	if errors.Is(err, unix.EOPNOTSUPP) {
		return m.threadedProcs(p) // a threaded cgroup (see kill.go)
	}
	if err != nil {
		return nil, fmt.Errorf("cgroupfs: read the pids of cgroup %s: %w%s", p, err, accessHint(err))
	}
	return parsePids(file, data)
}

func parsePids(file string, data []byte) ([]int, error) {
	var pids []int
	for line := range strings.FieldsSeq(string(data)) {
		pid, err := strconv.Atoi(line)
		if err != nil || pid <= 0 {
			return pids, fmt.Errorf("cgroupfs: %s lists %q, which is not a pid; is this a cgroup2 filesystem?", file, line)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// Children returns the names of the direct child cgroups of name,
// relative to the parent like name itself ("a" gives "a/b", "a/c"),
// sorted. Only directories count: interface files and anything else
// are not cgroups. A missing cgroup gives an error wrapping
// fs.ErrNotExist.
func (m *Manager) Children(name string) ([]string, error) {
	p, err := m.Path(name)
	if err != nil {
		return nil, err
	}
	kids, err := m.childDirs(p)
	if err != nil {
		return nil, err
	}
	for i, k := range kids {
		kids[i] = name + "/" + k
	}
	return kids, nil
}

// childDirs returns the sorted base names of the directories in p.
func (m *Manager) childDirs(p string) ([]string, error) {
	entries, err := m.fsys.ReadDir(p)
	if err != nil {
		return nil, fmt.Errorf("cgroupfs: list the child cgroups of %s: %w%s", p, err, accessHint(err))
	}
	var kids []string
	for _, e := range entries {
		// DirEntry.IsDir does not follow symlinks: a symlink in a plain
		// directory is never taken for a cgroup, so nothing outside is
		// ever walked into.
		if e.IsDir() {
			kids = append(kids, e.Name())
		}
	}
	slices.Sort(kids)
	return kids, nil
}

// Setup creates the parent cgroup and each missing ancestor, then
// enables cpuset (and cpu when enableCPU is true) in the
// cgroup.subtree_control of every level from the FS root down to the
// parent, so that the parent's children get cpuset files.
//
// Each controller is its own write ("+cpuset", then "+cpu"): the kernel
// validates a write as a whole, so a combined write enables neither
// where one is missing. A controller is written only
// where the level's cgroup.controllers lists it and its
// cgroup.subtree_control does not already: so the FS root is written
// only when a controller is available there and not yet enabled (on a
// host whose cgroup v2 lacks cpuset, never), and a level without
// cgroup.controllers (a plain directory) is skipped.
//
// A failure to create a level stops Setup. Failures to enable a
// controller do not: every level is tried and the failures are returned
// joined, one error each, for the caller to treat as warnings or not.
func (m *Manager) Setup(enableCPU bool) error {
	if m.err != nil {
		return m.err
	}
	if m.parent != "." {
		if err := CheckName(m.parent); err != nil {
			return err
		}
	}
	if err := m.mkdirAll(m.parent); err != nil {
		return fmt.Errorf("cgroupfs: setup of parent cgroup %s: %w", m.parent, err)
	}
	ctrls := []string{"cpuset"}
	if enableCPU {
		ctrls = append(ctrls, "cpu")
	}
	var errs []error
	for _, level := range append([]string{"."}, levels(m.parent)...) {
		errs = append(errs, m.enableControllers(level, ctrls)...)
	}
	return errors.Join(errs...)
}

// CreateCgroup creates the cgroup name and every missing level above it
// (intermediate cgroups and the parent).
// It is idempotent: an existing directory is fine. A name CheckName
// refuses ("cgroup.procs", "memory.max") is an error before any I/O.
//
// Before creating each level, "+cpuset" is written to the
// cgroup.subtree_control of the level above it, from the parent down to
// the leaf's parent, where cgroup.controllers lists cpuset and it is
// not yet enabled; elsewhere (a host without cpuset in cgroup v2, a
// plain directory) nothing is written. A failure to enable cpuset does
// not stop the creation; such failures are returned joined after it,
// and the cgroup then exists although an error is returned.
func (m *Manager) CreateCgroup(name string) error {
	p, err := m.Path(name)
	if err != nil {
		return err
	}
	if err := CheckName(name); err != nil {
		return err
	}
	errs, err := m.createLevels(name)
	if err != nil && errors.Is(err, errParentMissing) {
		// Only now create the parent: an existing parent (the usual
		// case, after Setup) costs no extra syscall per CreateCgroup.
		if err = m.mkdirAll(m.parent); err == nil {
			errs, err = m.createLevels(name)
		}
	}
	if err != nil {
		errs = append(errs, fmt.Errorf("cgroupfs: create cgroup %s: %w", p, err))
	}
	return errors.Join(errs...)
}

var errParentMissing = errors.New("the parent cgroup is missing")

// createLevels enables cpuset above and creates each level of name in
// turn. It returns the enable failures and the first mkdir failure,
// which wraps errParentMissing when the parent itself is missing.
func (m *Manager) createLevels(name string) (enableErrs []error, err error) {
	for i, level := range levels(name) {
		dir := joinName(m.parent, level)
		enableErrs = append(enableErrs, m.enableControllers(parentOf(dir), []string{"cpuset"})...)
		if err := m.mkdir(dir); err != nil {
			if i == 0 && m.parent != "." && errors.Is(err, fs.ErrNotExist) {
				return enableErrs, fmt.Errorf("%w: %w", errParentMissing, err)
			}
			return enableErrs, err
		}
	}
	return enableErrs, nil
}

// parentOf returns the checked name's parent; "." for a top-level name.
func parentOf(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[:i]
	}
	return "."
}

// mkdirAll creates every missing level of the checked name p.
func (m *Manager) mkdirAll(p string) error {
	for _, level := range levels(p) {
		if err := m.mkdir(level); err != nil {
			return err
		}
	}
	return nil
}

// mkdir creates the cgroup p; an existing directory is fine.
func (m *Manager) mkdir(p string) error {
	err := m.fsys.Mkdir(p)
	if err == nil {
		return nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w%s", err, hint(opMkdir, err))
	}
	// EEXIST is also the kernel's answer for a name taken by an
	// interface file ("cgroup.procs"): only a directory is a cgroup.
	// Reading p says EISDIR for a directory at once (OSFS and fakefs),
	// where listing it would cost as much as its children are many: p is
	// often the parent level of thousands of cgroups. An FS that answers
	// otherwise is asked to list it.
	_, rerr := m.fsys.ReadFile(p)
	if errors.Is(rerr, unix.EISDIR) {
		return nil
	}
	if rerr == nil {
		return fmt.Errorf("%w: the name is taken by an interface file, not a cgroup; choose another name", err)
	}
	if _, rerr := m.fsys.ReadDir(p); rerr != nil {
		if errors.Is(rerr, unix.ENOTDIR) {
			return fmt.Errorf("%w: the name is taken by an interface file, not a cgroup; choose another name", err)
		}
		return fmt.Errorf("%s exists, but listing it failed: %w%s", p, rerr, accessHint(rerr))
	}
	return nil
}

// enableControllers writes "+c" to level's cgroup.subtree_control, one
// controller per write, for each controller listed in level's
// cgroup.controllers and not yet in its cgroup.subtree_control. It
// returns one error per failure.
func (m *Manager) enableControllers(level string, ctrls []string) []error {
	avail, err := m.fsys.ReadFile(joinName(level, "cgroup.controllers"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil // a plain directory, or a level removed meanwhile
	}
	if err != nil {
		return []error{fmt.Errorf("cgroupfs: read the controllers of %s: %w%s", level, err, accessHint(err))}
	}
	if !slices.ContainsFunc(ctrls, func(c string) bool { return hasField(avail, c) }) {
		return nil // the usual case where cpuset is absent: one read per level
	}
	file := joinName(level, "cgroup.subtree_control")
	on, err := m.fsys.ReadFile(file)
	if err != nil {
		return []error{fmt.Errorf("cgroupfs: read %s: %w%s", file, err, accessHint(err))}
	}
	var errs []error
	for _, c := range ctrls {
		if !hasField(avail, c) || hasField(on, c) {
			continue
		}
		if err := m.fsys.WriteFile(file, []byte("+"+c)); err != nil {
			errs = append(errs, fmt.Errorf("cgroupfs: enable the %s controller for the children of %s (write %q): %w%s",
				c, level, "+"+c, err, hint(opEnable, err)))
		}
	}
	return errs
}

// hasField reports whether the whitespace-separated list data holds f.
func hasField(data []byte, f string) bool {
	return slices.Contains(strings.Fields(string(data)), f)
}

// SetCpuset writes cpus to the cgroup's cpuset.cpus, in the kernel's
// list format ("0-1,3"). An empty set is an error (the kernel ignores
// an empty write, so nothing would change): use ClearCpuset. The kernel
// answers ERANGE for CPUs the machine or the parent lacks, and ENOENT
// when cpuset is not enabled in the parent's cgroup.subtree_control.
func (m *Manager) SetCpuset(name string, cpus CPUSet) error {
	return m.writeCPUList(name, "cpuset.cpus", cpus, "ClearCpuset")
}

// ClearCpuset writes "\n" to the cgroup's cpuset.cpus, so that it
// inherits its parent's effective CPUs (the kernel ignores an empty
// write).
func (m *Manager) ClearCpuset(name string) error {
	return m.clearFile(name, "cpuset.cpus")
}

// SetCpusetMems writes mems to the cgroup's cpuset.mems. An empty set
// is an error: use ClearCpusetMems.
func (m *Manager) SetCpusetMems(name string, mems CPUSet) error {
	return m.writeCPUList(name, "cpuset.mems", mems, "ClearCpusetMems")
}

// ClearCpusetMems writes "\n" to the cgroup's cpuset.mems, so that it
// inherits its parent's effective memory nodes.
func (m *Manager) ClearCpusetMems(name string) error {
	return m.clearFile(name, "cpuset.mems")
}

func (m *Manager) writeCPUList(name, base string, set CPUSet, clear string) error {
	p, err := m.Path(name)
	if err != nil {
		return err
	}
	file := joinName(p, base)
	if set.IsEmpty() {
		return fmt.Errorf("cgroupfs: write an empty set to %s: %w: the kernel ignores an empty write; call %s to inherit the parent's set", file, fs.ErrInvalid, clear)
	}
	if err := m.fsys.WriteFile(file, []byte(set.String())); err != nil {
		return fmt.Errorf("cgroupfs: set %s to %q: %w%s", base, set.String(), err, hint(opCpuset, err))
	}
	return nil
}

func (m *Manager) clearFile(name, base string) error {
	p, err := m.Path(name)
	if err != nil {
		return err
	}
	file := joinName(p, base)
	if err := m.fsys.WriteFile(file, []byte("\n")); err != nil {
		return fmt.Errorf("cgroupfs: clear %s (write %q): %w%s", base, "\n", err, hint(opCpuset, err))
	}
	return nil
}

// ErrNotOwnPid is wrapped (with fs.ErrInvalid) by the error of MoveTask
// and MoveTasks for a pid below 2: writing "0" to cgroup.procs moves the
// writer itself, "1" moves init, and no process has a negative pid. A
// test never owns any of them, so they are refused before any write.
var ErrNotOwnPid = errors.New("not the pid of a process the caller started")

// MoveTask moves the process pid into the cgroup with one write of the
// pid to its cgroup.procs (the kernel parses each write as one pid). The
// kernel answers ESRCH when the process is gone, EBUSY when the cgroup
// enables a domain controller (memory, io, ...) in its own
// cgroup.subtree_control (threaded ones, cpuset and cpu, are exempt),
// and EOPNOTSUPP when the cgroup is "domain invalid" (an ancestor holds
// tasks and enables threaded controllers). A pid below 2 (the caller
// itself, init, or not a pid) is refused with ErrNotOwnPid before any
// write.
func (m *Manager) MoveTask(name string, pid int) error {
	p, err := m.Path(name)
	if err != nil {
		return err
	}
	return m.moveTask(p, pid)
}

// checkOwnPid refuses the pids no test starts: see ErrNotOwnPid.
func checkOwnPid(p string, pid int) error {
	if pid > 1 {
		return nil
	}
	what := "is not a pid"
	switch pid {
	case 0:
		what = `written as "0" would move the calling process itself`
	case 1:
		what = "is init (PID 1), which a test never owns"
	}
	return fmt.Errorf("cgroupfs: refuse to move pid %d into cgroup %s: %w: %w: pid %d %s; pass the pid of a process the test started (cmd.Process.Pid)",
		pid, p, fs.ErrInvalid, ErrNotOwnPid, pid, what)
}

// moveTask moves pid into p; every write of a pid to cgroup.procs goes
// through it, so that none writes a pid checkOwnPid refuses.
func (m *Manager) moveTask(p string, pid int) error {
	if err := checkOwnPid(p, pid); err != nil {
		return err
	}
	if err := m.writePid(p, pid); err != nil {
		op := opMove
		if errors.Is(err, unix.EBUSY) && m.enablesDomainController(p) {
			op = domainBusy
		}
		return fmt.Errorf("cgroupfs: move pid %d into cgroup %s: %w%s", pid, p, err, hint(op, err))
	}
	return nil
}

// writePid writes pid to the cgroup.procs of p, and returns the FS's
// error as it is.
func (m *Manager) writePid(p string, pid int) error {
	return m.fsys.WriteFile(joinName(p, "cgroup.procs"), []byte(strconv.Itoa(pid)))
}

// enablesDomainController reports whether the cgroup p's
// cgroup.subtree_control names a domain controller (one that is not
// threaded: only those make the kernel refuse tasks), or cannot be read.
func (m *Manager) enablesDomainController(p string) bool {
	data, err := m.fsys.ReadFile(joinName(p, "cgroup.subtree_control"))
	if err != nil {
		return true
	}
	threaded := []string{"cpuset", "cpu", "perf_event", "pids"}
	return slices.ContainsFunc(strings.Fields(string(data)), func(c string) bool { return !slices.Contains(threaded, c) })
}

// MoveTasks moves every pid into the cgroup, one write per pid, in
// order. A pid whose process is gone (ESRCH) is skipped. EBUSY is tried
// up to 3 times, 100 ms apart (see MoveRetry), as a sched_ext scheduler
// can refuse a move for a moment. Any other error stops at once and
// names the pid; the pids before it were moved. A pid below 2 (see
// ErrNotOwnPid) anywhere in pids is refused before any is moved.
func (m *Manager) MoveTasks(name string, pids []int) error {
	p, err := m.Path(name)
	if err != nil {
		return err
	}
	for _, pid := range pids {
		if err := checkOwnPid(p, pid); err != nil {
			return err
		}
	}
	for _, pid := range pids {
		for attempt := 1; ; attempt++ {
			err := m.moveTask(p, pid)
			if err == nil || errors.Is(err, unix.ESRCH) {
				break
			}
			if !errors.Is(err, unix.EBUSY) {
				return err
			}
			if attempt >= m.timings.moveRetries {
				return fmt.Errorf("%w (gave up after %d attempts %v apart)", err, m.timings.moveRetries, m.timings.moveRetryDelay)
			}
			time.Sleep(m.timings.moveRetryDelay)
		}
	}
	return nil
}

// ClearSubtreeControl disables every controller enabled in the cgroup's
// cgroup.subtree_control, one "-x" write per controller, so that tasks
// may be moved into it. Every controller is tried; failures (EBUSY when
// a child cgroup still enables the controller itself) are returned
// joined.
func (m *Manager) ClearSubtreeControl(name string) error {
	p, err := m.Path(name)
	if err != nil {
		return err
	}
	file := joinName(p, "cgroup.subtree_control")
	data, err := m.fsys.ReadFile(file)
	if err != nil {
		return fmt.Errorf("cgroupfs: read %s: %w%s", file, err, accessHint(err))
	}
	var errs []error
	on := strings.Fields(string(data))
	// The kernel lists controllers in its own order; disabling the later
	// ones first undoes them in reverse of how Setup enabled them.
	for _, c := range slices.Backward(on) {
		if err := m.fsys.WriteFile(file, []byte("-"+c)); err != nil {
			errs = append(errs, fmt.Errorf("cgroupfs: disable the %s controller of cgroup %s (write %q): %w%s", c, p, "-"+c, err, hint(opDisable, err)))
		}
	}
	return errors.Join(errs...)
}
