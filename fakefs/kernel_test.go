package fakefs_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/fakefs"
	"github.com/cgguard/cgguard/internal/kerneltest"
	"github.com/cgguard/cgguard/vmtest"
	"github.com/google/go-cmp/cmp"
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

// filterKnown drops files that depend on the kernel's build (pressure
// stall files for irq, hugetlb page sizes, memory and io statistics the
// fake does not model) so that the comparison is about what the fake
// claims to emulate.
func filterKnown(names []string, emulated func(string) bool) []string {
	return slices.DeleteFunc(names, func(n string) bool { return !emulated(strings.Fields(n)[0]) })
}

// TestFilesMatchKernel compares the interface files (names and modes) of
// a fresh child cgroup with every offered controller enabled, on the
// kernel and on a fake offering the same controllers, and the contents
// of files whose value does not depend on the machine's activity. On the
// host no controller is offered (core files only); in the VM every
// controller is.
func TestFilesMatchKernel(t *testing.T) {
	kfs, ctrls, opts := kernelTwin(t)
	t.Logf("controllers offered: %q", ctrls)
	ffs := fakefs.New(opts...)
	for _, fsys := range []cgroupfs.FS{kfs, ffs} {
		for _, c := range ctrls {
			if err := fsys.WriteFile("cgroup.subtree_control", []byte("+"+c)); err != nil {
				t.Fatalf("enable %s: %v", c, err)
			}
		}
		if err := fsys.Mkdir("child"); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, c := range slices.Backward(ctrls) {
			_ = kfs.WriteFile("cgroup.subtree_control", []byte("-"+c))
		}
	})
	kEntries, err := kfs.ReadDir("child")
	if err != nil {
		t.Fatal(err)
	}
	fEntries, err := ffs.ReadDir("child")
	if err != nil {
		t.Fatal(err)
	}
	fakeNames := map[string]bool{}
	for _, e := range fEntries {
		fakeNames[e.Name()] = true
	}
	// Files the fake lacks on purpose: kernel-build-dependent statistics.
	emulated := func(n string) bool {
		if fakeNames[n] {
			return true
		}
		return !ignoredKernelFile(n)
	}
	kList := filterKnown(listing(t, kEntries), emulated)
	fList := listing(t, fEntries)
	// The fake follows Linux 6.18 (the host); older kernels (the VM's
	// Debian 6.1) lack some files or give them other modes.
	versioned := func(l []string) []string {
		return slices.DeleteFunc(l, func(n string) bool { _, ok := versionDependent[strings.Fields(n)[0]]; return ok })
	}
	kList, fList = versioned(kList), versioned(fList)
	if diff := cmp.Diff(kList, fList); diff != "" {
		t.Errorf("files of a fresh child (-kernel +fake):\n%s", diff)
	}
	for _, e := range fEntries {
		name := "child/" + e.Name()
		if _, ok := versionDependent[e.Name()]; ok || !stableContent(e.Name()) {
			continue
		}
		want, kerr := kfs.ReadFile(name)
		got, ferr := ffs.ReadFile(name)
		if (kerr == nil) != (ferr == nil) {
			t.Errorf("read %s: kernel %v, fake %v", name, kerr, ferr)
			continue
		}
		if string(want) != string(got) {
			t.Errorf("read %s: fake %q, kernel %q", name, got, want)
		}
	}
}

// versionDependent are files whose presence or mode depends on the
// kernel version or the machine, with why.
var versionDependent = map[string]string{
	"cgroup.stat.local":               "added after 6.1",
	"cpu.stat.local":                  "added after 6.1",
	"cpuset.cpus.exclusive":           "added in 6.7",
	"cpuset.cpus.isolated":            "added in 6.8",
	"cpuset.cpus.exclusive.effective": "added in 6.7",
	"memory.peak":                     "writable (to reset it) since 6.12",
	"hugetlb.1GB.current":             "only where the CPU has 1 GB pages",
	"hugetlb.1GB.events":              "only where the CPU has 1 GB pages",
	"hugetlb.1GB.max":                 "only where the CPU has 1 GB pages",
}

// ignoredKernelFile reports files the fake leaves out on purpose.
func ignoredKernelFile(n string) bool {
	for _, p := range []string{"memory.", "io.", "hugetlb.", "rdma.", "misc.", "irq.", "cpu.uclamp", "cpuset.cpus.exclusive"} {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return false
}

// stableContent reports files whose content depends only on the
// cgroup's configuration.
func stableContent(n string) bool {
	switch {
	case strings.HasSuffix(n, ".stat"), strings.HasSuffix(n, ".stat.local"), strings.HasSuffix(n, ".pressure"),
		strings.HasSuffix(n, ".current"), strings.HasSuffix(n, ".peak"), strings.HasSuffix(n, ".events"),
		strings.HasSuffix(n, ".events.local"), strings.Contains(n, "numa_stat"):
		return false
	}
	return true
}

// TestRootFilesMatchKernel compares the interface files of the
// hierarchy root (only read, never written) with a fake root offering
// the same controllers.
func TestRootFilesMatchKernel(t *testing.T) {
	mnt, err := kerneltest.Mountpoint()
	if err != nil {
		t.Skipf("kernel test needs a cgroup2 mount: %v", err)
	}
	entries, err := os.ReadDir(mnt)
	if err != nil {
		t.Fatalf("list %s: %v", mnt, err)
	}
	ctrls, err := os.ReadFile(filepath.Join(mnt, "cgroup.controllers"))
	if err != nil {
		t.Fatal(err)
	}
	ffs := fakefs.New(fakefs.WithControllers(strings.Fields(string(ctrls))...))
	fEntries, err := ffs.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fakeNames := map[string]bool{}
	for _, e := range fEntries {
		fakeNames[e.Name()] = true
	}
	var files []fs.DirEntry
	for _, e := range entries {
		if !e.IsDir() { // other software's cgroups are not ours to list
			files = append(files, e)
		}
	}
	kList := filterKnown(listing(t, files), func(n string) bool { return fakeNames[n] || !ignoredKernelFile(n) })
	drop := func(l []string) []string {
		return slices.DeleteFunc(l, func(n string) bool {
			_, ok := versionDependent[strings.Fields(n)[0]]
			return ok || strings.HasSuffix(n, "/")
		})
	}
	if diff := cmp.Diff(drop(kList), drop(listing(t, fEntries))); diff != "" {
		t.Errorf("files of the root (-kernel +fake):\n%s", diff)
	}
}

// kernelTwin opens a fresh kernel test cgroup (kernelCgroup) and returns
// it, the controllers it offers, and the fakefs options for a fake of the
// same machine: the same controllers and, where cpuset is offered, the
// kernel cgroup's effective CPUs and memory nodes.
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
	opts = []fakefs.Option{fakefs.WithControllers(ctrls...)}
	if slices.Contains(ctrls, "cpuset") {
		for _, f := range []struct {
			file string
			opt  func(cgroupfs.CPUSet) fakefs.Option
		}{{"cpuset.cpus.effective", fakefs.WithCPUs}, {"cpuset.mems.effective", fakefs.WithMems}} {
			data, err := kfs.ReadFile(f.file)
			if err != nil {
				t.Fatal(err)
			}
			set, err := cgroupfs.ParseCPUSet(string(data))
			if err != nil {
				t.Fatal(err)
			}
			opts = append(opts, f.opt(set))
		}
	}
	return kfs, ctrls, opts
}
