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
// empty, as does one without cgroup.events (a plain directory).
//
// When ctx ends first, the error wraps ctx.Err() and quotes the
// cgroup.events content last read and the pids cgroup.procs lists
// then. It also fails when the file cannot be watched or read, or does
// not say "populated".
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
	if err != nil {
		return fmt.Errorf("cgroupfs: wait for cgroup %s to empty: watch %s: %w%s", p, file, err, accessHint(err))
	}
	defer w.Close()
	events := w.Events()
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
