package cgtest_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/internal/kerneltest"
	"github.com/cgguard/cgguard/vmtest"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// vmBaseAllControllers returns, in the VM, a base cgroup of the test's
// own (kerneltest.Base, leaks checked) offered every controller of the
// VM's root and enabling them all for its children, as a pure cgroup v2
// host's systemd does: the domain controllers (memory, io, pids) among
// them. It skips outside the VM: a host's root is never written.
func vmBaseAllControllers(t *testing.T) string {
	t.Helper()
	vmtest.SkipUnlessVM(t)
	base := kerneltest.Base(t, kerneltest.CheckLeaks(), kerneltest.OfferAllControllers(true))
	ctrls, err := os.ReadFile(filepath.Join(base, "cgroup.controllers"))
	assert.NilError(t, err)
	for _, c := range strings.Fields(string(ctrls)) {
		assert.NilError(t, os.WriteFile(filepath.Join(base, "cgroup.subtree_control"), []byte("+"+c), 0), "enable %s in %s", c, base)
	}
	for _, c := range []string{"cpuset", "memory", "pids"} {
		assert.Assert(t, is.Contains(" "+string(ctrls)+" ", " "+c+" "), "the VM's root does not offer %s (it offers %q)", c, ctrls)
	}
	return base
}

// Issue 11, item 11, on the kernel: with a process running in a, adding
// a/b with a cpuset is refused (EBUSY, saying why), a stays a domain,
// and once the process runs in a leaf, a/b is made and a process can be
// started in it.
func TestVMAddCgroupRefusesToMakeAThreadRoot(t *testing.T) {
	base := vmBaseAllControllers(t)
	mgr := cgtest.Root(t, cgtest.Under(base), cgtest.RequireControllers("cpuset"))
	g := cgtest.NewGroup(t, mgr, cgtest.Strict())
	if err := g.AddCgroupNoCpuset("a"); err != nil {
		t.Fatal(err)
	}
	sleeper := exec.Command("sleep", "1000")
	if err := g.Start("a", sleeper); err != nil {
		t.Fatal(err)
	}
	err := g.AddCgroup("a/b", cgroupfs.NewCPUSet(0))
	if !errors.Is(err, unix.EBUSY) || !strings.Contains(err.Error(), "thread root") {
		t.Fatalf("AddCgroup(\"a/b\") with a process in a = %v, want EBUSY saying a would become a thread root", err)
	}
	t.Logf("refused as expected: %v", err)
	typ, err := os.ReadFile(filepath.Join(mgr.ParentPath(), "a", "cgroup.type"))
	if err != nil || string(typ) != "domain\n" {
		t.Errorf("a's cgroup.type after the refusal = %q, %v; want \"domain\\n\"", typ, err)
	}
	if _, err := os.Stat(filepath.Join(mgr.ParentPath(), "a", "b")); !os.IsNotExist(err) {
		t.Errorf("the refused a/b exists: %v", err)
	}

	// A leaf beneath a cannot be added either (the hint says so): with
	// the process moved out of a, a/b is a real domain.
	assert.Check(t, is.ErrorIs(g.AddCgroupNoCpuset("a/leaf"), unix.EBUSY), "AddCgroupNoCpuset(\"a/leaf\") with a process in a")
	if err := g.AddCgroupNoCpuset("elsewhere"); err != nil {
		t.Fatal(err)
	}
	if err := mgr.MoveTask("elsewhere", sleeper.Process.Pid); err != nil {
		t.Fatal(err)
	}
	assert.NilError(t, g.AddCgroup("a/b", cgroupfs.NewCPUSet(0)), "AddCgroup(\"a/b\") with a empty")
	assert.Check(t, g.Start("a/b", exec.Command("sleep", "1000")), "Start in a/b")
}

// Issue 11, item 10, on the kernel: a group with the Drain policy under
// Root. In the VM the per-test root enables every controller, domain
// ones among them (memory, io, pids), for its children, and so may hold
// no task (on the host, whatever the base offers). The group's teardown
// (at the end of a subtest) moves the process into the root's drain
// leaf, where it keeps running for the rest of the test; the root's own
// teardown kills it, as Root's doc says.
func TestKernelDrainUnderRoot(t *testing.T) {
	var base string
	if vmtest.InVM() {
		base = vmBaseAllControllers(t)
	} else {
		base = kernelBase(t)
	}
	sleeper := exec.Command("sleep", "1000")
	t.Run("test", func(t *testing.T) {
		mgr := cgtest.Root(t, cgtest.Under(base))
		t.Run("group", func(t *testing.T) {
			g := cgtest.NewGroup(t, mgr, cgtest.Strict(), cgtest.WithPolicy(cgtest.Drain))
			if err := g.AddCgroupNoCpuset("work"); err != nil {
				t.Fatal(err)
			}
			// Started by the test, not by Start (whose cleanup kills).
			if err := sleeper.Start(); err != nil {
				t.Fatal(err)
			}
			if err := mgr.MoveTask("work", sleeper.Process.Pid); err != nil {
				t.Fatal(err)
			}
		})
		if exists, err := mgr.Exists("work"); exists || err != nil {
			t.Errorf("after the group's teardown, work exists: %v, %v", exists, err)
		}
		assert.NilError(t, sleeper.Process.Signal(unix.Signal(0)), "the drained process is not running")
		rel, _ := filepath.Rel(mustMount(t), filepath.Join(mgr.ParentPath(), cgtest.DrainLeaf))
		if got := kerneltest.CgroupOf(t, sleeper.Process.Pid); got != "/"+rel {
			t.Errorf("the drained process is in %s, want the root's drain leaf /%s", got, rel)
		}
	})
	if sleeper.Process == nil {
		return
	}
	err := sleeper.Wait()
	if ws, ok := sleeper.ProcessState.Sys().(interface{ Signal() unix.Signal }); !ok || ws.Signal() != unix.SIGKILL {
		t.Errorf("after the root's teardown, the drained process ended with %v, want killed", err)
	}
}

func mustMount(t *testing.T) string {
	t.Helper()
	mnt, err := cgroupfs.Mountpoint()
	assert.NilError(t, err)
	return mnt
}
