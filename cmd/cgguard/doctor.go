package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/internal/vmkernel"
	"golang.org/x/sys/unix"
)

// Statuses of a check. Only statusFail makes doctor exit 1.
const (
	statusOK   = "ok"
	statusInfo = "info"
	statusWarn = "warn" // missing, with a way around it
	statusFail = "fail" // cgroup tests cannot run here
)

// check is one line of doctor's report.
type check struct {
	Section string `json:"section"`
	Name    string `json:"name"`
	Status  string `json:"status"`
	Detail  string `json:"detail"`
	Fix     string `json:"fix,omitempty"`
}

// doctorJSON is the output of doctor -json.
type doctorJSON struct {
	OK     bool     `json:"ok"`
	Checks []check  `json:"checks"`
	Demo   demoJSON `json:"demo"`
}

// Sections of the report.
const (
	secHost = "cgroups on this host"
	secVM   = "VM runner (full cgroup v2, cpuset included)"
)

// vmHint is how to run cpuset tests where the host cannot.
const vmHint = `run those tests in the VM runner: scripts/vm-setup.sh && CGO_ENABLED=0 go install ./cmd/cgvm && go test -exec "$(go env GOPATH)/bin/cgvm" ./...`

func doctorCmd(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("cgguard doctor", flag.ContinueOnError)
	asJSON := flags.Bool("json", false, "print JSON")
	pos, code := parseFlags(flags, args, stderr)
	if code >= 0 {
		return code
	}
	if len(pos) > 0 {
		return tooMany(stderr, "doctor", pos)
	}
	out := stdout
	if *asJSON {
		out = io.Discard
	}
	fmt.Fprintln(out, "cgguard doctor: can cgroup tests run on this machine?")
	caps, capsErr := cgroupfs.Discover()
	var checks []check
	emit := func(c check) {
		if len(checks) == 0 || checks[len(checks)-1].Section != c.Section {
			fmt.Fprintf(out, "\n%s\n", c.Section)
		}
		checks = append(checks, c)
		fmt.Fprintf(out, "  %-5s %-18s %s\n", c.Status, c.Name, c.Detail)
		if c.Fix != "" {
			fmt.Fprintf(out, "  %-5s %-18s fix: %s\n", "", "", c.Fix)
		}
	}
	hostChecks(caps, capsErr, emit)
	vmChecks(emit)

	fmt.Fprintln(out)
	var demo demoJSON
	if caps.CanCreate {
		demo = demoKernel(out, caps)
	} else {
		fmt.Fprintln(out, "Demonstration on fakefs, the in-memory kernel, as real cgroups cannot be made here (see \"create cgroups\" above)")
		demo = demoFake(out)
	}
	ok := demo.Error == "" && len(demo.LeftBehind) == 0
	for _, c := range checks {
		if c.Status == statusFail {
			ok = false
		}
	}
	fmt.Fprintln(out)
	switch {
	case ok && cpusetUsable(caps):
		fmt.Fprintln(out, "Summary: cgroup tests, cpuset included, can run on this machine.")
	case ok:
		fmt.Fprintln(out, "Summary: cgroup tests can run on this machine; those that need cpuset skip here and run in the VM runner.")
	default:
		fmt.Fprintln(out, "Summary: cgroup tests cannot run for real here (see the fail lines and their fixes); they skip with the reason, and fakefs tests run anywhere.")
	}
	if *asJSON {
		writeJSON(stdout, doctorJSON{OK: ok, Checks: checks, Demo: demo})
	}
	if !ok {
		return exitProblem
	}
	return exitOK
}

