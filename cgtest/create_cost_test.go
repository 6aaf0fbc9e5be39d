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
// a cgroup costs its mkdirs, and the group's first add one read of the
// parent's cgroup.controllers: no second mkdir, no listing, no read
// for the adds after it. Where it offers cpuset, the Manager enables it
// in every level above the new cgroup, as ktstr's create_cgroup does,
// and every add looks again.
func TestAddCgroupCostsOneMkdirPerLevel(t *testing.T) {
	for _, tc := range []struct {
		desc        string
		controllers []string
		wantMkdirs  []string
		wantCpuset  []string // cgroups whose subtree_control must list cpuset
		wantReads   int      // of test/cgroup.controllers, by two adds
	}{{
		desc:        "no cpuset",
		controllers: []string{"memory"},
		wantMkdirs:  []string{"mkdir test/a: ok", "mkdir test/a/b: ok", "mkdir test/c: ok"},
		wantReads:   1,
	}, {
		desc:        "cpuset offered",
		controllers: []string{"cpuset", "memory"},
		wantCpuset:  []string{"test", "test/a"},
		wantReads:   4, // the group and CreateCgroup, each add
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
			for _, name := range []string{"a/b", "c"} {
				assert.NilError(t, g.AddCgroupNoCpuset(name))
			}
			reads := 0
			for _, e := range fsys.Log()[before:] {
				if e.Op == fakefs.OpRead && e.Path == "test/cgroup.controllers" {
					reads++
				}
			}
			assert.Check(t, is.Equal(reads, tc.wantReads), "reads of test/cgroup.controllers")
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
