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

// Open serves a plain temporary directory here, as tests without root do;
// on a real host pass the result of cgroupfs.Mountpoint (or a cgroup
// below it) and leave out PlainDirectory.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "cgroupfs-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

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

	// Without PlainDirectory, Open insists on cgroup2.
	_, err = cgroupfs.Open(dir)
	fmt.Println("plain directory refused:", errors.Is(err, cgroupfs.ErrNotCgroup2))
	// Output:
	// cpuset.cpus: 0-1
	// escape refused: true
	// absolute name refused: true
	// plain directory refused: true
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
