package fakefs_test

import (
	"errors"
	"io/fs"
	"testing"
	"time"

	"github.com/cgguard/cgguard/fakefs"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
)

func TestFailTimes(t *testing.T) {
	fsys := fakefs.New()
	fsys.Fail(fakefs.OpMkdir, "a", unix.EACCES, 2)
	for range 2 {
		err := fsys.Mkdir("a")
		assert.Check(t, errors.Is(err, unix.EACCES), "mkdir a: %v", err)
		var pe *fs.PathError
		assert.Check(t, errors.As(err, &pe) && pe.Op == "mkdir" && pe.Path == "a")
	}
	// Exhausted: the real operation runs, and the failed ones had no
	// effect.
	assert.NilError(t, fsys.Mkdir("a"))
	log := fsys.Log()
	assert.Equal(t, len(log), 3)
	assert.Check(t, log[0].Injected && !log[2].Injected)
	assert.Equal(t, log[0].String(), "mkdir a: EACCES (injected)")
	assert.Equal(t, log[2].String(), "mkdir a: ok")
}

func TestFailAlwaysAndRemove(t *testing.T) {
	fsys := fakefs.New()
	assert.NilError(t, fsys.Mkdir("a"))
	remove := fsys.Fail(fakefs.OpWrite, "*/cgroup.kill", unix.EIO, -1)
	for range 5 {
		assert.Check(t, errors.Is(fsys.WriteFile("a/cgroup.kill", []byte("1")), unix.EIO))
	}
	// Other paths and ops are untouched.
	assert.NilError(t, fsys.WriteFile("a/cgroup.freeze", []byte("1")))
	remove()
	remove() // twice is fine
	assert.NilError(t, fsys.WriteFile("a/cgroup.kill", []byte("1")))
}

func TestFailKeepsPathErrorAndNil(t *testing.T) {
	fsys := fakefs.New()
	custom := &fs.PathError{Op: "custom", Path: "elsewhere", Err: unix.ENOSPC}
	fsys.Fail(fakefs.OpRmdir, "a", custom, 1)
	assert.Equal(t, fsys.Rmdir("a"), error(custom))
	fsys.Fail(fakefs.OpRead, "cgroup.procs", nil, 1)
	_, err := fsys.ReadFile("cgroup.procs")
	assert.Check(t, errors.Is(err, unix.EIO), "a nil error stands for EIO: %v", err)
	remove := fsys.Fail(fakefs.OpRead, "cgroup.procs", unix.EIO, 0)
	remove()
	_, err = fsys.ReadFile("cgroup.procs")
	assert.NilError(t, err, "times 0 injects nothing")
}

func TestFailSpawnAndWatch(t *testing.T) {
	fsys := fakefs.New()
	assert.NilError(t, fsys.Mkdir("a"))
	fsys.Fail(fakefs.OpSpawn, "a", unix.EAGAIN, 1)
	_, err := fsys.Spawn("a")
	assert.Check(t, errors.Is(err, unix.EAGAIN))
	fsys.Fail(fakefs.OpWatch, "a/cgroup.events", unix.EMFILE, 1)
	_, err = fsys.Watch("a/cgroup.events")
	assert.Check(t, errors.Is(err, unix.EMFILE))
	w, err := fsys.Watch("a/cgroup.events")
	assert.NilError(t, err)
	assert.NilError(t, w.Close())
}

func TestHang(t *testing.T) {
	fsys := fakefs.New()
	assert.NilError(t, fsys.Mkdir("a"))
	entered, release := fsys.HangEntered(fakefs.OpWrite, "a/cgroup.procs")
	pid, err := fsys.Spawn(".")
	assert.NilError(t, err)
	done := make(chan error, 1)
	go func() { done <- fsys.WriteFile("a/cgroup.procs", []byte("4194305")) }()
	<-entered // the write is now blocked in the hang
	// Other operations go on while the write hangs.
	assert.NilError(t, fsys.Mkdir("b"))
	_, err = fsys.ReadFile("a/cgroup.events")
	assert.NilError(t, err)
	select {
	case err := <-done:
		t.Fatalf("the hung write returned before release: %v", err)
	default:
	}
	release()
	release()
	select {
	case err := <-done:
		assert.NilError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the write still hangs 10s after release")
	}
	assert.DeepEqual(t, fsys.Pids("a"), []int{pid})
	// After release the path no longer hangs.
	assert.NilError(t, fsys.WriteFile("a/cgroup.procs", []byte("4194305")))
}
