package fakefs_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
)

// partitionScripts are sequences of cpuset partition changes, each
// step "mkdir <cgroup>", "rmdir <cgroup>" or "w <file> <data>", relative
// to the test cgroup (".") whose parent is the hierarchy root. They
// cover a valid root and isolated partition, the return to member, and
// the invalid states with their reasons, one case at a time; the random
// sequences of TestPartitionSequencesMatchKernel mix them.
var partitionScripts = [][]string{
	{"mkdir a", "w a/cpuset.cpus.partition root", "w a/cpuset.cpus.partition isolated", "w a/cpuset.cpus.partition member",
		"w a/cpuset.cpus 1", "w a/cpuset.cpus.partition root", "w a/cpuset.cpus.partition member", "rmdir a"},
	{"w cpuset.cpus 1", "w cpuset.cpus.partition root", "mkdir a", "w a/cpuset.cpus 1",
		"w a/cpuset.cpus.partition root", "w a/cpuset.cpus.partition isolated", "w a/cpuset.cpus.partition member",
		"mkdir b", "w b/cpuset.cpus 1", "w a/cpuset.cpus 1", "w a/cpuset.cpus.partition root", "w a/cpuset.cpus.partition member",
		"rmdir a", "rmdir b", "w cpuset.cpus.partition member", "w cpuset.cpus \n"},
	{"w cpuset.cpus 0-1", "w cpuset.cpus.partition root", "w cpuset.cpus.partition member", "w cpuset.cpus 1",
		"w cpuset.cpus.partition isolated", "w cpuset.cpus.partition member", "w cpuset.cpus \n"},
	{"mkdir a", "mkdir b", "w a/cpuset.cpus 1", "w b/cpuset.cpus 1", "w a/cpuset.cpus.partition root",
		"w a/cpuset.cpus.partition member", "rmdir a", "rmdir b"},
	{"w cpuset.cpus 1", "w cpuset.cpus.partition isolated", "mkdir a", "w a/cpuset.cpus 1", "w a/cpuset.cpus.partition root",
		"w a/cpuset.cpus.partition isolated", "w a/cpuset.cpus.partition member", "rmdir a", "w cpuset.cpus.partition member", "w cpuset.cpus \n"},
}

// TestPartitionsMatchKernel runs partitionScripts on the kernel and on
// the fake of the same kernel and machine, and after every step compares
// the errno and the cpuset files of every cgroup of the script. It needs
// the cpuset controller with at least two CPUs (the VM).
func TestPartitionsMatchKernel(t *testing.T) {
	kfs, ctrls, opts := kernelTwin(t)
	if !slices.Contains(ctrls, "cpuset") {
		t.Skip("needs the cpuset controller on cgroup v2 (run in the VM: go test -exec cgvm)")
	}
	ffs := fakeBase(t, opts, ctrls)
	cpus, err := kfs.ReadFile("cpuset.cpus.effective")
	if err != nil {
		t.Fatal(err)
	}
	if set, err := cgroupfs.ParseCPUSet(string(cpus)); err != nil || !set.Equal(cgroupfs.NewCPUSet(0, 1)) {
		t.Skipf("the scripts are written for CPUs 0-1 (cgvm's default); this machine has %q", cpus)
	}
	for _, fsys := range []cgroupfs.FS{kfs, ffs} {
		if err := fsys.WriteFile("cgroup.subtree_control", []byte("+cpuset")); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = kfs.WriteFile("cgroup.subtree_control", []byte("-cpuset")) })
	files := []string{"cpuset.cpus", "cpuset.cpus.effective", "cpuset.cpus.partition", "cpuset.cpus.exclusive", "cpuset.cpus.exclusive.effective"}
	state := func(fsys cgroupfs.FS) string {
		var b strings.Builder
		for _, dir := range []string{".", "a", "b"} {
			for _, f := range files {
				data, err := fsys.ReadFile(join(dir, f))
				if err == nil {
					b.WriteString(join(dir, f) + "=" + strings.TrimSpace(string(data)) + " ")
				}
			}
		}
		return b.String()
	}
	steps := 0
	for i, script := range partitionScripts {
		for _, step := range script {
			op, arg, _ := strings.Cut(step, " ")
			var run func(cgroupfs.FS) error
			switch op {
			case "mkdir":
				run = func(fsys cgroupfs.FS) error { return fsys.Mkdir(arg) }
			case "rmdir":
				run = func(fsys cgroupfs.FS) error { return fsys.Rmdir(arg) }
			default:
				file, data, _ := strings.Cut(arg, " ")
				run = func(fsys cgroupfs.FS) error { return fsys.WriteFile(file, []byte(data)) }
			}
			kerr, ferr := run(kfs), run(ffs)
			steps++
			if errnoName(kerr) != errnoName(ferr) {
				t.Errorf("script %d, %q: kernel %v, fake %v", i, step, kerr, ferr)
			}
			if k, f := state(kfs), state(ffs); k != f {
				t.Errorf("script %d, after %q:\nkernel %s\nfake   %s", i, step, k, f)
			}
		}
	}
	t.Logf("%d steps agree", steps)
}
