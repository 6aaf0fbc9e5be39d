package cgroupfs

import (
	"io/fs"
	"os"
)

// FS is the kernel surface of cgroup v2: the few operations that reach a
// cgroup filesystem. Every name is slash-separated and relative to the
// root of the FS ("a/b", "a/b/cgroup.procs"); "." names the root itself.
//
// Errors are *fs.PathError values (or wrap one) whose Err is the errno
// the kernel gave (a syscall.Errno), so errors.Is(err, unix.EBUSY) and
// errors.Is(err, fs.ErrNotExist) hold for every implementation.
//
// Implementations: the OS-backed FS returned by Open, fakefs.FS, and any
// fake a user writes (check it with cgroupfstest.TestFS).
type FS interface {
	// Mkdir creates the cgroup name. Its parent must exist.
	Mkdir(name string) error
	// Rmdir removes the cgroup name. A cgroup with child cgroups or live
	// tasks fails with EBUSY (never ENOTEMPTY).
	Rmdir(name string) error
	// ReadFile returns the contents of the interface file name.
	ReadFile(name string) ([]byte, error)
	// WriteFile writes data to the interface file name in a single
	// write(2), as the kernel parses each write separately. A zero-length
	// write changes nothing (the kernel ignores it); write "\n" to clear.
	WriteFile(name string, data []byte) error
	// ReadDir lists the directory name: child cgroups (directories) and
	// interface files. The order is unspecified, as in the kernel.
	ReadDir(name string) ([]fs.DirEntry, error)
	// Watch reports modifications of the interface file name, typically a
	// cgroup's cgroup.events (the kernel notifies every populated or
	// frozen change, including changes below the cgroup). Start watching
	// before reading the file, then read again after every event, so
	// that no change can fall between the read and the wait.
	Watch(name string) (Watcher, error)
}

// Watcher delivers modification events for one file. It must be closed.
type Watcher interface {
	// Events receives a value after the watched file changed. Events
	// coalesce: one value may stand for several changes, so re-read the
	// file after every receive. The channel is closed when the watcher is
	// closed or the file (its cgroup) is removed.
	Events() <-chan struct{}
	// Close stops the watcher and releases its resources.
	Close() error
}

// DirOpener is implemented by an FS backed by real directories (the one
// Open returns). OpenDir opens the directory name (beneath the root, with
// no symlink followed) for use as a cgroup fd, for example with
// syscall.SysProcAttr.UseCgroupFD. The caller closes the file.
type DirOpener interface {
	OpenDir(name string) (*os.File, error)
}
