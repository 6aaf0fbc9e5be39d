package cgtest

// In package cgtest for moveToLeaf, which Root only reaches on a real
// delegated cgroup that holds the test process; here a fakefs task
// stands in for the test process.

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/fakefs"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

var scopeControllers = []string{"cpuset", "cpu", "memory", "pids"}

// delegatedScope returns a fakefs whose "user.scope" is offered
// scopeControllers and holds one task, the stand-in for the test process,
// and the Delegation Root would find there.
func delegatedScope(t *testing.T) (*fakefs.FS, int, Delegation) {
	t.Helper()
	f := fakefs.New()
	for _, c := range scopeControllers {
		if err := f.WriteFile("cgroup.subtree_control", []byte("+"+c)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Mkdir("user.scope"); err != nil {
		t.Fatal(err)
	}
	pid, err := f.Spawn("user.scope")
	assert.NilError(t, err)
	d := Delegation{
		Dir:     "/sys/fs/cgroup/user.scope",
		Offered: scopeControllers,
		Leaf:    "/sys/fs/cgroup/user.scope/" + LeafName(Owner{PID: pid, StartTime: 1}),
		Inside:  true,
	}
	return f, pid, d
}

func fields(t *testing.T, f *fakefs.FS, name string) []string {
	t.Helper()
	data, err := f.ReadFile(name)
	assert.NilError(t, err)
	return strings.Fields(string(data))
}

// The kernel refuses the controllers while the test process is in the
// delegated cgroup; once it has moved itself into its leaf, the cgroup
// enables them all and a per-test root beside the leaf is offered them.
func TestMoveToLeafEnablesWhatTheDelegatedCgroupOffers(t *testing.T) {
	f, pid, d := delegatedScope(t)
	assert.ErrorIs(t, f.WriteFile("user.scope/cgroup.subtree_control", []byte("+memory")), unix.EBUSY, "enabling memory in a cgroup that holds a task")
	rec := &Recorder{}
	moved, advice := moveToLeaf(rec, d, f, "user.scope", pid)
	if !moved || advice != "" {
		t.Fatalf("moveToLeaf = %v, %q; want moved with nothing to advise; logs: %q", moved, advice, rec.Logs())
	}
	leaf := "user.scope/" + LeafName(Owner{PID: pid, StartTime: 1})
	assert.Check(t, is.DeepEqual(fields(t, f, leaf+"/cgroup.procs"), []string{strconv.Itoa(pid)}), "the leaf holds the test process")
	assert.Check(t, is.DeepEqual(fields(t, f, "user.scope/cgroup.subtree_control"), scopeControllers), "the delegated cgroup enables")
	assert.NilError(t, f.Mkdir("user.scope/cgguard-1-1-TestX-1"))
	assert.Check(t, is.DeepEqual(fields(t, f, "user.scope/cgguard-1-1-TestX-1/cgroup.controllers"), scopeControllers), "a per-test root beside the leaf is offered")
	if logs := rec.Logs(); len(logs) != 1 || !strings.Contains(logs[0], "moved this test process") {
		t.Errorf("logs = %q, want one line saying the test process moved", logs)
	}
}

// A move the kernel refuses leaves nothing behind and says why, with the
// errno kept in the message.
func TestMoveToLeafRefusedLeavesNothing(t *testing.T) {
	f, pid, d := delegatedScope(t)
	f.Fail(fakefs.OpWrite, "user.scope/*/cgroup.procs", unix.EACCES, 1)
	rec := &Recorder{}
	moved, advice := moveToLeaf(rec, d, f, "user.scope", pid)
	if moved || !strings.Contains(advice, unix.EACCES.Error()) || !strings.Contains(advice, d.Leaf) {
		t.Fatalf("moveToLeaf = %v, %q; want not moved, naming %s and %q", moved, advice, d.Leaf, unix.EACCES.Error())
	}
	entries, err := f.ReadDir("user.scope")
	assert.NilError(t, err)
	for _, e := range entries {
		if e.IsDir() {
			t.Errorf("user.scope holds %s after a refused move, want no leaf", e.Name())
		}
	}
	if got := fields(t, f, "user.scope/cgroup.subtree_control"); len(got) != 0 {
		t.Errorf("the delegated cgroup enables %q after a refused move, want nothing", got)
	}
}

// What per-test roots get, and the advice, follow who is in the
// delegated cgroup.
func TestDelegationControllersAndAdvice(t *testing.T) {
	base := Delegation{Dir: "/cg/user.scope", Offered: scopeControllers, Enabled: []string{"pids"}, Inside: true}
	alone, shared, moved := base, base, base
	shared.Others = []int{fakefs.FirstPid}
	moved.Inside, moved.Moved = false, true
	for _, tc := range []struct {
		name   string
		d      Delegation
		want   []string
		advice []string
	}{
		{"alone: moves and gets all", alone, scopeControllers, nil},
		{"moved already: what is enabled", moved, []string{"pids"}, nil},
		{"shared: only what is enabled, and why", shared, []string{"pids"}, []string{
			"/cg/user.scope also holds pid " + strconv.Itoa(fakefs.FirstPid),
			`"cpuset cpu memory"`, cgroupfs.DelegateCommand,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.d.Controllers(); !slices.Equal(got, tc.want) {
				t.Errorf("Controllers() = %q, want %q", got, tc.want)
			}
			advice := tc.d.Advice()
			if len(tc.advice) == 0 && advice != "" {
				t.Errorf("Advice() = %q, want none", advice)
			}
			for _, w := range tc.advice {
				assert.Check(t, is.Contains(advice, w), "Advice() = %q, want it to contain %q", advice, w)
			}
		})
	}
}
