package cgroupfs_test

import (
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkKernelWatchClose measures a watch on cgroup.events that is
// opened and closed at once: impl=rawSyncClose is inotify_init1,
// inotify_add_watch and close(2) in line, impl=osfs is OSFS.Watch and its
// Close (which leaves the close(2) to a goroutine). The difference is
// what closing an inotify instance waits for in the kernel.
func BenchmarkKernelWatchClose(b *testing.B) {
	f, dir := kernelRoot(b)
	if err := f.Mkdir("w"); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = f.Rmdir("w") })
	b.Run("impl=rawSyncClose", func(b *testing.B) {
		events := filepath.Join(dir, "w", "cgroup.events")
		b.ReportAllocs()
		for b.Loop() {
			ifd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := unix.InotifyAddWatch(ifd, events, unix.IN_MODIFY); err != nil {
				b.Fatal(err)
			}
			if err := unix.Close(ifd); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=osfs", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w, err := f.Watch("w/cgroup.events")
			if err != nil {
				b.Fatal(err)
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
