package cgroupfs_test

import (
	"fmt"
	"os"
	"path"
	"strings"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/fakefs"
	"gotest.tools/v3/assert"
)

// The Manager's unit tests run on fakefs, which answers like the kernel
// (errno for errno) and injects the faults a kernel gives only
// sometimes. They live in this external package because fakefs imports
// cgroupfs.

// newFake returns a fake machine with CPUs 0-7 whose root offers
// exactly ctrls (none when empty: only the implicit perf_event).
func newFake(ctrls ...string) *fakefs.FS {
	return fakefs.New(fakefs.WithControllers(ctrls...), fakefs.WithCPUs(cgroupfs.NewCPUSet(0, 1, 2, 3, 4, 5, 6, 7)))
}

// opLog reads the FS operations of a fake one batch at a time, each as
// "op path", or `write path "data"` for writes; the fake-task
// operations (spawn, exit, kill) are left out, as they are the test's,
// not the Manager's.
type opLog struct {
	fsys *fakefs.FS
	seen int
}

// next returns the operations since the previous call.
func (l *opLog) next() []string {
	log := l.fsys.Log()
	var out []string
	for _, e := range log[l.seen:] {
		switch e.Op {
		case fakefs.OpSpawn, fakefs.OpExit, fakefs.OpKill:
		case fakefs.OpWrite:
			out = append(out, fmt.Sprintf("write %s %q", e.Path, e.Data))
		default:
			out = append(out, string(e.Op)+" "+e.Path)
		}
	}
	l.seen = len(log)
	return out
}

// writes returns the write entries of ops.
func writes(ops []string) []string {
	var out []string
	for _, e := range ops {
		if strings.HasPrefix(e, "write ") {
			out = append(out, e)
		}
	}
	return out
}

// spawn starts a fake task in the cgroup cg and returns its pid.
func spawn(t *testing.T, fsys *fakefs.FS, cg string) int {
	t.Helper()
	pid, err := fsys.Spawn(cg)
	assert.NilError(t, err)
	return pid
}

// hookFS is a fake with what fault injection cannot do: act after a
// write (a task forking while it is moved), and list real processes in
// a fake cgroup (this test binary, or children it started, which the
// Manager's cgroup.kill fallback signals for real).
type hookFS struct {
	*fakefs.FS
	// afterWrite, when set, runs after every WriteFile.
	afterWrite func(name string, err error)
	// real maps a cgroup to real pids its cgroup.procs lists while they
	// live (not zombies, as the kernel lists them); they also make
	// cgroup.events of it and its ancestors read "populated 1".
	real map[string][]int
}

func (h *hookFS) WriteFile(name string, data []byte) error {
	err := h.FS.WriteFile(name, data)
	if h.afterWrite != nil {
		h.afterWrite(name, err)
	}
	return err
}

func (h *hookFS) ReadFile(name string) ([]byte, error) {
	data, err := h.FS.ReadFile(name)
	if err != nil || h.real == nil {
		return data, err
	}
	dir, base := path.Split(name)
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		dir = "."
	}
	switch base {
	case "cgroup.procs":
		for _, pid := range h.real[dir] {
			if alive(pid) {
				data = fmt.Appendf(data, "%d\n", pid)
			}
		}
	case "cgroup.events":
		for cg, pids := range h.real {
			if cg != dir && !strings.HasPrefix(cg, dir+"/") {
				continue
			}
			for _, pid := range pids {
				if alive(pid) {
					return []byte(strings.Replace(string(data), "populated 0", "populated 1", 1)), nil
				}
			}
		}
	}
	return data, nil
}

// alive reports whether pid is a process that has not exited (a zombie
// has).
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 || i+2 >= len(stat) {
		return false
	}
	state := stat[i+2]
	return state != 'Z' && state != 'X'
}
