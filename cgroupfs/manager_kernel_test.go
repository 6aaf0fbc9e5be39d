package cgroupfs_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/internal/kerneltest"
	"github.com/cgguard/cgguard/vmtest"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// The Manager on the real kernel, under the test's own cgroup from
// kernelRoot (an OSFS rooted at it: "." is that cgroup, and the default
// DrainTo target). On this host cgroup v2 has no cpuset; the cpuset
// paths run in the VM.

// noSuchPid is above the kernel's PID_MAX_LIMIT (4194304): no process
// can have it, so a test may write it anywhere without touching a
// process it did not start (a reaped pid could be reused meanwhile).
const noSuchPid = 4194305

// child is a sleeper the test started (see kerneltest.StartSleeper), with its end
// observable: done closes once it is reaped, and err says how it ended.
type child struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// startChild starts a sleeper with children sleepers of its own, inside
// the cgroup cg of fsys when cg is not "" (CLONE_INTO_CGROUP: every
// process it forks is inside from the start). It returns once all of
// them run; Cleanup kills and reaps them.
func startChild(t *testing.T, fsys *cgroupfs.OSFS, cg string, children int) *child {
	t.Helper()
	var attr *syscall.SysProcAttr
	if cg != "" {
		dir, err := fsys.OpenDir(cg)
		assert.NilError(t, err)
		defer dir.Close()
		attr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(dir.Fd())}
	}
	c := &child{cmd: kerneltest.StartSleeper(t, attr, children), done: make(chan struct{})}
	go func() { c.err = c.cmd.Wait(); close(c.done) }()
	// Runs before kerneltest.StartSleeper's cleanup, so its Wait comes after ours.
	t.Cleanup(func() {
		_ = c.cmd.Process.Kill() // by pidfd: never another process
		<-c.done
	})
	return c
}

// wait returns how the child ended.
func (c *child) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-c.done:
		return c.err
	case <-time.After(kernelWait):
		t.Fatalf("pid %d still running after %v", c.cmd.Process.Pid, kernelWait)
		return nil
	}
}

func killedBySIGKILL(err error) bool {
	var exit *exec.ExitError
	return errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL
}

func TestKernelManagerSetupAndNesting(t *testing.T) {
	// A cgroup offered no controller: one below the base, whose own
	// cgroup.subtree_control is empty (the base itself may be offered
	// them all, as in the VM). The base's cleanup removes it.
	base, baseDir := kernelRoot(t)
	assert.NilError(t, base.Mkdir("bare"))
	dir := filepath.Join(baseDir, "bare")
	fsys, err := cgroupfs.Open(dir)
	assert.NilError(t, err)
	t.Cleanup(func() { fsys.Close() })
	m := cgroupfs.NewManager(fsys, "ktstr")
	assert.Check(t, is.Equal(m.ParentPath(), filepath.Join(dir, "ktstr")))
	// No cpuset or cpu in cgroup.controllers here: Setup creates the
	// parent and writes nothing, without error.
	assert.NilError(t, m.Setup(true), "Setup(true) where cpuset and cpu are absent")
	for _, level := range []string{".", "ktstr"} {
		data, err := fsys.ReadFile(path.Join(level, "cgroup.subtree_control"))
		assert.Check(t, err)
		assert.Check(t, is.Len(data, 0), "%s/cgroup.subtree_control, untouched", level)
	}

	for range 2 { // idempotent
		assert.NilError(t, m.CreateCgroup("a/b/c"), "CreateCgroup(a/b/c)")
	}
	for _, n := range []string{"a", "a/b", "a/b/c"} {
		ok, err := m.Exists(n)
		assert.Check(t, err)
		assert.Check(t, ok, "Exists(%q)", n)
	}
	// A name taken by an interface file is refused before the kernel
	// answers EEXIST.
	cgroupfs.WantErrContains(t, m.CreateCgroup("a/cgroup.procs"), cgroupfs.ErrInvalidName, "interface file")

	// cpuset is not available: the write says so.
	cgroupfs.WantErrContains(t, m.SetCpuset("a/b/c", cgroupfs.NewCPUSet(0)), fs.ErrNotExist, "cpuset.cpus", "cpuset is not enabled")

	// rmdir with a child cgroup is EBUSY on cgroupfs; the error says
	// children, not tasks, and nothing is removed.
	err = m.RemoveCgroup("a/b")
	cgroupfs.WantErrContains(t, err, unix.EBUSY, "child cgroup", "c")
	assert.Check(t, !strings.Contains(err.Error(), "drain"), "RemoveCgroup blamed tasks: %v", err)
	ok, _ := m.Exists("a/b/c")
	assert.Check(t, ok, "a/b/c was removed by RemoveCgroup(a/b)")

	assert.Check(t, m.RemoveCgroup("a/b/c"), "RemoveCgroup(a/b/c)")
	assert.Check(t, m.RemoveCgroup("a/b/c"), "RemoveCgroup of a removed cgroup")
	assert.NilError(t, m.CreateCgroup("x/y"))
	assert.NilError(t, m.CleanupAll(), "CleanupAll")
	top := cgroupfs.NewManager(fsys, ".")
	kids, err := top.Children("ktstr")
	assert.Check(t, err)
	assert.Check(t, is.Len(kids, 0), "after CleanupAll the parent holds cgroups")
	ok, _ = top.Exists("ktstr")
	assert.Check(t, ok, "CleanupAll removed the parent")
	// The FS root here is the test's cgroup, not the hierarchy root: a
	// Manager on "." may clean it (the guard only refuses the real root).
	assert.Check(t, top.CleanupAll(), "CleanupAll beneath the test cgroup")
	ok, _ = top.Exists("ktstr")
	assert.Check(t, !ok, "CleanupAll of the test cgroup left ktstr")
}

