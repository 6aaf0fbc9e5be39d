package vmtest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cgguard/cgguard/vmtest"
)

// TestVMHasFullHierarchy is the runner's end-to-end check: inside the VM,
// cgroup v2 is mounted at /sys/fs/cgroup and its root offers cpuset, which
// the host's hybrid v2 never does.
func TestVMHasFullHierarchy(t *testing.T) {
	vmtest.SkipUnlessVM(t)
	b, err := os.ReadFile(filepath.Join(vmtest.CgroupRoot, "cgroup.controllers"))
	if err != nil {
		t.Fatalf("reading the root's controllers: %v", err)
	}
	got := strings.Fields(string(b))
	for _, want := range []string{"cpuset", "cpu", "memory", "pids"} {
		if !contains(got, want) {
			t.Errorf("cgroup.controllers at %s = %q, missing %q", vmtest.CgroupRoot, got, want)
		}
	}
	// The runner enabled every controller for new cgroups before the test.
	enabled, err := os.ReadFile(filepath.Join(vmtest.CgroupRoot, "cgroup.subtree_control"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, strings.Fields(string(enabled))); diff != "" {
		t.Errorf("the root's cgroup.subtree_control does not enable every controller it offers (-offered +enabled):\n%s", diff)
	}
	// The guest's init runs the test as root in the root cgroup.
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(self)) != "0::/" {
		t.Errorf("/proc/self/cgroup = %q, want the root cgroup 0::/", self)
	}
	if os.Getuid() != 0 {
		t.Errorf("uid = %d, want root in the VM", os.Getuid())
	}
}

// TestVMSetsCpuset writes cpuset.cpus on a child cgroup and reads the
// effective set back: what the host cannot do on cgroup v2. The root
// already enables cpuset for its children.
func TestVMSetsCpuset(t *testing.T) {
	vmtest.SkipUnlessVM(t)
	root := vmtest.CgroupRoot
	dir := filepath.Join(root, fmt.Sprintf("cgguard-test-vmtest-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.Remove(dir); err != nil {
			t.Errorf("removing %s: %v", dir, err)
		}
	})
	if err := os.WriteFile(filepath.Join(dir, "cpuset.cpus"), []byte("0"), 0); err != nil {
		t.Fatalf("writing cpuset.cpus: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "cpuset.cpus.effective"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(got)) != "0" {
		t.Errorf("cpuset.cpus.effective = %q after writing 0, want 0", got)
	}
}

func TestSkipUnlessVMSkipsOutside(t *testing.T) {
	rec := &recordingT{}
	vmtest.SkipUnlessVM(rec)
	if rec.skipped == vmtest.InVM() {
		t.Errorf("SkipUnlessVM skipped=%v with InVM()=%v; it must skip exactly outside the VM", rec.skipped, vmtest.InVM())
	}
	if rec.skipped && !strings.Contains(rec.reason, "scripts/vm-setup.sh") {
		t.Errorf("skip reason %q does not say how to get the VM", rec.reason)
	}
}

type recordingT struct {
	skipped bool
	reason  string
}

func (r *recordingT) Helper() {}
func (r *recordingT) Skip(args ...any) {
	r.skipped = true
	r.reason = fmt.Sprint(args...)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
