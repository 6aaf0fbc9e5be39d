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

// Teardown code that waits for "populated 0" can be tested without
// sleeping: a lingering task keeps its cgroup populated for a number of
// observations (reads of cgroup.events, rmdir attempts) after it dies.
func ExampleFS_SetLinger() {
	fsys := fakefs.New()
	_ = fsys.Mkdir("job")
	pid, _ := fsys.Spawn("job")
	_ = fsys.SetLinger(pid, 2)
	_ = fsys.WriteFile("job/cgroup.kill", []byte("1"))

	procs, _ := fsys.ReadFile("job/cgroup.procs")
	fmt.Printf("cgroup.procs right after the kill: %q\n", procs)
	for attempt := 1; ; attempt++ {
		err := fsys.Rmdir("job")
		fmt.Printf("rmdir attempt %d: %v\n", attempt, err)
		if err == nil {
			break
		}
	}
	// Output:
	// cgroup.procs right after the kill: ""
	// rmdir attempt 1: rmdir job: device or resource busy
	// rmdir attempt 2: rmdir job: device or resource busy
	// rmdir attempt 3: <nil>
}

// Fault injection: the next two rmdirs of any cgroup under "tests"
// fail with EACCES, as on a subtree the caller was not delegated.
func ExampleFS_Fail() {
	fsys := fakefs.New()
	_ = fsys.Mkdir("tests")
	_ = fsys.Mkdir("tests/a")
	fsys.Fail(fakefs.OpRmdir, "tests/*", unix.EACCES, 2)
	for range 3 {
		fmt.Println(fsys.Rmdir("tests/a"))
	}
	for _, e := range fsys.Log()[2:] {
		fmt.Println(e)
	}
	// Output:
	// rmdir tests/a: permission denied
	// rmdir tests/a: permission denied
	// <nil>
	// rmdir tests/a: EACCES (injected)
	// rmdir tests/a: EACCES (injected)
	// rmdir tests/a: ok
}

// A fake answers as the kernel version it is given: here an idle cgroup's
// cpu.weight, which 6.1 reads as 0 and 6.12 clamps to 1. An unknown
// version is refused with the list of supported ones.
func ExampleWithKernel() {
	for _, v := range []string{"6.1", "6.12.117+deb13-amd64"} {
		fsys := fakefs.New(fakefs.WithKernel(v), fakefs.WithControllers("cpu"))
		if err := fsys.WriteFile("cgroup.subtree_control", []byte("+cpu")); err != nil {
			panic(err)
		}
		if err := fsys.Mkdir("batch"); err != nil {
			panic(err)
		}
		if err := fsys.WriteFile("batch/cpu.idle", []byte("1")); err != nil {
			panic(err)
		}
		weight, _ := fsys.ReadFile("batch/cpu.weight")
		fmt.Printf("%s: cpu.weight %q\n", v, weight)
	}
	fmt.Println(fakefs.CheckKernel("5.10"))
	// Output:
	// 6.1: cpu.weight "0\n"
	// 6.12.117+deb13-amd64: cpu.weight "1\n"
	// fakefs: WithKernel("5.10"): no profile for this kernel version; supported: 6.1, 6.12, 6.18 (a release such as "6.12.117+deb13-amd64" also works)
}
