package kerneltest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// SleeperEnv turns a test binary that imports this package into a
// sleeper: a process for kernel tests to put in cgroups, which needs no
// sleep(1) (the cgvm VM has no userland). Its value is the number of
// children the sleeper starts, for tests that need a cgroup whose tasks
// have tasks of their own.
const SleeperEnv = "CGGUARD_TEST_SLEEPER"

// sleeperLimit bounds a sleeper's life should every killer fail, so no
// stray process outlives a broken test run for long.
const sleeperLimit = 10 * time.Minute

// sleeperReady is the line a sleeper prints once it and its children run.
const sleeperReady = "sleeper ready"

func init() {
	if v, ok := os.LookupEnv(SleeperEnv); ok {
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
		c.Env = append(os.Environ(), SleeperEnv+"=0")
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

// SleeperCmd returns a command, not started, that runs the test binary
// as a sleeper with children sleepers of its own; it prints a line once
// they all run. For a sleeper that a test starts itself (cgtest's
// Group.Start); StartSleeper starts one and waits for it.
func SleeperCmd(children int) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), SleeperEnv+"="+strconv.Itoa(children))
	return cmd
}

// StartSleeper starts the test binary as a sleeper (see SleeperEnv) with
// attr (for example UseCgroupFD to start it inside a cgroup) and children
// sleepers of its own, and registers its kill and reap. It returns once
// the sleeper and its children run. The children die with the sleeper.
func StartSleeper(t TB, attr *syscall.SysProcAttr, children int) *exec.Cmd {
	t.Helper()
	cmd := SleeperCmd(children)
	cmd.SysProcAttr = attr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("start a sleeper: %v", err)
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
