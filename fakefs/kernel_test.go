package fakefs_test

import (
	"fmt"
	"io/fs"
	"os"
	"regexp"
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
	ffs := fakefs.New(kerneltest.ThisMachine(t).FakeOptions()...)
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
// same kernel and machine (kerneltest.ThisMachine). fakeBase builds the fake's
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
	opts = kerneltest.ThisMachine(t).FakeOptions()
	return kfs, ctrls, opts
}

// fakeBase returns the fake's counterpart of kernelTwin's test cgroup
// (kerneltest.FakeTwin), seen from inside as cgroupfs.Open sees the
// kernel's.
func fakeBase(t *testing.T, opts []fakefs.Option, ctrls []string) subFS {
	t.Helper()
	return subFS{kerneltest.FakeTwin(t, opts, ctrls), "t"}
}
