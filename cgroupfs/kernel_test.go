package cgroupfs

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cgguard/cgguard/internal/kerneltest"
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
func kernelRoot(t testing.TB) (*OSFS, string) {
	t.Helper()
	dir := kerneltest.Base(t)
	fsys, err := Open(dir)
	if err != nil {
		t.Fatalf("open the test root cgroup: %v", err)
	}
	t.Cleanup(func() { fsys.Close() })
	return fsys, dir
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
