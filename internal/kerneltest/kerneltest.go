// Package kerneltest gives a kernel test a cgroup of its own on the real
// cgroup2 hierarchy, the way t.TempDir gives it a directory: Base makes
// it, and the test's cleanup empties and removes it. Every kernel test of
// this module creates its cgroups beneath such a base, so that nothing a
// test makes is ever beside a cgroup it did not create, and a leak is
// easy to recognise by its name (see Prefix).
//
// It finds the mount, the test process's cgroup and waits for a cgroup
// to empty with cgroupfs, so cgroupfs's own tests that use it are
// external tests (package cgroupfs_test).
package kerneltest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"golang.org/x/sys/unix"
)

// Prefix starts the name of every base cgroup ("cgguard-test-<pid>-<random>"),
// so that a leaked one is easy to recognise, and to sweep.
const Prefix = "cgguard-test-"

// MountEnv names the environment variable that, when set, overrides where
// Mountpoint finds cgroup2 (for a machine with an unusual mount).
const MountEnv = "CGGUARD_CGROUP2"

// NoCleanupEnv names the environment variable that, set to true (as
// strconv.ParseBool reads it, like cgtest), keeps every base for a
// post-mortem, as gotest.tools does.
const NoCleanupEnv = "TEST_NOCLEANUP"

// emptyWait bounds how long the cleanup waits for the base to empty after
// cgroup.kill. It is a deadline for a failure message, not a timed
// assertion: the wait ends on the kernel's event.
const emptyWait = 10 * time.Second

// TB is the part of testing.TB that Base uses; *testing.T and *testing.B
// have it, and so can a recording fake.
type TB interface {
	Helper()
	Cleanup(func())
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
	Skipf(format string, args ...any)
}

// Option changes what Base's cleanup does; the default is in Base's doc.
type Option func(*config)

type config struct {
	checkLeaks     bool
	allControllers bool
}

// CheckLeaks makes Base's cleanup fail the test with one "leak: ..." error
// for every cgroup left inside the base, for tests whose own code is
// expected to remove everything it made. The cleanup still kills and
// removes what is left, so nothing outlives even a failed test.
func CheckLeaks() Option {
	return func(c *config) { c.checkLeaks = true }
}

// OfferAllControllers, when on, makes Base first enable in the cgroup2
// root's cgroup.subtree_control every controller the root has, one at a
// time (a combined write fails as a whole), so that the base is offered
// them all; a controller the kernel refuses is logged and left out.
// Pass vmtest.InVM(): only the throwaway VM's root may be written, never
// a host's (on a host, on is false and nothing is written).
func OfferAllControllers(on bool) Option {
	return func(c *config) { c.allControllers = on }
}

// Mountpoint returns where cgroup2 is mounted (cgroupfs.Mountpoint), or
// the value of $CGGUARD_CGROUP2 when set.
func Mountpoint() (string, error) {
	if d := os.Getenv(MountEnv); d != "" {
		return d, nil
	}
	return cgroupfs.Mountpoint()
}

// Base makes /<cgroup2 mount>/cgguard-test-<pid>-<random> and returns its
// absolute path. The test is skipped, saying what is missing and how to
// get it, when it does not run as root, when no cgroup2 is mounted, or
// when the mount refuses a new cgroup (EROFS, EACCES, EPERM); any other
// failure to create it fails the test.
//
// Its cleanup runs after every cleanup registered later (call Base first,
// and it runs after the test's own kills), and touches nothing but the
// base: with CheckLeaks it reports every cgroup left
// inside as a leak; then it writes "1" to the base's cgroup.kill (when
// the kernel has one) to kill every task left in the subtree, waits for
// cgroup.events to say "populated 0", and removes the cgroups deepest
// first, then the base. Anything it cannot do fails the test. If the test
// process itself is still inside, it is neither killed nor moved: the
// test fails and the base is left. TEST_NOCLEANUP=true keeps the base,
// and logs how to remove it. Where t's Skipf or Fatalf return (a
// recording fake), Base returns "" and registers no cleanup.
func Base(t TB, opts ...Option) string {
	t.Helper()
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if os.Geteuid() != 0 {
		pkg := packageArg()
		t.Skipf("kernel test needs root to create cgroups (euid is %d): run as root, e.g. go test -exec sudo %s, "+
			"or in the VM: go test -exec \"$(go env GOPATH)/bin/cgvm\" %s", os.Geteuid(), pkg, pkg)
		return "" // a fake TB's Skipf returns
	}
	mnt, err := Mountpoint()
	if err != nil {
		t.Skipf("kernel test needs a cgroup2 mount: %v", err)
		return ""
	}
	if cfg.allControllers {
		ctrls, _ := os.ReadFile(filepath.Join(mnt, "cgroup.controllers"))
		for _, c := range strings.Fields(string(ctrls)) {
			if err := os.WriteFile(filepath.Join(mnt, "cgroup.subtree_control"), []byte("+"+c), 0); err != nil {
				t.Logf("enable %s in the root's cgroup.subtree_control: %v", c, err)
			}
		}
	}
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatalf("make a random name for the test's base cgroup: %v", err)
		return ""
	}
	dir := filepath.Join(mnt, fmt.Sprintf("%s%d-%s", Prefix, os.Getpid(), hex.EncodeToString(rnd[:])))
	if err := os.Mkdir(dir, 0o755); err != nil {
		if errors.Is(err, unix.EROFS) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
			t.Skipf("kernel test cannot create a cgroup under %s (%v): run where cgroupfs is writable, as root", mnt, err)
			return ""
		}
		t.Fatalf("create the test's base cgroup: %v", err)
		return ""
	}
	t.Cleanup(func() { remove(t, dir, cfg) })
	return dir
}

