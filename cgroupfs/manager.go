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

// Manager is ktstr's CgroupManager on any FS: it creates, configures,
// empties and removes cgroups named relative to a parent cgroup. It
// implements Ops and Extended.
//
// Every name is checked before any I/O (see ErrInvalidName). Errors say
// what was attempted, on which FS path, what the kernel answered (the
// errno stays reachable with errors.Is) and what to try.
//
// A Manager holds no mutable state: it is safe for concurrent use when
// its FS is.
type Manager struct {
	fsys    FS
	parent  string // checked; "." is the FS root
	drainTo string // checked; "." is the FS root
	err     error  // a bad parent or option, returned by every method
	timings timings
}

var _ Extended = (*Manager)(nil)

// ManagerOption configures a Manager. The defaults: tasks are drained to
// the FS root; the waits and retries are those RemoveRetry and
// MoveRetry describe.
type ManagerOption func(*Manager)

// DrainTo sets the FS-relative cgroup (like "." or "user/me/tests") that
// DrainTasks and RemoveCgroup move tasks to. The default "." is the FS
// root, right when the FS is opened at the hierarchy root (the root may
// hold tasks whatever its cgroup.subtree_control says). Under a
// delegated subtree the caller passes a cgroup it may write whose
// cgroup.subtree_control is empty; otherwise every move fails with
// EACCES or EBUSY. An invalid name makes every Manager method fail with
// an error wrapping ErrInvalidName.
func DrainTo(name string) ManagerOption {
	return func(m *Manager) {
		if err := checkCgroupName("DrainTo cgroup", name, true); err != nil && m.err == nil {
			m.err = err
		}
		m.drainTo = name
	}
}

// NewManager returns a Manager for the cgroups beneath parent, a cgroup
// named relative to the root of fsys ("." is the root itself). It does
// no I/O; call Setup to create the parent. An invalid parent (absolute,
// with a ".." component, ...) or option is not reported here but by
// every method, as an error wrapping ErrInvalidName.
func NewManager(fsys FS, parent string, opts ...ManagerOption) *Manager {
	m := &Manager{fsys: fsys, parent: parent, drainTo: ".", timings: defaultTimings}
	m.err = checkCgroupName("parent cgroup", parent, true)
	for _, opt := range opts {
		opt(m)
	}
	return m
}

// FS returns the filesystem the Manager acts on.
func (m *Manager) FS() FS { return m.fsys }

// ParentPath returns the path of the parent cgroup: joined to the FS's
// directory when the FS has a Dir() string method (the OS-backed FS
// does), otherwise "/" followed by the FS-relative parent.
func (m *Manager) ParentPath() string {
	if d, ok := m.fsys.(interface{ Dir() string }); ok {
		return filepath.Join(d.Dir(), m.parent)
	}
	if m.parent == "." {
		return "/"
	}
	return "/" + m.parent
}

// Path returns the FS-relative path of the cgroup name (the parent
// joined with name). It does no I/O. An invalid name gives an error
// wrapping ErrInvalidName that names the rule broken.
func (m *Manager) Path(name string) (string, error) {
	if m.err != nil {
		return "", m.err
	}
	if err := checkCgroupName("cgroup name", name, false); err != nil {
		return "", err
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
// order the kernel lists them (join order, not sorted). A missing cgroup
// gives an error wrapping fs.ErrNotExist; a line that is not a pid gives
// an error quoting it.
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
// validates a write as a whole, and ktstr's combined "+cpuset +cpu"
// enabled neither where cpu was missing. A controller is written only
// where the level's cgroup.controllers lists it and its
// cgroup.subtree_control does not already: so the FS root is written
// only when a controller is available there and not yet enabled (on a
// host whose cgroup v2 lacks cpuset, never), and a level without
// cgroup.controllers (a plain directory) is skipped.
//
// A failure to create a level stops Setup. Failures to enable a
// controller do not: every level is tried and the failures are returned
// joined, one error each, for the caller to treat as warnings (as
// ktstr does) or not.
func (m *Manager) Setup(enableCPU bool) error {
	if m.err != nil {
		return m.err
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
// (intermediate cgroups and, like ktstr's create_dir_all, the parent).
// It is idempotent: an existing directory is fine, but an existing file
// of that name (mkdir of "cgroup.procs" answers EEXIST) is an error.
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
		hint := accessHint(err)
		if hint == "" && errors.Is(err, fs.ErrNotExist) {
			hint = " (the level above is missing: was it removed meanwhile?)"
		}
		return fmt.Errorf("mkdir %s: %w%s", p, err, hint)
	}
	// EEXIST is also the kernel's answer for a name taken by an
	// interface file ("cgroup.procs"): only a directory is a cgroup.
	if _, rerr := m.fsys.ReadDir(p); rerr != nil {
		if errors.Is(rerr, unix.ENOTDIR) {
			return fmt.Errorf("mkdir %s: %w: the name is taken by an interface file, not a cgroup; choose another name", p, err)
		}
		return fmt.Errorf("mkdir %s: it exists, but listing it failed: %w%s", p, rerr, accessHint(rerr))
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
			errs = append(errs, fmt.Errorf("cgroupfs: enable the %s controller for the children of %s (write %q to %s): %w%s",
				c, level, "+"+c, file, err, enableHint(err)))
		}
	}
	return errs
}

func enableHint(err error) string {
	switch {
	case errors.Is(err, unix.EBUSY):
		return "; the cgroup holds tasks, and a domain controller may not be enabled above them (no-internal-process rule): move them to a leaf cgroup first"
	case errors.Is(err, unix.ENOENT):
		return "; the controller is not available here (its parent does not enable it in cgroup.subtree_control)"
	case errors.Is(err, unix.EOPNOTSUPP):
		return "; the cgroup is threaded or \"domain invalid\" (see its cgroup.type): an ancestor holds tasks while enabling threaded controllers; move those tasks into a leaf"
	}
	return accessHint(err)
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
// inherits its parent's effective CPUs. (ktstr wrote "", which the
// kernel ignores.)
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
		return fmt.Errorf("cgroupfs: write %q to %s: %w%s", set.String(), file, err, cpusetHint(err))
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
		return fmt.Errorf("cgroupfs: clear %s (write %q): %w%s", file, "\n", err, cpusetHint(err))
	}
	return nil
}

