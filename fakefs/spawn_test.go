package fakefs_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/fakefs"
	"golang.org/x/sys/unix"
)

// StartTask's fake task is a Spawn with a handle: Done closes when the
// task exits (Err nil) or is killed, by its handle, FS.Kill or
// cgroup.kill (Err wraps cgroupfs.ErrKilled).
func TestStartTask(t *testing.T) {
	fsys := fakefs.New()
	for _, d := range []string{"a", "b", "c"} {
		if err := fsys.Mkdir(d); err != nil {
			t.Fatal(err)
		}
	}
	var starter cgroupfs.TaskStarter = fsys
	start := func(name string) cgroupfs.Task {
		t.Helper()
		task, err := starter.StartTask(name, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(fsys.Pids(name), task.Pid()) {
			t.Fatalf("%s holds %v, want pid %d", name, fsys.Pids(name), task.Pid())
		}
		select {
		case <-task.Done():
			t.Fatalf("Done closed for a live task")
		default:
		}
		return task
	}
	ended := func(task cgroupfs.Task, killed bool) {
		t.Helper()
		select {
		case <-task.Done():
		default:
			t.Fatalf("pid %d ended, but Done is open", task.Pid())
		}
		if got := errors.Is(task.Err(), cgroupfs.ErrKilled); got != killed || (!killed && task.Err() != nil) {
			t.Errorf("pid %d: Err() = %v, want killed: %v", task.Pid(), task.Err(), killed)
		}
	}
	exited := start("a")
	if err := fsys.Exit(exited.Pid()); err != nil {
		t.Fatal(err)
	}
	ended(exited, false)

	byHandle := start("a")
	if err := byHandle.Kill(); err != nil {
		t.Fatal(err)
	}
	ended(byHandle, true)
	if err := byHandle.Kill(); err != nil {
		t.Errorf("Kill of an ended task: %v, want nil", err)
	}

	byFS := start("b")
	if err := fsys.Kill(byFS.Pid()); err != nil {
		t.Fatal(err)
	}
	ended(byFS, true)

	byCgroup := start("c")
	if err := fsys.WriteFile("c/cgroup.kill", []byte("1")); err != nil {
		t.Fatal(err)
	}
	ended(byCgroup, true)

	// The fake refuses like Spawn: the no-internal-process rule, a
	// missing cgroup.
	for _, f := range []string{"cgroup.subtree_control", "a/cgroup.subtree_control"} {
		if err := fsys.WriteFile(f, []byte("+memory")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := fsys.StartTask("a", nil); !errors.Is(err, unix.EBUSY) {
		t.Errorf("StartTask under the no-internal-process rule: %v, want EBUSY", err)
	}
	if _, err := fsys.StartTask("missing", nil); !errors.Is(err, unix.ENOENT) {
		t.Errorf("StartTask in a missing cgroup: %v, want ENOENT", err)
	}
}
