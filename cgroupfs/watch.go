package cgroupfs

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sync"

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
// Every watcher of the process shares one inotify instance: the
// fs.inotify.max_user_instances limit (128 by default) counts instances
// of every process of the user on the machine, and one instance per
// watch ran out past about 128 concurrent waits.
//
// Watch fails with the errno of the open (ENOENT for a missing file or a
// removed cgroup, EXDEV or ELOOP for an escape), or with EMFILE or ENOSPC
// from inotify when the fs.inotify.max_user_instances or
// max_user_watches sysctl is exhausted (WaitEmpty then reads
// cgroup.events at intervals instead).
func (f *OSFS) Watch(name string) (Watcher, error) {
	const op = "watch"
	clean, err := cleanName(op, name)
	if err != nil {
		return nil, err
	}
	w := &osWatcher{
		fileWd: -1,
		dirWd:  -1,
		events: make(chan struct{}, 1),
	}
	fail := func(err error) (Watcher, error) {
		w.Close()
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
	w.base = base
	err = sharedInotify.add(w, hfd, holderPath, unix.IN_DELETE|unix.IN_MOVED_FROM|unix.IN_DELETE_SELF|unix.IN_ONLYDIR, &w.dirWd)
	unix.Close(hfd)
	if err != nil {
		return fail(err)
	}

	ffd, err := f.openBeneath(clean, unix.O_PATH, 0)
	if err != nil {
		return fail(err)
	}
	err = sharedInotify.add(w, ffd, path.Join(f.dir, clean), unix.IN_MODIFY|unix.IN_DELETE_SELF, &w.fileWd)
	unix.Close(ffd)
	if err != nil {
		return fail(err)
	}
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

// inotifyHub is the one inotify instance every watcher of the process
// shares, and the goroutine that reads it and hands each event to the
// watchers it concerns. The instance is never closed (closing one waits
// for an SRCU grace period in the kernel, about 11 ms on Linux 6.18);
// watches are removed (inotify_rm_watch does not wait) when the last
// watcher using them closes. The kernel gives one watch descriptor per
// inode and instance, so watchers of the same file, or of files in the
// same directory, share descriptors, counted in refs.
type inotifyHub struct {
	mu       sync.Mutex
	inst     *inotifyInstance // nil until the first Watch, or after it broke
	refs     map[int]int      // watch descriptor -> watchers using it
	watchers map[*osWatcher]bool
}

// inotifyInstance is an inotify fd: in an os.File for the reader (a
// non-blocking fd sits in the runtime poller), and as a number for
// inotify_add_watch (File.Fd would make it blocking).
type inotifyInstance struct {
	file *os.File
	fd   int
}

var sharedInotify = &inotifyHub{refs: map[int]int{}, watchers: map[*osWatcher]bool{}}

// add watches the object fd refers to for w, with mask added to what
// other watchers of it asked for (IN_MASK_ADD), and stores the watch
// descriptor in *wd. It makes the shared instance on first use, or
// again after the previous one broke.
func (h *inotifyHub) add(w *osWatcher, fd int, fallback string, mask uint32, wd *int) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if w.inst == nil {
		if h.inst == nil {
			ifd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
			if err != nil {
				return err
			}
			h.inst = &inotifyInstance{file: os.NewFile(uintptr(ifd), "inotify"), fd: ifd}
			h.refs = map[int]int{}
			go h.run(h.inst)
		}
		w.inst = h.inst
		h.watchers[w] = true
	}
	n, err := addWatchFd(w.inst.fd, fd, fallback, mask|unix.IN_MASK_ADD)
	if err != nil {
		return err
	}
	h.refs[n]++
	*wd = n
	return nil
}

// release removes w: its channel is closed (unless run closed it) and
// the watches no other watcher uses are removed.
func (h *inotifyHub) release(w *osWatcher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if w.inst == nil {
		return
	}
	if h.watchers[w] {
		delete(h.watchers, w)
		close(w.events)
	}
	if w.inst == h.inst {
		for _, wd := range []int{w.fileWd, w.dirWd} {
			if wd < 0 {
				continue
			}
			if h.refs[wd]--; h.refs[wd] <= 0 {
				delete(h.refs, wd)
				// EINVAL: the kernel removed it already (IN_IGNORED).
				_, _ = unix.InotifyRmWatch(w.inst.fd, uint32(wd))
			}
		}
	}
	w.inst = nil
}

// run reads the instance until it breaks and hands every batch of events
// to the watchers: each sees what concerns its own watch descriptors.
func (h *inotifyHub) run(in *inotifyInstance) {
	// Room for many events with a full NAME_MAX name each.
	buf := make([]byte, 64*(inotifyEventSize+unix.NAME_MAX+1))
	for {
		n, err := in.file.Read(buf)
		h.mu.Lock()
		if err != nil {
			// The instance broke: end every watcher of it, and let the
			// next Watch make a new one.
			for w := range h.watchers {
				if w.inst == in {
					delete(h.watchers, w)
					close(w.events)
				}
			}
			if h.inst == in {
				h.inst = nil
			}
			h.mu.Unlock()
			in.file.Close()
			return
		}
		for w := range h.watchers {
			if w.inst != in {
				continue
			}
			modified, gone := parseInotify(buf[:n], w.fileWd, w.dirWd, w.base)
			if modified {
				select {
				case w.events <- struct{}{}:
				default: // one pending value already says "re-read"
				}
			}
			if gone {
				delete(h.watchers, w)
				close(w.events)
			}
		}
		h.mu.Unlock()
	}
}

// osWatcher is the Watcher Watch returns.
type osWatcher struct {
	inst          *inotifyInstance // nil before the first watch and after release
	fileWd, dirWd int              // -1 until added
	base          string           // the name of the cgroup in its holder
	events        chan struct{}    // buffered (1): events coalesce
}

// Events returns the channel that receives a value after each
// modification and is closed when the watcher ends.
func (w *osWatcher) Events() <-chan struct{} { return w.events }

// Close stops the watcher: the events channel is closed when Close
// returns, and its watches are removed unless another watcher uses
// them. Closing twice is harmless.
func (w *osWatcher) Close() error {
	sharedInotify.release(w)
	return nil
}

// inotifyEventSize is sizeof(struct inotify_event) without the name.
const inotifyEventSize = unix.SizeofInotifyEvent

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
