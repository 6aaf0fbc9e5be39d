package fakefs_test

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/fakefs"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// fuzzSeeds are the hostile and odd names the fuzzers start from.
var fuzzSeeds = []string{
	"..", "../x", "/abs", "a/../../b", "a//b", "a/", ".", "x\x00y", "x\ny",
	strings.Repeat("n", 300), "ünïcødé/名前", "with space", " ", "x\ty",
	"../outside/keep", "../outside", "a/b/c", "cgroup.procs", "cgroup.kill",
	"cpuset.cpus", "...", "-",
}

// fuzzWorld is a fakefs with a cgroup "outside" the Manager's parent
// "p" that nothing may touch: a child holding a task, a cpuset, a
// limit.
func fuzzWorld(t *testing.T) (*fakefs.FS, *cgroupfs.Manager) {
	t.Helper()
	fsys := fakefs.New()
	mgr := cgroupfs.NewManager(fsys, "p")
	if err := mgr.Setup(false); err != nil {
		t.Fatal(err)
	}
	for _, step := range []error{
		fsys.Mkdir("outside"),
		fsys.WriteFile("outside/cgroup.subtree_control", []byte("+cpuset")),
		fsys.Mkdir("outside/keep"),
		fsys.WriteFile("outside/keep/cpuset.cpus", []byte("1-2")),
		fsys.WriteFile("outside/keep/cgroup.max.descendants", []byte("5")),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}
	if _, err := fsys.Spawn("outside/keep"); err != nil {
		t.Fatal(err)
	}
	return fsys, mgr
}

// notUnder returns the snapshot without p and what lies beneath it.
func notUnder(s fakefs.Snapshot, p string) fakefs.Snapshot {
	var out fakefs.Snapshot
	for _, c := range s.Cgroups {
		if c.Path != p && !strings.HasPrefix(c.Path, p+"/") {
			out.Cgroups = append(out.Cgroups, c)
		}
	}
	return out
}

// FuzzFakefsNames gives a hostile name to fakefs directly, to the
// Manager (as a cgroup name and as its parent) and to a cgtest.Group:
// an invalid path fails with EINVAL and changes nothing; whatever the
// name, nothing outside the Manager's parent changes; and after
// CleanupAll and the group's teardown nothing is left beneath it.
func FuzzFakefsNames(f *testing.F) {
	for _, n := range fuzzSeeds {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, name string) {
		fsys, mgr := fuzzWorld(t)
		before := fsys.Snapshot()

		// The fake alone: every operation on an invalid path is EINVAL.
		raw := "p/" + name
		errs := map[string]error{"Mkdir": fsys.Mkdir(raw)}
		_, errs["ReadFile"] = fsys.ReadFile(raw)
		_, errs["ReadDir"] = fsys.ReadDir(raw)
		errs["WriteFile"] = fsys.WriteFile(raw+"/cgroup.procs", []byte("0"))
		if w, err := fsys.Watch(raw); err == nil {
			w.Close()
		} else {
			errs["Watch"] = err
		}
		errs["Rmdir"] = fsys.Rmdir(raw)
		// The kernel takes any byte but '/' and NUL in a name, so the
		// rules are fs.ValidPath's, less its UTF-8 check, plus NUL.
		if !fs.ValidPath(strings.ToValidUTF8(raw, "\uFFFD")) || strings.IndexByte(raw, 0) >= 0 {
			want := unix.EINVAL
			if len(raw) >= 4096 {
				want = unix.ENAMETOOLONG
			}
			for op, err := range errs {
				if !errors.Is(err, want) {
					t.Errorf("%s(%q) = %v, want %v for an invalid path", op, raw, err, want)
				}
			}
		}
		if diff := cmp.Diff(notUnder(before, "p"), notUnder(fsys.Snapshot(), "p")); diff != "" {
			t.Errorf("fakefs calls on %q changed what lies outside p (-before +after):\n%s", raw, diff)
		}

		// The Manager, with a task in the cgroup when it could be made.
		err := mgr.CreateCgroup(name)
		if err == nil {
			if _, err := fsys.Spawn("p/" + name); err != nil {
				t.Errorf("Spawn into p/%s, made by CreateCgroup: %v", name, err)
			}
			if err := mgr.SetCpuset(name, cgroupfs.NewCPUSet(1)); err != nil {
				t.Errorf("SetCpuset(%q): %v", name, err)
			}
			_ = mgr.ClearCpuset(name)
			_ = mgr.KillTasks(name)
		} else if !errors.Is(err, cgroupfs.ErrInvalidName) && !errors.Is(err, fs.ErrExist) && !errors.Is(err, unix.EINVAL) {
			t.Errorf("CreateCgroup(%q) = %v, want success, ErrInvalidName, EEXIST or EINVAL", name, err)
		}
		_ = mgr.RemoveCgroup(name)
		if err := mgr.CleanupAll(); err != nil {
			t.Errorf("CleanupAll after %q: %v", name, err)
		}
		if diff := cmp.Diff(before, fsys.Snapshot()); diff != "" {
			t.Errorf("after CreateCgroup(%q) = %v, RemoveCgroup and CleanupAll the fake differs (-before +after):\n%s", name, err, diff)
		}

		// The guard.
		ft := &cgtest.Recorder{TestName: "FuzzFakefsNames"}
		g := cgtest.NewGroup(ft, mgr, cgtest.Budget(time.Second))
		if g.AddCgroupNoCpuset(name) == nil {
			if _, err := fsys.Spawn("p/" + name); err != nil {
				t.Errorf("Spawn into p/%s, made by the group: %v", name, err)
			}
		}
		ft.Finish()
		if len(ft.Errors())+len(ft.Logs()) != 0 {
			t.Errorf("the group reported for %q: %q %q", name, ft.Errors(), ft.Logs())
		}
		if diff := cmp.Diff(notUnder(before, "p"), notUnder(fsys.Snapshot(), "p")); diff != "" {
			t.Errorf("the group with %q changed what lies outside p (-before +after):\n%s", name, diff)
		}
		for _, c := range fsys.Snapshot().Cgroups {
			if strings.HasPrefix(c.Path, "p/") {
				t.Errorf("the group's teardown left %s for the name %q", c.Path, name)
			}
		}

		// The name as a Manager's parent, below p: nothing happens
		// outside p, and once its levels are removed the fake is as
		// before.
		pm := cgroupfs.NewManager(fsys, "p/"+name)
		serr := pm.Setup(false)
		_ = pm.CleanupAll()
		// Setup stops at the first level it cannot make, like mkdir -p,
		// and keeps the levels above (fakefs refuses a name that is not
		// valid UTF-8, "0/\xbd", after making "0"): remove whatever
		// exists, deepest first.
		lv := strings.Split(name, "/")
		for i := len(lv); i > 0; i-- {
			err := fsys.Rmdir("p/" + strings.Join(lv[:i], "/"))
			if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, unix.ENOTDIR) && !errors.Is(err, unix.EINVAL) {
				t.Errorf("remove the parent level p/%q (Setup: %v): %v", strings.Join(lv[:i], "/"), serr, err)
			}
		}
		if diff := cmp.Diff(before, fsys.Snapshot()); diff != "" {
			t.Errorf("the parent p/%q changed the fake (-before +after):\n%s", name, diff)
		}
	})
}

