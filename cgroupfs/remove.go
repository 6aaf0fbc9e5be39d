package cgroupfs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The bounds of RemoveCgroup once the first rmdir said EBUSY. They keep
// a teardown from hanging on a task that cannot be moved or will not
// die, and cost nothing on the happy path (an empty cgroup is removed
// by the first rmdir).
// The wait for "populated 0" after draining and the EBUSY retries after
// that are bounded by the Manager's timings (RemoveRetry); the delay
// between retries starts at rmdirFirstDelay and doubles up to
// rmdirMaxDelay.
const (
	rmdirFirstDelay = time.Millisecond
	rmdirMaxDelay   = 50 * time.Millisecond
)

// RemoveCgroup removes the leaf cgroup name. A missing cgroup is not an
// error. The first rmdir is tried at once, so an empty cgroup costs one
// system call.
//
// When the kernel answers EBUSY, RemoveCgroup tells its two causes
// apart. If the cgroup has child cgroups, it returns an error wrapping
// EBUSY that names them, and removes nothing: removing a subtree is
// CleanupAll's job, deepest first. Otherwise the cgroup holds tasks:
// they are drained (see DrainTasks) to the DrainTo cgroup, RemoveCgroup
// waits up to 2 s for the kernel to report "populated 0" in
// cgroup.events, then retries rmdir on EBUSY with a backoff (1 ms
// doubling to 50 ms, 2 s in all; RemoveRetry changes both bounds). An error at any step says which step
// failed and what the cgroup still held.
//
// To kill the tasks instead of moving them, call KillTasks and
// WaitEmpty first.
func (m *Manager) RemoveCgroup(name string) error {
	p, err := m.Path(name)
	if err != nil {
		return err
	}
	return m.remove(p)
}

func (m *Manager) remove(p string) error {
	err := m.fsys.Rmdir(p)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if !errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("cgroupfs: remove cgroup %s: %w%s", p, err, hint(opRemove, err))
	}
	// EBUSY has two causes on cgroupfs: child cgroups and tasks (ktstr
	// always blamed tasks). Children are not ours to remove here.
	if kids, kerr := m.childDirs(p); kerr == nil && len(kids) > 0 {
		return fmt.Errorf("cgroupfs: remove cgroup %s: %w: it still has child cgroup(s) %s; remove them first, deepest first (CleanupAll does)",
			p, err, strings.Join(kids, ", "))
	}
	if err := m.checkDrainTarget(p); err != nil {
		return err
	}
	if err := m.drain(p); err != nil {
		return fmt.Errorf("cgroupfs: remove cgroup %s: rmdir said busy, and draining its tasks failed: %w", p, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), m.timings.removeWaitEmpty)
	defer cancel()
	if err := m.waitEmpty(ctx, p); err != nil {
		return fmt.Errorf("cgroupfs: remove cgroup %s: its tasks were moved out, but %w", p, err)
	}
	deadline := time.Now().Add(m.timings.rmdirBudget)
	for delay := rmdirFirstDelay; ; delay = min(2*delay, rmdirMaxDelay) {
		err = m.fsys.Rmdir(p)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("cgroupfs: remove cgroup %s after emptying it: %w%s", p, err, hint(opRemove, err))
		}
		if time.Now().Add(delay).After(deadline) {
			break
		}
		time.Sleep(delay)
	}
	return fmt.Errorf("cgroupfs: remove cgroup %s: %w for %v after it was emptied; it now holds %s",
		p, err, m.timings.rmdirBudget, m.describe(p))
}

// describe says what the cgroup p holds, for error messages: its
// cgroup.events, pids and child cgroups, as far as they can be read.
func (m *Manager) describe(p string) string {
	var parts []string
	if data, err := m.fsys.ReadFile(joinName(p, "cgroup.events")); err == nil {
		parts = append(parts, fmt.Sprintf("cgroup.events %q", string(data)))
	}
	if pids, err := m.procs(p); err == nil {
		parts = append(parts, fmt.Sprintf("pids %v", pids))
	}
	if kids, err := m.childDirs(p); err == nil {
		parts = append(parts, fmt.Sprintf("child cgroups %v", kids))
	}
	if len(parts) == 0 {
		return "nothing readable"
	}
	return strings.Join(parts, ", ")
}

// CleanupAll removes every cgroup beneath the parent, deepest first, and
// keeps the parent itself. Only directories are removed, each with
// RemoveCgroup (so tasks are drained); plain files are never touched. A
// missing parent is not an error. It goes on past failures and returns
// them joined; a cgroup whose child could not be removed is left alone
// (its rmdir would only say EBUSY).
//
// It refuses, before removing anything, when the parent is the root of
// a cgroup2 hierarchy (it has cgroup.controllers but no cgroup.events):
// that would drain and remove every cgroup of the machine. Give the
// Manager a parent cgroup of its own instead.
func (m *Manager) CleanupAll() error {
	if m.err != nil {
		return m.err
	}
	if m.isHierarchyRoot(m.parent) {
		return fmt.Errorf("cgroupfs: refuse to clean up beneath %s: %w: it is the root of the cgroup2 hierarchy, and every cgroup of the machine is beneath it; use a parent cgroup of your own (like ktstr's /sys/fs/cgroup/ktstr)",
			m.ParentPath(), fs.ErrInvalid)
	}
	kids, err := m.childDirs(m.parent)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cgroupfs: clean up beneath %s: %w", m.parent, err)
	}
	var errs []error
	for _, k := range kids {
		errs = append(errs, m.removeTree(joinName(m.parent, k))...)
	}
	return errors.Join(errs...)
}

// isHierarchyRoot reports whether p is the root cgroup of a cgroup2
// mount: the only cgroup with cgroup.controllers but no cgroup.events. A
// plain directory has neither.
func (m *Manager) isHierarchyRoot(p string) bool {
	if _, err := m.fsys.ReadFile(joinName(p, "cgroup.controllers")); err != nil {
		return false
	}
	_, err := m.fsys.ReadFile(joinName(p, "cgroup.events"))
	return errors.Is(err, fs.ErrNotExist)
}

// removeTree removes p and everything beneath it, deepest first.
func (m *Manager) removeTree(p string) []error {
	kids, err := m.childDirs(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return []error{fmt.Errorf("cgroupfs: clean up %s: %w", p, err)}
	}
	var errs []error
	for _, k := range kids {
		errs = append(errs, m.removeTree(p+"/"+k)...)
	}
	if len(errs) > 0 {
		return errs
	}
	if err := m.remove(p); err != nil {
		errs = append(errs, err)
	}
	return errs
}
