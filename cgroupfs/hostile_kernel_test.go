package cgroupfs_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// Hostile cases on the real kernel, each under the test's own base
// cgroup (kernelRoot), touching only processes the test started.

// threadedChild makes the cgroup name/t threaded beneath the domain
// cgroup name (a thread root then, as containerd makes for its users),
// starts a sleeper (a multi-threaded Go process) in name and moves one
// of its threads into name/t, the main one when main is true. It skips
// when the kernel refuses threaded cgroups.
func threadedChild(t *testing.T, fsys *cgroupfs.OSFS, m *cgroupfs.Manager, name string, main bool) *child {
	t.Helper()
	assert.NilError(t, m.CreateCgroup(name))
	assert.NilError(t, fsys.Mkdir(name+"/t"))
	if err := fsys.WriteFile(name+"/t/cgroup.type", []byte("threaded")); err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EOPNOTSUPP) {
			t.Skipf("this kernel has no threaded cgroups: %v", err)
		}
		t.Fatal(err)
	}
	c := startChild(t, fsys, name, 0)
	pid := c.cmd.Process.Pid
	tid := pid
	if !main {
		tasks, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
		assert.NilError(t, err)
		for _, e := range tasks {
			if n, _ := strconv.Atoi(e.Name()); n != pid && n > 1 {
				tid = n
				break
			}
		}
		if tid == pid {
			t.Fatalf("sleeper %d has no thread but its main one", pid)
		}
	}
	// The tid is a thread of the sleeper this test started.
	assert.NilError(t, fsys.WriteFile(name+"/t/cgroup.threads", []byte(strconv.Itoa(tid))))
	_, err := fsys.ReadFile(name + "/t/cgroup.procs")
	assert.ErrorIs(t, err, unix.EOPNOTSUPP, "read %s/t/cgroup.procs, the kernel's answer in a threaded cgroup", name)
	return c
}

// TestHostileThreadedKernel: a thread of a live process in a threaded
// child of a cgroup. Reading cgroup.procs there fails EOPNOTSUPP, which
// made KillTasks give up before writing cgroup.kill (which the domain
// cgroup accepts), so the process lived and nothing could be removed.
func TestHostileThreadedKernel(t *testing.T) {
	fsys, _ := kernelRoot(t)
	m := cgroupfs.NewManager(fsys, ".")
	tried, held := 0, 0
	for _, tc := range []struct {
		name string
		main bool // the main thread moves, not another one
		kill string
	}{
		{"thread", false, "thread"},
		{"main", true, "main"},
		{"self", false, "self/t"}, // kill the threaded cgroup itself
	} {
		t.Run(tc.name, func(t *testing.T) {
			tried++
			c := threadedChild(t, fsys, m, tc.name, tc.main)
			pid := c.cmd.Process.Pid
			for _, cg := range []string{tc.name, tc.name + "/t"} {
				pids, err := m.Procs(cg)
				assert.Check(t, err)
				assert.Check(t, is.Contains(pids, pid), "Procs(%s): the process with a thread there", cg)
			}
			assert.NilError(t, m.KillTasks(tc.kill), "KillTasks(%s)", tc.kill)
			err := c.wait(t)
			assert.Assert(t, killedBySIGKILL(err), "sleeper %d ended with %v, want killed", pid, err)
			ctx, cancel := context.WithTimeout(context.Background(), kernelWait)
			defer cancel()
			assert.NilError(t, m.WaitEmpty(ctx, tc.name))
			for _, cg := range []string{tc.name + "/t", tc.name} {
				assert.NilError(t, m.RemoveCgroup(cg), "RemoveCgroup(%s)", cg)
			}
			held++
		})
	}
	t.Logf("hostile threaded (cgroupfs): %d cases tried, %d held", tried, held)
}

// TestHostileIdentityKernel: a cgroup removed and made again under the
// same name has another identity, which is what lets a guard tell its
// own cgroup from someone else's of the same name.
func TestHostileIdentityKernel(t *testing.T) {
	fsys, _ := kernelRoot(t)
	tried, held := 0, 0
	seen := map[uint64]bool{}
	for range 3 {
		tried++
		assert.NilError(t, fsys.Mkdir("a"))
		id, err := fsys.Identity("a")
		assert.NilError(t, err)
		again, err := fsys.Identity("a")
		assert.Check(t, err)
		assert.Check(t, is.Equal(again, id), "Identity(a), and a moment before")
		if seen[id] {
			t.Errorf("Identity(a) = %d again for a cgroup made anew", id)
		} else {
			held++
		}
		seen[id] = true
		assert.NilError(t, fsys.Rmdir("a"))
	}
	_, err := fsys.Identity("a")
	assert.Check(t, is.ErrorIs(err, os.ErrNotExist), "Identity of a removed cgroup")
	t.Logf("hostile identity (cgroupfs): %d cases tried, %d held", tried, held)
}