// oddNames are names the kernel is asked about, with the errno it gave
// on Linux 6.18 (0: mkdir succeeded). cgroupfs has no NAME_MAX: only a
// path of PATH_MAX (4096) bytes or more fails.
var oddNames = []struct {
	name string
	want syscall.Errno
}{
	{strings.Repeat("x", 255), 0},
	{strings.Repeat("x", 256), 0},
	{strings.Repeat("x", 300), 0},
	{strings.Repeat("x", 4095), 0},
	{"with space", 0},
	{" ", 0},
	{"x\ty", 0},
	{"ünïcødé名前", 0},
	{`back\slash`, 0},
	{"a:b", 0},
	{".hidden", 0},
	{"...", 0},
	{"-", 0},
	{"x\ny", unix.EINVAL},
	{"cgroup.procs", unix.EEXIST},
}

// TestOddNamesMatchKernel makes each odd name with mkdir on the real
// cgroupfs (under a test cgroup of its own) and on fakefs: both must
// give the same answer, the one measured.
func TestOddNamesMatchKernel(t *testing.T) {
	dir := kernelCgroup(t)
	kfs, err := cgroupfs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer kfs.Close()
	ffs := fakefs.New()
	for _, tc := range oddNames {
		label := tc.name
		if len(label) > 20 {
			label = fmt.Sprintf("%d bytes", len(label))
		}
		kerr := kfs.Mkdir(tc.name)
		ferr := ffs.Mkdir(tc.name)
		if got := errnoOf(kerr); got != tc.want {
			t.Errorf("kernel mkdir %q = %v, want errno %d (%v)", label, kerr, tc.want, tc.want)
		}
		if got := errnoOf(ferr); got != tc.want {
			t.Errorf("fakefs mkdir %q = %v, want errno %d (%v), as the kernel", label, ferr, tc.want, tc.want)
		}
		if kerr == nil {
			if err := kfs.Rmdir(tc.name); err != nil {
				t.Errorf("kernel rmdir %q: %v", label, err)
			}
		}
		if ferr == nil {
			if err := ffs.Rmdir(tc.name); err != nil {
				t.Errorf("fakefs rmdir %q: %v", label, err)
			}
		}
	}
	// PATH_MAX: both refuse a 4096-byte name (ENAMETOOLONG). Any byte
	// but '/' and NUL is fine in a name, UTF-8 or not; a NUL cannot be
	// carried by a system call, and OSFS refuses it with EINVAL.
	for _, tc := range []struct {
		name string
		want syscall.Errno
	}{
		{strings.Repeat("x", 4096), unix.ENAMETOOLONG},
		{"\xbd\xff", 0},
		{"a\x00b", unix.EINVAL},
	} {
		kerr, ferr := kfs.Mkdir(tc.name), ffs.Mkdir(tc.name)
		if kerr == nil {
			_ = kfs.Rmdir(tc.name)
		}
		if ferr == nil {
			_ = ffs.Rmdir(tc.name)
		}
		if errnoOf(kerr) != tc.want || errnoOf(ferr) != tc.want {
			t.Errorf("mkdir of a %d-byte odd name: kernel (through OSFS) %v, fakefs %v; want errno %d (%v) from both", len(tc.name), kerr, ferr, tc.want, tc.want)
		}
	}
}

func errnoOf(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	if err != nil {
		return unix.EIO
	}
	return 0
}
