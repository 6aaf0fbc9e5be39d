package kerneltest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
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

// EnableAtRoot enables each of names in the cgroup2 root's
// cgroup.subtree_control, one write each, and registers a cleanup that
// disables again, after every cleanup registered later (call it before
// Base), those it enabled, so that tests run after this one see the root
// as it was. Pass vmtest.InVM() as inVM: only the throwaway VM's root may
// be written, never a host's; on a host it skips the test. A write the
// kernel refuses fails the test.
func EnableAtRoot(t TB, inVM bool, names ...string) {
	t.Helper()
	if !inVM {
		t.Skipf("enabling controllers at the cgroup2 root is for the throwaway VM only, never a host: run in the VM: go test -exec \"$(go env GOPATH)/bin/cgvm\" %s", packageArg())
		return
	}
	mnt, err := Mountpoint()
	if err != nil {
		t.Skipf("kernel test needs a cgroup2 mount: %v", err)
		return
	}
	control := filepath.Join(mnt, "cgroup.subtree_control")
	before, err := os.ReadFile(control)
	if err != nil {
		t.Fatalf("read the root's controllers: %v", err)
		return
	}
	var added []string
	t.Cleanup(func() {
		for _, c := range added {
			if err := os.WriteFile(control, []byte("-"+c), 0); err != nil {
				t.Logf("disable %s again in %s: %v", c, control, err)
			}
		}
	})
	for _, c := range names {
		if slices.Contains(strings.Fields(string(before)), c) {
			continue
		}
		if err := os.WriteFile(control, []byte("+"+c), 0); err != nil {
			t.Fatalf("enable %s in %s: %v", c, control, err)
			return
		}
		added = append(added, c)
	}
}
