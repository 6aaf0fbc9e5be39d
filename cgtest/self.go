package cgtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/cgguard/cgguard/cgroupfs"
)

// selfLocation is where the test process was in the cgroup v2 hierarchy
// when a Group was made on a real cgroupfs.
type selfLocation struct {
	real bool   // the group's FS is a real cgroupfs, which can hold us
	dir  string // absolute directory of our cgroup; "" when unknown
	err  error  // why dir is unknown
}

// whereAmI records the test process's cgroup directory: the cgroup2
// mount joined with the "0::" line of /proc/self/cgroup.
func whereAmI() selfLocation {
	loc := selfLocation{real: true}
	mnt, err := cgroupfs.Mountpoint()
	if err != nil {
		loc.err = err
		return loc
	}
	self, err := cgroupfs.SelfCgroup()
	if err != nil {
		loc.err = err
		return loc
	}
	loc.dir = filepath.Join(mnt, self)
	return loc
}

// moveBack writes the test process's pid to the cgroup.procs of the
// cgroup it was in. That is the test's own process returning home, not
// a change to anyone else's cgroup.
func (l selfLocation) moveBack() error {
	if l.dir == "" {
		return fmt.Errorf("where the test process was is unknown: %w", l.err)
	}
	procs := filepath.Join(l.dir, "cgroup.procs")
	f, err := os.OpenFile(procs, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	// One pid per write: the kernel parses each write on its own.
	if _, err := f.Write([]byte(strconv.Itoa(os.Getpid()))); err != nil {
		return fmt.Errorf("write %s: %w", procs, err)
	}
	return nil
}
