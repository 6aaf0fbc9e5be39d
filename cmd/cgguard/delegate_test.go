package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/internal/kerneltest"
	"github.com/cgguard/cgguard/vmtest"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// lines renders checks as doctor prints them, status first.
func lines(cs []check) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "%s %s: %s", c.Status, c.Name, c.Detail)
		if c.Fix != "" {
			fmt.Fprintf(&b, " fix: %s", c.Fix)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// What doctor says to a user without root, for each kind of delegation.
func TestDoctorDelegationChecks(t *testing.T) {
	all := []string{"cpuset", "cpu", "memory", "pids"}
	scope := cgtest.Delegation{Dir: "/sys/fs/cgroup/app.slice/run-u7.scope", Offered: all, Inside: true}
	shared := scope
	shared.Others = []int{4242}
	userMgr := "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service"
	for _, tc := range []struct {
		name string
		dl   delegation
		want []string
	}{
		{"alone in a delegated scope", delegation{uid: 1000, d: scope, userManager: userMgr, userControllers: all}, []string{
			"ok delegated cgroup: /sys/fs/cgroup/app.slice/run-u7.scope, delegated to uid 1000",
			"ok other processes: none",
			`info per-test roots get: "cpuset cpu memory pids"`,
			"ok user manager:",
			"ok cpuset: per-test roots in the delegated cgroup",
		}},
		{"with another process", delegation{uid: 1000, d: shared, userManager: userMgr, userControllers: all}, []string{
			"warn other processes: the delegated cgroup /sys/fs/cgroup/app.slice/run-u7.scope also holds pid 4242",
			"fix: " + cgroupfs.DelegateCommand,
			`info per-test roots get: ""`,
			"warn cpuset: offered to /sys/fs/cgroup/app.slice/run-u7.scope, but other processes there keep it from being enabled: tests that need cpuset skip fix: " + cgroupfs.DelegateCommand,
		}},
		{"not delegated, user manager without cpuset", delegation{uid: 1000, err: errors.New("/sys/fs/cgroup/user.slice/session-2.scope is not delegated to uid 1000"), userManager: userMgr, userControllers: []string{"cpu", "memory", "pids"}}, []string{
			"warn delegated cgroup: none: /sys/fs/cgroup/user.slice/session-2.scope is not delegated to uid 1000 fix: " + cgroupfs.DelegateCommand,
			`warn user manager: a scope of ` + cgroupfs.DelegateCommand + ` gets at most "cpu memory pids" from user@1000.service: no cpuset`,
			"Delegate=cpu cpuset io memory pids",
			"warn cpuset: no cgroup is delegated to uid 1000 here",
			"fix: " + cgroupfs.DelegateCommand + "; for cpuset in such a scope, as root:",
		}},
		{"no user manager", delegation{uid: 1000, err: errors.New("not delegated"), userManager: userMgr}, []string{
			"info user manager: " + userMgr + " not found",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := lines(append(tc.dl.checks(), tc.dl.cpusetCheck()))
			for _, w := range tc.want {
				assert.Check(t, is.Contains(got, w), "doctor's delegation lines")
			}
		})
	}
}

// doctorChildEnv, set to "1", makes TestVMDoctorDelegated run doctor
// itself: it is then this test binary re-executed as an unprivileged user
// inside a delegated cgroup.
const doctorChildEnv = "CGGUARD_TEST_DOCTOR_CHILD"

// In the VM, doctor run by uid 1000 in a cgroup delegated to it reports
// the delegated cgroup, the other processes in it, what per-test roots
// get, and, where delegation is missing, the command.
func TestVMDoctorDelegated(t *testing.T) {
	if os.Getenv(doctorChildEnv) == "1" {
		code := run([]string{"doctor"}, os.Stdout, os.Stderr)
		fmt.Printf("doctor exit %d\n", code)
		return
	}
	vmtest.SkipUnlessVM(t)
	const uid = 1000
	ctrls := []string{"cpuset", "cpu", "memory", "pids"}
	kerneltest.EnableAtRoot(t, vmtest.InVM(), ctrls...)
	base := kerneltest.Base(t)
	for _, c := range ctrls {
		assert.NilError(t, os.WriteFile(filepath.Join(base, "cgroup.subtree_control"), []byte("+"+c), 0), "enable %s in %s", c, base)
	}
	doctor := func(t *testing.T, scope string) string {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^TestVMDoctorDelegated$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), doctorChildEnv+"=1")
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		assert.NilError(t, kerneltest.StartAs(cmd, scope, uid))
		err := cmd.Wait()
		t.Logf("cgguard doctor as uid %d in %s (%v):\n%s", uid, scope, err, buf.String())
		return buf.String()
	}
	expect := func(t *testing.T, out string, want ...string) {
		t.Helper()
		for _, w := range want {
			assert.Check(t, is.Contains(out, w), "doctor's output")
		}
	}
	t.Run("alone", func(t *testing.T) {
		scope := kerneltest.Delegate(t, base, "alone.scope", uid, kerneltest.DelegatedFiles)
		out := doctor(t, scope)
		expect(t, out, "ok    delegated cgroup   "+scope+", delegated to uid 1000",
			"ok    other processes    none",
			`info  per-test roots get "cpuset cpu memory pids"`,
			"ok    cpuset             per-test roots in the delegated cgroup",
			"Summary: cgroup tests, cpuset included, can run on this machine.",
			"doctor exit 0")
	})
	t.Run("with another process", func(t *testing.T) {
		scope := kerneltest.Delegate(t, base, "shared.scope", uid, kerneltest.DelegatedFiles)
		other := exec.Command("sleep", "1000")
		assert.NilError(t, kerneltest.StartAs(other, scope, uid))
		t.Cleanup(func() { _ = other.Process.Kill(); _ = other.Wait() })
		out := doctor(t, scope)
		expect(t, out, "warn  other processes    the delegated cgroup "+scope+" also holds pid "+strconv.Itoa(other.Process.Pid)+" (sleep",
			"fix: "+cgroupfs.DelegateCommand,
			`info  per-test roots get ""`,
			"warn  cpuset             offered to "+scope+", but other processes there keep it from being enabled")
	})
	t.Run("half delegated", func(t *testing.T) {
		scope := kerneltest.Delegate(t, base, "half.scope", uid, []string{"cgroup.procs", "cgroup.threads"})
		out := doctor(t, scope)
		expect(t, out, "fail  create cgroups     no: uid 1000 may not create cgroups under "+scope+"/cgroup.subtree_control",
			"fix: "+cgroupfs.DelegateCommand,
			"warn  delegated cgroup   none: "+scope+" is not delegated to uid 1000",
			"info  user manager       /sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service not found",
			"warn  cpuset             no cgroup is delegated to uid 1000 here")
	})
}
