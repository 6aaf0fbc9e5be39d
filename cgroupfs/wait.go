package cgroupfs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"

	"golang.org/x/sys/unix"
)

// WaitEmpty waits until the kernel reports "populated 0" in the cgroup's
// cgroup.events: no live task in the cgroup or beneath it (a killed,
// unreaped zombie already counts as gone). It watches the file before
// reading it, then reads it again after every event, so no change is
// missed and no time is spent sleeping. A missing cgroup counts as
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
		select {
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
