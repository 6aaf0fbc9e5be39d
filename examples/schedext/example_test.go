package schedext_test

import (
	"fmt"

	"github.com/cgguard/cgguard/examples/schedext"
)

// A test attaches a scheduler and detaches it in t.Cleanup, registered
// before its cgroups and workloads so that it runs after theirs; while it
// runs, /sys/kernel/sched_ext/root/ops shows its name. Attaching needs a
// sched_ext kernel (the cgvm VM), so this example shows only what the
// test compares with.
func ExampleScheduler_Name() {
	fmt.Println(schedext.FIFO.Name())
	fmt.Println(schedext.Stall.Name())
	// Output:
	// cgguard_fifo
	// cgguard_stall
}

// The watchdog disabled the Stall scheduler in the VM with this exit kind.
func ExampleExitKind() {
	fmt.Println(schedext.ExitStall)
	fmt.Println(schedext.ExitUnreg)
	// Output:
	// runnable task stall
	// unregistered from user space
}
