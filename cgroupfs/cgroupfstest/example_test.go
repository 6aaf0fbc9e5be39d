package cgroupfstest_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgroupfs/cgroupfstest"
	"github.com/cgguard/cgguard/fakefs"
	"golang.org/x/sys/unix"
)

// Check a fake against the kernel's behaviour. In a test, call
// cgroupfstest.TestFS(t, fsys, ...) instead: each scenario becomes a
// subtest.
func ExampleCheck() {
	fsys := fakefs.New()
	err := cgroupfstest.Check(fsys, cgroupfstest.WithTasks(fsys))
	fmt.Println("differences:", err)
	// Output:
	// differences: <nil>
}

// notEmptyFS is a fake that gets one thing wrong: like a plain directory,
// it says ENOTEMPTY where cgroupfs says EBUSY.
type notEmptyFS struct{ *fakefs.FS }

func (f notEmptyFS) Rmdir(name string) error {
	err := f.FS.Rmdir(name)
	if errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("rmdir %s: %w", name, unix.ENOTEMPTY)
	}
	return err
}

// Every difference is one line, prefixed with its scenario.
func ExampleCheck_differences() {
	fsys := notEmptyFS{fakefs.New()}
	var fsi cgroupfs.FS = fsys
	err := cgroupfstest.Check(fsi, cgroupfstest.WithTasks(fsys.FS))
	for _, line := range strings.Split(err.Error(), "\n") {
		if strings.Contains(line, "the kernel gives") {
			fmt.Println(line)
		}
	}
	// Output:
	// rmdir/errors: rmdir rmdir-errors with a child cgroup: got ENOTEMPTY (rmdir rmdir-errors: directory not empty), the kernel gives EBUSY
	// procs/move: rmdir procs-move/c holding tasks: got ENOTEMPTY (rmdir procs-move/c: directory not empty), the kernel gives EBUSY
	// procs/move: rmdir procs-move with a populated child: got ENOTEMPTY (rmdir procs-move: directory not empty), the kernel gives EBUSY
	// events/populated: rmdir events-populated/mid/leaf holding a task: got ENOTEMPTY (rmdir events-populated/mid/leaf: directory not empty), the kernel gives EBUSY
}
