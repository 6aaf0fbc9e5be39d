// Package cgguard gives Go tests that touch Linux cgroups a guarantee:
// every cgroup a test creates is removed when the test ends, children
// before parents, even when the test fails, calls t.Fatal or panics; and
// a teardown that fails says why and what to do about it.
//
// It is a port of the cgroup guard of ktstr (a Rust test framework for
// sched_ext schedulers) to Go's t.Cleanup, without ktstr's known faults.
// The module holds several packages, each with one job:
//
//   - cgroupfs talks to the kernel. FS is the kernel surface (mkdir,
//     rmdir, read, write, list, watch cgroup.events); Open returns the
//     OS-backed FS, rooted at a directory fd so that no name can reach
//     outside it. Manager offers ktstr's cgroup operations on any FS.
//     CPUSet reads and writes the kernel's list format ("0-3,5").
//     Discover says whether this process may create cgroups, and if not,
//     why.
//   - cgroupfs/cgroupfstest checks that an FS behaves like the kernel,
//     as testing/fstest does for fs.FS.
//   - fakefs is cgroup v2 in memory, answering like the kernel, with
//     fake tasks, fault injection and snapshots: for unit tests that
//     need no root.
//   - cgtest ties cgroups to a test: NewGroup(t, ops) returns a Group
//     whose AddCgroup registers each cgroup's removal with t.Cleanup the
//     moment it is made.
//
// A test using it looks like this:
//
//	func TestScheduler(t *testing.T) {
//		ops := cgroupfs.NewManager(fakefs.New(), "sched") // or cgtest.Root(t) on the kernel
//		if err := ops.Setup(false); err != nil {
//			t.Fatal(err)
//		}
//		g := cgtest.NewGroup(t, ops)
//		if err := g.AddCgroup("cg_0", cgroupfs.NewCPUSet(0, 1)); err != nil {
//			t.Fatal(err)
//		}
//		// ... run the workload in cg_0; cg_0 is removed when the test ends.
//	}
//
// See the README for running the tests on the real kernel, as root, in
// a delegated subtree, or in a throwaway VM without root.
package cgguard
