package cgroupfstest_test

import (
	"strings"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs/cgroupfstest"
	"github.com/cgguard/cgguard/fakefs"
	"gotest.tools/v3/assert"
)

// TestFSOnFake is the suite run the way users run it: every scenario a
// subtest.
func TestFSOnFake(t *testing.T) {
	fsys := fakefs.New()
	cgroupfstest.TestFS(t, fsys, cgroupfstest.WithTasks(fsys))
	assert.Equal(t, len(fsys.Snapshot().Cgroups), 1, "the suite must remove everything it made")
}

// silentFS accepts every write: the suite must notice.
type silentFS struct{ *fakefs.FS }

func (f silentFS) WriteFile(name string, data []byte) error {
	_ = f.FS.WriteFile(name, data)
	return nil
}

func TestCheckReportsEveryDifference(t *testing.T) {
	fsys := silentFS{fakefs.New()}
	err := cgroupfstest.Check(fsys, cgroupfstest.WithTasks(fsys.FS))
	assert.Assert(t, err != nil)
	lines := strings.Split(err.Error(), "\n")
	assert.Check(t, len(lines) > 50, "one line per difference, got %d:\n%s", len(lines), err)
	for _, scenario := range []string{"mkdir/limits:", "write/generic:", "procs/parse:", "kill:", "freeze:", "cpuset/cpus:"} {
		assert.Check(t, strings.Contains(err.Error(), "\n"+scenario) || strings.HasPrefix(err.Error(), scenario), "no difference reported for %s", scenario)
	}
}

func TestCheckSkips(t *testing.T) {
	fsys := fakefs.New(fakefs.WithControllers())
	skipped := map[string]string{}
	err := cgroupfstest.Check(fsys, cgroupfstest.OnSkip(func(s, why string) { skipped[s] = why }))
	assert.NilError(t, err)
	assert.Check(t, strings.Contains(skipped["procs/move"], "WithTasks"))
	assert.Check(t, strings.Contains(skipped["cpuset/cpus"], "cpuset controller"))
	assert.Check(t, strings.Contains(skipped["subtree_control/files-follow"], "needs a controller"))
	_, ran := skipped["mkdir/errors"]
	assert.Check(t, !ran)
}

func TestCheckNeedsEmptyRoot(t *testing.T) {
	fsys := fakefs.New()
	assert.NilError(t, fsys.Mkdir("busy"))
	err := cgroupfstest.Check(fsys)
	assert.ErrorContains(t, err, `already has the child cgroup "busy"`)
}
