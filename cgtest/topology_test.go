package cgtest_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/google/go-cmp/cmp"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func sets(lists ...string) []string { return lists }

func strs(s []cgroupfs.CPUSet) []string {
	var out []string
	for _, x := range s {
		out = append(out, x.String())
	}
	return out
}

func TestSplitAndOverlapCPUs(t *testing.T) {
	all := cgroupfs.NewCPUSet(0, 1, 2, 3, 4, 6, 7)
	for _, tc := range []struct {
		n, overlap int
		want       []string
	}{
		{1, 0, sets("0-4,6-7")},
		{2, 0, sets("0-3", "4,6-7")},
		{3, 0, sets("0-2", "3-4", "6-7")},
		{7, 0, sets("0", "1", "2", "3", "4", "6", "7")},
		{2, 1, sets("0-4", "4,6-7")},
		{3, 2, sets("0-4", "3-4,6-7", "6-7")},
	} {
		got, err := cgtest.OverlappingCPUs(all, tc.n, tc.overlap)
		if err != nil {
			t.Errorf("OverlappingCPUs(%s, %d, %d): %v", all, tc.n, tc.overlap, err)
			continue
		}
		if diff := cmp.Diff(tc.want, strs(got)); diff != "" {
			t.Errorf("OverlappingCPUs(%s, %d, %d) (-want +got):\n%s", all, tc.n, tc.overlap, diff)
		}
		if tc.overlap == 0 {
			split, _ := cgtest.SplitCPUs(all, tc.n)
			if diff := cmp.Diff(tc.want, strs(split)); diff != "" {
				t.Errorf("SplitCPUs(%s, %d) (-want +got):\n%s", all, tc.n, diff)
			}
		}
	}
	for _, tc := range []struct{ n, overlap int }{{0, 0}, {8, 0}, {-1, 0}, {2, -1}, {4, 3}} {
		if got, err := cgtest.OverlappingCPUs(all, tc.n, tc.overlap); err == nil {
			t.Errorf("OverlappingCPUs(%s, %d, %d) = %v, want an error", all, tc.n, tc.overlap, strs(got))
		}
	}
	if _, err := cgtest.SplitCPUs(cgroupfs.CPUSet{}, 1); err == nil {
		t.Error("SplitCPUs of no CPU succeeded")
	}
}

func TestSpread(t *testing.T) {
	parts, err := cgtest.SplitCPUs(cgroupfs.NewCPUSet(0, 1, 2, 3), 2)
	assert.NilError(t, err)
	got := cgtest.Spread("cg_", parts)
	want := cgtest.Layout{{Name: "cg_0", CPUs: cgroupfs.NewCPUSet(0, 1)}, {Name: "cg_1", CPUs: cgroupfs.NewCPUSet(2, 3)}}
	assert.Check(t, is.DeepEqual(got, want, cmp.Comparer(func(a, b cgroupfs.CPUSet) bool { return a.Equal(b) })), "Spread")
}

// fakeSysCPU writes a sysfs CPU tree: online CPUs and, per CPU, caches
// (level, shared_cpu_list).
func fakeSysCPU(t *testing.T, online string, caches map[int][][2]string) string {
	t.Helper()
	dir := t.TempDir()
	write := func(p, s string) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "online"), online)
	for cpu, cs := range caches {
		for i, c := range cs {
			idx := filepath.Join(dir, "cpu"+string(rune('0'+cpu)), "cache", "index"+string(rune('0'+i)))
			write(filepath.Join(idx, "level"), c[0])
			write(filepath.Join(idx, "shared_cpu_list"), c[1])
		}
	}
	return dir
}

func TestLLCs(t *testing.T) {
	two := func(l2, l3 string) [][2]string { return [][2]string{{"1", "x"}, {"2", l2}, {"3", l3}} }
	dir := fakeSysCPU(t, "0-3", map[int][][2]string{
		0: two("0", "0-1"), 1: two("1", "0-1"), 2: two("2", "2-3"), 3: two("3", "2-3"),
	})
	restore := cgtest.SetSysCPU(dir)
	defer restore()
	got, err := cgtest.LLCs()
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(strs(got), sets("0-1", "2-3")), "LLCs")

	noCaches := fakeSysCPU(t, "0-1", nil)
	cgtest.SetSysCPU(noCaches)
	if _, err := cgtest.LLCs(); err == nil {
		t.Error("LLCs on a machine without cache descriptions succeeded")
	}
}

// On this machine, the LLCs cover every online CPU once.
func TestLLCsOfThisMachine(t *testing.T) {
	got, err := cgtest.LLCs()
	if err != nil {
		t.Skipf("this machine does not describe its caches: %v", err)
	}
	var union cgroupfs.CPUSet
	total := 0
	for _, s := range got {
		union = union.Union(s)
		total += s.Len()
	}
	if total != union.Len() {
		t.Errorf("LLCs %v overlap", strs(got))
	}
	t.Logf("LLCs: %v", strs(got))
}
