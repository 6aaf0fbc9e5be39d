package cgroupfs

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// kernelRootPrefix starts the name of every cgroup the package's kernel
// tests create directly under the cgroup2 mount, so a leak is easy to
// recognise (and to sweep).
const kernelRootPrefix = "cgguard-test-"

// kernelWait bounds how long a test helper waits for the kernel (a
// cgroup emptying after cgroup.kill). It is a deadline for a failure
// message, not a timed assertion: the wait ends on the kernel's event.
const kernelWait = 10 * time.Second

// kernelRoot gives the test a cgroup of its own on the real cgroup2
// hierarchy, like t.TempDir: it creates "cgguard-test-<pid>-<random>"
// under the cgroup2 mount, and returns an OSFS rooted at it together with
// its absolute path. Cleanup kills every task left in it (cgroup.kill),
// waits for "populated 0", and removes its cgroups deepest first; anything
// that cannot be removed fails the test. TEST_NOCLEANUP=true keeps it.
//
// The test is skipped, with what is missing and how to get it, when not
// root or without a writable cgroup2 mount.
func kernelRoot(t testing.TB) (*OSFS, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("kernel test needs root to create cgroups (euid is %d): run with sudo, e.g. go test -exec sudo ./cgroupfs/", os.Geteuid())
	}
	mnt, err := Mountpoint()
	if err != nil {
		t.Skipf("kernel test needs a cgroup2 mount: %v", err)
	}
	home, err := SelfCgroup()
	if err != nil {
		t.Skipf("kernel test needs to know its own cgroup: %v", err)
	}
	top, err := Open(mnt)
	if err != nil {
		t.Skipf("kernel test cannot open the cgroup2 mount %s: %v", mnt, err)
	}
	defer top.Close()

	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("%s%d-%s", kernelRootPrefix, os.Getpid(), hex.EncodeToString(rnd[:]))
	if err := top.Mkdir(name); err != nil {
		if errors.Is(err, unix.EROFS) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
			t.Skipf("kernel test cannot create a cgroup under %s (%v): run where cgroupfs is writable as root", mnt, err)
		}
		t.Fatalf("create the test root cgroup: %v", err)
	}
	dir := path.Join(mnt, name)
	fsys, err := Open(dir)
	if err != nil {
		_ = top.Rmdir(name)
		t.Fatalf("open the test root cgroup: %v", err)
	}
	t.Cleanup(func() {
		defer fsys.Close()
		if os.Getenv("TEST_NOCLEANUP") == "true" {
			t.Logf("TEST_NOCLEANUP=true: keeping cgroup %s; remove it with: find %s -depth -type d -exec rmdir {} +", dir, dir)
			return
		}
		removeKernelRoot(t, mnt, home, name, fsys)
	})
	return fsys, dir
}

// removeKernelRoot empties and removes the test root cgroup name (under
// mnt) and everything below it. home is where the test process started.
func removeKernelRoot(t testing.TB, mnt, home, name string, fsys *OSFS) {
	t.Helper()
	// Never kill ourselves: a test that moved the test process inside
	// gets it moved back home first.
	if self, err := SelfCgroup(); err == nil && (self == "/"+name || strings.HasPrefix(self, "/"+name+"/")) {
		t.Errorf("the test process was left in %s: moving it back to %s", self, home)
		top, err := Open(mnt)
		if err == nil {
			err = top.WriteFile(path.Join(strings.TrimPrefix(home, "/"), "cgroup.procs"), []byte(fmt.Sprint(os.Getpid())))
			top.Close()
		}
		if err != nil {
			t.Errorf("cannot move the test process home, leaving %s in place: %v", name, err)
			return
		}
	}
	if err := fsys.WriteFile("cgroup.kill", []byte("1")); err != nil {
		t.Errorf("kill the tasks left in test cgroup %s: %v", name, err)
	}
	if err := waitFileLine(fsys, "cgroup.events", "populated 0", kernelWait); err != nil {
		t.Errorf("test cgroup %s: %v", name, err)
	}
	var dirs []string
	var walk func(d string)
	walk = func(d string) {
		entries, err := fsys.ReadDir(d)
		if err != nil {
			t.Errorf("list test cgroup %s/%s: %v", name, d, err)
			return
		}
		for _, e := range entries {
			if e.IsDir() {
				walk(path.Join(d, e.Name()))
			}
		}
		dirs = append(dirs, d) // after its children: deepest first
	}
	walk(".")
	top, err := Open(mnt)
	if err != nil {
		t.Errorf("reopen %s to remove the test cgroup %s: %v", mnt, name, err)
		return
	}
	defer top.Close()
	for _, d := range dirs {
		if err := top.Rmdir(path.Join(name, d)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("remove test cgroup %s: %v", path.Join(mnt, name, d), err)
		}
	}
}

// waitFileLine waits until the interface file name (a cgroup.events) has a
// line equal to want, watching it rather than polling. It gives up after
// limit and then says what it saw last.
func waitFileLine(fsys FS, name, want string, limit time.Duration) error {
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

// sleeperEnv turns the test binary into a sleeper: a process for kernel
// tests to put in cgroups, which needs no sleep(1) (the cgvm VM has no
// userland). Its value is the number of children the sleeper starts, for
// tests that need a cgroup whose tasks have tasks of their own.
const sleeperEnv = "CGROUPFS_TEST_SLEEPER"

// sleeperLimit bounds a sleeper's life should every killer fail, so no
// stray process outlives a broken test run for long.
const sleeperLimit = 10 * time.Minute

// sleeperReady is the line a sleeper prints once it and its children run.
const sleeperReady = "sleeper ready"

func init() {
	if v, ok := os.LookupEnv(sleeperEnv); ok {
		n, _ := strconv.Atoi(v)
		runSleeper(n)
	}
}

// runSleeper starts children sleepers and sleeps until killed; it never
// returns, so the sleeper runs no test.
func runSleeper(children int) {
	// Children die with this process (Pdeathsig), which kill(2) of the
	// sleeper alone would otherwise leave behind. Pdeathsig follows the
	// thread that forks: keep it.
	runtime.LockOSThread()
	self, err := os.Executable()
	for range children {
		if err != nil {
			break
		}
		c := exec.Command(self, "-test.run=^$")
		c.Env = append(os.Environ(), sleeperEnv+"=0")
		c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err = c.Start(); err != nil {
			break
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "sleeper: start children: %v\n", err)
		os.Exit(2)
	}
	fmt.Println(sleeperReady) // its children are running too
	time.Sleep(sleeperLimit)
	os.Exit(0)
}

// startSleeper starts the test binary as a sleeper (see sleeperEnv) with
// attr (for example UseCgroupFD to start it inside a cgroup) and children
// sleepers of its own, and registers its kill and reap. It returns once
// the sleeper and its children run. The children die with the sleeper.
func startSleeper(t testing.TB, attr *syscall.SysProcAttr, children int) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatalf("find the test binary to start as a sleeper: %v", err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), sleeperEnv+"="+strconv.Itoa(children))
	cmd.SysProcAttr = attr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start a sleeper: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	// The read ends with the line, or with EOF should the sleeper die.
	line, err := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != sleeperReady {
		t.Fatalf("sleeper %d did not get ready: read %q, %v", cmd.Process.Pid, line, err)
	}
	return cmd
}
