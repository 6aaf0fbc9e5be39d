package cgtest_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/fakefs"
	"golang.org/x/sys/unix"
)

// newT stands in for the *testing.T of a test, which an example does not
// have: a cgtest.Recorder that prints what cgtest reports; its Finish
// runs the cleanups, last in first out, as testing does when the test
// function returns.
func newT() *cgtest.Recorder {
	return &cgtest.Recorder{TestName: "TestExample", Out: os.Stdout}
}

// cgroupsOf lists the cgroups of fsys, the root excepted.
func cgroupsOf(fsys *fakefs.FS) []string {
	return fsys.Snapshot().Paths()
}

func ExampleNewGroup() {
	fsys := fakefs.New() // in a real test: cgtest.Root(t)
	ops := cgroupfs.NewManager(fsys, "sched")
	if err := ops.Setup(false); err != nil {
		panic(err)
	}

	t := newT() // in a real test: the test's *testing.T
	g := cgtest.NewGroup(t, ops)
	if err := g.AddCgroup("cg_0", cgroupfs.NewCPUSet(0, 1)); err != nil {
		panic(err)
	}
	if err := g.AddCgroupNoCpuset("workers/w0"); err != nil {
		panic(err)
	}
	cpus, _ := fsys.ReadFile("sched/cg_0/cpuset.cpus")
	fmt.Printf("cg_0 runs on %s", cpus)
	fmt.Println("tracked:", g.Names())

	t.Finish()
	fmt.Println("after the test:", cgroupsOf(fsys))
	// Output:
	// cg_0 runs on 0-1
	// tracked: [cg_0 workers workers/w0]
	// after the test: [sched]
}

// A teardown that fails is one warning with a hint naming the cause.
func ExampleNewGroup_warning() {
	fsys := fakefs.New()
	ops := cgroupfs.NewManager(fsys, "sched")
	if err := ops.Setup(false); err != nil {
		panic(err)
	}
	t := newT()
	g := cgtest.NewGroup(t, ops)
	if err := g.AddCgroupNoCpuset("cg_0"); err != nil {
		panic(err)
	}
	fsys.Fail(fakefs.OpRmdir, "sched/cg_0", unix.EACCES, -1)
	t.Finish()
	// Output:
	// log: cgtest: teardown could not remove cgroup /sched/cg_0: rmdir sched/cg_0: permission denied
	// 	hint: run as root, or in a cgroup subtree delegated to your user (for example: go test -exec 'systemd-run --user --scope -p Delegate=yes' ./...)
}

func ExampleGroup_Apply() {
	fsys := fakefs.New()
	ops := cgroupfs.NewManager(fsys, "sched")
	if err := ops.Setup(false); err != nil {
		panic(err)
	}
	for _, tc := range []struct {
		name   string
		layout cgtest.Layout
	}{
		{"halves", cgtest.Layout{
			{Name: "cg_0", CPUs: cgroupfs.NewCPUSet(0, 1)},
			{Name: "cg_1", CPUs: cgroupfs.NewCPUSet(2, 3)},
		}},
		{"nested", cgtest.Layout{
			{Name: "outer", CPUs: cgroupfs.NewCPUSet(0, 1, 2)},
			{Name: "outer/inner", CPUs: cgroupfs.NewCPUSet(2)},
		}},
	} {
		// In a real test: t.Run(tc.name, func(t *testing.T) { ... }).
		t := newT()
		g := cgtest.NewGroup(t, ops)
		if err := g.Apply(tc.layout); err != nil {
			panic(err)
		}
		fmt.Println(tc.name, "made", cgroupsOf(fsys))
		t.Finish()
	}
	fmt.Println("after the subtests:", cgroupsOf(fsys))
	// Output:
	// halves made [sched sched/cg_0 sched/cg_1]
	// nested made [sched sched/outer sched/outer/inner]
	// after the subtests: [sched]
}

// Root gives the test its own cgroup on the real kernel, and skips it
// with the reason where that is impossible (not root, no delegation, no
// cgroup2). Start runs a process inside a cgroup; it is killed and
// reaped before its cgroup is removed.
func ExampleRoot() {
	var t *testing.T // the test's own
	ops := cgtest.Root(t, cgtest.RequireControllers("cpuset"))
	g := cgtest.NewGroup(t, ops)
	if err := g.AddCgroup("cg_0", cgroupfs.NewCPUSet(0)); err != nil {
		t.Fatal(err)
	}
	if err := g.Start("cg_0", exec.Command("stress-ng", "--cpu", "1")); err != nil {
		t.Fatal(err)
	}
	// ... check the scheduler; everything is gone when the test ends.
}

// Cpusets for a table of layouts, derived from the CPUs at hand the way
// ktstr's scenarios derive them: halves, disjoint thirds, overlapping.
func ExampleSplitCPUs() {
	cpus := cgroupfs.NewCPUSet(0, 1, 2, 3, 4, 5, 6, 7)
	halves, _ := cgtest.SplitCPUs(cpus, 2)
	thirds, _ := cgtest.SplitCPUs(cpus, 3)
	overlapping, _ := cgtest.OverlappingCPUs(cpus, 2, 1)
	for _, l := range []cgtest.Layout{
		cgtest.Spread("half_", halves),
		cgtest.Spread("third_", thirds),
		cgtest.Spread("ovl_", overlapping),
	} {
		var row []string
		for _, s := range l {
			row = append(row, s.Name+"="+s.CPUs.String())
		}
		fmt.Println(strings.Join(row, " "))
	}
	// Output:
	// half_0=0-3 half_1=4-7
	// third_0=0-2 third_1=3-5 third_2=6-7
	// ovl_0=0-4 ovl_1=4-7
}
