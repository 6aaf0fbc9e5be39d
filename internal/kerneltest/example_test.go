package kerneltest_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/cgguard/cgguard/internal/kerneltest"
)

// A kernel test starts with Base(t) and makes its cgroups beneath the
// returned directory; here a recorder stands in for t, so that the
// example can run the cleanup and show what it did. Without root Base
// skips, as a test would, and there is nothing to remove or report.
func ExampleBase() {
	t := &recorder{}
	dir := kerneltest.Base(t, kerneltest.CheckLeaks())
	skipped := len(t.skips) > 0
	fmt.Println("skipped exactly without root:", skipped == (os.Geteuid() != 0))
	removed, reported := skipped, skipped
	if !skipped {
		_ = os.Mkdir(filepath.Join(dir, "forgotten"), 0o755)
		t.runCleanups()
		_, err := os.Stat(dir)
		removed = os.IsNotExist(err)
		reported = len(t.errs) == 1 && t.errs[0] == "leak: cgroup forgotten is left in the test's base "+dir
	}
	fmt.Println("base and what was left in it removed:", removed)
	fmt.Println("leak reported:", reported)
	// Output:
	// skipped exactly without root: true
	// base and what was left in it removed: true
	// leak reported: true
}
