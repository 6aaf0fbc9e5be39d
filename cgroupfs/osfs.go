package cgroupfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultWriteTimeout bounds every OSFS.WriteFile unless WithWriteTimeout
// says otherwise: a cgroup write can block in the kernel while a
// sched_ext scheduler is loaded or reconfigured.
const DefaultWriteTimeout = 2 * time.Second

// ErrNotCgroup2 is wrapped by the error Open returns for a directory that
// is not on a cgroup v2 filesystem (and PlainDirectory was not given).
var ErrNotCgroup2 = errors.New("not a cgroup2 filesystem")

// resolveBeneath is how every name is resolved: never above the root, and
// through no symlink at all (cgroupfs has none; a plain directory may have
// planted ones), magic /proc links included.
const resolveBeneath = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// OSFS is the FS of a real directory: a cgroup v2 hierarchy (or a subtree
// of one), or a plain directory in tests (see PlainDirectory). It holds
// a file descriptor of its root and resolves every name beneath it with
// openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS), so
// no name, symlink or ".." reaches outside the root: such a name fails
// with EXDEV or ELOOP and nothing is touched.
//
// Every error is an *fs.PathError. Its Op is the step that failed
// ("mkdir", "rmdir", "open", "read", "write", "readdir", "stat",
// "watch"); its Path is the FS-relative name as the caller passed it
// ("a/b/cgroup.procs"; Dir gives the root); its Err is the kernel's errno
// (a syscall.Errno). Four kinds wrap instead, and say more: a name refused
// before any system call (wraps unix.EINVAL and matches fs.ErrInvalid), a
// name openat2 refused (wraps EXDEV or ELOOP), a write that timed out (a
// *TimeoutError), and use after Close (fs.ErrClosed).
//
// OSFS implements FS and DirOpener and is safe for concurrent use.
type OSFS struct {
	dir  string
	root *os.File // O_PATH directory; os.File refcounts it so Close cannot race an openat2
	opts options
}

// options are the settings an Option changes. Defaults: writes are bounded
// by DefaultWriteTimeout, and the root must be on cgroup2.
type options struct {
	writeTimeout time.Duration
	plain        bool
}

// Option changes how Open sets up an OSFS.
type Option func(*options)

// WithWriteTimeout bounds every WriteFile (open and write together) by d
// instead of DefaultWriteTimeout. A d of zero or below removes the bound:
// the write runs in the calling goroutine for as long as the kernel takes.
func WithWriteTimeout(d time.Duration) Option {
	return func(o *options) { o.writeTimeout = d }
}

// PlainDirectory makes Open serve a plain directory, as tests that stand
// a temporary directory in for cgroupfs do: the cgroup2 filesystem check
// is skipped, and WriteFile creates a missing file (mode 0644) and
// replaces the contents of an existing one (a zero-length write changes
// nothing, as on cgroupfs). Rmdir of a non-empty plain directory fails
// with ENOTEMPTY, where cgroupfs says EBUSY.
func PlainDirectory() Option {
	return func(o *options) { o.plain = true }
}

// Open opens the directory path as the root of an OSFS. The directory must
// be on a cgroup v2 filesystem (statfs magic unix.CGROUP2_SUPER_MAGIC), such as
// the mountpoint Mountpoint returns or a cgroup below it, unless
// PlainDirectory is given. A relative path is made absolute first; path
// itself may contain symlinks, names given to the OSFS may not.
//
// Open fails with an *fs.PathError carrying the errno when the directory
// cannot be opened, and with an error wrapping ErrNotCgroup2 (naming the
// filesystem type found) for a directory on another filesystem.
func Open(dir string, opts ...Option) (*OSFS, error) {
	o := options{writeTimeout: DefaultWriteTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("cgroupfs: open %q: cannot make the path absolute: %w", dir, err)
	}
	fd, err := unix.Open(abs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: abs, Err: err}
	}
	if !o.plain {
		var st unix.Statfs_t
		if err := unix.Fstatfs(fd, &st); err != nil {
			unix.Close(fd)
			return nil, &fs.PathError{Op: "statfs", Path: abs, Err: err}
		}
		if st.Type != unix.CGROUP2_SUPER_MAGIC {
			unix.Close(fd)
			return nil, fmt.Errorf("cgroupfs: open %s: %w (statfs type %#x, cgroup2 is %#x): "+
				"use the cgroup2 mountpoint or a cgroup below it (/proc/self/mountinfo lists it as type cgroup2; "+
				"on hybrid hosts it is /sys/fs/cgroup/unified)", abs, ErrNotCgroup2, st.Type, unix.CGROUP2_SUPER_MAGIC)
		}
	}
	return &OSFS{dir: abs, root: os.NewFile(uintptr(fd), abs), opts: o}, nil
}

