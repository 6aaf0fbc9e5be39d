// Package cgroupfs talks to cgroup v2.
//
// FS is the kernel surface: mkdir, rmdir, read, write, list and watch,
// with errors that keep the kernel's errno (errors.Is(err, unix.EBUSY)
// holds). Open returns the FS of a real cgroup2 directory, resolving
// every name beneath it; fakefs is an in-memory one, and any other can
// be checked with cgroupfstest.TestFS. FS is the only seam: everything
// else in this package, and in cgtest, works on any FS.
//
// Manager creates, configures, empties and removes the cgroups beneath
// one parent cgroup of an FS: Setup, CreateCgroup, RemoveCgroup,
// SetCpuset and ClearCpuset, SetCpusetMems and ClearCpusetMems, MoveTask
// and MoveTasks, ClearSubtreeControl, DrainTasks, KillTasks, WaitEmpty
// and CleanupAll. Every name is checked before any I/O (CheckName,
// ErrInvalidName), and every error says what was attempted, on which
// path, what the kernel answered, and what to try.
//
// CPUSet reads and writes the kernel's CPU list format ("0-3,5").
// Discover, Mountpoint and SelfCgroup say where cgroup2 is mounted,
// which cgroup this process is in, and whether it may create cgroups.
package cgroupfs
