package cgroupfs_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/internal/kerneltest"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// plainFS returns an OSFS on a fresh temporary directory.
func plainFS(t *testing.T, opts ...cgroupfs.Option) *cgroupfs.OSFS {
	t.Helper()
	f, err := cgroupfs.Open(t.TempDir(), append([]cgroupfs.Option{cgroupfs.PlainDirectory()}, opts...)...)
	assert.NilError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}

// checkPathError fails the test unless err is an *fs.PathError for op and
// name whose chain holds want.
func checkPathError(t *testing.T, err error, op, name string, want error) {
	t.Helper()
	var pe *fs.PathError
	if !assert.Check(t, errors.As(err, &pe), "%s %q: got %v (%T), want an *fs.PathError wrapping %v", op, name, err, err, want) {
		return
	}
	assert.Check(t, is.DeepEqual([]string{pe.Op, pe.Path}, []string{op, name}), "%s %q: the error's op and path: %v", op, name, err)
	assert.Check(t, is.ErrorIs(err, want), "%s %q", op, name)
}

// names returns the sorted names of entries.
func names(entries []fs.DirEntry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	slices.Sort(out)
	return out
}

func TestOpenRefusesNonCgroup2(t *testing.T) {
	dir := t.TempDir()
	f, err := cgroupfs.Open(dir)
	if err == nil {
		f.Close()
	}
	assert.ErrorIs(t, err, cgroupfs.ErrNotCgroup2, "Open(%s) on a tmpdir without PlainDirectory", dir)
	for _, s := range []string{dir, "cgroup2 mountpoint", "/sys/fs/cgroup/unified"} {
		assert.Check(t, is.ErrorContains(err, s))
	}
	// cgguard sweep prints this error to people who cannot add an option.
	assert.Check(t, !strings.Contains(err.Error(), "PlainDirectory"), "Open error advises a Go option: %v", err)
}

func TestOpenMissingDirectory(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	_, err := cgroupfs.Open(missing, cgroupfs.PlainDirectory())
	checkPathError(t, err, "open", missing, fs.ErrNotExist)
}

func TestOpenDirIsAbsoluteAndClean(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	assert.NilError(t, os.Mkdir("sub", 0o755))
	f, err := cgroupfs.Open("./sub/", cgroupfs.PlainDirectory())
	assert.NilError(t, err)
	defer f.Close()
	assert.Check(t, is.Equal(f.Dir(), filepath.Join(dir, "sub")))
}

func TestPlainDirectoryOperations(t *testing.T) {
	f := plainFS(t)
	assert.NilError(t, f.Mkdir("a"))
	assert.NilError(t, f.Mkdir("a/b"))
	// WriteFile creates a missing file only in PlainDirectory mode, and a
	// write replaces the contents, as an interface file reflects the
	// last write.
	assert.NilError(t, f.WriteFile("a/cpuset.cpus", []byte("0-3\n")))
	assert.NilError(t, f.WriteFile("a/cpuset.cpus", []byte("1")))
	// A zero-length write changes nothing, as on cgroupfs.
	assert.NilError(t, f.WriteFile("a/cpuset.cpus", nil))
	got, err := f.ReadFile("a/cpuset.cpus")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(string(got), "1"), "ReadFile after writes %q, %q, %q", "0-3\n", "1", "")
	// Names are cleaned before use.
	got, err = f.ReadFile("a//b/../cpuset.cpus")
	assert.Check(t, err)
	assert.Check(t, is.Equal(string(got), "1"), "ReadFile(a//b/../cpuset.cpus)")

	entries, err := f.ReadDir("a")
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(names(entries), []string{"b", "cpuset.cpus"}), "ReadDir(a) names")
	for _, e := range entries {
		info, err := e.Info()
		assert.NilError(t, err, "Info of %s", e.Name())
		wantDir := e.Name() == "b"
		if e.IsDir() != wantDir || info.IsDir() != wantDir || info.Name() != e.Name() {
			t.Errorf("entry %s: IsDir %v, Info().IsDir %v, Info().Name %q; want dir=%v", e.Name(), e.IsDir(), info.IsDir(), info.Name(), wantDir)
		}
		if !wantDir {
			assert.Check(t, is.Equal(info.Size(), int64(1)), "entry %s", e.Name())
		}
	}
	root, err := f.ReadDir(".")
	assert.Check(t, err)
	assert.Check(t, is.DeepEqual(names(root), []string{"a"}), "ReadDir(.)")

	// Unhappy paths keep the errno and name the FS-relative path.
	checkPathError(t, f.Mkdir("a"), "mkdir", "a", fs.ErrExist)
	checkPathError(t, f.Mkdir("x/y"), "mkdir", "x/y", fs.ErrNotExist)
	checkPathError(t, f.Rmdir("nope"), "rmdir", "nope", unix.ENOENT)
	checkPathError(t, f.Rmdir("a"), "rmdir", "a", unix.ENOTEMPTY)
	checkPathError(t, f.Rmdir("a/cpuset.cpus"), "rmdir", "a/cpuset.cpus", unix.ENOTDIR)
	_, err = f.ReadFile("a/nope")
	checkPathError(t, err, "open", "a/nope", fs.ErrNotExist)
	_, err = f.ReadDir("a/cpuset.cpus")
	checkPathError(t, err, "readdir", "a/cpuset.cpus", unix.ENOTDIR)
	checkPathError(t, f.WriteFile("x/cpuset.cpus", []byte("1")), "write", "x/cpuset.cpus", unix.ENOENT)
	checkPathError(t, f.Rmdir("."), "rmdir", ".", unix.EINVAL)

	assert.NilError(t, f.Rmdir("a/b"))
	assert.NilError(t, os.Remove(filepath.Join(f.Dir(), "a/cpuset.cpus")))
	assert.NilError(t, f.Rmdir("a"))
}