// Dir returns the absolute, cleaned path of the root directory given to
// Open.
func (f *OSFS) Dir() string { return f.dir }

// Close releases the root directory. It does not wait for operations
// still running: they finish normally, and the descriptor is released
// when the last of them (possibly a write abandoned after its timeout) is
// done with it. Later operations fail with fs.ErrClosed, as does a second
// Close.
func (f *OSFS) Close() error {
	if err := f.root.Close(); err != nil {
		return &fs.PathError{Op: "close", Path: f.dir, Err: fs.ErrClosed}
	}
	return nil
}

// invalidNameError explains why a name was refused before any system
// call. It unwraps to unix.EINVAL, so errors.Is(err, fs.ErrInvalid) and
// errors.Is(err, unix.EINVAL) both hold.
type invalidNameError struct{ why string }

func (e *invalidNameError) Error() string {
	return "invalid name: " + e.why + " (names are slash-separated and relative to the FS root)"
}

func (e *invalidNameError) Unwrap() error { return unix.EINVAL }

// Is makes errors.Is(err, fs.ErrInvalid) hold: syscall.Errno does not
// match fs.ErrInvalid by itself.
func (e *invalidNameError) Is(target error) bool { return target == fs.ErrInvalid }

// checkName refuses names that are malformed on their face. Escapes
// ("../x", "a/../../x") are left to openat2, which refuses them with
// EXDEV; the kernel is the one authority on what lies beneath the root.
func checkName(op, name string) error {
	var why string
	switch {
	case name == "":
		why = "empty (use \".\" for the root)"
	case strings.HasPrefix(name, "/"):
		why = "absolute path"
	case strings.IndexByte(name, 0) >= 0:
		why = "contains a NUL byte"
	default:
		return nil
	}
	return &fs.PathError{Op: op, Path: name, Err: &invalidNameError{why: why}}
}

// cleanName checks name and returns it cleaned lexically, so that
// "a/../../x" is refused as the escape it is (EXDEV) even when "a" does
// not exist. Cleaning may let "a/../x" work where "a" is missing, which is
// harmless: the result stays beneath the root, and as no symlink is ever
// followed there is none whose target cleaning could misjudge.
func cleanName(op, name string) (string, error) {
	if err := checkName(op, name); err != nil {
		return "", err
	}
	return path.Clean(name), nil
}

// openBeneath opens name beneath the root with openat2. It retries EAGAIN
// (openat2 says so when a concurrent rename may have let ".." escape) and
// EINTR. The errno is returned bare; callers wrap it with their op.
func (f *OSFS) openBeneath(name string, flags uint64, mode uint64) (int, error) {
	how := unix.OpenHow{Flags: flags | unix.O_CLOEXEC, Mode: mode, Resolve: resolveBeneath}
	conn, err := f.root.SyscallConn()
	if err != nil {
		return -1, fs.ErrClosed
	}
	fd := -1
	var opErr error
	// Control holds a reference on the root fd for the duration of the
	// call, so a concurrent Close cannot hand its number to another file.
	ctlErr := conn.Control(func(root uintptr) {
		for range 16 {
			fd, opErr = unix.Openat2(int(root), name, &how)
			if opErr != unix.EAGAIN && opErr != unix.EINTR {
				return
			}
		}
	})
	if ctlErr != nil {
		return -1, fs.ErrClosed
	}
	switch opErr {
	case unix.EXDEV, unix.ELOOP, unix.ENOSYS:
		return -1, &resolveError{errno: opErr.(syscall.Errno)}
	}
	return fd, opErr
}