func cpusetHint(err error) string {
	switch {
	case errors.Is(err, unix.ERANGE):
		return "; the set names CPUs or memory nodes the machine or the parent cgroup does not have (see the parent's cpuset.cpus.effective)"
	case errors.Is(err, fs.ErrNotExist):
		return "; the cgroup is missing, or cpuset is not enabled in its parent's cgroup.subtree_control (call Setup; cgroup v2 here may lack cpuset)"
	}
	return accessHint(err)
}

// MoveTask moves the process pid into the cgroup with one write of the
// pid to its cgroup.procs (the kernel parses each write as one pid). The
// kernel answers ESRCH when the process is gone, EBUSY when the cgroup
// enables a domain controller (memory, io, ...) in its own
// cgroup.subtree_control (threaded ones, cpuset and cpu, are exempt),
// and EOPNOTSUPP when the cgroup is "domain invalid" (an ancestor holds
// tasks and enables threaded controllers).
func (m *Manager) MoveTask(name string, pid int) error {
	p, err := m.Path(name)
	if err != nil {
		return err
	}
	return m.moveTask(p, pid)
}

func (m *Manager) moveTask(p string, pid int) error {
	file := joinName(p, "cgroup.procs")
	if err := m.fsys.WriteFile(file, []byte(strconv.Itoa(pid))); err != nil {
		return fmt.Errorf("cgroupfs: move pid %d into cgroup %s (write to %s): %w%s", pid, p, file, err, moveHint(err))
	}
	return nil
}

func moveHint(err error) string {
	switch {
	case errors.Is(err, unix.ESRCH):
		return "; the process is gone"
	case errors.Is(err, unix.EBUSY):
		return "; the cgroup enables a domain controller (memory, io, ...) in its cgroup.subtree_control (no-internal-process rule): move tasks into a leaf, or call ClearSubtreeControl first"
	case errors.Is(err, unix.EOPNOTSUPP):
		return "; the cgroup is \"domain invalid\" (see its cgroup.type): an ancestor holds tasks while enabling threaded controllers such as cpuset or cpu, which makes it a thread root; move that ancestor's tasks into a leaf"
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return "; permission denied: moving a process needs write access to cgroup.procs of the target and of the common ancestor of both cgroups (run as root, or stay within a delegated subtree)"
	}
	return accessHint(err)
}

// MoveTasks moves every pid into the cgroup, one write per pid, in
// order. A pid whose process is gone (ESRCH) is skipped. EBUSY is tried
// up to 3 times, 100 ms apart (see MoveRetry), as a sched_ext scheduler
// can refuse a move for a moment. Any other error stops at once and names the pid; the
// pids before it were moved.
func (m *Manager) MoveTasks(name string, pids []int) error {
	p, err := m.Path(name)
	if err != nil {
		return err
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
			hint := accessHint(err)
			if errors.Is(err, unix.EBUSY) {
				hint = "; a child cgroup still enables it in its own cgroup.subtree_control: clear the children first"
			}
			errs = append(errs, fmt.Errorf("cgroupfs: disable the %s controller (write %q to %s): %w%s", c, "-"+c, file, err, hint))
		}
	}
	return errors.Join(errs...)
}

// accessHint returns what to try for the errnos any operation can meet.
func accessHint(err error) string {
	switch {
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return "; permission denied: run as root, or work inside a cgroup subtree delegated to your user (its directory and cgroup.procs, cgroup.subtree_control chowned to you)"
	case errors.Is(err, unix.EROFS):
		return "; the cgroup filesystem is mounted read-only (in a container, mount it read-write or run with --privileged / a cgroup namespace)"
	case errors.Is(err, unix.ENODEV):
		return "; the cgroup was removed while in use"
	}
	return ""
}
