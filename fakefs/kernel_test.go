package fakefs_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/fakefs"
	"github.com/cgguard/cgguard/internal/kerneltest"
	"github.com/cgguard/cgguard/vmtest"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// kernelCgroup makes a uniquely named cgroup under the cgroup v2 mount
// (kerneltest.Base) and removes it (children first) when the test ends.
// Inside the VM it first offers every controller to it.
func kernelCgroup(t testing.TB) string {
	t.Helper()
	return kerneltest.Base(t, kerneltest.OfferAllControllers(vmtest.InVM()))
}

// listing returns "name mode" for every entry of a directory.
func listing(t *testing.T, entries []fs.DirEntry) []string {
	t.Helper()
	var out []string
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatalf("stat %s: %v", e.Name(), err)
		}
		mode := info.Mode().Perm()
		if e.IsDir() {
			out = append(out, e.Name()+"/")
			continue
		}
		out = append(out, fmt.Sprintf("%s %v", e.Name(), mode))
	}
	slices.Sort(out)
	return out
}

// statLike reports files whose numbers follow the machine's activity
// (statistics, usage, pressure): their keys are compared, not their
// numbers.
func statLike(n string) bool {
	for _, suf := range []string{".stat", ".stat.local", ".pressure", ".current", ".peak", ".events", ".events.local", "numa_stat"} {
		if strings.HasSuffix(n, suf) {
			return true
		}
	}
	return false
}

// comparable returns what a test compares of a file's content: all of
// it, or for statistics the content with every number replaced by "N".
func comparable(name string, data []byte) string {
	if !statLike(name) {
		return string(data)
	}
	return digits.ReplaceAllString(string(data), "N")
}

var digits = regexp.MustCompile(`[0-9]+(\.[0-9]+)?`)

// TestFilesMatchKernel compares the interface files (names and modes) of
// a fresh child cgroup with every offered controller enabled, on the
// kernel and on the fake of the same kernel version and machine
// (kernelTwin), and what every readable file reads (statistics: their
// keys). On the host no controller is offered (core files only); in the
// VM every controller is.
func TestFilesMatchKernel(t *testing.T) {
	kfs, ctrls, opts := kernelTwin(t)
	t.Logf("controllers offered: %q", ctrls)
	ffs := fakeBase(t, opts, ctrls)
	for _, fsys := range []cgroupfs.FS{kfs, ffs} {
		enableAll(t, fsys, ctrls)
		if err := fsys.Mkdir("child"); err != nil {
			t.Fatal(err)
		}
	}
	kEntries, err := kfs.ReadDir("child")
	if err != nil {
		t.Fatal(err)
	}
	fEntries, err := ffs.ReadDir("child")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(listing(t, kEntries), listing(t, fEntries)); diff != "" {
		t.Errorf("files of a fresh child (-kernel +fake):\n%s", diff)
	}
	for _, e := range kEntries {
		name := "child/" + e.Name()
		want, kerr := kfs.ReadFile(name)
		got, ferr := ffs.ReadFile(name)
		if errnoName(kerr) != errnoName(ferr) {
			t.Errorf("read %s: kernel %v, fake %v", name, kerr, ferr)
			continue
		}
		if comparable(e.Name(), want) != comparable(e.Name(), got) {
			t.Errorf("read %s: fake %q, kernel %q", name, got, want)
		}
	}
}

// TestRootFilesMatchKernel compares the interface files of the
// hierarchy root (only read, never written) with a fake root of the same
// kernel version offering the same controllers.
func TestRootFilesMatchKernel(t *testing.T) {
	mnt, err := kerneltest.Mountpoint()
	if err != nil {
		t.Skipf("kernel test needs a cgroup2 mount: %v", err)
	}
	entries, err := os.ReadDir(mnt)
	if err != nil {
		t.Fatalf("list %s: %v", mnt, err)
	}
	ffs := fakefs.New(thisMachine(t).options()...)
	fEntries, err := ffs.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var files []fs.DirEntry
	for _, e := range entries {
		if !e.IsDir() { // other software's cgroups are not ours to list
			files = append(files, e)
		}
	}
	if diff := cmp.Diff(listing(t, files), listing(t, fEntries)); diff != "" {
		t.Errorf("files of the root (-kernel +fake):\n%s", diff)
	}
}

