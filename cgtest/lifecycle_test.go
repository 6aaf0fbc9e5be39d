package cgtest_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/fakefs"
	"github.com/google/go-cmp/cmp"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// Each subtest gets its own group and its own teardown, which is done
// when t.Run returns, before the next subtest starts.
func TestSubtestsTearDownTheirOwn(t *testing.T) {
	f := newFixture(t)
	layouts := []struct {
		name   string
		layout cgtest.Layout
	}{
		{"flat", cgtest.Layout{{Name: "cg_0", CPUs: cgroupfs.NewCPUSet(0, 1)}, {Name: "cg_1", CPUs: cgroupfs.NewCPUSet(2, 3)}}},
		{"nested", cgtest.Layout{{Name: "a/b", CPUs: cgroupfs.NewCPUSet(1)}, {Name: "a", CPUs: cgroupfs.NewCPUSet(0, 1)}}},
		{"inherit", cgtest.Layout{{Name: "x"}, {Name: "x/y", Mems: cgroupfs.NewCPUSet(0)}}},
	}
	for _, tc := range layouts {
		t.Run(tc.name, func(t *testing.T) {
			g := cgtest.NewGroup(t, f.mgr, cgtest.Strict())
			assert.NilError(t, g.Apply(tc.layout), "Apply")
			for _, s := range tc.layout {
				if s.CPUs.IsEmpty() {
					continue
				}
				got, err := f.fs.ReadFile("test/" + s.Name + "/cpuset.cpus")
				if err != nil || strings.TrimSpace(string(got)) != s.CPUs.String() {
					t.Errorf("cpuset.cpus of %s = %q, %v; want %q", s.Name, got, err, s.CPUs)
				}
			}
		})
		if diff := cmp.Diff([]string{"test"}, f.cgroups()); diff != "" {
			t.Errorf("cgroups after subtest %s (-want +got):\n%s", tc.name, diff)
		}
	}
}

// Parallel subtests share one fakefs and each tears down only its own.
func TestParallelSubtests(t *testing.T) {
	f := newFixture(t)
	t.Run("group", func(t *testing.T) {
		for i := range 8 {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				g := cgtest.NewGroup(t, f.mgr, cgtest.Strict())
				name := fmt.Sprintf("p%d", i)
				if err := g.Apply(cgtest.Layout{{Name: name + "/w", CPUs: cgroupfs.NewCPUSet(i % 4)}, {Name: name + "/v"}}); err != nil {
					t.Fatal(err)
				}
				if _, err := f.fs.Spawn("test/" + name + "/w"); err != nil {
					t.Fatal(err)
				}
			})
		}
	})
	assert.Check(t, is.DeepEqual(f.cgroups(), []string{"test"}), "cgroups after the parallel subtests")
}

// helperEnv selects the body TestHelperProcess runs in a child process.
const helperEnv = "CGTEST_HELPER_PROCESS"

// TestHelperProcess is not a test: the tests below run it in a child
// process, where it may panic or call t.FailNow for real. A cleanup
// registered before the group's (so it runs after them) prints what is
// left on the fakefs.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("runs only as the child of TestPanicAndFailNowStillTearDown")
	}
	fsys := fakefs.New()
	mgr := cgroupfs.NewManager(fsys, ".")
	t.Cleanup(func() {
		fmt.Printf("LEFT %q\n", fsys.Snapshot().Paths())
	})
	g := cgtest.NewGroup(t, mgr, cgtest.Strict())
	if err := g.Apply(cgtest.Layout{{Name: "a/b/c", CPUs: cgroupfs.NewCPUSet(1)}, {Name: "d"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := fsys.Spawn("a/b/c"); err != nil {
		t.Fatal(err)
	}
	switch mode {
	case "panic":
		panic("the test body panicked")
	case "failnow":
		t.FailNow()
	case "fatal-in-subtest":
		t.Run("sub", func(t *testing.T) {
			sg := cgtest.NewGroup(t, mgr, cgtest.Strict())
			if err := sg.AddCgroupNoCpuset("a/sub"); err != nil {
				t.Error(err)
			}
			t.Fatal("the subtest gave up")
		})
	}
}

func TestPanicAndFailNowStillTearDown(t *testing.T) {
	for _, tc := range []struct{ mode, mark string }{
		{"panic", "panic: the test body panicked"},
		{"failnow", "--- FAIL: TestHelperProcess"},
		{"fatal-in-subtest", "the subtest gave up"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), helperEnv+"="+tc.mode)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			if err == nil {
				t.Fatalf("the helper process succeeded, want a failure:\n%s", out.String())
			}
			assert.Check(t, is.Contains(out.String(), tc.mark), "the helper's output lacks %q:\n%s", tc.mark, out.String())
			assert.Check(t, is.Contains(out.String(), `LEFT []`), "the helper left cgroups behind (want only the root, %q):\n%s", `LEFT []`, out.String())
		})
	}
}