func TestKernelRemoveCgroupDrainsALiveTask(t *testing.T) {
	fsys, dir := kernelRoot(t)
	m := cgroupfs.NewManager(fsys, "p")
	assert.NilError(t, m.CreateCgroup("a"))
	c := startChild(t, fsys, "", 0)
	pid := c.cmd.Process.Pid
	assert.NilError(t, m.MoveTask("a", pid), "MoveTask")
	pids, err := m.Procs("a")
	assert.NilError(t, err)
	assert.Assert(t, is.DeepEqual(pids, []int{pid}), "Procs(a)")
	assert.NilError(t, m.RemoveCgroup("a"), "RemoveCgroup of a cgroup with a live task")
	ok, _ := m.Exists("a")
	assert.Check(t, !ok, "a still exists")
	// Drained, not killed: the task lives on in the DrainTo cgroup (the
	// FS root, the test's own cgroup).
	assert.Check(t, is.Equal(kerneltest.CgroupOf(t, pid), "/"+filepath.Base(dir)), "the cgroup of pid %d", pid)
	assert.Check(t, c.cmd.Process.Signal(syscall.Signal(0)), "the drained task died")
}

func TestKernelDrainToAnotherCgroup(t *testing.T) {
	fsys, dir := kernelRoot(t)
	m := cgroupfs.NewManager(fsys, "p", cgroupfs.DrainTo("keep"))
	assert.NilError(t, cgroupfs.NewManager(fsys, ".").CreateCgroup("keep"))
	assert.NilError(t, m.CreateCgroup("a"))
	// A shell and its two children, all born in p/a.
	c := startChild(t, fsys, "p/a", 2)
	assert.NilError(t, m.DrainTasks("a"), "DrainTasks")
	pids, _ := m.Procs("a")
	assert.Check(t, is.Len(pids, 0), "a still holds pids")
	assert.Check(t, is.Equal(kerneltest.CgroupOf(t, c.cmd.Process.Pid), "/"+filepath.Base(dir)+"/keep"), "the shell's cgroup")
	assert.Check(t, m.RemoveCgroup("a"), "RemoveCgroup after the drain")
	// Nothing of ours may survive: kill what went to keep.
	assert.NilError(t, cgroupfs.NewManager(fsys, ".").KillTasks("keep"))
	err := c.wait(t)
	assert.Check(t, killedBySIGKILL(err), "shell ended with %v, want SIGKILL", err)
}

