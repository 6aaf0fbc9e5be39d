package fakefs_test

import (
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgroupfs/cgroupfstest"
	"github.com/cgguard/cgguard/fakefs"
)

// TestConformance runs the conformance suite against the fake's root,
// with fake tasks: every scenario runs (the fake offers cpuset).
func TestConformance(t *testing.T) {
	fsys := fakefs.New()
	cgroupfstest.TestFS(t, fsys, cgroupfstest.WithTasks(fsys))
}

// TestConformanceOneCPU runs the suite on a one-CPU machine with only
// the cpuset controller, where the scenarios needing a domain controller
// skip.
func TestConformanceOneCPU(t *testing.T) {
	fsys := fakefs.New(fakefs.WithCPUs(cgroupfs.NewCPUSet(0)), fakefs.WithControllers("cpuset"))
	cgroupfstest.TestFS(t, fsys, cgroupfstest.WithTasks(fsys))
}