// hostChecks reports the cgroup facts of this host.
func hostChecks(caps cgroupfs.Capabilities, capsErr error, emit func(check)) {
	c := check{Section: secHost, Name: "cgroup2 mount"}
	if caps.Mountpoint == "" {
		c.Status, c.Detail = statusFail, fmt.Sprint(capsErr)
		emit(c)
		emit(kernelCheck())
		return
	}
	v1 := v1Controllers()
	c.Status, c.Detail = statusOK, caps.Mountpoint
	if len(v1) > 0 {
		c.Detail += fmt.Sprintf(" (hybrid: controllers bound to cgroup v1 hierarchies: %s)", strings.Join(v1, " "))
	}
	emit(c)

	c = check{Section: secHost, Name: "own cgroup"}
	if capsErr != nil || caps.Cgroup == "" {
		c.Status, c.Detail = statusFail, fmt.Sprint(capsErr)
	} else {
		c.Status, c.Detail = statusOK, caps.Cgroup
		dir := filepath.Join(caps.Mountpoint, caps.Cgroup)
		var st unix.Stat_t
		if err := unix.Stat(dir, &st); err == nil {
			c.Detail += fmt.Sprintf(" (%s, owned by uid %d; this process runs as uid %d)", dir, st.Uid, os.Geteuid())
		}
	}
	emit(c)

	c = check{Section: secHost, Name: "create cgroups"}
	switch {
	case caps.CanCreate && caps.Root:
		c.Status, c.Detail = statusOK, "yes, as root, under "+caps.Parent
	case caps.CanCreate:
		c.Status, c.Detail = statusOK, "yes, in the subtree delegated to uid "+strconv.Itoa(os.Geteuid())+" at "+caps.Parent
	default:
		c.Status, c.Detail = statusFail, "no: "+caps.Reason
		c.Fix = cgroupfs.DelegateCommand + " (each test binary in a cgroup delegated to it), or run as root, or " + vmHint
	}
	if env := os.Getenv(cgtest.ParentEnv); env != "" {
		c.Detail += fmt.Sprintf("; %s=%s overrides where cgtest.Root puts per-test roots", cgtest.ParentEnv, env)
	}
	emit(c)
	dl, user := findDelegation(caps) // delegate.go: a user without root
	if user {
		for _, c := range dl.checks() {
			emit(c)
		}
	}

	c = check{Section: secHost, Name: "controllers", Status: statusInfo}
	if caps.Controllers == nil {
		c.Detail = "unknown: " + filepath.Join(caps.Parent, "cgroup.controllers") + " is unreadable"
	} else {
		c.Detail = fmt.Sprintf("%q at %s (what per-test roots can enable)", strings.Join(caps.Controllers, " "), caps.Parent)
	}
	emit(c)

	c = check{Section: secHost, Name: "cpuset"}
	switch {
	case user: // delegate.go
		c = dl.cpusetCheck()
	case cpusetUsable(caps):
		c.Status, c.Detail = statusOK, "available in cgroup v2 and enabled in "+filepath.Join(caps.Parent, "cgroup.subtree_control")+": per-test roots get it, groups can pin CPUs"
	case caps.HasController("cpuset"):
		c.Status = statusWarn
		c.Detail = "available at " + caps.Parent + " but not enabled in its cgroup.subtree_control, so per-test roots made there lack it (cgtest.Root never changes the cgroup2 mount's root, a host-wide setting), and tests that need cpuset skip"
		c.Fix = "as root: echo +cpuset > " + filepath.Join(caps.Parent, "cgroup.subtree_control") + " (host-wide), or set " + cgtest.ParentEnv + " to a cgroup that enables cpuset for its children"
	case slices.Contains(v1, "cpuset"):
		c.Status = statusWarn
		c.Detail = "bound to a cgroup v1 hierarchy (hybrid mode), so cgroup v2 cannot have it: cgroups made here have no cpuset files, and tests that need cpuset (cgtest.RequireControllers(\"cpuset\")) skip"
		c.Fix = vmHint + "; or boot the host with systemd.unified_cgroup_hierarchy=1"
	default:
		c.Status = statusWarn
		c.Detail = "not offered at " + caps.Parent + ": tests that need cpuset skip"
		c.Fix = "enable it in the cgroup.subtree_control of the cgroup above " + caps.Parent + ", or " + vmHint
	}
	emit(c)

	emit(kernelCheck())
	for _, c := range probeChecks(caps) {
		emit(c)
	}
	emit(staleCheck(caps))
}