func TestKernelKillTasksAndWaitEmpty(t *testing.T) {
	fsys, _ := kernelRoot(t)
	m := cgroupfs.NewManager(fsys, "p")
	assert.NilError(t, m.CreateCgroup("a/b"))
	// Tasks in the cgroup and below it, some the shell forked.
	top := startChild(t, fsys, "p/a", 0)
	below := startChild(t, fsys, "p/a/b", 2)
	pids, err := m.SubtreePids("p/a")
	assert.NilError(t, err)
	assert.Assert(t, len(pids) >= 2, "subtree pids = %v", pids)
	assert.NilError(t, m.KillTasks("a"), "KillTasks")
	ctx, cancel := context.WithTimeout(context.Background(), kernelWait)
	defer cancel()
	assert.NilError(t, m.WaitEmpty(ctx, "a"), "WaitEmpty after KillTasks")
	for _, c := range []*child{top, below} {
		err := c.wait(t)
		assert.Check(t, killedBySIGKILL(err), "pid %d ended with %v, want SIGKILL", c.cmd.Process.Pid, err)
	}
	// Empty per the kernel: each cgroup goes with one rmdir.
	for _, n := range []string{"a/b", "a"} {
		p, _ := m.Path(n)
		assert.Check(t, fsys.Rmdir(p), "rmdir %s right after WaitEmpty", p)
	}
	// Missing: empty, and nothing to kill.
	assert.Check(t, m.WaitEmpty(ctx, "a"), "WaitEmpty of a removed cgroup")
	assert.Check(t, m.KillTasks("a"), "KillTasks of a removed cgroup")
}

func TestKernelWaitEmptyTimesOutSayingWhatItSaw(t *testing.T) {
	fsys, _ := kernelRoot(t)
	m := cgroupfs.NewManager(fsys, ".")
	assert.NilError(t, m.CreateCgroup("a"))
	c := startChild(t, fsys, "a", 0)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := m.WaitEmpty(ctx, "a")
	cgroupfs.WantErrContains(t, err, context.DeadlineExceeded, "populated 1", strconv.Itoa(c.cmd.Process.Pid))
}

func TestKernelKillTasksRefusesWithTheCallerInside(t *testing.T) {
	fsys, _ := kernelRoot(t)
	home, err := cgroupfs.SelfCgroup()
	assert.NilError(t, err)
	mnt, err := cgroupfs.Mountpoint()
	assert.NilError(t, err)
	m := cgroupfs.NewManager(fsys, ".")
	assert.NilError(t, m.CreateCgroup("outer/self"))
	// Move back home first, before kernelRoot's cleanup removes (and
	// kills) the cgroups: Cleanup runs last-registered first.
	self := os.Getpid()
	t.Cleanup(func() {
		top, err := cgroupfs.Open(mnt)
		assert.NilError(t, err, "cannot move the test process back to %s", home)
		defer top.Close()
		back := cgroupfs.NewManager(top, ".")
		p := strings.TrimPrefix(home, "/")
		if p == "" {
			err = top.WriteFile("cgroup.procs", []byte(strconv.Itoa(self)))
		} else {
			err = back.MoveTask(p, self)
		}
		assert.NilError(t, err, "cannot move the test process back to %s", home)
	})
	assert.NilError(t, m.MoveTask("outer/self", self), "move the test process into its test cgroup")
	for _, name := range []string{"outer/self", "outer"} {
		err := m.KillTasks(name)
		cgroupfs.WantErrContains(t, err, cgroupfs.ErrCallerInside, "refuse", strconv.Itoa(self), "outer/self")
	}
	// A sibling is fine.
	assert.NilError(t, m.CreateCgroup("outer2"))
	assert.Check(t, m.KillTasks("outer2"), "KillTasks of a cgroup without the caller")
}

func TestKernelMoveTasksSkipsGonePids(t *testing.T) {
	fsys, _ := kernelRoot(t)
	m := cgroupfs.NewManager(fsys, ".")
	assert.NilError(t, m.CreateCgroup("a"))
	c := startChild(t, fsys, "", 0)
	pid := c.cmd.Process.Pid
	assert.NilError(t, m.MoveTasks("a", []int{noSuchPid, pid}), "MoveTasks with a gone pid first")
	pids, _ := m.Procs("a")
	assert.Check(t, is.DeepEqual(pids, []int{pid}), "Procs(a)")
	cgroupfs.WantErrContains(t, m.MoveTask("a", noSuchPid), unix.ESRCH, strconv.Itoa(noSuchPid), "process is gone")

}

