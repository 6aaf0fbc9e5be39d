package cgtest_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/fakefs"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// Where the parent offers no cpuset (a hybrid host's cgroup v2), adding
// a cgroup costs its mkdirs and one read of the parent's
// cgroup.controllers: no second mkdir, no listing. Where it offers
// cpuset, the Manager enables it in every level above the new cgroup,
// as ktstr's create_cgroup does.
func TestAddCgroupCostsOneMkdirPerLevel(t *testing.T) {
	for _, tc := range []struct {
		desc        string
		controllers []string
		wantMkdirs  []string
		wantCpuset  []string // cgroups whose subtree_control must list cpuset
	}{{
		desc:        "no cpuset",
		controllers: []string{"memory"},
		wantMkdirs:  []string{"mkdir test/a: ok", "mkdir test/a/b: ok"},
	}, {
		desc:        "cpuset offered",
		controllers: []string{"cpuset", "memory"},
		wantCpuset:  []string{"test", "test/a"},
	}} {
		t.Run(tc.desc, func(t *testing.T) {
			fsys := fakefs.New(fakefs.WithControllers(tc.controllers...))
			mgr := cgroupfs.NewManager(fsys, "test")
			if err := mgr.Setup(false); err != nil {
				t.Fatal(err)
			}
			rec := newRecorder(t.Name())
			g := cgtest.NewGroup(rec, mgr, cgtest.Strict())
			before := len(fsys.Log())
			if err := g.AddCgroupNoCpuset("a/b"); err != nil {
				t.Fatal(err)
			}
			if tc.wantMkdirs != nil {
				assert.Check(t, is.DeepEqual(opsOf(fsys, before, fakefs.OpMkdir), tc.wantMkdirs), "mkdirs")
				if got := opsOf(fsys, before, fakefs.OpReadDir); len(got) != 0 {
					t.Errorf("listings %q, want none", got)
				}
			}
			for _, c := range tc.wantCpuset {
				data, err := fsys.ReadFile(c + "/cgroup.subtree_control")
				if err != nil || !hasWord(string(data), "cpuset") {
					t.Errorf("%s/cgroup.subtree_control = %q, %v; want cpuset enabled", c, data, err)
				}
			}
			rec.Finish()
			if got := append(rec.Logs(), rec.Errors()...); len(got) != 0 {
				t.Errorf("teardown reported %q, want silence", got)
			}
			if cg := (fixture{fs: fsys}).cgroups(); len(cg) != 1 {
				t.Errorf("cgroups after teardown %q, want only test", cg)
			}
		})
	}
}

// opsOf returns the log lines of operation op from entry from on.
func opsOf(fsys *fakefs.FS, from int, op fakefs.Op) []string {
	var out []string
	for _, e := range fsys.Log()[from:] {
		if e.Op == op {
			out = append(out, e.String())
		}
	}
	return out
}

func hasWord(s, w string) bool { return slices.Contains(strings.Fields(s), w) }
