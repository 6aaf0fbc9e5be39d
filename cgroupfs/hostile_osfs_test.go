package cgroupfs_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
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
	assert.NilError(t, unix.Mkfifo(fifo, 0o600))
	kinds := []struct{ name, what string }{
		{"fifo", "named pipe"},
		{"dir", "directory"},
		{"sock", "socket"},
	}
	assert.NilError(t, os.Mkdir(filepath.Join(dir, "dir"), 0o755))
	l, err := net.Listen("unix", filepath.Join(dir, "sock"))
	assert.NilError(t, err)
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

// inotifyLimitEnv, set, makes TestHostileInotifyLimit the child that
// runs the waits, in a user namespace of its own whose inotify instance
// limit is the variable's value.
const inotifyLimitEnv = "CGROUPFS_HOSTILE_INOTIFY_LIMIT"

// concurrentWaits is how many WaitEmpty run at once in each child: well
// above the child's limit.
const concurrentWaits = 40

// firstReads is a plain-directory OSFS that reports, once per file, the
// first read of each cgroup.events: a WaitEmpty reads it right after
// its watch is in place.
type firstReads struct {
	*cgroupfs.OSFS
	mu   sync.Mutex
	seen map[string]bool
	read chan string
}

func (f *firstReads) ReadFile(name string) ([]byte, error) {
	data, err := f.OSFS.ReadFile(name)
	// A plain file is truncated, then written: a read in between sees it
	// empty, where the kernel's cgroup.events never is.
	for i := 0; i < 1000 && err == nil && len(data) == 0; i++ {
		data, err = f.OSFS.ReadFile(name)
	}
	f.mu.Lock()
	first := !f.seen[name]
	f.seen[name] = true
	f.mu.Unlock()
	if first {
		f.read <- name
	}
	return data, err
}

// TestHostileInotifyLimit runs many WaitEmpty at once where the
// per-user limit of inotify instances (128 by default, shared by every
// process of the user on the machine) is nearly or wholly used up. It
// lowers the limit in a child process in a user namespace of its own
// (/proc/sys/user/max_inotify_instances counts per namespace), so no
// other process on the machine is short of instances: limits 0 (none
// at all) and 2. Every wait must end when its cgroup.events says
// "populated 0", none may fail.
func TestHostileInotifyLimit(t *testing.T) {
	if v := os.Getenv(inotifyLimitEnv); v != "" {
		inotifyLimitChild(t, v)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to map itself into a user namespace of its own")
	}
	tried, held := 0, 0
	for _, limit := range []string{"0", "2"} {
		tried++
		cmd := exec.Command(os.Args[0], "-test.run=^TestHostileInotifyLimit$", "-test.v")
		cmd.Env = append(os.Environ(), inotifyLimitEnv+"="+limit)
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Cloneflags:  syscall.CLONE_NEWUSER,
			UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
			GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("limit %s: %d concurrent WaitEmpty: %v\n%s", limit, concurrentWaits, err, out)
			continue
		}
		if !strings.Contains(string(out), "waits ended") {
			t.Errorf("limit %s: the child ran no waits:\n%s", limit, out)
			continue
		}
		held++
	}
	t.Logf("hostile inotify limit: %d cases tried, %d held", tried, held)
}

func inotifyLimitChild(t *testing.T, limit string) {
	assert.NilError(t, os.WriteFile("/proc/sys/user/max_inotify_instances", []byte(limit), 0), "lower the inotify instance limit in this user namespace")
	f := &firstReads{OSFS: plainFS(t), seen: map[string]bool{}, read: make(chan string, concurrentWaits)}
	m := cgroupfs.NewManager(f, ".")
	for i := range concurrentWaits {
		name := fmt.Sprintf("cg%d", i)
		assert.NilError(t, f.Mkdir(name))
		assert.NilError(t, f.WriteFile(name+"/cgroup.events", []byte("populated 1\nfrozen 0\n")))
	}
	ctx, cancel := context.WithTimeout(context.Background(), hangBound)
	defer cancel()
	errs := make(chan error, concurrentWaits)
	for i := range concurrentWaits {
		go func() { errs <- m.WaitEmpty(ctx, fmt.Sprintf("cg%d", i)) }()
	}
	// Every wait has its watch (or has failed) once it read the file;
	// only then do the cgroups empty, so all of them wait at once.
	for range concurrentWaits {
		select {
		case <-f.read:
		case err := <-errs:
			t.Fatalf("a WaitEmpty ended while its cgroup was populated: %v", err)
		}
	}
	for i := range concurrentWaits {
		assert.NilError(t, f.WriteFile(fmt.Sprintf("cg%d/cgroup.events", i), []byte("populated 0\nfrozen 0\n")))
	}
	for range concurrentWaits {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	t.Logf("%d waits ended", concurrentWaits)
}