// resolveError explains the errnos openat2 gives for a refused path, which
// read as nonsense on their own ("invalid cross-device link"). It unwraps
// to the errno.
type resolveError struct{ errno syscall.Errno }

func (e *resolveError) Error() string {
	switch e.errno {
	case unix.EXDEV:
		return e.errno.Error() + ": the name leads outside the FS root and was refused (check for \"..\" in the name)"
	case unix.ELOOP:
		return e.errno.Error() + ": the name passes through a symlink, which is refused (cgroupfs has none; remove the link)"
	default: // ENOSYS
		return e.errno.Error() + ": openat2 is missing (Linux 5.6 or later is needed)"
	}
}

func (e *resolveError) Unwrap() error { return e.errno }

// splitName cleans name and splits it into the directory to open and the
// last component to act on relative to it. A last component of ".." can
// only mean an escape (Clean keeps ".." only as leading elements), so it
// fails with EXDEV as openat2 would.
func splitName(op, name string) (parent, last string, err error) {
	clean, err := cleanName(op, name)
	if err != nil {
		return "", "", err
	}
	parent, last = path.Split(clean)
	if last == ".." {
		return "", "", &fs.PathError{Op: op, Path: name, Err: &resolveError{errno: unix.EXDEV}}
	}
	if parent == "" {
		parent = "."
	}
	return parent, last, nil
}

// atParent runs fn with a directory fd of name's parent, resolved beneath
// the root, and the last component of name.
func (f *OSFS) atParent(op, name string, fn func(dirfd int, last string) error) error {
	parent, last, err := splitName(op, name)
	if err != nil {
		return err
	}
	if parent == "." {
		// The parent is the root: use its fd rather than open it again
		// (an openat2 and a close, a third of an rmdir's cost). fn acts
		// on one component and follows no final symlink either way.
		conn, err := f.root.SyscallConn()
		if err != nil {
			return &fs.PathError{Op: op, Path: name, Err: fs.ErrClosed}
		}
		var opErr error
		if err := conn.Control(func(root uintptr) { opErr = fn(int(root), last) }); err != nil {
			return &fs.PathError{Op: op, Path: name, Err: fs.ErrClosed}
		}
		if opErr != nil {
			return &fs.PathError{Op: op, Path: name, Err: opErr}
		}
		return nil
	}
	dirfd, err := f.openBeneath(parent, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		return &fs.PathError{Op: op, Path: name, Err: err}
	}
	defer unix.Close(dirfd)
	if err := fn(dirfd, last); err != nil {
		return &fs.PathError{Op: op, Path: name, Err: err}
	}
	return nil
}

// Mkdir creates the directory name (a cgroup, on cgroupfs) with mode 0755.
// Its parent is resolved beneath the root. It fails with EEXIST when name
// exists (on cgroupfs also when it names an interface file), ENOENT when
// the parent is missing, EXDEV or ELOOP when name would leave the root or
// pass through a symlink, and EACCES without write permission on the
// parent (ask for a delegated subtree).
func (f *OSFS) Mkdir(name string) error {
	return f.atParent("mkdir", name, func(dirfd int, last string) error {
		return unix.Mkdirat(dirfd, last, 0o755)
	})
}

// Rmdir removes the directory name. On cgroupfs a cgroup with child
// cgroups or live tasks fails with EBUSY; a plain directory that is not
// empty fails with ENOTEMPTY. A missing name fails with ENOENT, an
// interface file with ENOTDIR, the root itself with EINVAL or EBUSY.
func (f *OSFS) Rmdir(name string) error {
	return f.atParent("rmdir", name, func(dirfd int, last string) error {
		return unix.Unlinkat(dirfd, last, unix.AT_REMOVEDIR)
	})
}

