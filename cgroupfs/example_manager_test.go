package cgroupfs_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/cgguard/cgguard/cgroupfs"
)

// A Manager on a plain temporary directory, as ktstr's tmpdir tests do.
// On a real host open the cgroup2 mount (cgroupfs.Mountpoint) or a
// delegated cgroup instead, without PlainDirectory; the calls are the
// same.
func ExampleManager() {
	dir, err := os.MkdirTemp("", "cgroupfs-manager-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	fsys, err := cgroupfs.Open(dir, cgroupfs.PlainDirectory())
	if err != nil {
		log.Fatal(err)
	}
	defer fsys.Close()

	m := cgroupfs.NewManager(fsys, "ktstr")
	// A plain directory has no cgroup.controllers: Setup only creates
	// the parent.
	if err := m.Setup(true); err != nil {
		log.Fatal(err)
	}
	for _, name := range []string{"workload/a", "workload/b", "other"} {
		if err := m.CreateCgroup(name); err != nil {
			log.Fatal(err)
		}
	}
	kids, _ := m.Children("workload")
	fmt.Println("children:", kids)

	// Names are checked before any I/O.
	_, err = m.Path("../escape")
	fmt.Println(errors.Is(err, cgroupfs.ErrInvalidName))
	fmt.Println(err)

	// Everything beneath the parent goes, deepest first; the parent stays.
	if err := m.CleanupAll(); err != nil {
		log.Fatal(err)
	}
	entries, _ := os.ReadDir(m.ParentPath())
	fmt.Println("left in the parent:", len(entries))
	// Output:
	// children: [workload/a workload/b]
	// true
	// cgroupfs: invalid cgroup name "../escape": the name has a ".." component, which would leave the parent cgroup
	// left in the parent: 0
}

// Setting writes the kernel's list format; clearing writes a newline,
// as the kernel ignores an empty write.
func ExampleManager_SetCpuset() {
	dir, err := os.MkdirTemp("", "cgroupfs-manager-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	fsys, err := cgroupfs.Open(dir, cgroupfs.PlainDirectory())
	if err != nil {
		log.Fatal(err)
	}
	defer fsys.Close()
	m := cgroupfs.NewManager(fsys, ".")
	if err := m.CreateCgroup("a"); err != nil {
		log.Fatal(err)
	}

	cpus, _ := cgroupfs.ParseCPUSet("3,0-1")
	if err := m.SetCpuset("a", cpus); err != nil {
		log.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "a/cpuset.cpus"))
	fmt.Printf("set: %q\n", data)
	if err := m.ClearCpuset("a"); err != nil {
		log.Fatal(err)
	}
	data, _ = os.ReadFile(filepath.Join(dir, "a/cpuset.cpus"))
	fmt.Printf("cleared: %q\n", data)
	fmt.Println(m.SetCpuset("a", cgroupfs.CPUSet{}) != nil)
	// Output:
	// set: "0-1,3"
	// cleared: "\n"
	// true
}
