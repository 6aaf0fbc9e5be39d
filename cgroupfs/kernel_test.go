package cgroupfs_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/internal/kerneltest"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// kernelWait bounds how long a test helper waits for the kernel (a
// cgroup emptying after cgroup.kill). It is a deadline for a failure
// message, not a timed assertion: the wait ends on the kernel's event.
const kernelWait = 10 * time.Second

// kernelRoot gives the test a cgroup of its own on the real cgroup2
// hierarchy (kerneltest.Base, whose cleanup kills what is left, waits for
// "populated 0" and removes it all, deepest first; TEST_NOCLEANUP=true
// keeps it), and returns an OSFS rooted at it together with its absolute
// path. The test is skipped, with what is missing and how to get it, when
// not root or without a writable cgroup2 mount.
func kernelRoot(t testing.TB) (*cgroupfs.OSFS, string) {
	t.Helper()
	dir := kerneltest.Base(t)
	fsys, err := cgroupfs.Open(dir)
	assert.NilError(t, err, "open the test root cgroup")
	t.Cleanup(func() { fsys.Close() })
	return fsys, dir
}

// waitFileLine waits until the interface file name (a cgroup.events) has a
// line equal to want, watching it rather than polling. It gives up after
// limit and then says what it saw last.
func waitFileLine(fsys cgroupfs.FS, name, want string, limit time.Duration) error {
	w, err := fsys.Watch(name)
	if err != nil {
		return err
	}
	defer w.Close()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		// Read after the watch is in place, and again after every
		// event, so no change falls between a read and the wait.
		data, err := fsys.ReadFile(name)
		if err != nil {
			return err
		}
		if slices.Contains(strings.Split(string(data), "\n"), want) {
			return nil
		}
		select {
		case _, ok := <-w.Events():
			if !ok {
				return fmt.Errorf("waiting for %q in %s: the file went away; last read %q", want, name, data)
			}
		case <-deadline.C:
			return fmt.Errorf("waiting for %q in %s: still not there after %v; last read %q", want, name, limit, data)
		}
	}
}

// TestKernelDiscover checks Discover against this host and the kernel
// test root. It needs what the kernel tests need.
func TestKernelDiscover(t *testing.T) {
	_, dir := kernelRoot(t)
	c, err := cgroupfs.Discover()
	assert.NilError(t, err)
	mnt, err := cgroupfs.Mountpoint()
	assert.NilError(t, err)
	self, err := cgroupfs.SelfCgroup()
	assert.NilError(t, err)
	assert.Check(t, is.Equal(c.Mountpoint, mnt), "Discover: mount")
	assert.Check(t, is.Equal(c.Cgroup, self), "Discover: cgroup")
	assert.Check(t, strings.HasPrefix(dir, mnt+"/"), "test root %s not beneath the mount %s", dir, mnt)
	data, err := os.ReadFile(filepath.Join(mnt, "cgroup.controllers"))
	assert.NilError(t, err)
	want := strings.Fields(string(data))
	// kernelRoot only runs as root on a writable mount.
	assert.Check(t, c.Root && c.CanCreate, "Discover as root = %+v; want Root, CanCreate", c)
	assert.Check(t, is.Equal(c.Reason, ""), "Discover as root")
	assert.Check(t, is.Equal(c.Parent, mnt), "Discover as root")
	assert.Check(t, is.DeepEqual(c.Controllers, want), "Discover: Controllers")
	for _, ctl := range want {
		assert.Check(t, c.HasController(ctl), "HasController(%q) = false", ctl)
	}
	assert.Check(t, !c.HasController("no-such-controller"), "HasController(no-such-controller) = true")
	t.Logf("Discover on this host: %+v", c)
}