// ReadFile returns the contents of the file name, read until end of file.
// Reading a file of a cgroup removed meanwhile fails with ENODEV; a
// write-only interface file (cgroup.kill) fails with EINVAL.
//
// Only a regular file is read, as every cgroup interface file is one.
// The open does not block (O_NONBLOCK), and anything else found there (a
// named pipe, whose open would wait for a writer; a device such as
// /dev/zero, which never ends; a socket, a directory) fails at once with
// an error naming what it is (EINVAL, or EISDIR for a directory).
func (f *OSFS) ReadFile(name string) ([]byte, error) {
	const op = "open"
	clean, err := cleanName(op, name)
	if err != nil {
		return nil, err
	}
	fd, err := f.openBeneath(clean, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "read", Path: name, Err: &notRegularError{mode: st.Mode}}
	}
	defer unix.Close(fd)
	data, err := readAll(fd)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return data, nil
}

// readAll reads the regular file fd until end of file, with read(2)
// directly: an *os.File would register fd with the runtime's poller
// (O_NONBLOCK), three more system calls per read than the file needs,
// as a regular file never waits for data. cgroup files report size 0
// (or 4096), so it reads until EOF rather than trusting stat.
func readAll(fd int) ([]byte, error) {
	buf := make([]byte, 0, 512)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return nil, err
		case n == 0:
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
}

// notRegularError is a ReadFile of something that is not a regular
// file. It unwraps to EISDIR for a directory and EINVAL otherwise.
type notRegularError struct{ mode uint32 }

func (e *notRegularError) Error() string {
	what := "special file"
	switch e.mode & unix.S_IFMT {
	case unix.S_IFDIR:
		what = "directory"
	case unix.S_IFIFO:
		what = "named pipe (FIFO)"
	case unix.S_IFCHR:
		what = "character device"
	case unix.S_IFBLK:
		what = "block device"
	case unix.S_IFSOCK:
		what = "socket"
	}
	return fmt.Sprintf("%v: it is a %s, not a regular file as every cgroup interface file is; refused rather than read (it could block or never end): remove it", e.Unwrap(), what)
}

func (e *notRegularError) Unwrap() error {
	if e.mode&unix.S_IFMT == unix.S_IFDIR {
		return unix.EISDIR
	}
	return unix.EINVAL
}

// WriteFile writes data to the existing file name with exactly one
// write(2): the kernel parses every write to a cgroup file on its own.
// A zero-length write reaches the kernel, which ignores it; write "\n" to
// clear a file such as cpuset.cpus. A short write is an error (EIO).
//
// The open and the write together are bounded by the write timeout
// (WithWriteTimeout; DefaultWriteTimeout otherwise), because a cgroup
// write can block in the kernel, for example while a sched_ext scheduler
// is reconfigured. On timeout WriteFile returns an *fs.PathError whose
// Err is a *TimeoutError (errors.Is(err, ErrWriteTimeout) holds), while
// the write itself goes on in a goroutine of its own that ends whenever
// the kernel lets it: the write may still take effect later.
//
// Other failures carry the kernel's errno: EINVAL for input the file
// rejects, ESRCH for a pid that is gone, EBUSY for a move the
// no-internal-process rule forbids, ENOENT for a missing file (on
// cgroupfs, also a controller file whose controller is not enabled),
// ENODEV for a file of a removed cgroup, EACCES without permission.
func (f *OSFS) WriteFile(name string, data []byte) error {
	const op = "write"
	clean, err := cleanName(op, name)
	if err != nil {
		return err
	}
	if f.opts.writeTimeout <= 0 {
		if err := f.writeOnce(clean, data); err != nil {
			return &fs.PathError{Op: op, Path: name, Err: err}
		}
		return nil
	}
	// The writer may outlive this call (timeout), so it gets its own
	// copy: the caller may reuse data as soon as WriteFile returns.
	data = bytes.Clone(data)
	done := make(chan error, 1) // buffered: an abandoned writer never blocks on send
	go func() { done <- f.writeOnce(clean, data) }()
	timer := time.NewTimer(f.opts.writeTimeout)
	defer timer.Stop()
	select {
	case err := <-done:
		if err != nil {
			return &fs.PathError{Op: op, Path: name, Err: err}
		}
		return nil
	case <-timer.C:
		return &fs.PathError{Op: op, Path: name, Err: &TimeoutError{
			Path:  path.Join(f.dir, clean),
			Limit: f.opts.writeTimeout,
		}}
	}
}

