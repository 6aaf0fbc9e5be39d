package cgroupfs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"golang.org/x/sys/unix"
)

// WaitEmpty waits until the kernel reports "populated 0" in the cgroup's
// cgroup.events: no live task in the cgroup or beneath it (a killed,
// unreaped zombie already counts as gone). It watches the file before
// reading it, then reads it again after every event, so no change is
// missed. As the kernel holds back notifications that come within 10 ms
// of the previous one, it also reads it again 1, 2, 4 and 8 ms after it
// said "populated 1": a cgroup killed right after it was populated is
// seen empty within about a millisecond, not when the held-back
// notification comes. A missing cgroup counts as
// empty, as does one without cgroup.events (a plain directory). Where
// no watch can be had because an inotify or file limit is used up
// (EMFILE, ENFILE, ENOSPC), it reads cgroup.events every 10 ms instead
// of failing.
//
// When ctx ends first, the error wraps ctx.Err() and quotes the
// cgroup.events content last read and the pids cgroup.procs lists
// then. It also fails when the file cannot be watched (for another
// reason than a limit) or read, or does not say "populated".
func (m *Manager) WaitEmpty(ctx context.Context, name string) error {
	p, err := m.Path(name)
	if err != nil {
		return err
	}
	return m.waitEmpty(ctx, p)
}

func (m *Manager) waitEmpty(ctx context.Context, p string) error {
	file := joinName(p, "cgroup.events")
	w, err := m.fsys.Watch(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	var events <-chan struct{}
	switch {
	case errors.Is(err, unix.EMFILE), errors.Is(err, unix.ENOSPC), errors.Is(err, unix.ENFILE):
		// No inotify to be had (the user's instances or watches, or
		// the fds, are used up, by any process of the user): never
		// fail for that, read the file at intervals instead.
		return m.pollEmpty(ctx, p, file)
	case err != nil:
		return fmt.Errorf("cgroupfs: wait for cgroup %s to empty: watch %s: %w%s", p, file, err, accessHint(err))
	}
	defer w.Close()
	events = w.Events()
	// The kernel notifies a change of cgroup.events at most once per
	// 10 ms (CGROUP_FILE_NOTIFY_MIN_INTV, rounded up to whole jiffies:
	// up to 12 ms at HZ=250) and delays the rest, while the tasks of a
	// killed cgroup are gone within about 0.4 ms. A cgroup killed soon
	// after it became populated (a test that ends right after starting
	// its workload) would wait out that interval. So, only after a read
	// said "populated 1", the file is also read again after 1, 2, 4 and
	// 8 ms; past that the delayed notification is due anyway.
	reread := time.NewTimer(time.Hour)
	defer reread.Stop()
	delay := rereadFirst
	for {
		data, err := m.fsys.ReadFile(file)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENODEV) {
			return nil // removed meanwhile: nothing is left in it
		}
		if err != nil {
			return fmt.Errorf("cgroupfs: wait for cgroup %s to empty: %w%s", p, err, accessHint(err))
		}
		populated, err := parsePopulated(file, data)
		if err != nil || !populated {
			return err
		}
		if events == nil {
			return fmt.Errorf("cgroupfs: wait for cgroup %s to empty: the watch on %s ended while it still read %q", p, file, data)
		}
		if delay <= rereadLast {
			reread.Reset(delay)
			delay *= 2
		}
		select {
		case <-reread.C:
		case <-ctx.Done():
			return fmt.Errorf("cgroupfs: wait for cgroup %s to empty: %w; %s last read %q, and its cgroup.procs %s; kill the tasks (KillTasks) or wait longer",
				p, ctx.Err(), file, data, m.pidsForMessage(p))
		case _, ok := <-events:
			if !ok {
				// Closed: the cgroup was removed, or the watch ended.
				// One more read tells which.
				events = nil
			}
		}
	}
}

// pollEmpty is waitEmpty without a watch: it reads file (the cgroup.events
// of p) 1, 2, 4, 8 ms apart, then every pollMax, until it says
// "populated 0". The kernel notifies a change at most every 10 ms
// anyway, so a watch would not tell much sooner.
func (m *Manager) pollEmpty(ctx context.Context, p, file string) error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	delay := rereadFirst
	for {
		data, err := m.fsys.ReadFile(file)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENODEV) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("cgroupfs: wait for cgroup %s to empty: %w%s", p, err, accessHint(err))
		}
		populated, err := parsePopulated(file, data)
		if err != nil || !populated {
			return err
		}
		timer.Reset(delay)
		delay = min(2*delay, pollMax)
		select {
		case <-timer.C:
		case <-ctx.Done():
			return fmt.Errorf("cgroupfs: wait for cgroup %s to empty (reading %s at intervals: no inotify left): %w; it last read %q, and its cgroup.procs %s; kill the tasks (KillTasks) or wait longer",
				p, file, ctx.Err(), data, m.pidsForMessage(p))
		}
	}
}

// pollMax is the longest pause between two reads of pollEmpty: the
// kernel's own notification interval.
const pollMax = 10 * time.Millisecond

// The re-reads of waitEmpty while the kernel's notification may be held
// back: 1, 2, 4 and 8 ms after the reads that said "populated 1".
const (
	rereadFirst = time.Millisecond
	rereadLast  = 8 * time.Millisecond
)

// pidsForMessage says what cgroup.procs of p lists, for an error message.
func (m *Manager) pidsForMessage(p string) string {
	pids, err := m.procs(p)
	switch {
	case err != nil:
		return fmt.Sprintf("could not be read (%v)", err)
	case len(pids) == 0:
		return "lists no pid (the tasks are in child cgroups, or still exiting)"
	}
	return fmt.Sprintf("lists pids %v", pids)
}

// parsePopulated returns the value of the "populated" key of the
// cgroup.events contents data.
func parsePopulated(file string, data []byte) (bool, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		key, val, _ := bytes.Cut(sc.Bytes(), []byte(" "))
		if string(key) != "populated" {
			continue
		}
		switch string(val) {
		case "0":
			return false, nil
		case "1":
			return true, nil
		}
		break
	}
	return false, fmt.Errorf("cgroupfs: %s reads %q, without a \"populated 0\" or \"populated 1\" line; is this a cgroup2 filesystem?", file, data)
}
