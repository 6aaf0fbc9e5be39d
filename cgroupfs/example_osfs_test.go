package cgroupfs_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/cgguard/cgguard/cgroupfs"
	"golang.org/x/sys/unix"
)

// Open serves a cgroup2 directory: on a host, the result of
// cgroupfs.Mountpoint or a cgroup below it. Anything else is refused.
// Tests without root use fakefs, the in-memory cgroup v2, instead; the
// PlainDirectory option, used here so that the example runs anywhere,
// is for tests of the OS-backed FS itself.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "cgroupfs-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	_, err = cgroupfs.Open(dir)
	fmt.Println("plain directory refused:", errors.Is(err, cgroupfs.ErrNotCgroup2))

	fsys, err := cgroupfs.Open(dir, cgroupfs.PlainDirectory())
	if err != nil {
		log.Fatal(err)
	}
	defer fsys.Close()

	if err := fsys.Mkdir("workload"); err != nil {
		log.Fatal(err)
	}
	// One write(2) per call, as the kernel parses each write on its own.
	if err := fsys.WriteFile("workload/cpuset.cpus", []byte("0-1")); err != nil {
		log.Fatal(err)
	}
	data, err := fsys.ReadFile("workload/cpuset.cpus")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("cpuset.cpus: %s\n", data)

	// Nothing outside the root can be reached.
	err = fsys.Mkdir("../elsewhere")
	fmt.Println("escape refused:", errors.Is(err, unix.EXDEV))
	err = fsys.Mkdir("/sys/fs/cgroup/x")
	fmt.Println("absolute name refused:", errors.Is(err, unix.EINVAL))
	// Output:
	// plain directory refused: true
	// cpuset.cpus: 0-1
	// escape refused: true
	// absolute name refused: true
}

// ParseProcCgroup reads the cgroup v2 line of a /proc/<pid>/cgroup file,
// here the one of a process on a hybrid host.
func ExampleParseProcCgroup() {
	const procCgroup = "4:memory:/user.slice\n1:cpu:/\n0::/user.slice/user-1000.slice/session-2.scope\n"
	cg, err := cgroupfs.ParseProcCgroup(strings.NewReader(procCgroup))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cg)
	// Output:
	// /user.slice/user-1000.slice/session-2.scope
}
