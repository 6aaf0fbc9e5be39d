package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/vmtest"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
)

func TestDoctorSections(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"doctor"}, &out, &errb)
	s := out.String()
	t.Logf("cgguard doctor:\n%s", s)
	for _, want := range []string{
		"cgroups on this host", "cgroup2 mount", "own cgroup", "create cgroups", "controllers", "cpuset",
		"kernel ", "Linux ", "cgroup.kill", "CLONE_INTO_CGROUP", "stale roots",
		"VM runner", "qemu", "kernel image", "kvm", "cgvm",
		"Demonstration", "per-test root", "nested cgroups", "spawn", "teardown", "left behind     nothing", "Summary:",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("doctor output lacks %q", want)
		}
	}
	caps, _ := cgroupfs.Discover()
	if !caps.CanCreate {
		t.Skipf("the rest needs real cgroups, which cannot be made here: %s", caps.Reason)
	}
	if code != exitOK {
		t.Errorf("doctor exit %d on a machine that can create cgroups, want 0; stderr %s", code, errb.String())
	}
	for _, want := range []string{"Demonstration on the real kernel", "by clone3 CLONE_INTO_CGROUP"} {
		if !strings.Contains(s, want) {
			t.Errorf("doctor output lacks %q", want)
		}
	}
	checkNoRootsOfOurs(t, caps.Parent)
}

// checkNoRootsOfOurs fails the test for a per-test root of this process
// left in dir.
func checkNoRootsOfOurs(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	assert.NilError(t, err)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "cgguard-"+strconv.Itoa(os.Getpid())+"-") {
			t.Errorf("leak: doctor left %s", filepath.Join(dir, e.Name()))
		}
	}
}

func TestDoctorJSON(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"doctor", "-json"}, &out, &errb)
	var got doctorJSON
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("doctor -json printed invalid JSON: %v\n%s", err, out.String())
	}
	if got.OK != (code == exitOK) {
		t.Errorf("ok=%v but exit %d", got.OK, code)
	}
	names := map[string]string{}
	for _, c := range got.Checks {
		names[c.Name] = c.Status
		if c.Status == statusFail && c.Fix == "" && c.Name == "create cgroups" {
			t.Errorf("a failed check without a fix: %+v", c)
		}
	}
	for _, n := range []string{"cgroup2 mount", "create cgroups", "cpuset", "kernel", "cgroup.kill", "CLONE_INTO_CGROUP", "qemu", "kernel image"} {
		if names[n] == "" {
			t.Errorf("doctor -json has no %q check", n)
		}
	}
	if len(got.Demo.Steps) != 4 || len(got.Demo.LeftBehind) != 0 || got.Demo.Error != "" {
		t.Errorf("demo = %+v, want 4 steps, nothing left, no error", got.Demo)
	}
	for _, s := range got.Demo.Steps {
		if s.Took <= 0 {
			t.Errorf("step %q has no timing", s.Step)
		}
	}
	caps, _ := cgroupfs.Discover()
	if caps.CanCreate {
		if got.Demo.Backend != "kernel" || names["create cgroups"] != statusOK || names["CLONE_INTO_CGROUP"] != statusOK {
			t.Errorf("on a machine that creates cgroups: backend %q, create %q, clone %q; want kernel, ok, ok", got.Demo.Backend, names["create cgroups"], names["CLONE_INTO_CGROUP"])
		}
		if cpusetUsable(caps) == (names["cpuset"] == statusWarn) {
			t.Errorf("cpuset check %q disagrees with the controllers %q", names["cpuset"], caps.Controllers)
		}
		checkNoRootsOfOurs(t, caps.Parent)
	}
}

// Where real cgroups cannot be made, the same demonstration runs on
// fakefs, cpusets included.
func TestDemoFake(t *testing.T) {
	var out bytes.Buffer
	res := demoFake(&out)
	s := out.String()
	if res.Backend != "fakefs" || res.Error != "" || len(res.LeftBehind) != 0 || len(res.Steps) != 4 {
		t.Errorf("demoFake = %+v\n%s", res, s)
	}
	for _, want := range []string{"cpusets workers/w0=0-1 workers/w1=2-3", "fake task", "task killed (cgroup.kill)", "left behind     nothing"} {
		if !strings.Contains(s, want) {
			t.Errorf("demoFake output lacks %q:\n%s", want, s)
		}
	}
}

// In the VM, where cgroup v2 owns cpuset, the demonstration pins its
// workers to CPUs. The VM's root does not enable cpuset for its children
// until asked (a host-wide setting doctor never changes): the test does
// it, in the throwaway VM only.
func TestDoctorCpusetInVM(t *testing.T) {
	vmtest.SkipUnlessVM(t)
	ctl := filepath.Join(vmtest.CgroupRoot, "cgroup.subtree_control")
	if err := os.WriteFile(ctl, []byte("+cpuset"), 0); err != nil {
		t.Fatalf("enable cpuset at the VM's root: %v", err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"doctor"}, &out, &errb); code != exitOK {
		t.Errorf("doctor exit %d, want 0; stderr %s", code, errb.String())
	}
	s := out.String()
	t.Logf("cgguard doctor in the VM:\n%s", s)
	for _, want := range []string{"ok    cpuset", "cpusets workers/w0=0 workers/w1=", "left behind     nothing", "cpuset included, can run"} {
		if !strings.Contains(s, want) {
			t.Errorf("doctor output lacks %q", want)
		}
	}
}

// KVM is "ok" only when qemu booted a kernel with it; a qemu that aborts
// (as on a nested hypervisor) is reported with its message.
func TestKVMCheckNeedsARealBoot(t *testing.T) {
	if err := unix.Access("/dev/kvm", unix.R_OK|unix.W_OK); err != nil {
		t.Skipf("needs an accessible /dev/kvm for doctor to try: %v", err)
	}
	dir := t.TempDir()
	kernel := filepath.Join(dir, "vmlinuz")
	assert.NilError(t, os.WriteFile(kernel, []byte("x"), 0o644))
	t.Setenv("CGVM_KERNEL", kernel)
	fake := func(name, script string) string {
		p := filepath.Join(dir, name)
		assert.NilError(t, os.WriteFile(p, []byte("#!/bin/sh\n"+script+"\n"), 0o755))
		return p
	}
	if c := kvmCheck(fake("booting", "echo '[    0.5] Kernel panic - not syncing: VFS: Unable to mount root fs'")); c.Status != statusOK {
		t.Errorf("kvm check after a boot = %+v, want ok", c)
	}
	c := kvmCheck(fake("aborting", "echo 'kvm_buf_set_msrs: Assertion failed.' >&2; kill -ABRT $$"))
	if c.Status == statusOK || !strings.Contains(c.Detail, "kvm_buf_set_msrs") || !strings.Contains(c.Detail, "TCG") {
		t.Errorf("kvm check after qemu aborted = %+v, want not ok, with qemu's message and the TCG fallback", c)
	}
}
