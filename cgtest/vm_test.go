package cgtest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/vmtest"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// In the VM, where cgroup v2 has cpuset: a per-test root that requires
// cpuset, nested cpusets, a process started inside that runs only on
// its cgroup's CPUs, and nothing left afterwards.
func TestVMCpusetGroup(t *testing.T) {
	vmtest.SkipUnlessVM(t)
	// The VM is throwaway: enabling cpuset at its root is how a host with
	// a unified hierarchy is set up by systemd; never done on a host.
	assert.NilError(t, os.WriteFile(filepath.Join(vmtest.CgroupRoot, "cgroup.subtree_control"), []byte("+cpuset"), 0), "enable cpuset at the VM's root")
	base := kernelBase(t)
	assert.NilError(t, os.WriteFile(filepath.Join(base, "cgroup.subtree_control"), []byte("+cpuset"), 0), "enable cpuset in %s", base)
	t.Cleanup(func() { _ = os.WriteFile(filepath.Join(base, "cgroup.subtree_control"), []byte("-cpuset"), 0) })
	last := runtime.NumCPU() - 1
	var dir string
	t.Run("test", func(t *testing.T) {
		mgr := cgtest.Root(t, cgtest.Under(base), cgtest.RequireControllers("cpuset"))
		dir = mgr.ParentPath()
		g := cgtest.NewGroup(t, mgr, cgtest.Strict())
		if err := g.Apply(cgtest.Layout{
			{Name: "outer/inner", CPUs: cgroupfs.NewCPUSet(last)},
			{Name: "outer", CPUs: cgroupfs.NewCPUSet(0, last)},
		}); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("sleep", "1000")
		if err := g.Start("outer/inner", cmd); err != nil {
			t.Fatal(err)
		}
		status, err := os.ReadFile("/proc/" + itoa(cmd.Process.Pid) + "/status")
		assert.NilError(t, err)
		want := "Cpus_allowed_list:\t" + itoa(last)
		assert.Check(t, is.Contains(string(status), want+"\n"), "the started process's status lacks %q:\n%s", want, status)
	})
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the per-test root %s still exists: %v", dir, err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
