package cgroupfs_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/google/go-cmp/cmp"
	"gotest.tools/v3/assert"
)

// hostileNames are the seeds of the name fuzzers: escapes, malformed
// names, the planted symlinks' names, and the odd names cgroupfs
// accepts (long, unicode, spaces).
var hostileNames = []string{
	"..", "../x", "/abs", "a/../../b", "a//b", "a/", ".", "x\x00y", "x\ny",
	strings.Repeat("n", 300), "ünïcødé/名前", "with space", " ", "x\ty",
	"link", "link/x", "link/../x", "abslink/x", "filelink", "a/link/x",
	"../outside/sentinel", "../../outside", "a/b/c", "cgroup.procs", "...", "-",
}

// pastTime is the mtime every sentinel gets: a write would move it.
var pastTime = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

// world is a temporary directory standing in for a machine: root is the
// directory an OSFS serves (a plain directory), outside holds sentinels
// that nothing may change, and root holds symlinks that lead outside.
type world struct {
	base, root, outside string
}

func plantWorld(t *testing.T) world {
	t.Helper()
	base := t.TempDir()
	w := world{base: base, root: filepath.Join(base, "root"), outside: filepath.Join(base, "outside")}
	must := func(err error) {
		t.Helper()
		assert.NilError(t, err)
	}
	must(os.MkdirAll(filepath.Join(w.outside, "dir"), 0o755))
	must(os.WriteFile(filepath.Join(w.outside, "sentinel"), []byte("never change me\n"), 0o644))
	must(os.WriteFile(filepath.Join(w.outside, "dir", "cpuset.cpus"), []byte("0-3\n"), 0o644))
	must(os.WriteFile(filepath.Join(base, "beside-root"), []byte("sibling\n"), 0o644))
	must(os.MkdirAll(filepath.Join(w.root, "p"), 0o755))
	// Symlinks planted inside the root, relative and absolute, to a
	// directory and to a file outside: no name may pass through them.
	must(os.Symlink("../outside", filepath.Join(w.root, "link")))
	must(os.Symlink(w.outside, filepath.Join(w.root, "abslink")))
	must(os.Symlink("../outside/sentinel", filepath.Join(w.root, "filelink")))
	must(os.Symlink("../../outside", filepath.Join(w.root, "p", "link")))
	must(os.Symlink("../../outside/dir", filepath.Join(w.root, "p", "a")))
	for _, p := range []string{
		filepath.Join(w.outside, "sentinel"), filepath.Join(w.outside, "dir", "cpuset.cpus"),
		filepath.Join(w.outside, "dir"), w.outside, filepath.Join(base, "beside-root"),
	} {
		must(os.Chtimes(p, pastTime, pastTime))
	}
	return w
}

// snapshotTree describes every entry beneath dir without following
// symlinks: type, mode, size, mtime, content of files, target of links.
func snapshotTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := make(map[string]string)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		desc := fmt.Sprintf("%v size=%d", info.Mode(), info.Size())
		if rel == "root" {
			// What the names made inside the root may stay (a plain
			// directory with a file in it cannot be rmdir'ed), and on
			// tmpfs (the VM's /tmp) a directory's size counts its
			// entries: the root's own size may change.
			desc = info.Mode().String()
		}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			desc += " -> " + target
		case info.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" mtime=%v %q", info.ModTime().UTC(), data)
		case info.IsDir() && rel != ".":
			// A directory's mtime moves when an entry is made or removed
			// in it; the root itself may change, so only below it.
			if !strings.HasPrefix(p, dir+"/root") {
				desc += fmt.Sprintf(" mtime=%v", info.ModTime().UTC())
			}
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", dir, err)
	}
	return out
}

func addSeeds(f *testing.F) {
	for _, n := range hostileNames {
		f.Add(n)
	}
}

// escapes reports whether the name, cleaned, leaves the directory it is
// resolved against (or is absolute): every FS must refuse it.
func escapes(name string) bool {
	c := path.Clean(name)
	return strings.HasPrefix(name, "/") || c == ".." || strings.HasPrefix(c, "../")
}

// FuzzOSFSNames gives hostile names straight to an OSFS serving a plain
// directory, bypassing the Manager's name check: the second fence
// (openat2 beneath the root, no symlinks) alone must keep everything
// outside the root unchanged, and no planted symlink may be followed or
// replaced.
func FuzzOSFSNames(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, name string) {
		w := plantWorld(t)
		before := snapshotTree(t, w.base)
		fsys, err := cgroupfs.Open(w.root, cgroupfs.PlainDirectory())
		assert.NilError(t, err)
		defer fsys.Close()
		errMkdir := fsys.Mkdir(name)
		_ = fsys.WriteFile(name, []byte("1"))
		_ = fsys.WriteFile(name+"/cpuset.cpus", []byte("0"))
		_, _ = fsys.ReadFile(name)
		_, _ = fsys.ReadDir(name)
		if d, err := fsys.OpenDir(name); err == nil {
			d.Close()
		}
		if wt, err := fsys.Watch(name); err == nil {
			wt.Close()
		}
		_ = fsys.Rmdir(name + "/cpuset.cpus")
		_ = fsys.Rmdir(name)
		if escapes(name) && errMkdir == nil {
			t.Errorf("Mkdir(%q) succeeded, though the name leaves the root", name)
		}
		after := snapshotTree(t, w.base)
		// Inside the root, only what the names made may differ: compare
		// everything outside it, and the planted links.
		if diff := cmp.Diff(outsideRoot(before), outsideRoot(after)); diff != "" {
			t.Errorf("name %q changed something outside the root or a planted link (-before +after):\n%s", name, diff)
		}
	})
}

