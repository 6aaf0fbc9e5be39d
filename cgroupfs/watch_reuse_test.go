package cgroupfs_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"gotest.tools/v3/assert"
)

// Closed watchers hand their inotify instance on instead of closing it
// (closing waits for the kernel, about 11 ms). Many more watchers than
// fs.inotify.max_user_instances (128 by default) opened and closed one
// after another must all work, each seeing its own file's changes, and
// the ones of a file watched before by the same instance must not stop
// it from ending when its own cgroup is removed.
func TestWatchReusesInstances(t *testing.T) {
	f := plainFS(t)
	for i := range 300 {
		dir := fmt.Sprintf("cg%d", i%3)
		if i < 3 {
			assert.NilError(t, f.Mkdir(dir))
		}
		file := dir + "/cgroup.events"
		assert.NilError(t, f.WriteFile(file, []byte("populated 1\n")))
		w, err := f.Watch(file)
		assert.NilError(t, err, "watch %d", i)
		assert.NilError(t, f.WriteFile(file, []byte("populated 0\n")))
		assert.Assert(t, nextEvent(t, w.Events()), "watch %d: channel closed, want an event for the write", i)
		assert.NilError(t, w.Close(), "close watch %d", i)
	}
	// The last instances back in the pool carry the watches of cg0..cg2
	// removed; a new watcher on a fresh cgroup ends when it is removed.
	assert.NilError(t, f.Mkdir("last"))
	assert.NilError(t, f.WriteFile("last/cgroup.events", []byte("populated 0\n")))
	w, err := f.Watch("last/cgroup.events")
	assert.NilError(t, err)
	defer w.Close()
	assert.NilError(t, f.WriteFile("cg0/cgroup.events", []byte("populated 1\n")))
	assert.NilError(t, removeAllPlain(f, "last"))
	for nextEvent(t, w.Events()) {
	}
}

// removeAllPlain removes the plain directory name and its one file.
func removeAllPlain(f *cgroupfs.OSFS, name string) error {
	if err := os.Remove(filepath.Join(f.Dir(), name, "cgroup.events")); err != nil {
		return err
	}
	return f.Rmdir(name)
}