func TestWriteFileNeedsExistingFileOnCgroupfs(t *testing.T) {
	// Outside PlainDirectory mode WriteFile never creates: cgroupfs
	// refuses it anyway (EACCES), and a typo must not become a file.
	dir := t.TempDir()
	f, err := cgroupfs.OpenAsCgroupfs(dir)
	assert.NilError(t, err)
	defer f.Close()
	checkPathError(t, f.WriteFile("cgroup.procs", []byte("1")), "write", "cgroup.procs", fs.ErrNotExist)
	_, err = os.Stat(filepath.Join(dir, "cgroup.procs"))
	assert.Check(t, is.ErrorIs(err, fs.ErrNotExist), "WriteFile without PlainDirectory created a file")
}

func TestMalformedNamesAreRefusedBeforeAnySyscall(t *testing.T) {
	f := plainFS(t)
	for _, name := range []string{"", "/", "/etc", "/tmp/x", "a\x00b", "\x00"} {
		checks := map[string]error{
			"mkdir":   f.Mkdir(name),
			"rmdir":   f.Rmdir(name),
			"write":   f.WriteFile(name, []byte("1")),
			"open":    func() error { _, err := f.ReadFile(name); return err }(),
			"readdir": func() error { _, err := f.ReadDir(name); return err }(),
			"watch":   func() error { _, err := f.Watch(name); return err }(),
		}
		for op, err := range checks {
			checkPathError(t, err, op, name, unix.EINVAL)
			assert.Check(t, is.ErrorIs(err, fs.ErrInvalid), "%s %q", op, name)
			assert.Check(t, is.ErrorContains(err, "relative to the FS root"), "%s %q: the error says how names work", op, name)
		}
		_, err := f.OpenDir(name)
		assert.Check(t, is.ErrorIs(err, unix.EINVAL), "OpenDir(%q)", name)
	}
	entries, _ := os.ReadDir(f.Dir())
	assert.Check(t, is.Len(names(entries), 0), "malformed names created entries")
}

