package cgroupfstest_test

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgroupfs/cgroupfstest"
	"github.com/cgguard/cgguard/internal/vmtest"
	"golang.org/x/sys/unix"
)

// unified is where this machine kind mounts cgroup v2 (hybrid mode);
// CGGUARD_CGROUP2 overrides it, and a pure v2 system mounts it at
// /sys/fs/cgroup.
func unified() string {
	if d := os.Getenv("CGGUARD_CGROUP2"); d != "" {
		return d
	}
	for _, d := range []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup"} {
		var st unix.Statfs_t
		if unix.Statfs(d, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			return d
		}
	}
	return ""
}

var seq atomic.Int64

// kernelRoot makes a uniquely named, empty cgroup under the cgroup v2
// mount for one test, and removes it (and anything left below it, tasks
// killed) when the test ends. It skips, saying why, where the test
// cannot create cgroups.
func kernelRoot(t testing.TB) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create cgroups under the cgroup v2 mount: run go test as root (sudo -E go test ./cgroupfs/cgroupfstest/), or in the VM")
	}
	mnt := unified()
	if mnt == "" {
		t.Skip("no cgroup v2 mount at /sys/fs/cgroup/unified or /sys/fs/cgroup: mount cgroup2 there, or set CGGUARD_CGROUP2 to its mount point")
	}
	if vmtest.InVM() {
		// The VM is throwaway and its root is ours: offer every
		// controller to the test cgroup, one at a time (a combined write
		// fails as a whole). On the host the v2 root is never written.
		ctrls, _ := os.ReadFile(filepath.Join(mnt, "cgroup.controllers"))
		for _, c := range strings.Fields(string(ctrls)) {
			if err := os.WriteFile(filepath.Join(mnt, "cgroup.subtree_control"), []byte("+"+c), 0); err != nil {
				t.Logf("VM: enable %s in the root's cgroup.subtree_control: %v", c, err)
			}
		}
	}
	dir := filepath.Join(mnt, fmt.Sprintf("cgguard-test-%d-%d-%d", os.Getpid(), time.Now().UnixNano()%1e9, seq.Add(1)))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("create the test cgroup %s: %v", dir, err)
	}
	t.Cleanup(func() { removeTree(t, dir) })
	return dir
}

// removeTree removes dir and its cgroups deepest first, killing what is
// left inside through cgroup.kill and waiting for it to be reaped by the
// caller's Kill (ProcessTasks.Close runs before this cleanup).
func removeTree(t testing.TB, dir string) {
	t.Helper()
	var dirs []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		var err error
		for range 500 {
			if err = unix.Rmdir(dirs[i]); err == nil || errors.Is(err, unix.ENOENT) {
				err = nil
				break
			}
			if errors.Is(err, unix.EBUSY) {
				_ = os.WriteFile(filepath.Join(dirs[i], "cgroup.kill"), []byte("1"), 0)
				waitUnpopulated(dirs[i])
				continue
			}
			break
		}
		if err != nil {
			t.Errorf("remove test cgroup %s: %v", dirs[i], err)
		}
	}
}

// waitUnpopulated polls cgroup.events for "populated 0" with a bound;
// only cleanup uses it, after a kill.
func waitUnpopulated(dir string) {
	for range 100 {
		f, err := os.Open(filepath.Join(dir, "cgroup.events"))
		if err != nil {
			return
		}
		s := bufio.NewScanner(f)
		empty := false
		for s.Scan() {
			if s.Text() == "populated 0" {
				empty = true
			}
		}
		f.Close()
		if empty {
			return
		}
		unix.Nanosleep(&unix.Timespec{Nsec: 1e6}, nil) // yield to the dying tasks, bounded
	}
}

// TestKernel runs the conformance suite against the running kernel, in
// a fresh cgroup under the cgroup v2 mount, with real sleep processes as
// tasks. Scenarios needing controllers the test cgroup is not offered
// (all of them on a hybrid host) skip and say so.
func TestKernel(t *testing.T) {
	dir := kernelRoot(t)
	fsys, err := cgroupfs.Open(dir)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	t.Cleanup(func() { fsys.Close() })
	tasks := cgroupfstest.NewProcessTasks(fsys)
	t.Cleanup(func() {
		if err := tasks.Close(); err != nil {
			t.Errorf("kill the test's processes: %v", err)
		}
	})
	if ctrls, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers")); err == nil {
		t.Logf("kernel test cgroup %s offers controllers %q", dir, strings.TrimSpace(string(ctrls)))
	}
	cgroupfstest.TestFS(t, fsys, cgroupfstest.WithTasks(tasks))
}
