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

// TestConformanceSubtree runs the suite against a fake seen from a
// child cgroup of its root, offered every controller: the suite then
// works in a non-root cgroup, as it does on the kernel, where the rules
// the root is exempt from apply to its root too.
func TestConformanceSubtree(t *testing.T) {
	fsys := fakefs.New()
	if err := fsys.WriteFile("cgroup.subtree_control", []byte("+cpuset +cpu +io +memory +hugetlb +pids")); err != nil {
		t.Fatal(err)
	}
	if err := fsys.Mkdir("test"); err != nil {
		t.Fatal(err)
	}
	sub := subFS{fsys, "test"}
	cgroupfstest.TestFS(t, sub, cgroupfstest.WithTasks(sub))
}

// TestConformanceProfiles runs the suite against a fake of every kernel
// version, seen from a child cgroup offered every controller.
func TestConformanceProfiles(t *testing.T) {
	for _, v := range fakefs.Kernels() {
		t.Run(v, func(t *testing.T) {
			sub := fakeBase(t, []fakefs.Option{fakefs.WithKernel(v)}, []string{"cpuset", "cpu", "io", "memory", "hugetlb", "pids"})
			cgroupfstest.TestFS(t, sub, cgroupfstest.WithTasks(sub))
		})
	}
}