// TestEscapesAreRefused plants symlinks in a plain directory, pointing
// outside it, and checks that no operation reaches through them or
// through "..": the outside sentinel and directory stay unchanged.
func TestEscapesAreRefused(t *testing.T) {
	outer := t.TempDir()
	sentinel := filepath.Join(outer, "sentinel")
	assert.NilError(t, os.WriteFile(sentinel, []byte("untouched"), 0o644))
	assert.NilError(t, os.Mkdir(filepath.Join(outer, "victim"), 0o755))
	rootDir := filepath.Join(outer, "root")
	assert.NilError(t, os.Mkdir(rootDir, 0o755))
	for link, target := range map[string]string{
		"rel":   "..",
		"abs":   outer,
		"file":  sentinel,
		"proc":  "/proc/self/root" + outer,
		"inner": ".", // even a symlink that stays inside is refused
	} {
		assert.NilError(t, os.Symlink(target, filepath.Join(rootDir, link)))
	}
	before, err := os.ReadDir(outer)
	assert.NilError(t, err)
	f, err := cgroupfs.Open(rootDir, cgroupfs.PlainDirectory())
	assert.NilError(t, err)
	defer f.Close()

	escapes := []string{
		"..", "../sentinel", "../victim", "../victim/x", "../new", "a/../../new",
		"rel/sentinel", "rel/victim", "rel/new", "abs/sentinel", "abs/victim", "abs/new",
		"file", "proc/sentinel", "proc/new", "inner/new", "inner/file",
		"rel", "abs", "proc",
	}
	for _, name := range escapes {
		// The last component of a symlink itself ("rel") is no escape
		// for mkdir (EEXIST) or rmdir (ENOTDIR): nothing is followed.
		harmless := map[string][]error{
			"rel":  {unix.EEXIST, unix.ENOTDIR},
			"abs":  {unix.EEXIST, unix.ENOTDIR},
			"proc": {unix.EEXIST, unix.ENOTDIR},
			"file": {unix.EEXIST, unix.ENOTDIR},
		}[name]
		refused := func(op string, err error) {
			t.Helper()
			name := name
			if op == "watch" {
				name = path.Join(name, "cgroup.events")
			}
			if err == nil {
				t.Errorf("%s %q succeeded through an escape", op, name)
				return
			}
			ok := errors.Is(err, unix.EXDEV) || errors.Is(err, unix.ELOOP)
			for _, h := range harmless {
				ok = ok || errors.Is(err, h)
			}
			if !ok {
				t.Errorf("%s %q = %v, want EXDEV or ELOOP", op, name, err)
			}
			var pe *fs.PathError
			if !errors.As(err, &pe) || pe.Path != name {
				t.Errorf("%s %q: error is not an *fs.PathError naming %q: %#v", op, name, name, err)
			}
		}
		refused("mkdir", f.Mkdir(name))
		refused("rmdir", f.Rmdir(name))
		refused("write", f.WriteFile(name, []byte("overwritten")))
		_, err := f.ReadFile(name)
		if name != "rel" && name != "abs" && name != "proc" {
			refused("read", err)
		}
		_, err = f.ReadDir(name)
		refused("readdir", err)
		d, err := f.OpenDir(name)
		if err == nil {
			d.Close()
		}
		refused("opendir", err)
		w, err := f.Watch(path.Join(name, "cgroup.events"))
		if err == nil {
			w.Close()
		}
		refused("watch", err)
	}

	data, err := os.ReadFile(sentinel)
	assert.Check(t, err)
	assert.Check(t, is.Equal(string(data), "untouched"), "sentinel outside the root")
	after, err := os.ReadDir(outer)
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(names(before), names(after)), "directory outside the root changed")
	victim, _ := os.ReadDir(filepath.Join(outer, "victim"))
	assert.Check(t, is.Len(names(victim), 0), "victim directory outside the root gained entries")
	assert.NilError(t, f.Mkdir("a"), "and the FS still works")
}

func TestEscapeErrorSaysWhy(t *testing.T) {
	f := plainFS(t)
	err := f.Mkdir("../x")
	assert.Check(t, is.ErrorIs(err, unix.EXDEV), "Mkdir(../x)")
	assert.Check(t, is.ErrorContains(err, "outside the FS root"), "Mkdir(../x)")
	assert.NilError(t, os.Symlink("/", filepath.Join(f.Dir(), "l")))
	err = f.WriteFile("l/x", []byte("1"))
	assert.Check(t, is.ErrorIs(err, unix.ELOOP), "WriteFile(l/x)")
	assert.Check(t, is.ErrorContains(err, "symlink"), "WriteFile(l/x): says a symlink is in the way")
}

