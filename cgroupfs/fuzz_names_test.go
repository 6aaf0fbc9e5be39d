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
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
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
	assert.NilError(t, err, "snapshot %s", dir)
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
		assert.Check(t, !escapes(name) || errMkdir != nil, "Mkdir(%q) succeeded, though the name leaves the root", name)
		after := snapshotTree(t, w.base)
		// Inside the root, only what the names made may differ: compare
		// everything outside it, and the planted links.
		assert.Check(t, is.DeepEqual(outsideRoot(before), outsideRoot(after)), "name %q changed something outside the root or a planted link", name)
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
			assert.Check(t, is.ErrorIs(err, fs.ErrInvalid), "CreateCgroup(%q): ErrInvalidName without fs.ErrInvalid", name)
			// A name Path accepts but CheckName refuses ("cgroup.procs")
			// may still be looked up and removed (someone else made it);
			// one Path refuses is refused by every method.
			if _, perr := mgr.Path(name); perr == nil {
				assert.Check(t, is.ErrorIs(cgroupfs.CheckName(name), cgroupfs.ErrInvalidName), "CreateCgroup(%q) = %v, but Path and CheckName accept it", name, err)
			} else {
				for what, err := range map[string]error{
					"SetCpuset":    mgr.SetCpuset(name, cgroupfs.NewCPUSet(0)),
					"RemoveCgroup": mgr.RemoveCgroup(name),
					"DrainTasks":   mgr.DrainTasks(name),
					"KillTasks":    mgr.KillTasks(name),
				} {
					assert.Check(t, is.ErrorIs(err, cgroupfs.ErrInvalidName), "%s(%q), refused like Path", what, name)
				}
			}
			assert.Check(t, is.DeepEqual(before, snapshotTree(t, w.base)), "refused name %q changed the tree", name)
		} else {
			assert.Check(t, !escapes(name), "CreateCgroup accepted %q, which leaves the parent", name)
			if err == nil {
				assert.Check(t, mgr.SetCpuset(name, cgroupfs.NewCPUSet(0)), "SetCpuset(%q) after CreateCgroup succeeded", name)
				_ = mgr.ClearCpuset(name)
				// A plain directory keeps the file SetCpuset made; the
				// kernel's interface files go with the cgroup.
				assert.Check(t, os.Remove(filepath.Join(w.root, "p", name, "cpuset.cpus")), "the cpuset.cpus SetCpuset wrote is not at p/%s", name)
			}
			_ = mgr.RemoveCgroup(name)
			_ = mgr.CleanupAll()
			assert.Check(t, is.DeepEqual(before, snapshotTree(t, w.base)), "after CreateCgroup(%q) = %v, RemoveCgroup and CleanupAll, the tree differs", name, err)
		}

		// The same name through the guard.
		ft := &cgtest.Recorder{TestName: "FuzzManagerNames"}
		g := cgtest.NewGroup(ft, mgr, cgtest.Budget(time.Second))
		_ = g.AddCgroupNoCpuset(name)
		ft.Finish()
		assert.Check(t, is.Len(ft.Errors(), 0), "the group reported errors for %q", name)
		assert.Check(t, is.DeepEqual(before, snapshotTree(t, w.base)), "after the group's teardown of %q the tree differs; warnings: %q", name, ft.Logs())

		// The name as the Manager's parent: Setup makes it, CleanupAll
		// keeps it, and nothing happens outside the root.
		pm := cgroupfs.NewManager(fsys, name)
		serr := pm.Setup(false)
		_ = pm.CleanupAll()
		assert.Check(t, !escapes(name) || serr != nil, "Setup with the parent %q succeeded", name)
		if serr == nil && name != "." {
			// Remove the parent's levels, deepest first.
			lv := strings.Split(name, "/")
			for i := len(lv); i > 0; i-- {
				_ = fsys.Rmdir(strings.Join(lv[:i], "/"))
			}
		}
		assert.Check(t, is.DeepEqual(outsideRoot(before), outsideRoot(snapshotTree(t, w.base))), "the parent %q changed something outside the root", name)
	})
}
