package cgroupfs

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// hangBound is how long TestHostileReadFileNotRegular waits for a ReadFile
// before it calls it blocked: a bound for the failure message of a read
// that would never return, not a timing assertion.
const hangBound = 10 * time.Second

// TestHostileReadFileNotRegular puts, where an interface file is
// expected in a plain directory, what is not a regular file: a FIFO
// (whose open blocks until a writer comes), a character device reading
// zeros forever (/dev/zero's numbers), a unix socket and a directory.
// ReadFile must return at once with an error saying what it found,
// never block and never read without end.
func TestHostileReadFileNotRegular(t *testing.T) {
	f := plainFS(t)
	dir := f.Dir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	kinds := []struct{ name, what string }{
		{"fifo", "named pipe"},
		{"dir", "directory"},
		{"sock", "socket"},
	}
	if err := os.Mkdir(filepath.Join(dir, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(dir, "sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// Making a device node needs CAP_MKNOD (root) and a filesystem that
	// allows it.
	if err := unix.Mknod(filepath.Join(dir, "zero"), unix.S_IFCHR|0o600, int(unix.Mkdev(1, 5))); err == nil {
		kinds = append(kinds, struct{ name, what string }{"zero", "character device"})
	} else {
		t.Logf("no character device case: mknod: %v", err)
	}
	tried, held := 0, 0
	for _, k := range kinds {
		tried++
		done := make(chan error, 1)
		go func() {
			_, err := f.ReadFile(k.name)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.ENXIO) {
				t.Errorf("ReadFile(%s) = %v, want an error saying it is not a regular file", k.name, err)
			} else if !strings.Contains(err.Error(), k.what) && !errors.Is(err, unix.ENXIO) {
				t.Errorf("ReadFile(%s) = %v, want it to say %q", k.name, err, k.what)
			} else {
				held++
			}
		case <-time.After(hangBound):
			t.Errorf("ReadFile(%s) still blocked after %v", k.name, hangBound)
			if k.name == "fifo" {
				// Wake the blocked open: a reader-writer open never
				// blocks, and its close gives the reader end of file.
				if w, err := os.OpenFile(fifo, os.O_RDWR, 0); err == nil {
					w.Close()
				}
			}
			<-done
		}
	}
	t.Logf("hostile non-regular files: %d cases tried, %d held", tried, held)
}