// cpusetUsable reports whether per-test roots made under caps.Parent get
// the cpuset controller: Parent offers it and enables it for its
// children, or, in a cgroup delegated to a user, the test process can
// move into a leaf and enable it (see cgtest.Root).
func cpusetUsable(caps cgroupfs.Capabilities) bool {
	if dl, user := findDelegation(caps); user && dl.err == nil {
		return slices.Contains(dl.d.Controllers(), "cpuset")
	}
	if !caps.HasController("cpuset") {
		return false
	}
	on, err := os.ReadFile(filepath.Join(caps.Parent, "cgroup.subtree_control"))
	return err == nil && slices.Contains(strings.Fields(string(on)), "cpuset")
}

// v1Controllers returns the controllers /proc/cgroups lists as enabled
// and bound to a cgroup v1 hierarchy (a non-zero hierarchy id): on a
// hybrid host, those cgroup v2 cannot have.
func v1Controllers() []string {
	data, err := os.ReadFile("/proc/cgroups")
	if err != nil {
		return nil
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if f[1] != "0" && f[3] == "1" {
			out = append(out, f[0])
		}
	}
	return out
}

// kernelCheck reports the kernel release and what it implies.
func kernelCheck() check {
	c := check{Section: secHost, Name: "kernel"}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		c.Status, c.Detail = statusWarn, fmt.Sprintf("uname: %v", err)
		return c
	}
	rel := unix.ByteSliceToString(u.Release[:])
	c.Detail = "Linux " + rel
	var major, minor int
	fmt.Sscanf(rel, "%d.%d", &major, &minor)
	switch v := major*1000 + minor; {
	case v >= 5014:
		c.Status = statusOK
	case v >= 5007:
		c.Status = statusWarn
		c.Detail += " (before 5.14: no cgroup.kill, teardown signals each task instead)"
		c.Fix = "a kernel 5.14 or later"
	default:
		c.Status = statusWarn
		c.Detail += " (before 5.7: no cgroup.kill and no CLONE_INTO_CGROUP; Start moves processes after starting them)"
		c.Fix = "a kernel 5.14 or later"
	}
	return c
}

// probeChecks tries cgroup.kill and CLONE_INTO_CGROUP for real, in a
// per-test root of its own (so that a sweep reclaims it should doctor
// be killed meanwhile), removed before returning.
func probeChecks(caps cgroupfs.Capabilities) []check {
	kill := check{Section: secHost, Name: "cgroup.kill"}
	clone := check{Section: secHost, Name: "CLONE_INTO_CGROUP"}
	if !caps.CanCreate {
		kill.Status, kill.Detail = statusInfo, "not tried: no cgroup can be made here"
		clone.Status, clone.Detail = statusInfo, "not tried: no cgroup can be made here"
		return []check{kill, clone}
	}
	// Quiet: what the probes' group reports is only kept.
	t := &cgtest.Recorder{TestName: "doctor-probe"}
	defer t.Finish()
	mgr := cgtest.Root(t, cgtest.Under(caps.Parent))
	if mgr == nil {
		kill.Status, kill.Detail = statusFail, "could not make a cgroup to try it in: "+strings.Join(append(t.Skips(), append(t.Errors(), t.Logs()...)...), "; ")
		clone.Status, clone.Detail = kill.Status, kill.Detail
		return []check{kill, clone}
	}
	if _, err := mgr.FS().ReadFile("cgroup.kill"); !errors.Is(err, fs.ErrNotExist) {
		// A write-only file: reading it says EINVAL, but it exists.
		kill.Status, kill.Detail = statusOK, "present: teardown kills a cgroup's tasks in one write"
	} else {
		kill.Status, kill.Detail = statusWarn, "missing (kernel before 5.14): teardown sends SIGKILL to each task instead, which can race with forks"
		kill.Fix = "a kernel 5.14 or later"
	}
	g := cgtest.NewGroup(t, mgr)
	if err := g.AddCgroupNoCpuset("probe"); err != nil {
		clone.Status, clone.Detail = statusFail, err.Error()
		return []check{kill, clone}
	}
	dir, err := mgr.FS().(cgroupfs.DirOpener).OpenDir("probe")
	if err != nil {
		clone.Status, clone.Detail = statusFail, err.Error()
		return []check{kill, clone}
	}
	defer dir.Close()
	self, err := os.Executable()
	if err != nil {
		self = "/proc/self/exe"
	}
	cmd := exec.Command(self, "probe")
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(dir.Fd())}
	start := time.Now()
	out, err := cmd.Output()
	took := time.Since(start)
	want := strings.TrimPrefix(filepath.Join(mgr.ParentPath(), "probe"), caps.Mountpoint)
	got := strings.TrimSpace(string(out))
	switch {
	case err != nil:
		clone.Status = statusWarn
		clone.Detail = fmt.Sprintf("spawning %s into %s failed: %v; cgtest.Group.Start then starts the process and moves it in (it runs briefly outside)", self, want, err)
		clone.Fix = "Linux 5.7 or later, without a seccomp policy that refuses clone3"
	case got != want:
		clone.Status, clone.Detail = statusFail, fmt.Sprintf("a child spawned into %s found itself in %s", want, got)
	default:
		clone.Status, clone.Detail = statusOK, fmt.Sprintf("a child spawned with clone3 into %s found itself there (spawn to exit: %v)", want, took.Round(time.Microsecond))
	}
	return []check{kill, clone}
}

