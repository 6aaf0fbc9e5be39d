package fakefs_test

import (
	"fmt"
	"testing"

	"github.com/cgguard/cgguard/fakefs"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
	"gotest.tools/v3/golden"
)

// scene builds the same small tree every time.
func scene(t *testing.T) *fakefs.FS {
	t.Helper()
	fsys := fakefs.New(fakefs.WithControllers("cpuset", "pids"))
	assert.NilError(t, fsys.WriteFile("cgroup.subtree_control", []byte("+cpuset")))
	assert.NilError(t, fsys.Mkdir("job"))
	assert.NilError(t, fsys.Mkdir("job/worker"))
	assert.NilError(t, fsys.WriteFile("job/cpuset.cpus", []byte("1-2")))
	_, err := fsys.Spawn("job/worker")
	assert.NilError(t, err)
	return fsys
}

func TestSnapshotGolden(t *testing.T) {
	// testdata/snapshot.golden; rerun with -update after an intended
	// change.
	golden.Assert(t, scene(t).Snapshot().String(), "snapshot.golden")
}

func TestSnapshotDiff(t *testing.T) {
	a := scene(t)
	b := scene(t)
	assert.DeepEqual(t, a.Snapshot(), b.Snapshot())
	assert.NilError(t, b.WriteFile("job/worker/cgroup.freeze", []byte("1")))
	diff := cmp.Diff(a.Snapshot(), b.Snapshot())
	assert.Check(t, diff != "", "a change must show in cmp.Diff")
	text, err := b.Snapshot().MarshalText()
	assert.NilError(t, err)
	assert.Equal(t, string(text), b.Snapshot().String())
	cg, ok := b.Snapshot().Cgroup("job/worker")
	assert.Assert(t, ok)
	events, ok := cg.File("cgroup.events")
	assert.Assert(t, ok)
	assert.Equal(t, events, "populated 1\nfrozen 1\n")
	_, ok = cg.File("nosuch")
	assert.Check(t, !ok)
	_, ok = b.Snapshot().Cgroup("nosuch")
	assert.Check(t, !ok)
}

func TestLog(t *testing.T) {
	fsys := fakefs.New()
	_ = fsys.Mkdir("a")
	pid, _ := fsys.Spawn("a")
	_ = fsys.WriteFile("a/cgroup.procs", []byte("garbage"))
	_ = fsys.Rmdir("a")
	_ = fsys.WriteFile("a/cgroup.kill", []byte("1"))
	_ = fsys.Kill(pid)
	var lines []string
	for _, e := range fsys.Log() {
		lines = append(lines, e.String())
	}
	assert.DeepEqual(t, lines, []string{
		"mkdir a: ok",
		"spawn a: ok",
		`write a/cgroup.procs "garbage": EINVAL`,
		"rmdir a: EBUSY",
		`kill a "4194305": ok`,
		`write a/cgroup.kill "1": ok`,
		`kill "4194305": ESRCH`,
	})
	assert.ErrorIs(t, fsys.Log()[3].Err, unix.EBUSY)
}

func TestLogLimit(t *testing.T) {
	fsys := fakefs.New(fakefs.WithLogLimit(3))
	for i := range 10 {
		_ = fsys.Mkdir(fmt.Sprint("d", i))
	}
	var lines []string
	for _, e := range fsys.Log() {
		lines = append(lines, e.String())
	}
	assert.DeepEqual(t, lines, []string{"mkdir d7: ok", "mkdir d8: ok", "mkdir d9: ok"})
}