// TestWriteFileTimeout blocks a write for real: opening a FIFO for writing
// blocks until a reader comes. It then releases the stuck write by opening
// the FIFO for reading, and checks the data arrived.
func TestWriteFileTimeout(t *testing.T) {
	const limit = 20 * time.Millisecond
	f := plainFS(t, cgroupfs.WithWriteTimeout(limit))
	fifo := filepath.Join(f.Dir(), "cgroup.procs")
	assert.NilError(t, unix.Mkfifo(fifo, 0o600))
	err := f.WriteFile("cgroup.procs", []byte("1234"))
	checkPathError(t, err, "write", "cgroup.procs", cgroupfs.ErrWriteTimeout)
	var te *cgroupfs.TimeoutError
	assert.Assert(t, errors.As(err, &te), "WriteFile = %v, want a *TimeoutError", err)
	assert.Check(t, is.Equal(*te, cgroupfs.TimeoutError{Path: fifo, Limit: limit}))
	assert.Check(t, os.IsTimeout(err), "os.IsTimeout(%v)", err)
	for _, s := range []string{fifo, limit.String(), "sched_ext", "WithWriteTimeout"} {
		assert.Check(t, is.ErrorContains(err, s), "timeout error")
	}

	// Release the abandoned write: it goes on and delivers its data in
	// one write; EOF comes when its goroutine has closed the fd.
	r, err := os.OpenFile(fifo, os.O_RDONLY, 0)
	assert.NilError(t, err)
	defer r.Close()
	var got []byte
	buf := make([]byte, 64)
	for {
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			break
		}
	}
	assert.Check(t, is.Equal(string(got), "1234"), "what the timed-out write delivered later")
}

func TestWriteFileWithoutTimeout(t *testing.T) {
	f := plainFS(t, cgroupfs.WithWriteTimeout(0))
	assert.NilError(t, f.WriteFile("x", []byte("1\n")))
	checkPathError(t, f.WriteFile("d/x", []byte("1")), "write", "d/x", fs.ErrNotExist)
	got, err := f.ReadFile("x")
	assert.Check(t, err)
	assert.Check(t, is.Equal(string(got), "1\n"), "ReadFile(x)")
}

func TestUseAfterClose(t *testing.T) {
	f, err := cgroupfs.Open(t.TempDir(), cgroupfs.PlainDirectory())
	assert.NilError(t, err)
	assert.NilError(t, f.Close())
	assert.Check(t, is.ErrorIs(f.Close(), fs.ErrClosed), "second Close")
	checkPathError(t, f.Mkdir("a"), "mkdir", "a", fs.ErrClosed)
	checkPathError(t, f.WriteFile("a", []byte("1")), "write", "a", fs.ErrClosed)
	_, err = f.ReadFile("a")
	checkPathError(t, err, "open", "a", fs.ErrClosed)
	_, err = f.Watch("a")
	checkPathError(t, err, "watch", "a", fs.ErrClosed)
}

// nextEvent waits for a value or the close of events, failing the test
// when neither comes before a generous deadline.
func nextEvent(t *testing.T, events <-chan struct{}) (open bool) {
	t.Helper()
	select {
	case _, ok := <-events:
		return ok
	case <-time.After(kernelWait):
		t.Fatalf("no event within %v", kernelWait)
		return false
	}
}

func TestWatchPlainDirectory(t *testing.T) {
	f := plainFS(t)
	assert.NilError(t, f.Mkdir("cg"))
	assert.NilError(t, f.WriteFile("cg/cgroup.events", []byte("populated 0\n")))
	w, err := f.Watch("cg/cgroup.events")
	assert.NilError(t, err)
	defer w.Close()
	// Several writes before anyone receives coalesce in the one slot.
	for _, s := range []string{"populated 1\n", "populated 0\n", "populated 1\n"} {
		assert.NilError(t, f.WriteFile("cg/cgroup.events", []byte(s)))
	}
	assert.Assert(t, nextEvent(t, w.Events()), "events channel closed, want a modification event")
	// Removing the file (a cgroup's files vanish with it) ends the watch.
	assert.NilError(t, os.Remove(filepath.Join(f.Dir(), "cg/cgroup.events")))
	for nextEvent(t, w.Events()) {
		// Drain any modification still in flight; the close must come.
	}
	assert.Check(t, w.Close(), "Close after the file went away")
	assert.Check(t, w.Close(), "second Close")

	_, err = f.Watch("cg/nope")
	checkPathError(t, err, "watch", "cg/nope", fs.ErrNotExist)
	_, err = f.Watch("nope/cgroup.events")
	checkPathError(t, err, "watch", "nope/cgroup.events", fs.ErrNotExist)
}

