package fakefs_test

import (
	"errors"
	"fmt"

	"github.com/cgguard/cgguard/fakefs"
	"golang.org/x/sys/unix"
)

// A fake-backed test: a cgroup with a task cannot be removed until the
// task is gone, exactly as on the kernel.
func Example() {
	fsys := fakefs.New()
	if err := fsys.Mkdir("job"); err != nil {
		panic(err)
	}
	pid, err := fsys.Spawn("job")
	if err != nil {
		panic(err)
	}
	events, _ := fsys.ReadFile("job/cgroup.events")
	fmt.Printf("%q\n", events)

	err = fsys.Rmdir("job")
	fmt.Println("rmdir with a task:", errors.Is(err, unix.EBUSY))

	if err := fsys.WriteFile("job/cgroup.kill", []byte("1")); err != nil {
		panic(err)
	}
	fmt.Println("pids after cgroup.kill:", fsys.Pids("job"), pid >= fakefs.FirstPid)
	fmt.Println("rmdir after the kill:", fsys.Rmdir("job"))
	// Output:
	// "populated 1\nfrozen 0\n"
	// rmdir with a task: true
	// pids after cgroup.kill: [] true
	// rmdir after the kill: <nil>
}
