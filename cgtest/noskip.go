package cgtest

import (
	"os"
	"strconv"
)

// NoSkipEnv names the environment variable that makes a skip a failure:
// when it holds a true value ("1", "true"), every reason Root (and its
// RequireControllers option) would skip for fails the test instead, with
// the same reason. A CI job that must run its cgroup tests (in the cgvm
// VM, on a delegated runner) sets it, so that a broken setup is a red run
// rather than a green one that ran nothing.
const NoSkipEnv = "CGGUARD_NOSKIP"

// skipf skips the test with the reason, or fails it with the same reason
// when NoSkipEnv is set. Like Skipf with a fake T, it may return: the
// caller must return too.
func skipf(t T, format string, args ...any) {
	t.Helper()
	if strict, _ := strconv.ParseBool(os.Getenv(NoSkipEnv)); !strict {
		t.Skipf(format, args...)
		return
	}
	t.Errorf(format+" (a failure, not a skip, because "+NoSkipEnv+" is set)", args...)
	if f, ok := t.(interface{ FailNow() }); ok {
		f.FailNow()
	}
}