func TestWatchEndsWhenDirectoryIsRemoved(t *testing.T) {
	// A removed cgroup takes its files along without any event on them;
	// Watch learns it from the directory above. Emulate it with a
	// rename, which the plain directory allows and which leaves the
	// watched inode alive just as cgroupfs does.
	f := plainFS(t)
	assert.NilError(t, f.Mkdir("cg"))
	assert.NilError(t, f.WriteFile("cg/cgroup.events", []byte("populated 0\n")))
	w, err := f.Watch("cg/cgroup.events")
	assert.NilError(t, err)
	defer w.Close()
	assert.NilError(t, os.Rename(filepath.Join(f.Dir(), "cg"), filepath.Join(f.Dir(), "gone")))
	for nextEvent(t, w.Events()) {
	}
}

func TestWatchCloseStopsGoroutine(t *testing.T) {
	f := plainFS(t)
	assert.NilError(t, f.WriteFile("x", []byte("0")))
	w, err := f.Watch("x")
	assert.NilError(t, err)
	assert.NilError(t, w.Close())
	// Close returns only after the reader goroutine has closed the
	// channel, so this receive cannot block.
	select {
	case _, ok := <-w.Events():
		if ok {
			t.Error("a value arrived after Close, want the channel closed")
		}
	default:
		t.Error("events channel still open after Close returned")
	}
}

// --- Kernel tests: root and a cgroup2 mount; they skip with the reason
// otherwise.

func TestKernelMkdirRmdirErrnos(t *testing.T) {
	f, _ := kernelRoot(t)
	assert.NilError(t, f.Mkdir("a"))
	checkPathError(t, f.Mkdir("a"), "mkdir", "a", unix.EEXIST)
	checkPathError(t, f.Mkdir("cgroup.procs"), "mkdir", "cgroup.procs", unix.EEXIST)
	checkPathError(t, f.Mkdir("x/y"), "mkdir", "x/y", unix.ENOENT)
	assert.NilError(t, f.Mkdir("a/b"))
	// A cgroup with a child cgroup is busy, not "not empty".
	checkPathError(t, f.Rmdir("a"), "rmdir", "a", unix.EBUSY)
	checkPathError(t, f.Rmdir("a/cgroup.procs"), "rmdir", "a/cgroup.procs", unix.ENOTDIR)
	checkPathError(t, f.Rmdir("nope"), "rmdir", "nope", unix.ENOENT)
	_, err := f.ReadFile("a/cgroup.kill") // write-only
	checkPathError(t, err, "read", "a/cgroup.kill", unix.EINVAL)
	checkPathError(t, f.WriteFile("a/nope", []byte("1")), "write", "a/nope", unix.ENOENT)

	entries, err := f.ReadDir("a")
	assert.NilError(t, err)
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	assert.Check(t, is.DeepEqual(dirs, []string{"b"}), "ReadDir(a): dirs")
	assert.Check(t, is.Contains(names(entries), "cgroup.events"), "ReadDir(a): files")
	assert.NilError(t, f.Rmdir("a/b"))
	assert.NilError(t, f.Rmdir("a"))
	_, err = f.ReadDir("a")
	assert.Check(t, is.ErrorIs(err, fs.ErrNotExist), "ReadDir of a removed cgroup")
}

func TestKernelProcsWritesAndWatch(t *testing.T) {
	f, dir := kernelRoot(t)
	assert.NilError(t, f.Mkdir("w"))
	w, err := f.Watch("w/cgroup.events")
	assert.NilError(t, err)
	defer w.Close()

	cmd := kerneltest.StartSleeper(t, nil, 0)
	pid := strconv.Itoa(cmd.Process.Pid)
	// The kernel parses each write on its own: one pid per write, and a
	// zero-length write never reaches the parser.
	assert.Check(t, f.WriteFile("w/cgroup.procs", nil), "zero-length write to cgroup.procs (ignored by the kernel)")
	checkPathError(t, f.WriteFile("w/cgroup.procs", []byte("\n")), "write", "w/cgroup.procs", unix.EINVAL)
	checkPathError(t, f.WriteFile("w/cgroup.procs", []byte(pid+" "+pid)), "write", "w/cgroup.procs", unix.EINVAL)
	got, _ := f.ReadFile("w/cgroup.procs")
	assert.Assert(t, is.Len(got, 0), "rejected writes moved something: cgroup.procs reads %q", got)
	assert.NilError(t, f.WriteFile("w/cgroup.procs", []byte(pid+"\n")))
	got, err = f.ReadFile("w/cgroup.procs")
	assert.Check(t, err)
	assert.Check(t, is.Equal(string(got), pid+"\n"), "cgroup.procs")
	assert.NilError(t, waitFileLine(f, "w/cgroup.events", "populated 1", kernelWait))
	checkPathError(t, f.Rmdir("w"), "rmdir", "w", unix.EBUSY)

	// populated 1 -> 0 after cgroup.kill, seen through the watcher.
	assert.NilError(t, f.WriteFile("w/cgroup.kill", []byte("1")))
	deadline := time.After(kernelWait)
	for {
		data, err := f.ReadFile("w/cgroup.events")
		assert.NilError(t, err)
		if strings.Contains(string(data), "populated 0\n") {
			break
		}
		select {
		case _, ok := <-w.Events():
			if !ok {
				t.Fatalf("watch ended before populated 0; last read %q", data)
			}
		case <-deadline:
			t.Fatalf("no populated 0 within %v after cgroup.kill; last read %q", kernelWait, data)
		}
	}
	assert.Check(t, is.ErrorContains(cmd.Wait(), "killed"), "the sleeper after cgroup.kill")
	// The cgroup's removal ends the watch: kernfs sends nothing on the
	// file, the watch on the directory above sees the IN_DELETE.
	assert.NilError(t, f.Rmdir("w"))
	for nextEvent(t, w.Events()) {
	}
	_, err = os.Stat(path.Join(dir, "w"))
	assert.Check(t, is.ErrorIs(err, fs.ErrNotExist), "w after Rmdir")
}

