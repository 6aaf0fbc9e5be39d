package cgroupfs

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

// ErrCallerInside is wrapped by the error KillTasks returns, before
// killing anything, when the calling process itself is in the cgroup or
// beneath it: writing cgroup.kill there would kill the test binary.
var ErrCallerInside = errors.New("the calling process is inside the cgroup")

// The bounds of KillTasks' fallback for kernels without cgroup.kill
// (before Linux 5.14): SIGKILL each listed pid, wait for the kernel a
// little, and again, as a task may fork between the read and the kill.
const (
	killRounds    = 20
	killRoundWait = 100 * time.Millisecond
)

// KillTasks kills every task in the cgroup name and its descendants by
// writing "1" to its cgroup.kill. It does not wait: call WaitEmpty for
// the kernel to report the cgroup empty. A missing cgroup is not an
// error.
//
// It first reads cgroup.procs of the cgroup and every descendant, and
// refuses with an error wrapping ErrCallerInside (naming the pid and
// the cgroup) when the calling process is listed. Where cgroup.kill is
// missing (kernels before 5.14), it sends SIGKILL to every listed pid
// instead, round after round until none is listed (at most 20 rounds),
// skipping pids already gone; that fallback can race with pid reuse,
// which cgroup.kill cannot. A threaded cgroup, where the kernel refuses
// cgroup.kill (EOPNOTSUPP), takes the same fallback: the processes of
// the threads it holds are killed, whole.
//
// Threaded descendants (containerd makes them) are listed by their
// cgroup.threads, as their cgroup.procs cannot be read (see Procs); the
// cgroup.kill of a domain cgroup kills them with the rest.
//
// Caution: on Linux 6.18, processes later spawned into this cgroup or a
// descendant that existed at the kill with CLONE_INTO_CGROUP
// (SysProcAttr.UseCgroupFD) are SIGKILLed at once; do not reuse a killed
// cgroup for spawning.
func (m *Manager) KillTasks(name string) error {
	p, err := m.Path(name)
	if err != nil {
		return err
	}
	self := os.Getpid()
	pids, err := m.subtreePids(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cgroupfs: kill the tasks of cgroup %s: %w", p, err)
	}
	if where, ok := pids[self]; ok {
		return fmt.Errorf("cgroupfs: refuse to kill the tasks of cgroup %s: %w: pid %d (this process) is in %s; move it out first (MoveTask to another cgroup)",
			p, ErrCallerInside, self, where)
	}
	file := joinName(p, "cgroup.kill")
	err = m.fsys.WriteFile(file, []byte("1"))
	if err == nil {
		return nil
	}
	if errors.Is(err, unix.EOPNOTSUPP) {
		// A threaded cgroup: the kernel kills only whole domains. Its
		// threads' processes are killed one by one instead.
		return m.killEach(p, self)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cgroupfs: kill the tasks of cgroup %s (write %q to %s): %w%s", p, "1", file, err, accessHint(err))
	}
	if ok, eerr := m.dirExists(p); eerr == nil && !ok {
		return nil // the cgroup went away, and its tasks with it
	}
	return m.killEach(p, self)
}

// killEach is KillTasks without cgroup.kill (an old kernel, or a
// threaded cgroup, where the kernel refuses it).
func (m *Manager) killEach(p string, self int) error {
	var left []int
	for range killRounds {
		pids, err := m.subtreePids(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("cgroupfs: kill the tasks of cgroup %s (no cgroup.kill, signalling each): %w", p, err)
		}
		if len(pids) == 0 {
			return nil
		}
		left = left[:0]
		for pid := range pids {
			left = append(left, pid)
		}
		slices.Sort(left)
		for _, pid := range left {
			if pid == self {
				// A move into the cgroup after the first check.
				return fmt.Errorf("cgroupfs: stop killing the tasks of cgroup %s: %w: pid %d (this process) is now in %s",
					p, ErrCallerInside, self, pids[pid])
			}
			if err := unix.Kill(pid, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("cgroupfs: kill the tasks of cgroup %s: SIGKILL pid %d: %w%s", p, pid, err, accessHint(err))
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), killRoundWait)
		_ = m.waitEmpty(ctx, p) // the next round reads what is left
		cancel()
	}
	return fmt.Errorf("cgroupfs: kill the tasks of cgroup %s: pids %v still listed after %d rounds of SIGKILL (no cgroup.kill on this kernel)",
		p, left, killRounds)
}

// subtreePids returns every pid listed in cgroup.procs of p and of its
// descendants, each mapped to the cgroup that lists it. An error wraps
// fs.ErrNotExist only when p itself is missing. A cgroup without
// cgroup.procs (a plain directory) lists nothing.
func (m *Manager) subtreePids(p string) (map[int]string, error) {
	out := make(map[int]string)
	var walk func(dir string, top bool) error
	walk = func(dir string, top bool) error {
		kids, err := m.childDirs(dir)
		if errors.Is(err, fs.ErrNotExist) && !top {
			return nil // removed meanwhile
		}
		if err != nil {
			return err
		}
		pids, err := m.procs(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, unix.ENODEV) {
			return err
		}
		for _, pid := range pids {
			out[pid] = dir
		}
		for _, k := range kids {
			if err := walk(dir+"/"+k, false); err != nil {
				return err
			}
		}
		return nil
	}
	return out, walk(p, true)
}

// threadedProcs lists the processes with a thread in the threaded cgroup
// p: the kernel refuses to read cgroup.procs there (EOPNOTSUPP), so it
// reads cgroup.threads and maps each thread id to its process through
// /proc/<tid>/status. An id /proc does not know (the thread ended
// meanwhile, or a fake FS's task) is kept as it is: killing or moving it
// then fails ESRCH, which callers skip.
func (m *Manager) threadedProcs(p string) ([]int, error) {
	file := joinName(p, "cgroup.threads")
	data, err := m.fsys.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("cgroupfs: read the threads of threaded cgroup %s: %w%s", p, err, accessHint(err))
	}
	tids, err := parsePids(file, data)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, tid := range tids {
		pid, err := threadGroup(tid)
		if err != nil {
			pid = tid
		}
		if !slices.Contains(pids, pid) {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// threadGroup returns the process (thread group id) of thread tid, from
// the Tgid line of /proc/<tid>/status.
func threadGroup(tid int) (int, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "Tgid:"); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, fmt.Errorf("no Tgid line in /proc/%d/status", tid)
}