// remove is Base's cleanup of dir.
func remove(t TB, dir string, cfg config) {
	t.Helper()
	var dirs []string // parents before their children
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	if err != nil {
		t.Errorf("list the test's base cgroup %s: %v", dir, err)
	}
	if cfg.checkLeaks {
		for _, d := range dirs {
			if d != dir {
				t.Errorf("leak: cgroup %s is left in the test's base %s", strings.TrimPrefix(d, dir+"/"), dir)
			}
		}
	}
	if keep, _ := strconv.ParseBool(os.Getenv(NoCleanupEnv)); keep { // as cgtest reads it
		t.Logf("%s=true: keeping cgroup %s; remove it with: find %s -depth -type d -exec rmdir {} +", NoCleanupEnv, dir, dir)
		return
	}
	// Never kill ourselves: cgroup.kill would take the test binary too.
	if self, err := selfCgroup(); err != nil {
		t.Errorf("cannot tell whether the test process is inside %s, so leaving it in place: %v", dir, err)
		return
	} else if mnt := filepath.Dir(dir); self == dir || strings.HasPrefix(self, dir+"/") {
		t.Errorf("the test process is still in cgroup %s: leaving %s in place (neither killed nor removed); "+
			"move it out first (write its pid to %s/cgroup.procs)", self, dir, mnt)
		return
	}
	kill := filepath.Join(dir, "cgroup.kill")
	if _, err := os.Stat(kill); err == nil {
		if err := os.WriteFile(kill, []byte("1"), 0); err != nil {
			t.Errorf("kill the tasks left in the test's base cgroup: %v", err)
		}
	}
	if err := waitEmpty(dir, emptyWait); err != nil {
		t.Errorf("test's base cgroup %s: %v", dir, err)
	}
	for _, d := range slices.Backward(dirs) { // deepest first
		if err := unix.Rmdir(d); err != nil && !errors.Is(err, unix.ENOENT) {
			t.Errorf("remove the test cgroup: %v", &fs.PathError{Op: "rmdir", Path: d, Err: err})
		}
	}
}

// selfCgroup returns the absolute directory of the test process's own
// cgroup2 cgroup.
func selfCgroup() (string, error) {
	self, err := cgroupfs.SelfCgroup()
	if err != nil {
		return "", err
	}
	mnt, err := Mountpoint()
	if err != nil {
		return "", err
	}
	return filepath.Join(mnt, self), nil
}

// waitEmpty waits, at most limit, until the cgroup dir (a child of the
// mount) holds no live task (cgroupfs's Manager.WaitEmpty).
func waitEmpty(dir string, limit time.Duration) error {
	fsys, err := cgroupfs.Open(filepath.Dir(dir))
	if err != nil {
		return err
	}
	defer fsys.Close()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	return cgroupfs.NewManager(fsys, ".").WaitEmpty(ctx, filepath.Base(dir))
}

// CgroupOf returns the cgroup v2 path of pid, relative to the mount,
// from /proc/<pid>/cgroup; a failure fails the test.
func CgroupOf(t TB, pid int) string {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatalf("find the cgroup of pid %d: %v", pid, err)
		return ""
	}
	defer f.Close()
	p, err := cgroupfs.ParseProcCgroup(f)
	if err != nil {
		t.Fatalf("find the cgroup of pid %d: %v", pid, err)
	}
	return p
}

// packageArg returns the package under test as a go test argument
// ("./cgtest/"), for a skip message to say what to run; "./..." when it
// cannot tell (go test runs a test in its package's directory).
func packageArg() string {
	wd, err := os.Getwd()
	if err != nil {
		return "./..."
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			rel, err := filepath.Rel(d, wd)
			if err != nil || rel == "." {
				return "./"
			}
			return "./" + rel + "/"
		}
		if d == filepath.Dir(d) {
			return "./..."
		}
	}
}
