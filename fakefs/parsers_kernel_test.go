package fakefs_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/internal/kerneltest"
	"gotest.tools/v3/assert"
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

// knobInputs are the shapes the controller knobs take: cpu.max quota
// and period, io weights and device lines, rdma and misc limits,
// reclaim options, partitions and PSI triggers.
var knobInputs = []string{
	"max 100000", "max 0", "max 999", "max 1000", "max 1000000", "max 1000001", "999 100000", "1000 100000",
	"0 100000", "50000 999", "50000 1000", "50000 1000001", "50000 100000 1", "50000 100000 junk", "50000",
	"-1 100000", "50000 -1", "50000  100000", "1000000000000 100000", "18446744073709551615 100000",
	"4000 1000", "1000junk 100000", "17592186044415 1000000", "17592186044416 1000000", "18446744073709551",
	"default 100", "default 50", "default 0", "default 10001", "default", "default50", " default 50",
	"8:0 100", "8:0 default", "8:0 rbps=1", "7:0 rbps=max", "8:0", "8:0\n", "8: 0 rbps=1", "8:0x rbps=1", "a:b c", "x:y",
	"rbps=1", "default 1", "default 10000", "10000 ", "1\t", "4294967297",
	"mlx4_0 hca_handle=2", "dev hca_handle=", "dev hca_handle=m", "dev hca_handle=12abc", "dev hca_handle=-1",
	"dev hca_handle=99999999999", "dev hca_object=max", "dev bogus=1", "dev hca_handle", "res_a 1", "sev max",
	"sev 99999999999999999999", "sev -1", "sev",
	"1M swappiness=10", "0K", "0 swappiness=10", "0 swappiness=201", "0 swappiness=0x10", "0 swappiness=+1",
	"0 swappiness=10x", "0  swappiness=1", "0 bogus",
	"member", "root", "isolated", "root\n", "Root", "isolated ", "invalid",
	"some 150000 1000000", "full 1 500000", "some 1 499999", "some 0 1000000", "some 1000001 1000000",
	"some 1 10000001", "some 1 10000000", "some 1 2000000", "some 1 1000000 junk", "some150000 1000000",
	"  some 1 1000000", "SOME 1 1000000", "some 1", "some 4294967297 1000000", "full 1 1000000\n",
}

// TestParsersMatchKernel writes every tricky input and every knob shape
// to every writable file of a fresh child cgroup (one cgroup per file,
// the inputs one after another), on the kernel and on the fake of the
// same kernel and machine, and compares the errno of each write, what
// every readable knob of the same controller reads afterwards (some
// share state: cpu.weight, cpu.weight.nice and cpu.idle; cpu.max and
// cpu.max.burst), and the cgroup's file list (cgroup.pressure hides
// files).
func TestParsersMatchKernel(t *testing.T) {
	kfs, ctrls, opts := kernelTwin(t)
	ffs := fakeBase(t, opts, ctrls)
	for _, fsys := range []cgroupfs.FS{kfs, ffs} {
		for _, c := range ctrls {
			if err := fsys.WriteFile("cgroup.subtree_control", []byte("+"+c)); err != nil {
				t.Fatalf("enable %s: %v", c, err)
			}
		}
	}
	files, err := kerneltest.WritableFiles(ffs, "probe")
	assert.NilError(t, err)
	t.Cleanup(func() {
		for _, c := range slices.Backward(ctrls) {
			_ = kfs.WriteFile("cgroup.subtree_control", []byte("-"+c))
		}
	})
	inputs := append(slices.Clone(trickyInputs), knobInputs...)
	compared := 0
	for i, file := range files {
		dir := fmt.Sprintf("p%d", i)
		for _, fsys := range []cgroupfs.FS{kfs, ffs} {
			if err := fsys.Mkdir(dir); err != nil {
				t.Fatal(err)
			}
		}
		prefix, _, _ := strings.Cut(file, ".")
		related := []string{file}
		fentries, err := ffs.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range fentries {
			info, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			// Knobs of one controller can share state; statistics and
			// usage files cannot change from a write.
			if strings.HasPrefix(e.Name(), prefix+".") && e.Name() != file && slices.Contains(files, e.Name()) && info.Mode().Perm()&0o400 != 0 {
				related = append(related, e.Name())
			}
		}
		for _, in := range inputs {
			kerr := kfs.WriteFile(dir+"/"+file, []byte(in))
			ferr := ffs.WriteFile(dir+"/"+file, []byte(in))
			compared++
			if errnoName(kerr) != errnoName(ferr) {
				t.Errorf("write %q to %s: kernel %s, fake %s", in, file, errnoName(kerr), errnoName(ferr))
			}
			for _, other := range related {
				kdata, kerr := kfs.ReadFile(dir + "/" + other)
				fdata, ferr := ffs.ReadFile(dir + "/" + other)
				if errnoName(kerr) != errnoName(ferr) || comparable(other, kdata) != comparable(other, fdata) {
					t.Errorf("read %s after writing %q to %s: kernel %q (%s), fake %q (%s)", other, in, file, kdata, errnoName(kerr), fdata, errnoName(ferr))
				}
			}
		}
		kn, kerr := fileNames(kfs, dir)
		fn, ferr := fileNames(ffs, dir)
		if errnoName(kerr) != errnoName(ferr) || !slices.Equal(kn, fn) {
			t.Errorf("files of a cgroup after writes to %s: kernel %v (%v), fake %v (%v)", file, kn, kerr, fn, ferr)
		}
		for _, fsys := range []cgroupfs.FS{kfs, ffs} {
			_ = fsys.WriteFile(dir+"/cgroup.freeze", []byte("0"))
			_ = fsys.WriteFile(dir+"/cgroup.pressure", []byte("1"))
			for _, c := range slices.Backward(ctrls) {
				_ = fsys.WriteFile(dir+"/cgroup.subtree_control", []byte("-"+c))
			}
			if err := fsys.Rmdir(dir); err != nil {
				t.Errorf("rmdir %s: %v", dir, err)
			}
		}
	}
	t.Logf("compared %d writes to %d files (controllers %q)", compared, len(files), ctrls)
}
