package fakefs_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/fakefs"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
)

// waitEmpty waits for "populated 0" the way real teardown code does:
// watch, read, wait for an event, read again. It returns how many reads
// it took; it fails after a bound on events, never on time.
func waitEmpty(t *testing.T, fsys cgroupfs.FS, cg string) int {
	t.Helper()
	w, err := fsys.Watch(cg + "/cgroup.events")
	assert.NilError(t, err)
	defer w.Close()
	for reads := 1; reads < 100; reads++ {
		data, err := fsys.ReadFile(cg + "/cgroup.events")
		assert.NilError(t, err)
		if strings.Contains(string(data), "populated 0") {
			return reads
		}
		select {
		case <-w.Events():
		case <-time.After(10 * time.Second):
			t.Fatalf("no event on %s/cgroup.events within 10s; last read %q", cg, data)
		}
	}
	t.Fatalf("%s still populated after 100 reads", cg)
	return 0
}

func TestLingerObservations(t *testing.T) {
	fsys := fakefs.New()
	assert.NilError(t, fsys.Mkdir("a"))
	pid, err := fsys.Spawn("a")
	assert.NilError(t, err)
	assert.NilError(t, fsys.SetLinger(pid, 2))
	assert.NilError(t, fsys.Kill(pid))
	// Gone from cgroup.procs at once, but still populating a.
	assert.Equal(t, read(t, fsys, "a/cgroup.procs"), "")
	assert.Check(t, errors.Is(fsys.Rmdir("a"), unix.EBUSY)) // observation 1
	snap := fsys.Snapshot()
	cg, _ := snap.Cgroup("a")
	assert.DeepEqual(t, cg.Exiting, []int{pid})
	assert.Equal(t, read(t, fsys, "a/cgroup.events"), "populated 1\nfrozen 0\n") // observation 2: then gone
	assert.Equal(t, read(t, fsys, "a/cgroup.events"), "populated 0\nfrozen 0\n")
	assert.NilError(t, fsys.Rmdir("a"))
}

func TestLingerWakesWaiter(t *testing.T) {
	fsys := fakefs.New()
	assert.NilError(t, fsys.Mkdir("a"))
	assert.NilError(t, fsys.Mkdir("a/b"))
	pid, err := fsys.Spawn("a/b")
	assert.NilError(t, err)
	assert.NilError(t, fsys.SetLinger(pid, 3))
	assert.NilError(t, fsys.WriteFile("a/cgroup.kill", []byte("1")))
	// The waiter's own reads move time on; the last one notifies it.
	assert.Equal(t, waitEmpty(t, fsys, "a"), 4)
}

func TestLingerUntilRelease(t *testing.T) {
	fsys := fakefs.New()
	assert.NilError(t, fsys.Mkdir("a"))
	pid, err := fsys.Spawn("a")
	assert.NilError(t, err)
	assert.NilError(t, fsys.SetLinger(pid, -1))
	assert.Check(t, errors.Is(fsys.Release(pid), unix.ESRCH), "a live task is not lingering")
	assert.NilError(t, fsys.Exit(pid))
	for range 50 {
		assert.Check(t, errors.Is(fsys.Rmdir("a"), unix.EBUSY))
	}
	w, err := fsys.Watch("a/cgroup.events")
	assert.NilError(t, err)
	defer w.Close()
	go func() { _ = fsys.Release(pid) }()
	select {
	case <-w.Events():
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s of Release")
	}
	assert.Equal(t, read(t, fsys, "a/cgroup.events"), "populated 0\nfrozen 0\n")
	assert.NilError(t, fsys.Rmdir("a"))
	assert.Check(t, errors.Is(fsys.Release(pid), unix.ESRCH))
	assert.Check(t, errors.Is(fsys.SetLinger(pid, 1), unix.ESRCH))
}

func TestLingerSetZeroReaps(t *testing.T) {
	fsys := fakefs.New()
	assert.NilError(t, fsys.Mkdir("a"))
	pid, err := fsys.Spawn("a")
	assert.NilError(t, err)
	assert.NilError(t, fsys.SetLinger(pid, -1))
	assert.NilError(t, fsys.Exit(pid))
	assert.NilError(t, fsys.SetLinger(pid, 0))
	assert.NilError(t, fsys.Rmdir("a"))
}

func TestLingerBlocksControllers(t *testing.T) {
	// An exiting task still counts as a task of its cgroup: the kernel
	// refuses domain controllers until it is gone.
	fsys := fakefs.New()
	assert.NilError(t, fsys.WriteFile("cgroup.subtree_control", []byte("+memory")))
	assert.NilError(t, fsys.Mkdir("a"))
	pid, err := fsys.Spawn("a")
	assert.NilError(t, err)
	assert.NilError(t, fsys.SetLinger(pid, -1))
	assert.NilError(t, fsys.Exit(pid))
	assert.Check(t, errors.Is(fsys.WriteFile("a/cgroup.subtree_control", []byte("+memory")), unix.EBUSY))
	assert.NilError(t, fsys.Release(pid))
	assert.NilError(t, fsys.WriteFile("a/cgroup.subtree_control", []byte("+memory")))
}

func TestWatchClosesOnRemoval(t *testing.T) {
	fsys := fakefs.New()
	assert.NilError(t, fsys.Mkdir("a"))
	w, err := fsys.Watch("a/cgroup.events")
	assert.NilError(t, err)
	assert.NilError(t, fsys.Rmdir("a"))
	_, ok := <-w.Events()
	assert.Check(t, !ok, "the channel must be closed")
	assert.NilError(t, w.Close())
}

func TestWatchWrites(t *testing.T) {
	// A successful write(2) raises IN_MODIFY on the written file; a
	// refused one does not.
	fsys := fakefs.New()
	assert.NilError(t, fsys.Mkdir("a"))
	w, err := fsys.Watch("a/cgroup.max.depth")
	assert.NilError(t, err)
	defer w.Close()
	assert.Check(t, fsys.WriteFile("a/cgroup.max.depth", []byte("-1")) != nil)
	select {
	case <-w.Events():
		t.Fatal("event after a refused write")
	default:
	}
	assert.NilError(t, fsys.WriteFile("a/cgroup.max.depth", []byte("2")))
	select {
	case <-w.Events():
	default:
		t.Fatal("no event after a write")
	}
}
