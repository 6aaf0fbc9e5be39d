package cgroupfstest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"golang.org/x/sys/unix"
)

// ProcessTasks is a Tasks made of real processes, for running TestFS
// against the kernel: Spawn starts a sleeping process directly inside a
// cgroup (clone3 with CLONE_INTO_CGROUP, through SysProcAttr.UseCgroupFD),
// Kill kills and reaps it. Close kills and reaps whatever is left; call
// it (in t.Cleanup) so that no process outlives the test.
//
// The sleeping process is the running program itself, started again with
// SleeperEnv set: this package's init then sleeps until killed. It needs
// no sleep binary, so it works in a VM whose initramfs holds only the
// test binary.
type ProcessTasks struct {
	dirs cgroupfs.DirOpener
	mu   sync.Mutex
	cmds map[int]*exec.Cmd
}

// NewProcessTasks returns a ProcessTasks that opens cgroups through dirs
// (the FS returned by cgroupfs.Open).
func NewProcessTasks(dirs cgroupfs.DirOpener) *ProcessTasks {
	return &ProcessTasks{dirs: dirs, cmds: make(map[int]*exec.Cmd)}
}

// SleeperEnv is the environment variable that turns a program importing
// this package into a sleeper (see ProcessTasks): with SleeperEnv=1 the
// package's init sleeps until the process is killed, or for at most an
// hour, then exits.
const SleeperEnv = "CGROUPFSTEST_SLEEPER"

func init() {
	if os.Getenv(SleeperEnv) == "1" {
		// A bounded sleep: should every killer fail, the process still
		// goes away on its own.
		time.Sleep(time.Hour)
		os.Exit(0)
	}
}

// Spawn starts the sleeper (see ProcessTasks) inside the cgroup name and
// returns its pid. The kernel's refusal keeps its errno: EBUSY under the
// no-internal-process rule, ENOENT for a missing cgroup.
func (p *ProcessTasks) Spawn(name string) (int, error) {
	dir, err := p.dirs.OpenDir(name)
	if err != nil {
		return 0, fmt.Errorf("cgroupfstest: spawn into %s: open the cgroup: %w", name, err)
	}
	defer dir.Close()
	self, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("cgroupfstest: spawn into %s: find the running program to start as a sleeper: %w", name, err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), SleeperEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		UseCgroupFD: true,
		CgroupFD:    int(dir.Fd()),
		// Should the test die without cleaning up (go test -timeout,
		// a crash), the sleeper dies with it instead of lingering in a
		// cgroup nobody removes. (The signal follows the forking OS
		// thread, which the Go runtime keeps unless a goroutine that
		// locked it exits: do not call Spawn from such a goroutine.)
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("cgroupfstest: spawn sleep into %s: %w", name, err)
	}
	p.mu.Lock()
	p.cmds[cmd.Process.Pid] = cmd
	p.mu.Unlock()
	return cmd.Process.Pid, nil
}

// Kill sends SIGKILL to the process pid and reaps it, so that it no
// longer populates its cgroup when Kill returns. A pid this ProcessTasks
// did not start fails with ESRCH (it never signals other processes).
func (p *ProcessTasks) Kill(pid int) error {
	p.mu.Lock()
	cmd, ok := p.cmds[pid]
	delete(p.cmds, pid)
	p.mu.Unlock()
	if !ok {
		return fmt.Errorf("cgroupfstest: kill pid %d: not a process this ProcessTasks started, or already killed: %w", pid, unix.ESRCH)
	}
	if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("cgroupfstest: kill pid %d: %w", pid, err)
	}
	_ = cmd.Wait() // "signal: killed" is the expected outcome
	return nil
}

// Close kills and reaps every process still running. It returns the
// first failure to kill, after trying them all.
func (p *ProcessTasks) Close() error {
	p.mu.Lock()
	pids := make([]int, 0, len(p.cmds))
	for pid := range p.cmds {
		pids = append(pids, pid)
	}
	p.mu.Unlock()
	var errs []error
	for _, pid := range pids {
		if err := p.Kill(pid); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
