package kerneltest

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/cgguard/cgguard/cgroupfs"
	"golang.org/x/sys/unix"
)

// HugePageSizes returns this machine's huge page sizes as hugetlb names
// them in its interface files ("2MB", "1GB"), from
// /sys/kernel/mm/hugepages; none where that directory is missing.
func HugePageSizes() ([]string, error) {
	dirs, _ := os.ReadDir("/sys/kernel/mm/hugepages")
	var sizes []string
	for _, d := range dirs {
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(d.Name(), "hugepages-"), "kB"), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("huge page size %s: %w", d.Name(), err)
		}
		switch {
		case kb >= 1<<20:
			sizes = append(sizes, strconv.FormatUint(kb>>20, 10)+"GB")
		case kb >= 1<<10:
			sizes = append(sizes, strconv.FormatUint(kb>>10, 10)+"MB")
		default:
			sizes = append(sizes, strconv.FormatUint(kb, 10)+"KB")
		}
	}
	return sizes, nil
}

// HasCapSysResource reports whether this process holds CAP_SYS_RESOURCE
// (a root in a container may not), which changes what some cgroup files
// accept.
func HasCapSysResource() (bool, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false, err
	}
	for line := range strings.Lines(string(status)) {
		if hex, ok := strings.CutPrefix(line, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
			if err != nil {
				return false, fmt.Errorf("parse %q of /proc/self/status: %w", line, err)
			}
			return caps&(1<<unix.CAP_SYS_RESOURCE) != 0, nil
		}
	}
	return false, fmt.Errorf("no CapEff line in /proc/self/status")
}

// WritableFiles makes the cgroup probe in fsys, lists the files of it
// that are writable, less cgroup.procs and cgroup.threads (a pid
// written at random would move someone else's process on a kernel), and
// removes probe again. Taken from the fake, the list grows with every
// knob the fake learns, so a differential test cannot forget one.
func WritableFiles(fsys cgroupfs.FS, probe string) ([]string, error) {
	if err := fsys.Mkdir(probe); err != nil {
		return nil, err
	}
	defer func() { _ = fsys.Rmdir(probe) }()
	entries, err := fsys.ReadDir(probe)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		if info.Mode().Perm()&0o200 != 0 && e.Name() != "cgroup.procs" && e.Name() != "cgroup.threads" {
			out = append(out, e.Name())
		}
	}
	return out, nil
}
