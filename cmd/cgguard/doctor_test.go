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
	is "gotest.tools/v3/assert/cmp"
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
		assert.Check(t, is.Contains(s, want), "doctor output")
	}
	caps, _ := cgroupfs.Discover()
	if !caps.CanCreate {
		t.Skipf("the rest needs real cgroups, which cannot be made here: %s", caps.Reason)
	}
	assert.Check(t, is.Equal(code, exitOK), "doctor exit on a machine that can create cgroups; stderr %s", errb.String())
	for _, want := range []string{"Demonstration on the real kernel", "by clone3 CLONE_INTO_CGROUP"} {
		assert.Check(t, is.Contains(s, want), "doctor output")
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
	assert.NilError(t, json.Unmarshal(out.Bytes(), &got), "doctor -json printed invalid JSON:\n%s", out.String())
	assert.Check(t, got.OK == (code == exitOK), "ok=%v but exit %d", got.OK, code)
	names := map[string]string{}
	for _, c := range got.Checks {
		names[c.Name] = c.Status
		if c.Status == statusFail && c.Fix == "" && c.Name == "create cgroups" {
			t.Errorf("a failed check without a fix: %+v", c)
		}
	}
	for _, n := range []string{"cgroup2 mount", "create cgroups", "cpuset", "kernel", "cgroup.kill", "CLONE_INTO_CGROUP", "qemu", "kernel image"} {
		assert.Check(t, names[n] != "", "doctor -json has no %q check", n)
	}
	assert.Check(t, is.Len(got.Demo.Steps, 4), "demo = %+v", got.Demo)
	assert.Check(t, is.Len(got.Demo.LeftBehind, 0), "demo = %+v", got.Demo)
	assert.Check(t, is.Equal(got.Demo.Error, ""), "demo = %+v", got.Demo)
	for _, s := range got.Demo.Steps {
		assert.Check(t, s.Took > 0, "step %q has no timing", s.Step)
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
		assert.Check(t, is.Contains(s, want), "demoFake output")
	}
}

// In the VM, where cgroup v2 owns cpuset, the demonstration pins its
// workers to CPUs. The VM's root does not enable cpuset for its children
// until asked (a host-wide setting doctor never changes): the test does
// it, in the throwaway VM only.
func TestDoctorCpusetInVM(t *testing.T) {
	vmtest.SkipUnlessVM(t)
	ctl := filepath.Join(vmtest.CgroupRoot, "cgroup.subtree_control")
	assert.NilError(t, os.WriteFile(ctl, []byte("+cpuset"), 0), "enable cpuset at the VM's root")
	var out, errb bytes.Buffer
	code := run([]string{"doctor"}, &out, &errb)
	assert.Check(t, is.Equal(code, exitOK), "doctor exit; stderr %s", errb.String())
	s := out.String()
	t.Logf("cgguard doctor in the VM:\n%s", s)
	for _, want := range []string{"ok    cpuset", "cpusets workers/w0=0 workers/w1=", "left behind     nothing", "cpuset included, can run"} {
		assert.Check(t, is.Contains(s, want), "doctor output")
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
	booted := kvmCheck(fake("booting", "echo '[    0.5] Kernel panic - not syncing: VFS: Unable to mount root fs'"))
	assert.Check(t, is.Equal(booted.Status, statusOK), "kvm check after a boot = %+v", booted)
	c := kvmCheck(fake("aborting", "echo 'kvm_buf_set_msrs: Assertion failed.' >&2; kill -ABRT $$"))
	if c.Status == statusOK || !strings.Contains(c.Detail, "kvm_buf_set_msrs") || !strings.Contains(c.Detail, "TCG") {
		t.Errorf("kvm check after qemu aborted = %+v, want not ok, with qemu's message and the TCG fallback", c)
	}
}