// staleCheck lists, without removing, per-test roots of dead runs where
// cgtest.Root puts them.
func staleCheck(caps cgroupfs.Capabilities) check {
	c := check{Section: secHost, Name: "stale roots"}
	root, err := defaultSweepRoot()
	if err != nil {
		c.Status, c.Detail = statusInfo, err.Error()
		return c
	}
	fsys, err := cgroupfs.Open(root)
	if err != nil {
		c.Status, c.Detail = statusInfo, fmt.Sprintf("cannot look in %s: %v", root, err)
		return c
	}
	defer fsys.Close()
	rep, err := cgtest.SweepDryRun(fsys, ".")
	if err != nil {
		c.Status, c.Detail = statusInfo, err.Error()
		return c
	}
	n := rep.Counts()
	if n.Stale == 0 {
		c.Status, c.Detail = statusOK, fmt.Sprintf("none in %s (%d live)", root, n.Live)
		return c
	}
	c.Status, c.Detail = statusWarn, fmt.Sprintf("%d per-test root(s) in %s were left by test runs that died before their cleanups", n.Stale, root)
	c.Fix = "cgguard sweep " + root + " (cgguard sweep -n lists them)"
	return c
}

// vmChecks reports what the VM runner (cmd/cgvm) needs.
func vmChecks(emit func(check)) {
	c := check{Section: secVM, Name: "qemu"}
	qemu := os.Getenv("CGVM_QEMU")
	if qemu == "" {
		qemu = "qemu-system-x86_64"
	}
	if p, err := exec.LookPath(qemu); err == nil {
		c.Status, c.Detail = statusOK, p
	} else {
		c.Status, c.Detail = statusWarn, fmt.Sprintf("%s not found on PATH", qemu)
		c.Fix = "scripts/vm-setup.sh (apt-get install --no-install-recommends qemu-system-x86)"
	}
	emit(c)

	for _, c := range kernelChecks() {
		emit(c)
	}
	emit(kvmCheck(qemu))

	c = check{Section: secVM, Name: cgtest.NoSkipEnv, Status: statusInfo}
	if v := os.Getenv(cgtest.NoSkipEnv); v != "" {
		c.Detail = fmt.Sprintf("%q: where a true value, every skip of cgtest.Root and RequireControllers fails the test instead", v)
	} else {
		c.Detail = "unset: cgroup tests that cannot run skip with the reason; set it to 1 where they must run (CI's VM runs do), and a skip becomes a failure"
	}
	emit(c)

	c = check{Section: secVM, Name: "cgvm"}
	if p := findCgvm(); p != "" {
		c.Status, c.Detail = statusOK, p
	} else {
		c.Status, c.Detail = statusWarn, "not installed (neither on PATH nor in $GOBIN or $GOPATH/bin)"
		c.Fix = "CGO_ENABLED=0 go install ./cmd/cgvm (from the module root)"
	}
	emit(c)
}