// outsideRoot keeps the entries outside the root, and the symlinks in it.
func outsideRoot(snap map[string]string) map[string]string {
	out := make(map[string]string)
	for p, d := range snap {
		if !strings.HasPrefix(p, "root/") || strings.Contains(d, " -> ") {
			out[p] = d
		}
	}
	return out
}

// FuzzManagerNames drives the Manager (as a cgroup name, and as its
// parent) and a cgtest.Group with a hostile name on a plain directory:
// a name the check refuses changes nothing at all; a name it accepts
// acts only beneath the parent, and after RemoveCgroup, CleanupAll and
// the group's teardown the root is as before; outside it nothing ever
// changes.
func FuzzManagerNames(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, name string) {
		w := plantWorld(t)
		before := snapshotTree(t, w.base)
		fsys, err := cgroupfs.Open(w.root, cgroupfs.PlainDirectory())
		assert.NilError(t, err)
		defer fsys.Close()
		mgr := cgroupfs.NewManager(fsys, "p")

		err = mgr.CreateCgroup(name)
		if errors.Is(err, cgroupfs.ErrInvalidName) {
			if !errors.Is(err, fs.ErrInvalid) {
				t.Errorf("CreateCgroup(%q) = %v: ErrInvalidName without fs.ErrInvalid", name, err)
			}
			// A name Path accepts but CheckName refuses ("cgroup.procs")
			// may still be looked up and removed (someone else made it);
			// one Path refuses is refused by every method.
			if _, perr := mgr.Path(name); perr == nil {
				if cerr := cgroupfs.CheckName(name); !errors.Is(cerr, cgroupfs.ErrInvalidName) {
					t.Errorf("CreateCgroup(%q) = %v, but Path and CheckName accept it", name, err)
				}
			} else {
				for what, err := range map[string]error{
					"SetCpuset":    mgr.SetCpuset(name, cgroupfs.NewCPUSet(0)),
					"RemoveCgroup": mgr.RemoveCgroup(name),
					"DrainTasks":   mgr.DrainTasks(name),
					"KillTasks":    mgr.KillTasks(name),
				} {
					if !errors.Is(err, cgroupfs.ErrInvalidName) {
						t.Errorf("%s(%q) = %v, want ErrInvalidName like Path", what, name, err)
					}
				}
			}
			if diff := cmp.Diff(before, snapshotTree(t, w.base)); diff != "" {
				t.Errorf("refused name %q changed the tree (-before +after):\n%s", name, diff)
			}
		} else {
			if escapes(name) {
				t.Errorf("CreateCgroup accepted %q, which leaves the parent", name)
			}
			if err == nil {
				if serr := mgr.SetCpuset(name, cgroupfs.NewCPUSet(0)); serr != nil {
					t.Errorf("SetCpuset(%q) after CreateCgroup succeeded: %v", name, serr)
				}
				_ = mgr.ClearCpuset(name)
				// A plain directory keeps the file SetCpuset made; the
				// kernel's interface files go with the cgroup.
				if rerr := os.Remove(filepath.Join(w.root, "p", name, "cpuset.cpus")); rerr != nil {
					t.Errorf("the cpuset.cpus SetCpuset wrote is not at p/%s: %v", name, rerr)
				}
			}
			_ = mgr.RemoveCgroup(name)
			_ = mgr.CleanupAll()
			if diff := cmp.Diff(before, snapshotTree(t, w.base)); diff != "" {
				t.Errorf("after CreateCgroup(%q) = %v, RemoveCgroup and CleanupAll, the tree differs (-before +after):\n%s", name, err, diff)
			}
		}

		// The same name through the guard.
		ft := &cgtest.Recorder{TestName: "FuzzManagerNames"}
		g := cgtest.NewGroup(ft, mgr, cgtest.Budget(time.Second))
		_ = g.AddCgroupNoCpuset(name)
		ft.Finish()
		if len(ft.Errors()) != 0 {
			t.Errorf("the group reported errors for %q: %q", name, ft.Errors())
		}
		if diff := cmp.Diff(before, snapshotTree(t, w.base)); diff != "" {
			t.Errorf("after the group's teardown of %q the tree differs (-before +after):\n%s\nwarnings: %q", name, diff, ft.Logs())
		}

		// The name as the Manager's parent: Setup makes it, CleanupAll
		// keeps it, and nothing happens outside the root.
		pm := cgroupfs.NewManager(fsys, name)
		serr := pm.Setup(false)
		_ = pm.CleanupAll()
		if escapes(name) && serr == nil {
			t.Errorf("Setup with the parent %q succeeded", name)
		}
		if serr == nil && name != "." {
			// Remove the parent's levels, deepest first.
			lv := strings.Split(name, "/")
			for i := len(lv); i > 0; i-- {
				_ = fsys.Rmdir(strings.Join(lv[:i], "/"))
			}
		}
		if diff := cmp.Diff(outsideRoot(before), outsideRoot(snapshotTree(t, w.base))); diff != "" {
			t.Errorf("the parent %q changed something outside the root (-before +after):\n%s", name, diff)
		}
	})
}
