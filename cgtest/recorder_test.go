package cgtest_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/fakefs"
)

// recorder is a fake cgtest.T: it records what cgtest reports and runs
// the registered cleanups, last in first out, when finish is called, as
// testing does when a test ends.
type recorder struct {
	name string

	mu       sync.Mutex
	cleanups []func()
	logs     []string
	errs     []string
	skips    []string
}

var _ cgtest.T = (*recorder)(nil)

func newRecorder(name string) *recorder { return &recorder{name: name} }

func (r *recorder) Helper()      {}
func (r *recorder) Name() string { return r.name }

func (r *recorder) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

func (r *recorder) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) Skipf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.skips = append(r.skips, fmt.Sprintf(format, args...))
}

// finish runs the cleanups LIFO, including any registered meanwhile.
func (r *recorder) finish() {
	for {
		r.mu.Lock()
		if len(r.cleanups) == 0 {
			r.mu.Unlock()
			return
		}
		f := r.cleanups[len(r.cleanups)-1]
		r.cleanups = r.cleanups[:len(r.cleanups)-1]
		r.mu.Unlock()
		f()
	}
}

func (r *recorder) Logs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.logs...)
}

func (r *recorder) Errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}

// fixture is a fakefs with a Manager whose parent "test" exists.
type fixture struct {
	fs  *fakefs.FS
	mgr *cgroupfs.Manager
}

func newFixture(t *testing.T, opts ...cgroupfs.ManagerOption) fixture {
	t.Helper()
	fsys := fakefs.New()
	mgr := cgroupfs.NewManager(fsys, "test", opts...)
	if err := mgr.Setup(false); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	return fixture{fs: fsys, mgr: mgr}
}

// cgroups returns every cgroup path of the fakefs but the root.
func (f fixture) cgroups() []string {
	var out []string
	for _, c := range f.fs.Snapshot().Cgroups {
		if c.Path != "." {
			out = append(out, c.Path)
		}
	}
	return out
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

// plainOps hides every method of a Manager but those of cgroupfs.Ops,
// as a user's own Ops would.
type plainOps struct{ cgroupfs.Ops }

func mustNotContain(t *testing.T, what string, lines []string, sub string) {
	t.Helper()
	for _, l := range lines {
		if strings.Contains(l, sub) {
			t.Errorf("%s contain %q:\n%s", what, sub, strings.Join(lines, "\n"))
			return
		}
	}
}
