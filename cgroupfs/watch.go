package cgroupfs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Watch reports modifications (inotify IN_MODIFY) of the file name,
// typically a cgroup's cgroup.events, resolved beneath the root. Events
// coalesce on a channel with a buffer of one. The channel is closed by
// Close, and when the file's directory (its cgroup) is removed or the file
// itself is deleted.
//
// Removal needs care on cgroupfs: rmdir of a cgroup sends no IN_IGNORED
// or IN_DELETE_SELF to watches on its files or on the cgroup directory
// (measured on Linux 6.18: the watch pins the inode, which is never
// evicted), so
// Watch also watches the directory holding the cgroup and ends when that
// reports the cgroup's IN_DELETE. For a file of the root itself that is
// the root's parent directory, which may lie outside the root; it is only
// watched, never written.
//
// The file is opened with openat2 (O_PATH) and the watch is added through
// /proc/self/fd, so the inotify path cannot be redirected by a symlink.
// Without /proc mounted it falls back to the absolute path, checked
// beneath the root just before.
//
// Watch fails with the errno of the open (ENOENT for a missing file or a
// removed cgroup, EXDEV or ELOOP for an escape), or with EMFILE or ENOSPC
// from inotify when the fs.inotify.max_user_instances or
// max_user_watches sysctl is exhausted (close unused watchers, or raise
// the sysctl).
func (f *OSFS) Watch(name string) (Watcher, error) {
	const op = "watch"
	clean, err := cleanName(op, name)
	if err != nil {
		return nil, err
	}
	in, err := getInotify()
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: inotifyError(err)}
	}
	ifd := in.fd
	w := &osWatcher{
		in:     in,
		fileWd: -1,
		dirWd:  -1,
		events: make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	fail := func(err error) (Watcher, error) {
		w.release(true)
		return nil, &fs.PathError{Op: op, Path: name, Err: inotifyError(err)}
	}

	// Watch the directory that holds the cgroup first, and only then
	// open the file: a cgroup removed in between makes the open fail,
	// one removed later is reported by this watch.
	cgroup := path.Dir(clean)
	holder, base := path.Dir(cgroup), path.Base(cgroup)
	var hfd int
	holderPath := path.Join(f.dir, holder)
	if cgroup == "." {
		base = filepath.Base(f.dir)
		holderPath = filepath.Dir(f.dir)
		hfd, err = f.openRootParent()
	} else {
		hfd, err = f.openBeneath(holder, unix.O_PATH|unix.O_DIRECTORY, 0)
	}
	if err != nil {
		return fail(err)
	}
	w.dirWd, err = addWatchFd(ifd, hfd, holderPath, unix.IN_DELETE|unix.IN_MOVED_FROM|unix.IN_DELETE_SELF|unix.IN_ONLYDIR)
	unix.Close(hfd)
	if err != nil {
		return fail(err)
	}

	ffd, err := f.openBeneath(clean, unix.O_PATH, 0)
	if err != nil {
		return fail(err)
	}
	w.fileWd, err = addWatchFd(ifd, ffd, path.Join(f.dir, clean), unix.IN_MODIFY|unix.IN_DELETE_SELF)
	unix.Close(ffd)
	if err != nil {
		return fail(err)
	}
	go w.run(base)
	return w, nil
}

// inotifyLimitError explains EMFILE and ENOSPC from inotify, which say a
// per-user inotify limit is exhausted, not that a file or disk is full.
// It unwraps to the errno.
type inotifyLimitError struct{ errno unix.Errno }

func (e *inotifyLimitError) Error() string {
	if e.errno == unix.ENOSPC {
		return e.errno.Error() + ": the inotify limit fs.inotify.max_user_watches is exhausted: " +
			"close watchers no longer needed, or raise it (sysctl -w fs.inotify.max_user_watches=...)"
	}
	return e.errno.Error() + ": the inotify limit fs.inotify.max_user_instances (or the open file " +
		"limit, ulimit -n) is exhausted: close watchers no longer needed, or raise it " +
		"(sysctl -w fs.inotify.max_user_instances=...)"
}

