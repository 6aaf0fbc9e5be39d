package cgguard_test

import (
	"fmt"
	"os"
	"os/exec"
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
	return &cgtest.Recorder{TestName: "TestScheduler", Out: os.Stdout}
}

// cgroupsOf lists the cgroups of fsys but its root.
func cgroupsOf(fsys *fakefs.FS) []string {
	return fsys.Snapshot().Paths()
}

// The whole flow on fakefs, the in-memory kernel: a group, cpusets,
// nested cgroups, a workload left running, and the teardown when the
// test ends.
func Example() {
	// A 4-CPU machine; on the real kernel: ops := cgtest.Root(t).
	fsys := fakefs.New(fakefs.WithCPUs(cgroupfs.NewCPUSet(0, 1, 2, 3)))
	ops := cgroupfs.NewManager(fsys, "ktstr")
	if err := ops.Setup(false); err != nil {
		panic(err)
	}

	t := newT() // the test's *testing.T
	g := cgtest.NewGroup(t, ops)
	if err := g.AddCgroup("cg_0", cgroupfs.NewCPUSet(0, 1)); err != nil {
		panic(err)
	}
	if err := g.AddCgroup("cg_1", cgroupfs.NewCPUSet(2, 3)); err != nil {
		panic(err)
	}
	// Nested: the missing level "pool" is created, and tracked, too.
	if err := g.AddCgroup("pool/w0", cgroupfs.NewCPUSet(3)); err != nil {
		panic(err)
	}
	fmt.Println("tracked:", g.Names())
	eff, _ := fsys.ReadFile("ktstr/pool/w0/cpuset.cpus.effective")
	fmt.Printf("pool/w0 runs on CPU %s", eff)

	// A workload the test forgot to stop: teardown kills it.
	if _, err := fsys.Spawn("ktstr/cg_1"); err != nil {
		panic(err)
	}

	t.Finish() // the test returns
	fmt.Println("left:", cgroupsOf(fsys))
	// Output:
	// tracked: [cg_0 cg_1 pool pool/w0]
	// pool/w0 runs on CPU 3
	// left: [ktstr]
}

// A teardown that fails says which cgroup, the whole error chain, and a
// hint naming the cause: here a child cgroup that something else made
// (a scheduler, say) and that cannot be removed.
func Example_teardownWarning() {
	fsys := fakefs.New()
	ops := cgroupfs.NewManager(fsys, "ktstr")
	if err := ops.Setup(false); err != nil {
		panic(err)
	}
	t := newT()
	g := cgtest.NewGroup(t, ops)
	if err := g.AddCgroupNoCpuset("cg_0"); err != nil {
		panic(err)
	}
	if err := fsys.Mkdir("ktstr/cg_0/sched"); err != nil {
		panic(err)
	}
	fsys.Fail(fakefs.OpRmdir, "ktstr/cg_0/sched", unix.EACCES, -1)

	t.Finish()
	// Output:
	// log: cgtest: teardown could not remove cgroup /ktstr/cg_0: rmdir ktstr/cg_0: device or resource busy, as its child cgroup /ktstr/cg_0/sched cannot be removed; before that: remove child cgroup /ktstr/cg_0/sched: rmdir ktstr/cg_0/sched: permission denied
	// 	hint: the cgroup still has child cgroups (/ktstr/cg_0/sched): the kernel refuses to remove a cgroup with children (EBUSY, not ENOTEMPTY); they could not be removed first (see the warnings about them), or something keeps creating them (a scheduler, a workload); it cannot be removed below: run as root, or in a cgroup subtree delegated to your user (for example: go test -exec 'systemd-run --user --scope -p Delegate=yes' ./...)
}

// A table of cgroup layouts, one subtest each: every subtest has its own
// group and its own teardown.
func Example_tableDriven() {
	fsys := fakefs.New(fakefs.WithCPUs(cgroupfs.NewCPUSet(0, 1, 2, 3)))
	ops := cgroupfs.NewManager(fsys, "ktstr")
	if err := ops.Setup(false); err != nil {
		panic(err)
	}
	tests := []struct {
		name   string
		layout cgtest.Layout
	}{
		{"disjoint", cgtest.Layout{
			{Name: "cg_0", CPUs: cgroupfs.NewCPUSet(0, 1)},
			{Name: "cg_1", CPUs: cgroupfs.NewCPUSet(2, 3)},
		}},
		{"overlapping", cgtest.Layout{
			{Name: "cg_0", CPUs: cgroupfs.NewCPUSet(0, 1, 2)},
			{Name: "cg_1", CPUs: cgroupfs.NewCPUSet(1, 2, 3)},
		}},
		{"nested", cgtest.Layout{
			{Name: "outer", CPUs: cgroupfs.NewCPUSet(0, 1)},
			{Name: "outer/inner", CPUs: cgroupfs.NewCPUSet(1)},
			{Name: "outer/free"}, // no cpuset: inherits 0-1
		}},
	}
	for _, tc := range tests {
		// In a test: t.Run(tc.name, func(t *testing.T) {
		t := newT()
		g := cgtest.NewGroup(t, ops)
		if err := g.Apply(tc.layout); err != nil {
			panic(err) // t.Fatal(err)
		}
		fmt.Println(tc.name+":", g.Names())
		t.Finish() // }) returns
	}
	fmt.Println("left:", cgroupsOf(fsys))
	// Output:
	// disjoint: [cg_0 cg_1]
	// overlapping: [cg_0 cg_1]
	// nested: [outer outer/inner outer/free]
	// left: [ktstr]
}

// On the real kernel, Root gives the test a cgroup of its own
// ("cgguard-<pid>-<starttime>-ns<pidns>.<timens>-<test>-<n>") under the cgroup2 mount, and
// skips the test with the exact reason where it cannot (not root and no
// delegated subtree, no cgroup2, no cpuset controller for cgroup v2).
// Start runs a process inside a cgroup from its first instruction; it is
// killed and reaped before its cgroup is removed. This example is
// compiled, not run: it needs a *testing.T.
func Example_realKernel() {
	var t *testing.T // the test's own
	ops := cgtest.Root(t, cgtest.RequireControllers("cpuset"))
	g := cgtest.NewGroup(t, ops)
	if err := g.AddCgroup("cg_0", cgroupfs.NewCPUSet(0)); err != nil {
		t.Fatal(err)
	}
	worker := exec.Command("sleep", "60")
	if err := g.Start("cg_0", worker); err != nil {
		t.Fatal(err)
	}
	// ... check what the scheduler does with the worker; when the test
	// ends the worker is killed and cg_0 and the root are removed.
}
