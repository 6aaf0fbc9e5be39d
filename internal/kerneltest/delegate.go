package kerneltest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// DelegatedFiles are the interface files systemd hands to the owner of a
// cgroup with Delegate=yes, besides the directory itself (see
// systemd.resource-control(5) and the kernel's cgroup-v2 "Delegation").
var DelegatedFiles = []string{"cgroup.procs", "cgroup.subtree_control", "cgroup.threads"}

// Delegate makes the cgroup parent/name and hands it to uid as systemd's
// Delegate=yes does: the directory and each of files (usually
// DelegatedFiles; fewer for a half-delegated cgroup) are chowned to uid
// and gid uid. It needs root, and parent should be a Base, whose cleanup
// removes it. A failure fails the test.
func Delegate(t TB, parent, name string, uid int, files []string) string {
	t.Helper()
	dir := filepath.Join(parent, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("make the cgroup to delegate: %v", err)
		return ""
	}
	for _, p := range append([]string{dir}, prefixAll(dir, files)...) {
		if err := os.Chown(p, uid, uid); err != nil {
			t.Fatalf("delegate %s to uid %d: %v", dir, uid, err)
			return ""
		}
	}
	return dir
}

func prefixAll(dir string, files []string) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = filepath.Join(dir, f)
	}
	return out
}

// StartAs starts cmd as uid (and gid uid, with no supplementary groups)
// inside the cgroup dir from its first instruction (CLONE_INTO_CGROUP), as
// systemd-run --user --scope starts a command in its scope. The caller
// waits for it. It needs root.
func StartAs(cmd *exec.Cmd, dir string, uid int) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open the cgroup to start %s in: %w", cmd.Path, err)
	}
	defer f.Close()
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential:  &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid), Groups: []uint32{}},
		UseCgroupFD: true,
		CgroupFD:    int(f.Fd()),
	}
	return cmd.Start()
}