func (e *inotifyLimitError) Unwrap() error { return e.errno }

// inotifyError explains the limit errnos and returns others unchanged.
func inotifyError(err error) error {
	if errno, ok := err.(unix.Errno); ok && (errno == unix.EMFILE || errno == unix.ENOSPC) {
		return &inotifyLimitError{errno: errno}
	}
	return err
}

// openRootParent opens the directory holding the root, for watching the
// removal of the root cgroup itself. Plain openat: this is the one place
// that looks above the root, read-only.
func (f *OSFS) openRootParent() (int, error) {
	conn, err := f.root.SyscallConn()
	if err != nil {
		return -1, fs.ErrClosed
	}
	fd := -1
	var opErr error
	if err := conn.Control(func(root uintptr) {
		fd, opErr = unix.Openat(int(root), "..", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	}); err != nil {
		return -1, fs.ErrClosed
	}
	return fd, opErr
}

// addWatchFd adds an inotify watch on the object fd refers to, through its
// /proc/self/fd link. When /proc is not mounted (ENOENT) it watches
// fallback, the same object's absolute path, without following a final
// symlink.
func addWatchFd(ifd, fd int, fallback string, mask uint32) (int, error) {
	wd, err := unix.InotifyAddWatch(ifd, fmt.Sprintf("/proc/self/fd/%d", fd), mask)
	if err == unix.ENOENT {
		wd, err = unix.InotifyAddWatch(ifd, fallback, mask|unix.IN_DONT_FOLLOW)
	}
	return wd, err
}

// An inotify instance costs little to make but much to close: close(2)
// of an inotify fd waits for an SRCU grace period in the kernel
// (measured on Linux 6.18: about 11 ms, see BENCHMARKS.md), which every
// WaitEmpty paid on top of the teardown it waited for. Closing in the
// background instead lets instances pile up faster than the kernel
// frees them (fs.inotify.max_user_instances is 128 by default). So a
// closed watcher removes its watches (inotify_rm_watch does not wait)
// and keeps its instance for the next Watch, up to maxIdleInotify idle
// ones in the process.
const maxIdleInotify = 8

// inotifyInstance is an inotify fd: in an os.File for the reader (a
// non-blocking fd sits in the runtime poller, so a read deadline wakes a
// blocked Read), and as a number for inotify_add_watch (File.Fd would
// make it blocking).
type inotifyInstance struct {
	file *os.File
	fd   int
}

var idleInotify struct {
	sync.Mutex
	free []*inotifyInstance
}

// getInotify returns an idle inotify instance, or a new one.
func getInotify() (*inotifyInstance, error) {
	idleInotify.Lock()
	if n := len(idleInotify.free); n > 0 {
		in := idleInotify.free[n-1]
		idleInotify.free = idleInotify.free[:n-1]
		idleInotify.Unlock()
		if err := in.file.SetReadDeadline(time.Time{}); err == nil {
			return in, nil
		}
		in.file.Close() // cannot be woken any more: do not use it
	} else {
		idleInotify.Unlock()
	}
	ifd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return &inotifyInstance{file: os.NewFile(uintptr(ifd), "inotify"), fd: ifd}, nil
}

// putInotify keeps in for a later Watch, or closes it when enough are
// idle. Events still queued in it for removed watches are harmless: a
// later reader ignores every watch descriptor but its own, and the
// kernel does not reuse descriptors soon (they are allocated
// cyclically).
func putInotify(in *inotifyInstance) {
	idleInotify.Lock()
	if len(idleInotify.free) < maxIdleInotify {
		idleInotify.free = append(idleInotify.free, in)
		idleInotify.Unlock()
		return
	}
	idleInotify.Unlock()
	in.file.Close()
}

// osWatcher is the Watcher Watch returns.
type osWatcher struct {
	in            *inotifyInstance
	fileWd, dirWd int           // -1 until added
	events        chan struct{} // buffered (1): events coalesce
	done          chan struct{} // closed when run has returned
	broken        bool          // set by run: the instance failed a read
	closeOnce     sync.Once
}

// Events returns the channel that receives a value after each
// modification and is closed when the watcher ends.
func (w *osWatcher) Events() <-chan struct{} { return w.events }

// Close stops the watcher and waits for its goroutine to return, so that
// the events channel is closed when Close returns. It removes the
// watches and keeps the inotify instance for a later Watch rather than
// closing it (see maxIdleInotify). Closing twice is harmless.
func (w *osWatcher) Close() error {
	var err error
	w.closeOnce.Do(func() {
		// Wake the reader without closing the fd.
		if derr := w.in.file.SetReadDeadline(time.Unix(1, 0)); derr != nil {
			err = w.in.file.Close()
			<-w.done
			return
		}
		<-w.done
		w.release(!w.broken)
	})
	return err
}

// release removes the watcher's watches and hands its instance back, or
// closes the instance when it is not to be reused. The reader must not
// be running.
func (w *osWatcher) release(reuse bool) {
	for _, wd := range []int{w.fileWd, w.dirWd} {
		if wd < 0 {
			continue
		}
		// EINVAL: the kernel removed the watch already (IN_IGNORED).
		if _, err := unix.InotifyRmWatch(w.in.fd, uint32(wd)); err != nil && err != unix.EINVAL {
			reuse = false
		}
	}
	if reuse {
		putInotify(w.in)
		return
	}
	w.in.file.Close()
}

// inotifyEventSize is sizeof(struct inotify_event) without the name.
const inotifyEventSize = unix.SizeofInotifyEvent

// run reads inotify events until the watcher is closed or the file goes
// away, and then closes the events channel. Only run sends on or closes
// the channel.
func (w *osWatcher) run(base string) {
	defer close(w.done)
	defer close(w.events)
	// Room for many events with a full NAME_MAX name each.
	buf := make([]byte, 64*(inotifyEventSize+unix.NAME_MAX+1))
	for {
		n, err := w.in.file.Read(buf)
		if err != nil {
			// Woken by Close (the deadline), or the instance broke: end
			// either way, and do not reuse a broken one.
			w.broken = !errors.Is(err, os.ErrDeadlineExceeded)
			return
		}
		modified, gone := parseInotify(buf[:n], w.fileWd, w.dirWd, base)
		if modified {
			select {
			case w.events <- struct{}{}:
			default: // one pending value already says "re-read"
			}
		}
		if gone {
			return
		}
	}
}

// parseInotify decodes a batch of inotify events and reports whether the
// watched file was modified (or events were lost, which must be treated
// the same) and whether it is gone.
func parseInotify(buf []byte, fileWd, dirWd int, base string) (modified, gone bool) {
	for len(buf) >= inotifyEventSize {
		wd := int(int32(binary.NativeEndian.Uint32(buf[0:4])))
		mask := binary.NativeEndian.Uint32(buf[4:8])
		nameLen := int(binary.NativeEndian.Uint32(buf[12:16]))
		if inotifyEventSize+nameLen > len(buf) {
			break
		}
		name := buf[inotifyEventSize : inotifyEventSize+nameLen]
		buf = buf[inotifyEventSize+nameLen:]
		for len(name) > 0 && name[len(name)-1] == 0 {
			name = name[:len(name)-1] // the kernel pads names with NULs
		}
		switch {
		case mask&unix.IN_Q_OVERFLOW != 0:
			modified = true
		case wd == fileWd:
			if mask&unix.IN_MODIFY != 0 {
				modified = true
			}
			if mask&(unix.IN_DELETE_SELF|unix.IN_IGNORED|unix.IN_UNMOUNT) != 0 {
				gone = true
			}
		case wd == dirWd:
			if mask&(unix.IN_DELETE|unix.IN_MOVED_FROM) != 0 && string(name) == base {
				gone = true
			}
			if mask&(unix.IN_DELETE_SELF|unix.IN_IGNORED|unix.IN_UNMOUNT) != 0 {
				gone = true
			}
		}
	}
	return modified, gone
}
