package vmtest_test

import (
	"fmt"
	"strings"

	"github.com/cgguard/cgguard/vmtest"
)

// skipRecorder stands in for a *testing.T.
type skipRecorder struct{ skipped bool }

func (s *skipRecorder) Helper()     {}
func (s *skipRecorder) Skip(...any) { s.skipped = true }

// A test that needs the VM's kernel starts with SkipUnlessVM(t). Outside
// the VM it skips with SkipReason; inside, it carries on.
func ExampleSkipUnlessVM() {
	t := &skipRecorder{}
	vmtest.SkipUnlessVM(t)
	fmt.Println("skips exactly outside the VM:", t.skipped == !vmtest.InVM())
	fmt.Println(strings.SplitN(vmtest.SkipReason, ";", 2)[0])
	// Output:
	// skips exactly outside the VM: true
	// needs the full cgroup v2 hierarchy (cpuset included) of the cgguard VM
}
