package cgtest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/fakefs"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// Every teardown failure is one warning naming the cgroup, carrying the
// error chain, and a hint that names the cause.
func TestTeardownFaultsGiveOneHintedWarningEach(t *testing.T) {
	for _, tc := range []struct {
		desc  string
		setup func(t *testing.T, f fixture)
		want  []string // substrings of the one warning
	}{{
		desc: "EACCES",
		setup: func(t *testing.T, f fixture) {
			f.fs.Fail(fakefs.OpRmdir, "test/a", errnoEACCES, -1)
		},
		want: []string{"cgroup /test/a:", "permission denied", "hint: run as root", "go test -exec 'systemd-run --user --scope -p Delegate=yes' ./..."},
	}, {
		desc: "EROFS",
		setup: func(t *testing.T, f fixture) {
			f.fs.Fail(fakefs.OpRmdir, "test/a", errnoEROFS, -1)
		},
		want: []string{"cgroup /test/a:", "read-only file system", "hint: the cgroup filesystem is mounted read-only", "container"},
	}, {
		desc: "EIO",
		setup: func(t *testing.T, f fixture) {
			f.fs.Fail(fakefs.OpRmdir, "test/a", errnoEIO, -1)
		},
		want: []string{"cgroup /test/a:", "input/output error", "hint: the cgroup is left behind", "rmdir(1)"},
	}, {
		desc: "EBUSY with live tasks that cannot be killed",
		setup: func(t *testing.T, f fixture) {
			if _, err := f.fs.Spawn("test/a"); err != nil {
				t.Fatal(err)
			}
			f.fs.Fail(fakefs.OpWrite, "test/a/cgroup.kill", errnoEIO, -1)
		},
		want: []string{"cgroup /test/a:", "teardown budget of", "device or resource busy", "kill the tasks of cgroup /test/a",
			"hint: the cgroup still has live tasks (pid 4194305 (a fake task: its pid is above the kernel's limit"},
	}, {
		desc: "EBUSY from a child cgroup that cannot be removed",
		setup: func(t *testing.T, f fixture) {
			if err := f.fs.Mkdir("test/a/x"); err != nil {
				t.Fatal(err)
			}
			f.fs.Fail(fakefs.OpRmdir, "test/a/x", errnoEACCES, -1)
		},
		want: []string{"cgroup /test/a:", "device or resource busy", "remove child cgroup /test/a/x", "permission denied",
			"hint: the cgroup still has child cgroups (/test/a/x)"},
	}, {
		desc: "tasks that never finish exiting",
		setup: func(t *testing.T, f fixture) {
			pid, err := f.fs.Spawn("test/a")
			assert.NilError(t, err)
			if err := f.fs.SetLinger(pid, -1); err != nil {
				t.Fatal(err)
			}
		},
		want: []string{"cgroup /test/a:", "teardown budget of", "populated 1", "hint: teardown used up its budget"},
	}, {
		desc: "listing the cgroup refused",
		setup: func(t *testing.T, f fixture) {
			// A child the group did not make: the first rmdir says
			// EBUSY, so teardown must list the cgroup.
			if err := f.fs.Mkdir("test/a/other"); err != nil {
				t.Fatal(err)
			}
			f.fs.Fail(fakefs.OpReadDir, "test/a", errnoEACCES, -1)
		},
		want: []string{"cgroup /test/a:", "permission denied", "hint: permission denied (the error says what to try)", "Delegate=yes"},
	}, {
		desc: "a cgroupfs call that never returns",
		setup: func(t *testing.T, f fixture) {
			t.Cleanup(f.fs.Hang(fakefs.OpRmdir, "test/a"))
		},
		want: []string{"cgroup /test/a:", "while a cgroupfs operation had not returned", "hint: teardown used up its budget"},
	}, {
		desc: "a cgroupfs call that never returns under a sched_ext scheduler",
		setup: func(t *testing.T, f fixture) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "root"), 0o755); err != nil {
				t.Fatal(err)
			}
			for file, text := range map[string]string{"state": "enabled\n", "root/ops": "my_sched\n"} {
				if err := os.WriteFile(filepath.Join(dir, file), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			t.Cleanup(cgtest.SetSchedExtDir(dir))
			t.Cleanup(f.fs.Hang(fakefs.OpRmdir, "test/a"))
		},
		want: []string{"hint: teardown used up its budget", `sched_ext's state is enabled, with the BPF scheduler "my_sched"`},
	}} {
		t.Run(tc.desc, func(t *testing.T) {
			for _, strict := range []bool{false, true} {
				t.Run(fmt.Sprintf("strict=%v", strict), func(t *testing.T) {
					f := newFixture(t)
					rec := newRecorder(t.Name())
					opts := []cgtest.Option{cgtest.Budget(50 * time.Millisecond)}
					if strict {
						opts = append(opts, cgtest.Strict())
					}
					g := cgtest.NewGroup(rec, f.mgr, opts...)
					if err := g.AddCgroupNoCpuset("a"); err != nil {
						t.Fatal(err)
					}
					if err := g.AddCgroupNoCpuset("fine"); err != nil {
						t.Fatal(err)
					}
					tc.setup(t, f)
					rec.Finish()
					got, other := rec.Logs(), rec.Errors()
					if strict {
						got, other = other, got
					}
					if len(got) != 1 || len(other) != 0 {
						t.Fatalf("got %d warnings and %d other reports, want exactly one warning (strict=%v):\n%s\n--\n%s",
							len(got), len(other), strict, strings.Join(got, "\n"), strings.Join(other, "\n"))
					}
					for _, w := range tc.want {
						assert.Check(t, is.Contains(got[0], w), "warning lacks %q:\n%s", w, got[0])
					}
					for _, c := range f.cgroups() {
						if c == "test/fine" {
							t.Errorf("test/fine was not removed: a failure stopped the teardown early")
						}
					}
				})
			}
		})
	}
}