// machine is what a fake needs to answer as a kernel does: the kernel's
// version, the machine's CPUs (empty: the fake's default) and huge page
// sizes, the controllers of the hierarchy's root, and whether the test
// holds CAP_SYS_RESOURCE. The kernel tests take it from the running
// kernel (thisMachine), the recordings from their MACHINE line.
type machine struct {
	release        string
	cpus, mems     cgroupfs.CPUSet
	huge           []string
	rootCtrls      []string
	capSysResource bool
}

// options returns the fakefs options of m.
func (m machine) options() []fakefs.Option {
	opts := []fakefs.Option{fakefs.WithKernel(m.release), fakefs.WithHugePageSizes(m.huge...), fakefs.WithControllers(m.rootCtrls...)}
	if !m.cpus.IsEmpty() {
		opts = append(opts, fakefs.WithCPUs(m.cpus))
	}
	if !m.mems.IsEmpty() {
		opts = append(opts, fakefs.WithMems(m.mems))
	}
	if !m.capSysResource {
		opts = append(opts, fakefs.WithoutCapSysResource())
	}
	return opts
}

// thisMachine returns the machine this test runs on: uname -r,
// /sys/kernel/mm/hugepages, CapEff, and the hierarchy root's
// controllers and (where cpuset is there) effective CPUs and memory
// nodes. It skips the test on a kernel without a profile, naming the
// supported ones.
func thisMachine(t *testing.T) machine {
	t.Helper()
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		t.Fatal(err)
	}
	huge, err := kerneltest.HugePageSizes()
	if err != nil {
		t.Fatal(err)
	}
	capSysResource, err := kerneltest.HasCapSysResource()
	if err != nil {
		t.Fatal(err)
	}
	m := machine{release: unix.ByteSliceToString(uts.Release[:]), huge: huge, capSysResource: capSysResource}
	if err := fakefs.CheckKernel(m.release); err != nil {
		t.Skipf("the running kernel %s has no fakefs profile to compare with: %v", m.release, err)
	}
	mnt, err := kerneltest.Mountpoint()
	if err != nil {
		t.Skipf("kernel test needs a cgroup2 mount: %v", err)
	}
	rootCtrls, err := os.ReadFile(filepath.Join(mnt, "cgroup.controllers"))
	if err != nil {
		t.Fatal(err)
	}
	m.rootCtrls = strings.Fields(string(rootCtrls))
	for _, f := range []struct {
		file string
		set  *cgroupfs.CPUSet
	}{{"cpuset.cpus.effective", &m.cpus}, {"cpuset.mems.effective", &m.mems}} {
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
	t.Logf("kernel %s, huge page sizes %q", m.release, m.huge)
	return m
}

// enableAll enables ctrls in the cgroup.subtree_control of fsys's test
// cgroup, and disables them again (last first) when the test ends.
func enableAll(t *testing.T, fsys cgroupfs.FS, ctrls []string) {
	t.Helper()
	for _, c := range ctrls {
		if err := fsys.WriteFile("cgroup.subtree_control", []byte("+"+c)); err != nil {
			t.Fatalf("enable %s: %v", c, err)
		}
	}
	t.Cleanup(func() {
		for _, c := range slices.Backward(ctrls) {
			_ = fsys.WriteFile("cgroup.subtree_control", []byte("-"+c))
		}
	})
}

// kernelTwin opens a fresh kernel test cgroup (kernelCgroup) and returns
// it, the controllers it offers, and the fakefs options for a fake of the
// same kernel and machine (thisMachine). fakeBase builds the fake's
// counterpart of the test cgroup from them.
func kernelTwin(t *testing.T) (kfs *cgroupfs.OSFS, ctrls []string, opts []fakefs.Option) {
	t.Helper()
	dir := kernelCgroup(t)
	kfs, err := cgroupfs.Open(dir)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	t.Cleanup(func() { _ = kfs.Close() })
	ctrlData, err := kfs.ReadFile("cgroup.controllers")
	if err != nil {
		t.Fatal(err)
	}
	ctrls = strings.Fields(string(ctrlData))
	opts = thisMachine(t).options()
	return kfs, ctrls, opts
}

// fakeBase returns the fake's counterpart of kernelTwin's test cgroup: a
// child "t" of the fake's root, offered ctrls, seen from inside as
// cgroupfs.Open sees the kernel's.
func fakeBase(t *testing.T, opts []fakefs.Option, ctrls []string) subFS {
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
	return subFS{f, "t"}
}