// TestKernelSleeperChildrenDieWithIt checks the test helper the kernel
// tests share: a sleeper's children run in its cgroup and die with it.
func TestKernelSleeperChildrenDieWithIt(t *testing.T) {
	f, _ := kernelRoot(t)
	assert.NilError(t, f.Mkdir("s"))
	d, err := f.OpenDir("s")
	assert.NilError(t, err)
	defer d.Close()
	cmd := kerneltest.StartSleeper(t, &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(d.Fd())}, 2)
	procs, err := f.ReadFile("s/cgroup.procs")
	assert.NilError(t, err)
	pids := strings.Fields(string(procs))
	assert.Assert(t, len(pids) == 3 && slices.Contains(pids, strconv.Itoa(cmd.Process.Pid)),
		"s/cgroup.procs = %q, want the sleeper %d and its 2 children", procs, cmd.Process.Pid)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	assert.NilError(t, waitFileLine(f, "s/cgroup.events", "populated 0", kernelWait), "the sleeper's children outlived it")
}

func TestKernelWatchRootCgroupRemoval(t *testing.T) {
	f, dir := kernelRoot(t)
	assert.NilError(t, f.Mkdir("sub"))
	sub, err := cgroupfs.Open(path.Join(dir, "sub"))
	assert.NilError(t, err)
	defer sub.Close()
	// A file of the FS root itself: the holder watched is above the root.
	w, err := sub.Watch("cgroup.events")
	assert.NilError(t, err)
	defer w.Close()
	assert.NilError(t, f.Rmdir("sub"))
	for nextEvent(t, w.Events()) {
	}
}

func TestKernelOpenDirSpawnsIntoCgroup(t *testing.T) {
	f, dir := kernelRoot(t)
	assert.NilError(t, f.Mkdir("spawn"))
	d, err := f.OpenDir("spawn")
	assert.NilError(t, err)
	defer d.Close()
	assert.Check(t, is.Equal(d.Name(), path.Join(dir, "spawn")), "OpenDir name")
	cmd := kerneltest.StartSleeper(t, &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(d.Fd())}, 0)
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", cmd.Process.Pid))
	assert.NilError(t, err)
	got, err := cgroupfs.ParseProcCgroup(strings.NewReader(string(data)))
	assert.NilError(t, err)
	mnt, err := cgroupfs.Mountpoint()
	assert.NilError(t, err)
	assert.Check(t, is.Equal(got, strings.TrimPrefix(path.Join(dir, "spawn"), mnt)), "child's cgroup")
	procs, err := f.ReadFile("spawn/cgroup.procs")
	assert.Check(t, err)
	assert.Check(t, is.Equal(string(procs), fmt.Sprintf("%d\n", cmd.Process.Pid)), "spawn/cgroup.procs, the child's pid")
	_ = cmd.Process.Kill()
	_ = cmd.Wait()

	_, err = f.OpenDir("spawn/cgroup.procs")
	checkPathError(t, err, "open", "spawn/cgroup.procs", unix.ENOTDIR)
	_, err = f.OpenDir("nope")
	checkPathError(t, err, "open", "nope", fs.ErrNotExist)
}

