package fakefs_test

import (
	"errors"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/fakefs"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// names lists the entries of dir.
func names(t *testing.T, fsys cgroupfs.FS, dir string) []string {
	t.Helper()
	entries, err := fsys.ReadDir(dir)
	assert.NilError(t, err)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func read(t *testing.T, fsys cgroupfs.FS, name string) string {
	t.Helper()
	data, err := fsys.ReadFile(name)
	assert.NilError(t, err)
	return string(data)
}

func TestRootLacksChildOnlyFiles(t *testing.T) {
	fsys := fakefs.New()
	root := names(t, fsys, ".")
	for _, n := range []string{"cgroup.events", "cgroup.type", "cgroup.freeze", "cgroup.kill", "cpuset.cpus", "cpu.weight"} {
		assert.Check(t, !slices.Contains(root, n), "the root must not have %s", n)
	}
	for _, n := range []string{"cgroup.procs", "cgroup.controllers", "cgroup.subtree_control", "cpuset.cpus.effective", "cpuset.mems.effective", "memory.stat"} {
		assert.Check(t, is.Contains(root, n))
	}
	assert.Equal(t, read(t, fsys, "cgroup.controllers"), "cpuset cpu io memory hugetlb pids\n")
	assert.Equal(t, read(t, fsys, "cpuset.cpus.effective"), "0-3\n")
	assert.Equal(t, read(t, fsys, "cpuset.mems.effective"), "0\n")
	_, err := fsys.ReadFile("cgroup.events")
	assert.Check(t, errors.Is(err, fs.ErrNotExist), "read the root's cgroup.events: %v", err)
	_, err = fsys.Watch("cgroup.events")
	assert.Check(t, errors.Is(err, unix.ENOENT), "watch the root's cgroup.events: %v", err)
	assert.Check(t, errors.Is(fsys.Rmdir("."), unix.EBUSY))
	assert.Check(t, errors.Is(fsys.Mkdir("."), unix.EEXIST))
}

func TestOptions(t *testing.T) {
	fsys := fakefs.New(
		fakefs.WithCPUs(cgroupfs.NewCPUSet(0, 2, 4)),
		fakefs.WithMems(cgroupfs.NewCPUSet(0, 1)),
		fakefs.WithControllers("pids", "cpuset", "bogus", "perf_event"),
	)
	// Kernel order, unknown and implicit names dropped.
	assert.Equal(t, read(t, fsys, "cgroup.controllers"), "cpuset pids\n")
	assert.Equal(t, read(t, fsys, "cpuset.cpus.effective"), "0,2,4\n")
	assert.Equal(t, read(t, fsys, "cpuset.mems.effective"), "0-1\n")
	assert.NilError(t, fsys.WriteFile("cgroup.subtree_control", []byte("+cpuset")))
	assert.NilError(t, fsys.Mkdir("a"))
	// CPU 1 is below the largest CPU but offline: EINVAL; 5 is beyond
	// nr_cpu_ids: ERANGE.
	assert.Check(t, errors.Is(fsys.WriteFile("a/cpuset.cpus", []byte("1")), unix.EINVAL))
	assert.Check(t, errors.Is(fsys.WriteFile("a/cpuset.cpus", []byte("5")), unix.ERANGE))
	assert.NilError(t, fsys.WriteFile("a/cpuset.cpus", []byte("2-4:1/2")))
	assert.Equal(t, read(t, fsys, "a/cpuset.cpus"), "2,4\n")
	assert.Check(t, errors.Is(fsys.WriteFile("a/cpuset.mems", []byte("2")), unix.EINVAL))
	assert.Check(t, errors.Is(fsys.WriteFile("a/cpuset.mems", []byte("1024")), unix.ERANGE))
	// Empty sets keep the defaults.
	def := fakefs.New(fakefs.WithCPUs(cgroupfs.CPUSet{}), fakefs.WithMems(cgroupfs.CPUSet{}))
	assert.Equal(t, read(t, def, "cpuset.cpus.effective"), "0-3\n")
}

func TestControllerFilesFollowParent(t *testing.T) {
	fsys := fakefs.New()
	assert.NilError(t, fsys.Mkdir("a"))
	assert.Check(t, !slices.Contains(names(t, fsys, "a"), "memory.max"))
	_, err := fsys.ReadFile("a/memory.max")
	assert.Check(t, errors.Is(err, unix.ENOENT))
	assert.NilError(t, fsys.WriteFile("cgroup.subtree_control", []byte("+memory +pids")))
	assert.Check(t, is.Contains(names(t, fsys, "a"), "memory.max"))
	assert.Check(t, is.Contains(names(t, fsys, "a"), "pids.max"))
	assert.NilError(t, fsys.WriteFile("a/memory.max", []byte("1048576\n")))
	assert.Equal(t, read(t, fsys, "a/memory.max"), "1048576\n")
	assert.Check(t, errors.Is(fsys.WriteFile("a/memory.max", []byte("lots")), unix.EINVAL))
	// Disabling destroys the controller's state: enabled again, it is
	// back to its default.
	assert.NilError(t, fsys.WriteFile("cgroup.subtree_control", []byte("-memory")))
	assert.NilError(t, fsys.WriteFile("cgroup.subtree_control", []byte("+memory")))
	assert.Equal(t, read(t, fsys, "a/memory.max"), "max\n")
	assert.Equal(t, read(t, fsys, "cgroup.subtree_control"), "memory pids\n")
}

func TestNoInternalProcessRule(t *testing.T) {
	fsys := fakefs.New()
	assert.NilError(t, fsys.WriteFile("cgroup.subtree_control", []byte("+cpuset +memory")))
	assert.NilError(t, fsys.Mkdir("a"))
	assert.NilError(t, fsys.Mkdir("a/b"))
	pid, err := fsys.Spawn("a")
	assert.NilError(t, err)
	// A domain controller: refused while a holds a task.
	assert.Check(t, errors.Is(fsys.WriteFile("a/cgroup.subtree_control", []byte("+memory")), unix.EBUSY))
	// A threaded controller: allowed, and a becomes a thread root whose
	// domain children are invalid.
	assert.NilError(t, fsys.WriteFile("a/cgroup.subtree_control", []byte("+cpuset")))
	assert.Equal(t, read(t, fsys, "a/cgroup.type"), "domain threaded\n")
	assert.Equal(t, read(t, fsys, "a/b/cgroup.type"), "domain invalid\n")
	assert.Check(t, errors.Is(fsys.WriteFile("a/b/cgroup.procs", []byte(strconv.Itoa(pid))), unix.EOPNOTSUPP))
	// With the task gone to the root, a is a plain domain again.
	assert.NilError(t, fsys.WriteFile("cgroup.procs", []byte(strconv.Itoa(pid))))
	assert.Equal(t, read(t, fsys, "a/b/cgroup.type"), "domain\n")
	// Once a child is populated a can no longer become a thread root.
	assert.NilError(t, fsys.WriteFile("a/b/cgroup.procs", []byte(strconv.Itoa(pid))))
	_, err = fsys.Spawn("a")
	assert.Check(t, errors.Is(err, unix.EBUSY), "spawn into a: %v", err)
	// The root is exempt.
	assert.NilError(t, fsys.WriteFile("cgroup.procs", []byte(strconv.Itoa(pid))))
	assert.DeepEqual(t, fsys.Pids("."), []int{pid})
	// Disabling what a child enables: EBUSY.
	assert.Check(t, errors.Is(fsys.WriteFile("cgroup.subtree_control", []byte("-cpuset")), unix.EBUSY))
}

func TestPaths(t *testing.T) {
	fsys := fakefs.New()
	for _, name := range []string{"", "/a", "a/../b", "a//b", "./a", "a/"} {
		assert.Check(t, errors.Is(fsys.Mkdir(name), unix.EINVAL), "mkdir %q", name)
		_, err := fsys.ReadFile(name)
		assert.Check(t, errors.Is(err, unix.EINVAL), "read %q: %v", name, err)
	}
	err := fsys.Mkdir("x/y")
	var pe *fs.PathError
	assert.Assert(t, errors.As(err, &pe))
	assert.Equal(t, pe.Op, "mkdir")
	assert.Equal(t, pe.Path, "x/y")
	assert.Check(t, errors.Is(err, fs.ErrNotExist))
	_, err = fsys.ReadFile(".")
	assert.Check(t, errors.Is(err, unix.EISDIR))
	_, err = fsys.ReadDir("cgroup.procs")
	assert.Check(t, errors.Is(err, unix.ENOTDIR))
}

func TestTasks(t *testing.T) {
	fsys := fakefs.New()
	assert.NilError(t, fsys.Mkdir("a"))
	p1, err := fsys.Spawn("a")
	assert.NilError(t, err)
	p2, err := fsys.Spawn("a")
	assert.NilError(t, err)
	assert.Equal(t, p1, fakefs.FirstPid)
	assert.Equal(t, p2, fakefs.FirstPid+1)
	assert.Equal(t, read(t, fsys, "a/cgroup.procs"), strconv.Itoa(p1)+"\n"+strconv.Itoa(p2)+"\n")
	assert.NilError(t, fsys.Exit(p1))
	assert.Check(t, errors.Is(fsys.Exit(p1), unix.ESRCH))
	assert.Check(t, errors.Is(fsys.Kill(12345), unix.ESRCH))
	assert.DeepEqual(t, fsys.Pids("a"), []int{p2})
	assert.Check(t, errors.Is(fsys.WriteFile("a/cgroup.procs", []byte(strconv.Itoa(p1))), unix.ESRCH))
	assert.Check(t, errors.Is(fsys.WriteFile("a/cgroup.procs", []byte("0")), unix.ESRCH))
	assert.NilError(t, fsys.Kill(p2))
	assert.Equal(t, read(t, fsys, "a/cgroup.events"), "populated 0\nfrozen 0\n")
	assert.NilError(t, fsys.Rmdir("a"))
	_, err = fsys.Spawn("a")
	assert.Check(t, errors.Is(err, unix.ENOENT))
	_, err = fsys.Spawn("cgroup.procs")
	assert.Check(t, errors.Is(err, unix.ENOTDIR))
	assert.Check(t, fsys.Pids("a") == nil)
}

func TestKillAndFreezeSubtree(t *testing.T) {
	fsys := fakefs.New()
	assert.NilError(t, fsys.Mkdir("a"))
	assert.NilError(t, fsys.Mkdir("a/b"))
	_, err := fsys.Spawn("a/b")
	assert.NilError(t, err)
	assert.NilError(t, fsys.WriteFile("a/cgroup.freeze", []byte("1")))
	assert.Equal(t, read(t, fsys, "a/b/cgroup.events"), "populated 1\nfrozen 1\n")
	assert.Equal(t, read(t, fsys, "a/b/cgroup.freeze"), "0\n")
	assert.NilError(t, fsys.WriteFile("a/cgroup.kill", []byte("1")))
	assert.Equal(t, read(t, fsys, "a/cgroup.events"), "populated 0\nfrozen 1\n")
	assert.NilError(t, fsys.WriteFile("a/cgroup.freeze", []byte("0")))
	assert.Equal(t, read(t, fsys, "a/b/cgroup.events"), "populated 0\nfrozen 0\n")
}

func TestReadWriteOnly(t *testing.T) {
	fsys := fakefs.New()
	assert.NilError(t, fsys.Mkdir("a"))
	assert.NilError(t, fsys.WriteFile("cgroup.subtree_control", []byte("+memory +cpu")))
	_, err := fsys.ReadFile("a/memory.reclaim")
	assert.Check(t, errors.Is(err, unix.EINVAL))
	assert.Check(t, errors.Is(fsys.WriteFile("a/memory.current", []byte("1")), unix.EINVAL))
	assert.Check(t, errors.Is(fsys.WriteFile("a/cpu.weight", []byte("0")), unix.ERANGE))
	assert.NilError(t, fsys.WriteFile("a/cpu.weight", []byte("200\n")))
	assert.Equal(t, read(t, fsys, "a/cpu.weight"), "200\n")
	assert.NilError(t, fsys.WriteFile("a/cpu.max", []byte("50000")))
	assert.Equal(t, read(t, fsys, "a/cpu.max"), "50000 100000\n")
	assert.Check(t, fsys.WriteFile("a/cpu.pressure", []byte("some 150000 1000000")))
	assert.Check(t, errors.Is(fsys.WriteFile("a/cpu.pressure", []byte("some 0 1000000")), unix.EINVAL))
	assert.Check(t, errors.Is(fsys.WriteFile("a/cgroup.type", []byte("domain")), unix.EINVAL))
	assert.Check(t, strings.Contains(read(t, fsys, "a/cpu.stat"), "nr_throttled 0\n"))
	assert.Check(t, strings.Contains(read(t, fsys, "cgroup.stat"), "nr_descendants 1\n"))
}
