package cgroupfs_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
)

// Hostile names on the real kernel, under the test's own base cgroup
// (kernelRoot): names the kernel would make but a guard could then not
// look into, and names the kernel's own interface files take.

// entries lists the names in the directory name of fsys.
func entries(t *testing.T, fsys *cgroupfs.OSFS, name string) []string {
	t.Helper()
	es, err := fsys.ReadDir(name)
	assert.NilError(t, err)
	var out []string
	for _, e := range es {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

// clean removes every cgroup in dir of fsys but keep, fd-relative.
func clean(t *testing.T, fsys *cgroupfs.OSFS, dir string, keep ...string) {
	t.Helper()
	f, err := fsys.OpenDir(dir)
	assert.NilError(t, err)
	defer f.Close()
	for _, d := range entries(t, fsys, dir) {
		if !slices.Contains(keep, d) {
			if err := rmdirBelow(int(f.Fd()), d); err != nil {
				t.Errorf("remove %s/%.20s... fd-relative: %v", dir, d, err)
			}
		}
	}
}

// rmdirBelow removes the empty cgroup tree name beneath the directory
// dirfd, one component at a time, so that no path passes PATH_MAX.
func rmdirBelow(dirfd int, name string) error {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), name)
	es, err := f.ReadDir(-1)
	if err == nil {
		for _, e := range es {
			if e.IsDir() {
				if err := rmdirBelow(fd, e.Name()); err != nil {
					f.Close()
					return err
				}
			}
		}
	}
	f.Close()
	return unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR)
}

// TestHostileNamesBeyondPathMax (issue 11, item 4): the kernel makes a
// cgroup of a 4095-byte name, whose cgroup.procs and cgroup.events are
// then beyond PATH_MAX: a task inside could not be seen, killed or
// swept. Every such name is refused before mkdir, at any depth; the
// longest name that fits is made, a process inside is seen and killed,
// and the cgroup removed.
func TestHostileNamesBeyondPathMax(t *testing.T) {
	fsys, _ := kernelRoot(t)
	m := cgroupfs.NewManager(fsys, "p")
	assert.NilError(t, m.Setup(false))
	// PATH_MAX holds the path, "/", an interface file name of up to 97
	// bytes and a NUL.
	room := 4096 - len(m.ParentPath()) - len("/") - len("/") - cgroupfs.MaxInterfaceFile - 1
	deep := func(n int) string { // components of 200 bytes at most
		return strings.Repeat(strings.Repeat("d", 199)+"/", n/200) + strings.Repeat("x", n%200)
	}
	tried, held := 0, 0
	for _, name := range []string{
		strings.Repeat("n", 4095), // the kernel's longest component
		strings.Repeat("n", room+1),
		deep(room + 1),
		"a/" + strings.Repeat("n", room-1),
	} {
		tried++
		err := m.CreateCgroup(name)
		made := entries(t, fsys, "p")
		if errors.Is(err, cgroupfs.ErrInvalidName) && strings.Contains(err.Error(), "PATH_MAX") && len(made) == 0 {
			held++
		} else {
			t.Errorf("CreateCgroup of a %d-byte name = %v, cgroups made %d; want ErrInvalidName naming PATH_MAX and none made", len(name), err, len(made))
			clean(t, fsys, "p") // out of reach by path
		}
	}
	// The longest that fits: made, a sleeper inside seen and killed, and
	// nothing left.
	tried++
	name := strings.Repeat("n", room)
	assert.NilError(t, m.CreateCgroup(name), "the longest name that fits (%d bytes)", len(name))
	c := startChild(t, fsys, "p/"+name, 1)
	procs, err := m.Procs(name)
	seen := err == nil && slices.Contains(procs, c.cmd.Process.Pid)
	if !seen {
		t.Errorf("Procs of the %d-byte name = %v, %v; want the sleeper %d", len(name), procs, err, c.cmd.Process.Pid)
	}
	assert.NilError(t, m.KillTasks(name))
	ctx, cancel := context.WithTimeout(context.Background(), kernelWait)
	defer cancel()
	assert.NilError(t, m.WaitEmpty(ctx, name))
	killed := killedBySIGKILL(c.wait(t))
	assert.NilError(t, m.CleanupAll())
	if left := entries(t, fsys, "p"); seen && killed && len(left) == 0 {
		held++
	} else {
		t.Errorf("the longest name: seen %v, killed %v, left %v", seen, killed, left)
	}
	t.Logf("hostile names beyond PATH_MAX: %d cases tried, %d held", tried, held)
}

// TestHostileInterfaceFileNames (issue 11, item 15): a cgroup named like
// an interface file. The kernel answers EEXIST where the file exists
// (read as "remove the stale cgroup"), and elsewhere makes a directory
// that later keeps the controller from being enabled. Each is refused
// before mkdir, saying why, as a leaf, as a middle component and as a
// Manager's parent.
func TestHostileInterfaceFileNames(t *testing.T) {
	fsys, _ := kernelRoot(t)
	m := cgroupfs.NewManager(fsys, "p")
	assert.NilError(t, m.Setup(false))
	tried, held := 0, 0
	for _, elem := range []string{
		"cgroup.procs", "cgroup.kill", "cgroup.subtree_control", "memory.max",
		"cpu.weight", "cpuset.cpus", "io.max", "pids.max", "hugetlb.2MB.max",
	} {
		for _, call := range []struct {
			how string
			fn  func() error
		}{
			{"leaf", func() error { return m.CreateCgroup(elem) }},
			{"middle", func() error { return m.CreateCgroup("a/" + elem + "/b") }},
			{"parent", func() error { return cgroupfs.NewManager(fsys, "q/"+elem).Setup(false) }},
		} {
			tried++
			err := call.fn()
			made := append(entries(t, fsys, "."), entries(t, fsys, "p")...)
			if errors.Is(err, cgroupfs.ErrInvalidName) && strings.Contains(err.Error(), "interface file") && slices.Equal(made, []string{"p"}) {
				held++
				continue
			}
			t.Errorf("%s %q: error %v, cgroups %v; want ErrInvalidName naming interface files, and only p", call.how, elem, err, made)
			clean(t, fsys, ".", "p")
			clean(t, fsys, "p")
		}
	}
	assert.NilError(t, m.CleanupAll())
	t.Logf("hostile interface-file names: %d cases tried, %d held", tried, held)
}
