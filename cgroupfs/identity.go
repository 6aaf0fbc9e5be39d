package cgroupfs

import (
	"golang.org/x/sys/unix"
)

// Identifier is implemented by an FS that can tell a directory from
// another one made later under the same name. A guard records the
// identity of each cgroup it makes, and touches a cgroup of that name
// later only while the identity is the same: one removed and made again
// by someone else is theirs.
type Identifier interface {
	// Identity returns a number naming the directory name for as long
	// as it exists, which a directory made later in its place does not
	// share. A missing directory fails with an error wrapping
	// fs.ErrNotExist.
	Identity(name string) (uint64, error)
}

// Identity returns the inode number of the directory name, resolved
// beneath the root. On cgroupfs it is the cgroup's id (as in
// /proc/<pid>/fdinfo and name_to_handle_at), which the kernel never
// gives to another cgroup while it runs. On a plain directory a later
// directory can reuse an inode number; there it only tells apart what
// exists at once.
func (f *OSFS) Identity(name string) (uint64, error) {
	var st unix.Stat_t
	// One fstatat of the last component, relative to the parent (the
	// root's fd for a top-level name): no open and close of the
	// directory itself, as the guard asks this of every cgroup it makes
	// and removes.
	err := f.atParent("stat", name, func(dirfd int, last string) error {
		if err := unix.Fstatat(dirfd, last, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			return nil
		case unix.S_IFLNK:
			return &resolveError{errno: unix.ELOOP}
		default:
			return unix.ENOTDIR
		}
	})
	if err != nil {
		return 0, err
	}
	return st.Ino, nil
}
