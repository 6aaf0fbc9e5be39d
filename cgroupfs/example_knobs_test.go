package cgroupfs_test

import (
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/fakefs"
	"golang.org/x/sys/unix"
)

// Typed knobs on fakefs (on the kernel, the same calls on the Manager
// cgtest.Root returns): values go to the kernel as given, and what it
// refuses comes back with its errno. "." names the parent itself.
func ExampleManager_SetCPUWeight() {
	m := cgroupfs.NewManager(fakefs.New(), "sched")
	if err := m.Setup(true); err != nil { // enables cpuset and cpu down to sched's children
		log.Fatal(err)
	}
	if err := m.CreateCgroup("batch"); err != nil {
		log.Fatal(err)
	}
	if err := m.SetCPUWeight("batch", 50); err != nil {
		log.Fatal(err)
	}
	if err := m.SetCPUMax("batch", cgroupfs.CPUMax{Quota: 20 * time.Millisecond, Period: 100 * time.Millisecond}); err != nil {
		log.Fatal(err)
	}
	weight, _ := m.CPUWeight("batch")
	max, _ := m.CPUMax("batch")
	fmt.Printf("cpu.weight %d, cpu.max %s\n", weight, max)

	err := m.SetCPUWeight("batch", 0)
	fmt.Println("weight 0 refused with ERANGE:", errors.Is(err, unix.ERANGE))

	ctrls, _ := m.ReadFile(".", "cgroup.subtree_control")
	fmt.Printf("sched enables: %s", ctrls)
	// Output:
	// cpu.weight 50, cpu.max 20000 100000
	// weight 0 refused with ERANGE: true
	// sched enables: cpuset cpu
}
