package cgtest_test

import (
	"strings"
	"testing"

	"github.com/cgguard/cgguard/cgtest"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// A directory that is not cgroup2 makes Root skip; with NoSkipEnv set the
// same reason is a test failure.
func TestRootNoSkipTurnsSkipIntoFailure(t *testing.T) {
	for _, tc := range []struct {
		env               string
		wantSkip, wantErr bool
	}{
		{env: "", wantSkip: true},
		{env: "0", wantSkip: true},
		{env: "1", wantErr: true},
		{env: "true", wantErr: true},
	} {
		t.Run("env="+tc.env, func(t *testing.T) {
			t.Setenv(cgtest.NoSkipEnv, tc.env)
			var out strings.Builder
			rec := &cgtest.Recorder{Out: &out}
			defer rec.Finish()
			if m := cgtest.Root(rec, cgtest.Under(t.TempDir())); m != nil {
				t.Fatalf("Root under a plain directory returned a manager")
			}
			got := out.String()
			if tc.wantSkip != strings.HasPrefix(got, "skip: ") || tc.wantErr != strings.HasPrefix(got, "error: ") {
				t.Fatalf("Root with %s=%q reported %q; want skip=%v error=%v", cgtest.NoSkipEnv, tc.env, got, tc.wantSkip, tc.wantErr)
			}
			assert.Check(t, is.Contains(got, "cgtest: cannot use "), "the report %q lost the skip's reason", got)
			if tc.wantErr && !strings.Contains(got, cgtest.NoSkipEnv+" is set") {
				t.Errorf("the failure %q does not say that %s turned the skip into it", got, cgtest.NoSkipEnv)
			}
		})
	}
}