// Faults that only slow the teardown down (a failing watch, unreadable
// cgroup.events, a refused kill followed by the task's own exit) do not
// keep it from removing everything.
func TestTeardownSurvivesDegradedFilesystem(t *testing.T) {
	for _, tc := range []struct {
		desc  string
		fault func(f fixture)
	}{
		{"watch fails", func(f fixture) { f.fs.Fail(fakefs.OpWatch, "test/a/cgroup.events", errnoEIO, -1) }},
		{"cgroup.events unreadable", func(f fixture) { f.fs.Fail(fakefs.OpRead, "test/a/cgroup.events", errnoEIO, -1) }},
		{"cgroup.kill refused once", func(f fixture) { f.fs.Fail(fakefs.OpWrite, "test/a/cgroup.kill", errnoEIO, 1) }},
		{"rmdir busy a few times", func(f fixture) { f.fs.Fail(fakefs.OpRmdir, "test/a", errnoEBUSY, 5) }},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			f := newFixture(t)
			rec := newRecorder(t.Name())
			g := cgtest.NewGroup(rec, f.mgr, cgtest.Budget(time.Second))
			if err := g.AddCgroupNoCpuset("a"); err != nil {
				t.Fatal(err)
			}
			pid, err := f.fs.Spawn("test/a")
			assert.NilError(t, err)
			if err := f.fs.SetLinger(pid, 1); err != nil {
				t.Fatal(err)
			}
			tc.fault(f)
			rec.Finish()
			for _, c := range f.cgroups() {
				if c != "test" {
					t.Errorf("%s is left after teardown; warnings:\n%s", c, strings.Join(rec.Logs(), "\n"))
				}
			}
		})
	}
}

// Root's skip for a missing controller never tells a test to write the
// cgroup2 mount's root, which is host-wide; elsewhere it says which
// file enables it.
func TestMissingControllerHintNeverAdvisesWritingTheMountRoot(t *testing.T) {
	mnt, err := cgroupfs.Mountpoint()
	if err != nil {
		t.Skipf("no cgroup2 mount to compare with: %v", err)
	}
	atRoot := cgtest.MissingControllerHint(mnt, "cpuset")
	assert.Assert(t, is.Contains(atRoot, "not a test's"))
	assert.Assert(t, !strings.Contains(atRoot, "write"), "hint for the mount root advises a write: %q", atRoot)
	assert.Assert(t, is.Contains(cgtest.MissingControllerHint(mnt+"/mine", "cpuset"), `write "+cpuset" to its cgroup.subtree_control`))
}
