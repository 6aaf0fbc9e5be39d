package kerneltest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/fakefs"
	"golang.org/x/sys/unix"
)

// Machine is what a fake needs to answer as a kernel does: the kernel's
// version, the machine's CPUs and memory nodes (empty: the fake's
// default) and huge page sizes, the controllers of the hierarchy's
// root, and whether the test holds CAP_SYS_RESOURCE. Kernel tests take
// it from the running kernel (ThisMachine), replayed recordings from
// what they recorded.
type Machine struct {
	Release        string
	CPUs, Mems     cgroupfs.CPUSet
	Huge           []string
	RootCtrls      []string
	CapSysResource bool
}

// FakeOptions returns the fakefs options of a fake of m.
func (m Machine) FakeOptions() []fakefs.Option {
	opts := []fakefs.Option{fakefs.WithKernel(m.Release), fakefs.WithHugePageSizes(m.Huge...), fakefs.WithControllers(m.RootCtrls...)}
	if !m.CPUs.IsEmpty() {
		opts = append(opts, fakefs.WithCPUs(m.CPUs))
	}
	if !m.Mems.IsEmpty() {
		opts = append(opts, fakefs.WithMems(m.Mems))
	}
	if !m.CapSysResource {
		opts = append(opts, fakefs.WithoutCapSysResource())
	}
	return opts
}

// ThisMachine returns the machine the test runs on: uname -r,
// /sys/kernel/mm/hugepages, CapEff, and the hierarchy root's
// controllers and (where cpuset is there) effective CPUs and memory
// nodes. It skips the test on a kernel without a fakefs profile, naming
// the supported ones, and without a cgroup2 mount.
func ThisMachine(t testing.TB) Machine {
	t.Helper()
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		t.Fatal(err)
	}
	m := Machine{Release: unix.ByteSliceToString(uts.Release[:])}
	if err := fakefs.CheckKernel(m.Release); err != nil {
		t.Skipf("the running kernel %s has no fakefs profile to compare with: %v", m.Release, err)
	}
	var err error
	if m.Huge, err = HugePageSizes(); err != nil {
		t.Fatal(err)
	}
	if m.CapSysResource, err = HasCapSysResource(); err != nil {
		t.Fatal(err)
	}
	mnt, err := Mountpoint()
	if err != nil {
		t.Skipf("kernel test needs a cgroup2 mount: %v", err)
	}
	rootCtrls, err := os.ReadFile(filepath.Join(mnt, "cgroup.controllers"))
	if err != nil {
		t.Fatal(err)
	}
	m.RootCtrls = strings.Fields(string(rootCtrls))
	for _, f := range []struct {
		file string
		set  *cgroupfs.CPUSet
	}{{"cpuset.cpus.effective", &m.CPUs}, {"cpuset.mems.effective", &m.Mems}} {
		data, err := os.ReadFile(filepath.Join(mnt, f.file))
		if errors.Is(err, fs.ErrNotExist) {
			continue // no cpuset on this hierarchy
		}
		if err != nil {
			t.Fatal(err)
		}
		if *f.set, err = cgroupfs.ParseCPUSet(string(data)); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("kernel %s, huge page sizes %q", m.Release, m.Huge)
	return m
}

// FakeTwin returns a fake made with opts whose cgroup "t" is the
// counterpart of a kernel test cgroup offered ctrls: the fake's root
// enables ctrls for it.
func FakeTwin(t testing.TB, opts []fakefs.Option, ctrls []string) *fakefs.FS {
	t.Helper()
	f := fakefs.New(opts...)
	for _, c := range ctrls {
		if err := f.WriteFile("cgroup.subtree_control", []byte("+"+c)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Mkdir("t"); err != nil {
		t.Fatal(err)
	}
	return f
}

// HugePageSizes returns this machine's huge page sizes as hugetlb names
// them in its interface files ("2MB", "1GB"), from
// /sys/kernel/mm/hugepages; none where that directory is missing.
func HugePageSizes() ([]string, error) {
	dirs, _ := os.ReadDir("/sys/kernel/mm/hugepages")
	var sizes []string
	for _, d := range dirs {
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(d.Name(), "hugepages-"), "kB"), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("huge page size %s: %w", d.Name(), err)
		}
		switch {
		case kb >= 1<<20:
			sizes = append(sizes, strconv.FormatUint(kb>>20, 10)+"GB")
		case kb >= 1<<10:
			sizes = append(sizes, strconv.FormatUint(kb>>10, 10)+"MB")
		default:
			sizes = append(sizes, strconv.FormatUint(kb, 10)+"KB")
		}
	}
	return sizes, nil
}

// HasCapSysResource reports whether this process holds CAP_SYS_RESOURCE
// (a root in a container may not), which changes what some cgroup files
// accept.
func HasCapSysResource() (bool, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false, err
	}
	for line := range strings.Lines(string(status)) {
		if hex, ok := strings.CutPrefix(line, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
			if err != nil {
				return false, fmt.Errorf("parse %q of /proc/self/status: %w", line, err)
			}
			return caps&(1<<unix.CAP_SYS_RESOURCE) != 0, nil
		}
	}
	return false, fmt.Errorf("no CapEff line in /proc/self/status")
}

// WritableFiles makes the cgroup probe in fsys, lists the files of it
// that are writable, less cgroup.procs and cgroup.threads (a pid
// written at random would move someone else's process on a kernel), and
// removes probe again. Taken from the fake, the list grows with every
// knob the fake learns, so a differential test cannot forget one.
func WritableFiles(fsys cgroupfs.FS, probe string) ([]string, error) {
	if err := fsys.Mkdir(probe); err != nil {
		return nil, err
	}
	defer func() { _ = fsys.Rmdir(probe) }()
	entries, err := fsys.ReadDir(probe)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		if info.Mode().Perm()&0o200 != 0 && e.Name() != "cgroup.procs" && e.Name() != "cgroup.threads" {
			out = append(out, e.Name())
		}
	}
	return out, nil
}
