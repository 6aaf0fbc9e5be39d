package fakefs_test

import (
	"errors"
	"slices"
	"syscall"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/fakefs"
)

// trickyInputs exercise the kernel's parsers: bases, signs, overflow,
// whitespace, NUL bytes, booleans, controller lists and CPU lists.
var trickyInputs = []string{
	"", "0", "1", "2", "-1", "-0", "+1", "--1", "-+1", "0x1", "0X1", "0x", "01", "08", "1\n", "1\n\n", " 1 ", "\t1",
	"1 1", "1\x00junk", "\x001", "max", "max\n", " max ", "MAX", "maxx", "2147483647", "2147483648", "-2147483648",
	"4294967296", "99999999999999999999", "y", "n", "on", "off", "of", "yes", "Y", "+cpuset", "-cpuset", "+hugetlb",
	"+memory +bogus", "+cpuset\t+cpu", "+cpu  +cpuset", "+pids -pids", "-pids +pids", "+perf_event", "0-1", "0,1",
	"0-0", "1-0", "N", "all", "ALL", "0-1:1/2", "0-1:2/1", "0-N:1/1", ",", ",0", "0,", "0 1", "0-", "-0", "0--1",
	"0-1-2", "0:1/2", "0-1:1", "0-1:1/0", "0-65535", "65535", "domain threaded", "threaded\x00x", "\n", " ",
	"threaded", "1K", "1k", "4096", "4097", "1M", "0x1000", "010000", "1G", "1X", "  1M ", "1M\n",
	"18446744073709551615", "18446744073709551616", "1E", "16E", "4194304", "4194305", "2M", "3M", "9223372036854775807",
	"100", "3", "10000", "10001", "50", "-20", "19", "20", "-21", "7", "0",
}

// TestParsersMatchKernel writes every tricky input to the parsing files
// of a fresh child cgroup on the kernel and on a fake offering the same
// controllers, one after another, and compares the errno of each write
// and what the file reads afterwards. cgroup.procs is left out (a
// random pid names someone else's process on the kernel; the
// conformance suite checks it with its own tasks).
func TestParsersMatchKernel(t *testing.T) {
	kfs, ctrls, opts := kernelTwin(t)
	files := []string{"cgroup.max.depth", "cgroup.max.descendants", "cgroup.freeze", "cgroup.kill", "cgroup.subtree_control", "cgroup.pressure", "cgroup.type"}
	if slices.Contains(ctrls, "cpuset") {
		files = append(files, "cpuset.cpus", "cpuset.mems")
	}
	for ctrl, knobs := range map[string][]string{
		"memory":  {"memory.max", "memory.min", "memory.low", "memory.high", "memory.swap.max", "memory.oom.group"},
		"pids":    {"pids.max"},
		"cpu":     {"cpu.idle", "cpu.weight", "cpu.weight.nice"},
		"hugetlb": {"hugetlb.2MB.max"},
	} {
		if slices.Contains(ctrls, ctrl) {
			files = append(files, knobs...)
		}
	}
	slices.Sort(files)
	ffs := fakefs.New(opts...)
	for _, fsys := range []cgroupfs.FS{kfs, ffs} {
		for _, c := range ctrls {
			if err := fsys.WriteFile("cgroup.subtree_control", []byte("+"+c)); err != nil {
				t.Fatalf("enable %s: %v", c, err)
			}
		}
		if err := fsys.Mkdir("p"); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		_ = kfs.WriteFile("p/cgroup.subtree_control", []byte("\n"))
		for _, c := range ctrls {
			_ = kfs.WriteFile("p/cgroup.subtree_control", []byte("-"+c))
		}
		_ = kfs.WriteFile("p/cgroup.freeze", []byte("0"))
		_ = kfs.Rmdir("p")
		for _, c := range slices.Backward(ctrls) {
			_ = kfs.WriteFile("cgroup.subtree_control", []byte("-"+c))
		}
	})
	errnoOf := func(err error) string {
		if err == nil {
			return "ok"
		}
		var e syscall.Errno
		if errors.As(err, &e) {
			return e.Error()
		}
		return err.Error()
	}
	compared := 0
	for _, file := range files {
		for _, in := range trickyInputs {
			name := "p/" + file
			kerr := kfs.WriteFile(name, []byte(in))
			ferr := ffs.WriteFile(name, []byte(in))
			compared++
			if errnoOf(kerr) != errnoOf(ferr) {
				t.Errorf("write %q to %s: kernel %s, fake %s", in, file, errnoOf(kerr), errnoOf(ferr))
			}
			// Every file, not only the one written: some share state
			// (cpu.weight and cpu.weight.nice, cpu.idle).
			for _, other := range files {
				if other == "cgroup.kill" {
					continue
				}
				kdata, kerr := kfs.ReadFile("p/" + other)
				fdata, ferr := ffs.ReadFile("p/" + other)
				if kerr != nil || ferr != nil || string(kdata) != string(fdata) {
					t.Errorf("read %s after writing %q to %s: kernel %q (%v), fake %q (%v)", other, in, file, kdata, kerr, fdata, ferr)
				}
			}
		}
	}
	t.Logf("compared %d writes to %d files (controllers %q)", compared, len(files), ctrls)
}
