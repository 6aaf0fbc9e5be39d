package fakefs_test

import (
	"strings"
	"testing"

	"github.com/cgguard/cgguard/fakefs"
	"gotest.tools/v3/assert"
)

func TestWithKernelAcceptsVersionsAndReleases(t *testing.T) {
	for _, v := range []string{"6.1", "6.12", "6.18", "6.1.0-56-amd64", "6.12.117+deb13-amd64", "6.18.44-fc-v782", "6.12.0"} {
		assert.NilError(t, fakefs.CheckKernel(v), v)
		fakefs.New(fakefs.WithKernel(v)) // does not panic
	}
	for _, v := range []string{"", "6", "6.11", "6.123", "6.10.1", "5.15", "v6.1", "6.1x"} {
		err := fakefs.CheckKernel(v)
		assert.ErrorContains(t, err, "supported: 6.1, 6.12, 6.18", v)
	}
	assert.DeepEqual(t, fakefs.Kernels(), []string{"6.1", "6.12", "6.18"})
}

func TestNewPanicsOnAnUnknownKernel(t *testing.T) {
	defer func() {
		r := recover()
		err, ok := r.(error)
		assert.Assert(t, ok, "New(WithKernel(\"4.19\")) panicked with %v, want an error", r)
		assert.Assert(t, strings.Contains(err.Error(), `WithKernel("4.19")`) && strings.Contains(err.Error(), "6.12"), err)
	}()
	fakefs.New(fakefs.WithKernel("4.19"))
}

func TestDefaultKernelIs6_18(t *testing.T) {
	files := func(f *fakefs.FS) []string {
		assert.NilError(t, f.Mkdir("c"))
		entries, err := f.ReadDir("c")
		assert.NilError(t, err)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return names
	}
	assert.DeepEqual(t, files(fakefs.New()), files(fakefs.New(fakefs.WithKernel("6.18"))))
}

func TestWithHugePageSizes(t *testing.T) {
	f := fakefs.New(fakefs.WithHugePageSizes("2MB", "64KB"), fakefs.WithControllers("hugetlb"))
	assert.NilError(t, f.WriteFile("cgroup.subtree_control", []byte("+hugetlb")))
	assert.NilError(t, f.Mkdir("c"))
	for _, name := range []string{"c/hugetlb.2MB.max", "c/hugetlb.64KB.max", "c/hugetlb.64KB.rsvd.max"} {
		_, err := f.ReadFile(name)
		assert.NilError(t, err, name)
	}
	_, err := f.ReadFile("c/hugetlb.1GB.max")
	assert.ErrorContains(t, err, "no such file")
	// 64 KB pages: 100000 bytes round down to one page.
	assert.NilError(t, f.WriteFile("c/hugetlb.64KB.max", []byte("100000")))
	data, err := f.ReadFile("c/hugetlb.64KB.max")
	assert.NilError(t, err)
	assert.Equal(t, string(data), "65536\n")
	for _, bad := range []string{"2M", "1024KB", "0MB", "x"} {
		func() {
			defer func() { assert.Assert(t, recover() != nil, "WithHugePageSizes(%q) did not panic", bad) }()
			fakefs.New(fakefs.WithHugePageSizes(bad))
		}()
	}
}

func TestPSITriggersWithoutCapSysResource(t *testing.T) {
	for _, tc := range []struct {
		v       string
		without bool
		in      string
		ok      bool
	}{
		{"6.18", false, "some 150000 1000000", true},
		{"6.18", true, "some 150000 1000000", false},
		{"6.18", true, "some 150000 2000000", true},
		{"6.1", false, "some 150000 400000", false},
		{"6.12", false, "some 150000 400000", true},
	} {
		opts := []fakefs.Option{fakefs.WithKernel(tc.v)}
		if tc.without {
			opts = append(opts, fakefs.WithoutCapSysResource())
		}
		err := fakefs.New(opts...).WriteFile("cpu.pressure", []byte(tc.in))
		assert.Equal(t, err == nil, tc.ok, "%+v: %v", tc, err)
	}
}
