package cgroupfstest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgroupfs/cgroupfstest"
	"github.com/cgguard/cgguard/internal/kerneltest"
	"github.com/cgguard/cgguard/vmtest"
)

// TestKernel runs the conformance suite against the running kernel, in
// a fresh cgroup under the cgroup v2 mount, with real sleep processes as
// tasks. Scenarios needing controllers the test cgroup is not offered
// (all of them on a hybrid host) skip and say so.
func TestKernel(t *testing.T) {
	// A cgroup of the test's own, killed and removed when it ends. The
	// VM is throwaway and its root is ours: there every controller is
	// offered to it. On the host the v2 root is never written.
	dir := kerneltest.Base(t, kerneltest.OfferAllControllers(vmtest.InVM()))
	fsys, err := cgroupfs.Open(dir)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	t.Cleanup(func() { fsys.Close() })
	tasks := cgroupfstest.NewProcessTasks(fsys)
	t.Cleanup(func() {
		if err := tasks.Close(); err != nil {
			t.Errorf("kill the test's processes: %v", err)
		}
	})
	if ctrls, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers")); err == nil {
		t.Logf("kernel test cgroup %s offers controllers %q", dir, strings.TrimSpace(string(ctrls)))
	}
	cgroupfstest.TestFS(t, fsys, cgroupfstest.WithTasks(tasks))
}