func TestKernelEscapesAreRefusedAndNothingIsTouched(t *testing.T) {
	fsys, dir := kernelRoot(t)
	m := cgroupfs.NewManager(fsys, "p")
	assert.NilError(t, m.Setup(false))
	before, err := os.ReadDir(filepath.Dir(dir))
	assert.NilError(t, err)
	for _, name := range []string{"../x", "../../x", "/abs", "a/../../x", "..", "/" + filepath.Base(dir)} {
		for method, call := range nameMethods {
			assert.Check(t, is.ErrorIs(call(m, name), cgroupfs.ErrInvalidName), "%s(%q)", method, name)
		}
	}
	// And a parent that escapes.
	for _, parent := range []string{"..", "../..", "/sys/fs/cgroup/unified"} {
		esc := cgroupfs.NewManager(fsys, parent)
		assert.Check(t, is.ErrorIs(esc.Setup(true), cgroupfs.ErrInvalidName), "Setup with parent %q", parent)
		assert.Check(t, is.ErrorIs(esc.CleanupAll(), cgroupfs.ErrInvalidName), "CleanupAll with parent %q", parent)
	}
	after, err := os.ReadDir(filepath.Dir(dir))
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(names(before), names(after)), "the hierarchy root changed")
	kids, _ := cgroupfs.NewManager(fsys, ".").Children("p")
	assert.Check(t, is.Len(kids, 0), "p gained cgroups")
}