// kernelChecks reports each cached kernel, with the version its image
// says it is, and which one the runner boots.
func kernelChecks() []check {
	ks, err := vmkernel.List()
	if err != nil || len(ks) == 0 {
		c := check{Section: secVM, Name: "kernel image", Status: statusWarn, Fix: "scripts/vm-setup.sh"}
		c.Detail = fmt.Sprintf("none cached (%v)", err)
		if dir, err := vmkernel.CacheDir(); err == nil {
			c.Detail = "none cached in " + dir
		}
		return []check{c}
	}
	boots, bootErr := vmkernel.Find(os.Getenv(vmkernel.EnvVar))
	var out []check
	for _, k := range ks {
		c := check{Section: secVM, Name: "kernel image", Status: statusOK}
		banner, err := vmkernel.Banner(k.Path)
		if err != nil {
			c.Status, c.Detail = statusWarn, k.Version()+": "+err.Error()
			c.Fix = "remove it and run scripts/vm-setup.sh"
		} else {
			c.Detail = k.Version() + ": " + k.Path + ", " + banner
			switch yes, known := k.SchedExt(); {
			case !known:
				c.Detail += "; sched_ext: unknown (no config cached beside it)"
			case yes:
				c.Detail += "; sched_ext: yes"
			default:
				c.Detail += "; sched_ext: no"
			}
		}
		if k.Path == boots {
			c.Detail += " (booted by default)"
			if os.Getenv(vmkernel.EnvVar) != "" {
				c.Detail = strings.Replace(c.Detail, "by default", "as "+vmkernel.EnvVar+" asks", 1)
			}
		}
		out = append(out, c)
	}
	if bootErr != nil {
		out = append(out, check{Section: secVM, Name: "kernel image", Status: statusWarn, Detail: bootErr.Error(), Fix: "scripts/vm-setup.sh, or set " + vmkernel.EnvVar + " to a cached version"})
	}
	return out
}

// kvmCheck says KVM works only after qemu booted the default kernel with
// it: a /dev/kvm can be there and still fail (a nested hypervisor's aborts
// qemu when it sets the CPU's MSRs). Without the kernel it is untested.
func kvmCheck(qemu string) check {
	c := check{Section: secVM, Name: "kvm", Status: statusInfo}
	if err := unix.Access("/dev/kvm", unix.R_OK|unix.W_OK); err != nil {
		c.Detail = fmt.Sprintf("/dev/kvm: %v; the VM uses TCG emulation (slower, works anywhere)", err)
		return c
	}
	kernel, err := vmkernel.Find(os.Getenv(vmkernel.EnvVar))
	if err != nil {
		c.Detail = "untested: /dev/kvm is accessible but there is no kernel to boot with it; the VM uses TCG (the default)"
		return c
	}
	// Without an initramfs the kernel panics at once, ending qemu
	// (panic=-1, -no-reboot): its panic line on the serial port proves the
	// guest ran under KVM.
	cmd := exec.Command(qemu, "-machine", "pc", "-accel", "kvm", "-cpu", "host", "-m", "256M", "-nodefaults", "-no-user-config",
		"-display", "none", "-no-reboot", "-serial", "stdio", "-kernel", kernel, "-append", "console=ttyS0 panic=-1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		c.Detail = fmt.Sprintf("untested: starting %s: %v", qemu, err)
		return c
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		err = errors.New("no kernel panic within 30s")
	}
	if strings.Contains(out.String(), "Kernel panic") {
		c.Status, c.Detail = statusOK, "qemu booted "+kernel+" with KVM: CGVM_ACCEL=kvm runs the VM much faster than the default TCG"
		return c
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	c.Detail = fmt.Sprintf("/dev/kvm is accessible but qemu could not boot with it (%v: %s): the VM uses TCG (the default); CGVM_ACCEL=kvm would fail", err, lines[len(lines)-1])
	return c
}

// findCgvm looks for an installed cgvm where go install puts it.
func findCgvm() string {
	if p, err := exec.LookPath("cgvm"); err == nil {
		return p
	}
	dirs := []string{os.Getenv("GOBIN")}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if home, err := os.UserHomeDir(); err == nil {
			gopath = filepath.Join(home, "go")
		}
	}
	for _, p := range filepath.SplitList(gopath) {
		dirs = append(dirs, filepath.Join(p, "bin"))
	}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		p := filepath.Join(d, "cgvm")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}
