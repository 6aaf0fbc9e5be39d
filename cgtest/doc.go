// Package cgtest ties the lifetime of cgroups to a Go test, on
// t.Cleanup.
//
// A test makes a Group with NewGroup and adds cgroups to it with
// AddCgroup or AddCgroupNoCpuset. Each directory the group creates (the
// named cgroup and every missing level above it) has its removal
// registered with t.Cleanup the moment its mkdir succeeds, so nothing
// leaks when a later step fails, the test calls t.Fatal, or it panics.
// Teardown interleaves with the test's other cleanups in LIFO order: a
// workload started after its cgroup (Group.Start) is stopped before the
// cgroup is removed.
//
// Teardown removes deepest first whatever the order of adding, takes
// untracked child cgroups (made by a scheduler or a workload) along,
// empties a cgroup that still holds tasks (killing them by default, or
// draining them), never kills the test process itself, waits for the
// kernel's "populated 0" instead of sleeping, retries EBUSY with bounded
// backoff, and stays within a time budget. A cgroup that is already gone
// is not an error. Any other failure is one t.Logf warning per cgroup
// with the whole error chain and a hint naming the cause (see Strict to
// fail the test instead). TEST_NOCLEANUP=true keeps everything and logs
// where it is.
//
// Layout and Group.Apply make a table of cgroup layouts one call per
// subtest; SplitCPUs, OverlappingCPUs and LLCs derive their cpusets from
// the CPUs at hand.
//
// Spawn puts a workload into a cgroup on either backend and returns a
// Task that any goroutine may wait on: a real process on the kernel, a
// fake task on fakefs (through cgroupfs.TaskStarter). Spinner, Sleeper
// and Yielder are built-in workloads that re-execute the test binary
// (see WorkloadEnv). CheckIsolation and CheckCPUShare answer a
// scheduler test's questions: did tasks stay on their cgroup's CPUs,
// and how did CPU time split.
//
// Root gives a test its own uniquely named parent cgroup on the real
// kernel (like t.TempDir) and skips the test with the exact reason when
// cgroups cannot be made on this machine. The same test code runs
// against fakefs, the in-memory kernel, with cgroupfs.NewManager.
package cgtest
