package fakefs_test

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/cgguard/cgguard/fakefs"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
)

// TestConcurrentUse drives one FS from many goroutines (run with -race):
// each worker builds, populates, watches, kills and removes its own
// subtree, while readers list and snapshot the whole tree. At the end
// only the root is left and nothing is populated.
func TestConcurrentUse(t *testing.T) {
	fsys := fakefs.New()
	assert.NilError(t, fsys.WriteFile("cgroup.subtree_control", []byte("+cpuset +pids")))
	const workers, rounds = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				dir := fmt.Sprintf("w%d", w)
				if err := work(fsys, dir, r); err != nil {
					errs <- fmt.Errorf("worker %d round %d: %w", w, r, err)
					return
				}
			}
		}()
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, _ = fsys.ReadDir(".")
				_ = fsys.Snapshot()
				_, _ = fsys.ReadFile("cgroup.stat")
				_ = fsys.Log()
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	snap := fsys.Snapshot()
	assert.Equal(t, len(snap.Cgroups), 1, "only the root is left:\n%s", snap)
}

func work(fsys *fakefs.FS, dir string, round int) error {
	if err := fsys.Mkdir(dir); err != nil {
		return err
	}
	if err := fsys.Mkdir(dir + "/leaf"); err != nil {
		return err
	}
	w, err := fsys.Watch(dir + "/cgroup.events")
	if err != nil {
		return err
	}
	defer w.Close()
	pid, err := fsys.Spawn(dir + "/leaf")
	if err != nil {
		return err
	}
	if round%2 == 0 {
		_ = fsys.SetLinger(pid, 2)
	}
	if err := fsys.WriteFile(dir+"/cpuset.cpus", []byte(strconv.Itoa(round%4))); err != nil {
		return err
	}
	if err := fsys.WriteFile(dir+"/cgroup.kill", []byte("1")); err != nil {
		return err
	}
	for {
		err := fsys.Rmdir(dir + "/leaf")
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EBUSY) {
			return err
		}
		<-w.Events() // the linger ends on some observation, ours or another worker's
	}
	return fsys.Rmdir(dir)
}
