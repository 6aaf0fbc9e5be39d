package cgtest_test

import (
	"strings"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/fakefs"
	"gotest.tools/v3/assert"
)

// recorder is the fake T of these tests: cgtest.Recorder, which runs
// the registered cleanups when Finish is called, as testing does when a
// test ends.
type recorder = cgtest.Recorder

func newRecorder(name string) *recorder { return &cgtest.Recorder{TestName: name} }

// fixture is a fakefs with a Manager whose parent "test" exists.
type fixture struct {
	fs  *fakefs.FS
	mgr *cgroupfs.Manager
}

func newFixture(t *testing.T, opts ...cgroupfs.ManagerOption) fixture {
	t.Helper()
	fsys := fakefs.New()
	mgr := cgroupfs.NewManager(fsys, "test", opts...)
	assert.NilError(t, mgr.Setup(false), "Setup")
	return fixture{fs: fsys, mgr: mgr}
}

// cgroups returns every cgroup path of the fakefs but the root.
func (f fixture) cgroups() []string {
	return f.fs.Snapshot().Paths()
}

// ops returns the log lines of operation op, in order.
func (f fixture) ops(op fakefs.Op) []string {
	var out []string
	for _, e := range f.fs.Log() {
		if e.Op == op {
			out = append(out, e.String())
		}
	}
	return out
}

func mustNotContain(t *testing.T, what string, lines []string, sub string) {
	t.Helper()
	for _, l := range lines {
		if strings.Contains(l, sub) {
			t.Errorf("%s contain %q:\n%s", what, sub, strings.Join(lines, "\n"))
			return
		}
	}
}