func TestKernelEscapesAreRefused(t *testing.T) {
	f, dir := kernelRoot(t)
	outside := fmt.Sprintf("%sescape-%d", kerneltest.Prefix, os.Getpid())
	for _, name := range []string{"../" + outside, "a/../../" + outside, "./../" + outside} {
		assert.Check(t, is.ErrorIs(f.Mkdir(name), unix.EXDEV), "Mkdir(%q)", name)
		assert.Check(t, is.ErrorIs(f.WriteFile(name+"/cgroup.procs", []byte("1")), unix.EXDEV), "WriteFile(%q)", name+"/cgroup.procs")
	}
	// Writing the host root's files through ".." must fail before any
	// write: the host root's cgroup.subtree_control is off limits.
	assert.Check(t, is.ErrorIs(f.WriteFile("../cgroup.subtree_control", []byte("+hugetlb")), unix.EXDEV), "WriteFile(../cgroup.subtree_control)")
	_, err := os.Stat(path.Join(path.Dir(dir), outside))
	assert.Check(t, is.ErrorIs(err, fs.ErrNotExist), "escape created %s", outside)
	assert.Check(t, is.ErrorIs(f.Mkdir("/"+outside), fs.ErrInvalid), "Mkdir(/%s)", outside)
}

func TestKernelOpen(t *testing.T) {
	f, dir := kernelRoot(t)
	assert.Check(t, is.Equal(f.Dir(), dir))
	// A cgroupfs directory passes the magic check; a file does not open.
	_, err := cgroupfs.Open(path.Join(dir, "cgroup.procs"))
	checkPathError(t, err, "open", path.Join(dir, "cgroup.procs"), unix.ENOTDIR)
}

// TestConcurrentUseAndClose runs operations from many goroutines while
// the FS is closed under them: each must succeed or fail with
// fs.ErrClosed, and the race detector must stay quiet.
func TestConcurrentUseAndClose(t *testing.T) {
	f, err := cgroupfs.Open(t.TempDir(), cgroupfs.PlainDirectory())
	assert.NilError(t, err)
	const workers = 8
	errs := make(chan error, workers)
	ready := make(chan struct{}, workers) // one value per worker after a full round
	for i := range workers {
		go func() {
			dir := fmt.Sprintf("w%d", i)
			for j := 0; ; j++ {
				var err error
				switch j % 4 {
				case 0:
					err = f.Mkdir(dir)
				case 1:
					err = f.WriteFile(dir+"/x", []byte(strconv.Itoa(j)))
				case 2:
					_, err = f.ReadFile(dir + "/x")
				case 3:
					_, err = f.ReadDir(dir)
				}
				if errors.Is(err, fs.ErrClosed) {
					errs <- nil
					return
				}
				if err != nil && !errors.Is(err, fs.ErrExist) {
					errs <- err
					return
				}
				if j == 3 {
					ready <- struct{}{}
				}
			}
		}()
	}
	// Close only once every worker has done a full round, so Close
	// lands in the middle of running operations.
	for range workers {
		select {
		case <-ready:
		case err := <-errs:
			t.Fatalf("operation before Close: %v", err)
		}
	}
	assert.NilError(t, f.Close())
	for range workers {
		assert.Check(t, <-errs, "operation during Close")
	}
}

func BenchmarkPlainWriteFile(b *testing.B) {
	for _, bc := range []struct {
		name    string
		timeout time.Duration
	}{{"timeout", cgroupfs.DefaultWriteTimeout}, {"noTimeout", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			f, err := cgroupfs.Open(b.TempDir(), cgroupfs.PlainDirectory(), cgroupfs.WithWriteTimeout(bc.timeout))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			data := []byte("0-1\n")
			for b.Loop() {
				if err := f.WriteFile("cpuset.cpus", data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkKernelMkdirRmdir(b *testing.B) {
	f, _ := kernelRoot(b)
	for b.Loop() {
		if err := f.Mkdir("bench"); err != nil {
			b.Fatal(err)
		}
		if err := f.Rmdir("bench"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKernelReadEvents(b *testing.B) {
	f, _ := kernelRoot(b)
	if err := f.Mkdir("bench"); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := f.ReadFile("bench/cgroup.events"); err != nil {
			b.Fatal(err)
		}
	}
}