// TestVMManagerCpuset runs the cpuset paths on a kernel whose cgroup v2
// has cpuset: the cgvm VM (this host binds cpuset to cgroup v1). The VM
// is throwaway, so Setup may enable controllers at its root.
func TestVMManagerCpuset(t *testing.T) {
	vmtest.SkipUnlessVM(t)
	top, err := cgroupfs.Open(vmtest.CgroupRoot)
	assert.NilError(t, err)
	t.Cleanup(func() { top.Close() })
	parent := fmt.Sprintf("%s%d-manager", kerneltest.Prefix, os.Getpid())
	m := cgroupfs.NewManager(top, parent)
	t.Cleanup(func() {
		assert.Check(t, m.CleanupAll(), "CleanupAll")
		assert.Check(t, top.Rmdir(parent), "remove %s", parent)
	})
	assert.NilError(t, m.Setup(true), "Setup(true)")
	for _, level := range []string{"cgroup.subtree_control", parent + "/cgroup.subtree_control"} {
		data, err := top.ReadFile(level)
		assert.Check(t, err)
		assert.Check(t, is.Contains(strings.Fields(string(data)), "cpuset"), level)
		assert.Check(t, is.Contains(strings.Fields(string(data)), "cpu"), level)
	}
	assert.NilError(t, m.CreateCgroup("a/b"), "CreateCgroup(a/b)")
	data, _ := top.ReadFile(parent + "/a/cgroup.subtree_control")
	assert.Check(t, is.Contains(strings.Fields(string(data)), "cpuset"), "a/cgroup.subtree_control, enabled above the leaf")
	effective := func(name, file string) cgroupfs.CPUSet {
		t.Helper()
		p, _ := m.Path(name)
		data, err := top.ReadFile(p + "/" + file)
		assert.NilError(t, err)
		s, err := cgroupfs.ParseCPUSet(string(data))
		assert.NilError(t, err)
		return s
	}
	online := effective("a", "cpuset.cpus.effective")
	first := cgroupfs.NewCPUSet(online.IDs()[0])
	assert.NilError(t, m.SetCpuset("a", first), "SetCpuset(a, %v)", first)
	for _, n := range []string{"a", "a/b"} {
		assert.Check(t, is.Equal(effective(n, "cpuset.cpus.effective").String(), first.String()), "%s cpuset.cpus.effective", n)
	}
	// Clearing really clears (ktstr's "" did nothing): a inherits again.
	assert.NilError(t, m.ClearCpuset("a"), "ClearCpuset")
	assert.Check(t, is.Equal(effective("a", "cpuset.cpus").String(), ""), "a cpuset.cpus after ClearCpuset")
	assert.Check(t, is.Equal(effective("a/b", "cpuset.cpus.effective").String(), online.String()), "a/b cpuset.cpus.effective after ClearCpuset")
	assert.Check(t, m.SetCpusetMems("a", cgroupfs.NewCPUSet(0)), "SetCpusetMems")
	assert.Check(t, m.ClearCpusetMems("a"), "ClearCpusetMems")
	// CPUs the machine lacks: ERANGE, with what to look at.
	cgroupfs.WantErrContains(t, m.SetCpuset("a", cgroupfs.NewCPUSet(1000)), unix.ERANGE, `"1000"`, "cpuset.cpus.effective")

	// cpuset and cpu are threaded controllers, exempt from the
	// no-internal-process rule: a task may live in a although a enables
	// them for b.
	c := startChild(t, nil, "", 0)
	pid := c.cmd.Process.Pid
	assert.NilError(t, m.MoveTask("a", pid), "MoveTask into a cgroup enabling only cpuset and cpu")
	// But a domain holding tasks with threaded controllers enabled is a
	// thread root: its domain children turn "domain invalid" and refuse
	// tasks with EOPNOTSUPP until a is empty again.
	data, _ = top.ReadFile(parent + "/a/b/cgroup.type")
	assert.Check(t, is.Equal(strings.TrimSpace(string(data)), "domain invalid"), "a/b/cgroup.type with a task in a")
	cgroupfs.WantErrContains(t, m.MoveTask("a/b", pid), unix.EOPNOTSUPP, "domain invalid")
	assert.NilError(t, top.WriteFile("cgroup.procs", []byte(strconv.Itoa(pid))))
	assert.NilError(t, m.MoveTask("a/b", pid), "MoveTask(a/b) once a is empty")
	// A domain controller (memory) is not exempt: once a enables it,
	// moving a task into a is EBUSY; and with a task inside a, enabling
	// it is EBUSY.
	avail, _ := top.ReadFile("cgroup.controllers")
	assert.Assert(t, is.Contains(strings.Fields(string(avail)), "memory"), "the VM's cgroup.controllers")
	for _, level := range []string{".", parent, parent + "/a"} {
		assert.NilError(t, top.WriteFile(path.Join(level, "cgroup.subtree_control"), []byte("+memory")), "enable memory in %s", level)
	}
	err = m.MoveTasks("a", []int{pid})
	cgroupfs.WantErrContains(t, err, unix.EBUSY, strconv.Itoa(pid), "no-internal-process", "3 attempts")
	assert.NilError(t, m.ClearSubtreeControl("a"), "ClearSubtreeControl(a)")
	data, _ = top.ReadFile(parent + "/a/cgroup.subtree_control")
	assert.Check(t, is.Len(data, 0), "a/cgroup.subtree_control after ClearSubtreeControl")
	assert.Check(t, m.MoveTask("a", pid), "MoveTask after ClearSubtreeControl")
	// Now a holds a task: enabling memory for its children is refused,
	// and Setup-style enabling says why.
	errs := m.EnableControllers(parent+"/a", []string{"memory"})
	assert.Assert(t, is.Len(errs, 1), "enable memory in a with a task inside: want one EBUSY")
	cgroupfs.WantErrContains(t, errs[0], unix.EBUSY, "no-internal-process")
	assert.NilError(t, m.KillTasks("a"))
	err = c.wait(t)
	assert.Check(t, killedBySIGKILL(err), "helper ended with %v, want SIGKILL", err)
}

// BenchmarkKernelCreateRemove measures the Manager's happy path on the
// real kernel: CreateCgroup and RemoveCgroup of an empty leaf (one mkdir
// and one rmdir, plus the controller reads of the level above).
func BenchmarkKernelCreateRemove(b *testing.B) {
	fsys, _ := kernelRoot(b)
	m := cgroupfs.NewManager(fsys, ".")
	for b.Loop() {
		if err := m.CreateCgroup("bench"); err != nil {
			b.Fatal(err)
		}
		if err := m.RemoveCgroup("bench"); err != nil {
			b.Fatal(err)
		}
	}
}
