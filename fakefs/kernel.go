package fakefs

import (
	"fmt"
	"strconv"
	"strings"
)

// kernelVersion is a kernel whose answers the fake copies. The order
// matters: a file or behaviour that appeared in one version is kept by
// every later one unless its definition says otherwise.
type kernelVersion int

const (
	kernel6_1 kernelVersion = iota
	kernel6_12
	kernel6_18
)

// kernelNames are the versions WithKernel knows, oldest first.
var kernelNames = []string{kernel6_1: "6.1", kernel6_12: "6.12", kernel6_18: "6.18"}

// defaultKernel is the profile New uses without WithKernel.
const defaultKernel = kernel6_18

// Kernels returns the kernel versions WithKernel accepts, oldest first.
func Kernels() []string { return append([]string(nil), kernelNames...) }

// CheckKernel returns the error New panics with when given
// WithKernel(version), or nil when version is supported. Use it to check
// a version that comes from outside the program (a flag, uname) before
// building a fake.
func CheckKernel(version string) error {
	_, err := parseKernel(version)
	return err
}

// parseKernel accepts "6.12" and any release that starts with it:
// "6.12.117+deb13-amd64" as uname -r prints it, "6.12.0".
func parseKernel(version string) (kernelVersion, error) {
	for i, name := range kernelNames {
		rest, ok := strings.CutPrefix(version, name)
		if ok && (rest == "" || strings.ContainsRune(".-+_", rune(rest[0]))) {
			return kernelVersion(i), nil
		}
	}
	return 0, fmt.Errorf("fakefs: WithKernel(%q): no profile for this kernel version; supported: %s (a release such as %q also works)",
		version, strings.Join(kernelNames, ", "), "6.12.117+deb13-amd64")
}

// WithKernel makes the fake answer as the named kernel version does:
// which interface files exist (and their modes), how each knob parses a
// write, with which errno it refuses one, and what files read back. The
// version is "6.1", "6.12" or "6.18" (Kernels lists them), or a release
// starting with one of them, as uname -r prints it
// ("6.12.117+deb13-amd64"). Without WithKernel the fake is 6.18.
//
// An unsupported version makes New panic with an error that names the
// supported ones (as regexp.MustCompile does for a bad pattern): the
// version is almost always a constant of the test. Check a version from
// outside the program with CheckKernel first.
//
// The machine is not the kernel's: CPUs, memory nodes, huge page sizes
// and the controllers the root offers stay options of their own
// (WithCPUs, WithMems, WithHugePageSizes, WithControllers).
func WithKernel(version string) Option {
	return func(c *config) {
		c.kernel, c.kernelErr = parseKernel(version)
	}
}

// hugePage is one huge page size of the machine.
type hugePage struct {
	name  string // as in file names: "2MB", "1GB"
	bytes uint64
}

// WithHugePageSizes sets the machine's huge page sizes, named as the
// hugetlb files name them ("2MB", "1GB"; default both, as on an x86-64
// CPU with 1 GB pages). A CPU without them (qemu's default CPU, for
// one) has only "2MB". Each size adds its hugetlb.<size>.* files. A name
// that is not a number followed by KB, MB or GB makes New panic.
func WithHugePageSizes(sizes ...string) Option {
	return func(c *config) {
		c.hugePages = nil
		for _, s := range sizes {
			hp, err := parseHugePage(s)
			if err != nil {
				c.hugePageErr = err
				return
			}
			c.hugePages = append(c.hugePages, hp)
		}
	}
}

// parseHugePage reads a size as the kernel's hugetlb_cgroup file names
// print it (mem_fmt: KB below 1 MB, MB below 1 GB, GB above).
func parseHugePage(s string) (hugePage, error) {
	for unit, shift := range map[string]uint{"KB": 10, "MB": 20, "GB": 30} {
		num, ok := strings.CutSuffix(s, unit)
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(num, 10, 32)
		if err != nil || n == 0 || memFmt(n<<shift) != s {
			break
		}
		return hugePage{name: s, bytes: n << shift}, nil
	}
	return hugePage{}, fmt.Errorf("fakefs: WithHugePageSizes(%q): a size is a number and KB, MB or GB, as in hugetlb.2MB.max", s)
}

// memFmt follows mem_fmt in mm/hugetlb_cgroup.c.
func memFmt(bytes uint64) string {
	switch {
	case bytes >= 1<<30:
		return strconv.FormatUint(bytes>>30, 10) + "GB"
	case bytes >= 1<<20:
		return strconv.FormatUint(bytes>>20, 10) + "MB"
	}
	return strconv.FormatUint(bytes>>10, 10) + "KB"
}

// WithoutCapSysResource makes the fake's caller lack CAP_SYS_RESOURCE,
// as a root in a container that drops it does. Since 6.5 such a caller
// may create PSI triggers (writes to cpu.pressure, io.pressure,
// memory.pressure) only with a window that is a multiple of 2 s:
// others are EINVAL. By default the caller has every capability.
func WithoutCapSysResource() Option {
	return func(c *config) { c.noCapSysResource = true }
}
