package fakefs

import (
	"math"
	"strconv"

	"golang.org/x/sys/unix"
)

// Parsers of controller knobs that copy the kernel's, so that writing
// them in a fake answers as on a real system. Values are stored as the
// kernel prints them back.

// pageSizeBytes is PAGE_SIZE on x86-64: memory limits are kept in pages.
const pageSizeBytes = 4096

// pageCounterMax is PAGE_COUNTER_MAX on 64-bit: LONG_MAX / PAGE_SIZE.
const pageCounterMax = math.MaxInt64 / pageSizeBytes

// memparse follows the kernel's memparse: simple_strtoull with base 0
// (wrapping on overflow, as it does), then an optional K, M, G, T, P or
// E suffix (either case). It returns the value and what follows.
func memparse(s string) (uint64, string) {
	base := uint64(10)
	rest := s
	switch {
	case len(rest) >= 3 && rest[0] == '0' && (rest[1] == 'x' || rest[1] == 'X') && isXDigit(rest[2]):
		base, rest = 16, rest[2:]
	case len(rest) >= 1 && rest[0] == '0':
		base = 8
	}
	n, used, _ := parseUint(rest, base)
	rest = rest[used:]
	if rest != "" {
		shift := 0
		switch rest[0] {
		case 'E', 'e':
			shift = 60
		case 'P', 'p':
			shift = 50
		case 'T', 't':
			shift = 40
		case 'G', 'g':
			shift = 30
		case 'M', 'm':
			shift = 20
		case 'K', 'k':
			shift = 10
		}
		if shift > 0 {
			n <<= shift
			rest = rest[1:]
		}
	}
	return n, rest
}

// pageCounterMemparse follows page_counter_memparse: maxWord for no
// limit, else a memparse size with nothing after it (EINVAL otherwise),
// in whole pages, at most PAGE_COUNTER_MAX.
func pageCounterMemparse(s, maxWord string) (pages uint64, err error) {
	if s == maxWord {
		return pageCounterMax, nil
	}
	bytes, rest := memparse(s)
	if rest != "" {
		return 0, unix.EINVAL
	}
	return min(bytes/pageSizeBytes, pageCounterMax), nil
}

// writeMemory stores a memory limit (memory.min, low, high, max,
// swap.max): after strstrip, "max" or a size; it reads back in bytes,
// rounded down to whole pages, or "max". An empty value ("\n") is the
// size 0, as in the kernel.
func writeMemory(name string) func(*FS, *cgroup, string) error {
	return func(_ *FS, c *cgroup, s string) error {
		pages, err := pageCounterMemparse(strstrip(s), "max")
		if err != nil {
			return err
		}
		c.values[name] = memoryValue(pages)
		return nil
	}
}

// memoryValue prints a page count as the memory files do.
func memoryValue(pages uint64) string {
	if pages >= pageCounterMax {
		return "max"
	}
	return strconv.FormatUint(pages*pageSizeBytes, 10)
}

// writeHugetlbMax follows hugetlb_cgroup_write on cgroup v2: like a
// memory limit, rounded down to whole huge pages of pageBytes.
func writeHugetlbMax(name string, pageBytes uint64) func(*FS, *cgroup, string) error {
	return func(_ *FS, c *cgroup, s string) error {
		pages, err := pageCounterMemparse(strstrip(s), "max")
		if err != nil {
			return err
		}
		if pages >= pageCounterMax {
			c.values[name] = "max"
			return nil
		}
		per := pageBytes / pageSizeBytes
		pages -= pages % per
		c.values[name] = strconv.FormatUint(pages*pageSizeBytes, 10)
		return nil
	}
}

// pidsMax is PIDS_MAX: PID_MAX_LIMIT + 1.
const pidsMax = 4194304 + 1

// writePidsMax follows pids_max_write: after strstrip "max", or a
// kstrtoll number in [0, PIDS_MAX) (EINVAL outside, ERANGE on overflow).
func writePidsMax(_ *FS, c *cgroup, s string) error {
	s = strstrip(s)
	if s == "max" {
		c.values["pids.max"] = "max"
		return nil
	}
	v, err := kstrtoll(s)
	if err != nil {
		return err
	}
	if v < 0 || v >= pidsMax {
		return unix.EINVAL
	}
	c.values["pids.max"] = strconv.FormatInt(v, 10)
	return nil
}

// kstrtoll follows the kernel's kstrtoll with base 0.
func kstrtoll(s string) (int64, error) {
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
		if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
			return 0, unix.EINVAL
		}
	}
	n, err := kstrtoull(s)
	if err != nil {
		return 0, err
	}
	if neg {
		if n > 1<<63 {
			return 0, unix.ERANGE
		}
		return -int64(n), nil
	}
	if n > math.MaxInt64 {
		return 0, unix.ERANGE
	}
	return int64(n), nil
}

// writeS64Range follows a cftype write_s64 handler (kstrtoll on the
// unstripped buffer: one trailing newline allowed) that accepts
// [lo, hi] and refuses the rest with outErr.
func writeS64Range(name string, lo, hi int64, outErr error) func(*FS, *cgroup, string) error {
	return func(_ *FS, c *cgroup, s string) error {
		v, err := kstrtoll(s)
		if err != nil {
			return err
		}
		if v < lo || v > hi {
			return outErr
		}
		c.values[name] = strconv.FormatInt(v, 10)
		return nil
	}
}

// writeOOMGroup follows memory_oom_group_write: kstrtoint after
// strstrip, then 0 or 1 (EINVAL otherwise).
func writeOOMGroup(_ *FS, c *cgroup, s string) error {
	v, err := kstrtoint(strstrip(s))
	if err != nil {
		return err
	}
	if v != 0 && v != 1 {
		return unix.EINVAL
	}
	c.values["memory.oom.group"] = strconv.Itoa(v)
	return nil
}