// writeOnce opens name for writing and issues the single write. It returns
// the bare errno.
func (f *OSFS) writeOnce(name string, data []byte) error {
	flags := uint64(unix.O_WRONLY)
	var mode uint64
	if f.opts.plain {
		flags |= unix.O_CREAT
		mode = 0o644
		if len(data) > 0 {
			// A plain file stands for an interface file, whose
			// contents reflect the last write, not an append.
			flags |= unix.O_TRUNC
		}
	}
	fd, err := f.openBeneath(name, flags, mode)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	for {
		n, err := unix.Write(fd, data)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n != len(data) {
			return fmt.Errorf("short write: %d of %d bytes written: %w", n, len(data), unix.EIO)
		}
		return nil
	}
}

// ReadDir lists the directory name: child directories (cgroups) and
// files (interface files), in the order the kernel returns them. The
// type of each entry comes from the listing itself (getdents' d_type),
// with no stat per entry: a cgroup directory holds a dozen or more
// interface files, and a stat of each made a listing cost more than the
// rmdir it was taken for. DirEntry.Info stats the entry when called,
// beneath the root, and fails with ENOENT if it vanished since. A
// missing directory fails with ENOENT, a file with ENOTDIR.
func (f *OSFS) ReadDir(name string) ([]fs.DirEntry, error) {
	const op = "readdir"
	clean, err := cleanName(op, name)
	if err != nil {
		return nil, err
	}
	fd, err := f.openBeneath(clean, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	defer unix.Close(fd)
	var entries []fs.DirEntry
	buf := make([]byte, 8192)
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: op, Path: name, Err: err}
		}
		if n <= 0 {
			return entries, nil
		}
		for rec := buf[:n]; len(rec) >= direntNameOff; {
			reclen := int(binary.NativeEndian.Uint16(rec[direntReclenOff:]))
			if reclen < direntNameOff || reclen > len(rec) {
				return nil, &fs.PathError{Op: op, Path: name, Err: unix.EIO}
			}
			typ := rec[direntTypeOff]
			n := rec[direntNameOff:reclen]
			if i := bytes.IndexByte(n, 0); i >= 0 {
				n = n[:i]
			}
			rec = rec[reclen:]
			if string(n) == "." || string(n) == ".." {
				continue
			}
			e := &dirEntry{f: f, dir: clean, name: string(n)}
			if mode, ok := direntMode(typ); ok {
				e.mode = mode
			} else {
				// DT_UNKNOWN: the filesystem does not say; ask.
				var st unix.Stat_t
				if err := unix.Fstatat(fd, e.name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
					if err == unix.ENOENT {
						continue // removed since getdents; it is not there
					}
					return nil, &fs.PathError{Op: "stat", Path: path.Join(name, e.name), Err: err}
				}
				e.info = newFileInfo(e.name, &st)
				e.mode = e.info.Mode().Type()
			}
			entries = append(entries, e)
		}
	}
}

// The layout of struct linux_dirent64, which getdents64 fills.
const (
	direntReclenOff = 16 // after d_ino and d_off, both 64-bit
	direntTypeOff   = 18
	direntNameOff   = 19
)

