package fakefs_test

import (
	"testing"

	"github.com/cgguard/cgguard/fakefs"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestSnapshotPaths(t *testing.T) {
	assert.Check(t, is.Len(fakefs.New().Snapshot().Paths(), 0), "the root alone is not listed")
	assert.DeepEqual(t, scene(t).Snapshot().Paths(), []string{"job", "job/worker"})
}
