package cgroupfstest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"

	"github.com/cgguard/cgguard/cgroupfs"
	"golang.org/x/sys/unix"
)

// ProcessTasks is a Tasks made of real processes, for running TestFS
// against the kernel: Spawn starts "sleep" directly inside a cgroup
// (clone3 with CLONE_INTO_CGROUP, through SysProcAttr.UseCgroupFD), Kill
// kills and reaps it. Close kills and reaps whatever is left; call it
// (in t.Cleanup) so that no process outlives the test.
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

// Spawn starts "sleep 3600" inside the cgroup name and returns its pid.
// The kernel's refusal keeps its errno: EBUSY under the
// no-internal-process rule, ENOENT for a missing cgroup.
func (p *ProcessTasks) Spawn(name string) (int, error) {
	dir, err := p.dirs.OpenDir(name)
	if err != nil {
		return 0, fmt.Errorf("cgroupfstest: spawn into %s: open the cgroup: %w", name, err)
	}
	defer dir.Close()
	cmd := exec.Command("sleep", "3600")
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(dir.Fd())}
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