// direntMode returns the type bits of a d_type, and false for DT_UNKNOWN.
func direntMode(typ byte) (fs.FileMode, bool) {
	switch typ {
	case unix.DT_REG:
		return 0, true
	case unix.DT_DIR:
		return fs.ModeDir, true
	case unix.DT_LNK:
		return fs.ModeSymlink, true
	case unix.DT_FIFO:
		return fs.ModeNamedPipe, true
	case unix.DT_SOCK:
		return fs.ModeSocket, true
	case unix.DT_BLK:
		return fs.ModeDevice, true
	case unix.DT_CHR:
		return fs.ModeDevice | fs.ModeCharDevice, true
	}
	return 0, false
}

// dirEntry is an entry of OSFS.ReadDir. Its type is from the listing;
// Info stats it relative to its directory, resolved beneath the root
// (os.DirEntry.Info would lstat a path relative to the working
// directory instead).
type dirEntry struct {
	f    *OSFS
	dir  string // the cleaned name of the directory listed
	name string
	mode fs.FileMode // type bits only
	info fs.FileInfo // when already known
}

func (e *dirEntry) Name() string      { return e.name }
func (e *dirEntry) IsDir() bool       { return e.mode.IsDir() }
func (e *dirEntry) Type() fs.FileMode { return e.mode }
func (e *dirEntry) String() string    { return fs.FormatDirEntry(e) }
func (e *dirEntry) Info() (fs.FileInfo, error) {
	if e.info != nil {
		return e.info, nil
	}
	full := path.Join(e.dir, e.name)
	fd, err := e.f.openBeneath(e.dir, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: full, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstatat(fd, e.name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return nil, &fs.PathError{Op: "stat", Path: full, Err: err}
	}
	return newFileInfo(e.name, &st), nil
}

// OpenDir opens the directory name beneath the root with
// O_PATH|O_DIRECTORY|O_CLOEXEC, for use as a cgroup fd
// (syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(file.Fd())}).
// The file's Name is the absolute path. The caller closes it. A missing
// name fails with ENOENT, a file with ENOTDIR, an escape with EXDEV or
// ELOOP.
func (f *OSFS) OpenDir(name string) (*os.File, error) {
	const op = "open"
	clean, err := cleanName(op, name)
	if err != nil {
		return nil, err
	}
	fd, err := f.openBeneath(clean, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	return os.NewFile(uintptr(fd), path.Join(f.dir, clean)), nil
}

// fileInfo is an fs.FileInfo built from a stat taken relative to a
// directory fd.
type fileInfo struct {
	name string
	st   unix.Stat_t
}

func newFileInfo(name string, st *unix.Stat_t) *fileInfo {
	return &fileInfo{name: name, st: *st}
}

func (i *fileInfo) Name() string       { return i.name }
func (i *fileInfo) Size() int64        { return i.st.Size }
func (i *fileInfo) ModTime() time.Time { return time.Unix(i.st.Mtim.Unix()) }
func (i *fileInfo) IsDir() bool        { return i.Mode().IsDir() }
func (i *fileInfo) Sys() any           { return &i.st }

func (i *fileInfo) Mode() fs.FileMode {
	m := fs.FileMode(i.st.Mode & 0o777)
	switch i.st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		m |= fs.ModeDir
	case unix.S_IFLNK:
		m |= fs.ModeSymlink
	case unix.S_IFIFO:
		m |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		m |= fs.ModeSocket
	case unix.S_IFBLK:
		m |= fs.ModeDevice
	case unix.S_IFCHR:
		m |= fs.ModeDevice | fs.ModeCharDevice
	}
	if i.st.Mode&unix.S_ISUID != 0 {
		m |= fs.ModeSetuid
	}
	if i.st.Mode&unix.S_ISGID != 0 {
		m |= fs.ModeSetgid
	}
	if i.st.Mode&unix.S_ISVTX != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// Compile-time checks that OSFS provides the contracts others code to.
var (
	_ FS        = (*OSFS)(nil)
	_ DirOpener = (*OSFS)(nil)
)
