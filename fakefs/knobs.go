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

// sched_prio_to_weight: the load weight of each nice level, -20 to 19.
var prioToWeight = [40]uint64{
	88761, 71755, 56483, 46273, 36291,
	29154, 23254, 18705, 14949, 11916,
	9548, 7620, 6100, 4904, 3906,
	3121, 2501, 1991, 1586, 1277,
	1024, 820, 655, 526, 423,
	335, 272, 215, 172, 137,
	110, 87, 70, 56, 45,
	36, 29, 23, 18, 15,
}

// shares returns the cgroup's CPU shares (tg->shares, scaled down):
// 1024 unless cpu.weight or cpu.weight.nice set them.
func shares(c *cgroup) uint64 {
	if v, ok := c.values["cpu.shares"]; ok {
		n, _ := strconv.ParseUint(v, 10, 64)
		return n
	}
	return 1024
}

// setShares follows sched_group_set_shares: EINVAL while cpu.idle is 1,
// shares clamped to [2, 1<<18].
func setShares(c *cgroup, n uint64) error {
	if c.values["cpu.idle"] == "1" {
		return unix.EINVAL
	}
	c.values["cpu.shares"] = strconv.FormatUint(min(max(n, 2), 1<<18), 10)
	return nil
}

func divRoundClosest(a, b uint64) uint64 { return (a + b/2) / b }

// readCPUWeight follows cpu_weight_read_u64: the shares scaled to the
// cgroup weight range, unclamped (an idle group reads 0 on Linux 6.1;
// later kernels may clamp it to 1).
func readCPUWeight(_ *FS, c *cgroup) string {
	w := divRoundClosest(shares(c)*100, 1024)
	return strconv.FormatUint(w, 10) + "\n"
}

// writeCPUWeight follows cpu_weight_write_u64: kstrtoull on the raw
// buffer (one trailing newline allowed), 1 to 10000 (ERANGE otherwise).
func writeCPUWeight(_ *FS, c *cgroup, s string) error {
	w, err := kstrtoull(s)
	if err != nil {
		return err
	}
	if w < 1 || w > 10000 {
		return unix.ERANGE
	}
	return setShares(c, divRoundClosest(w*1024, 100))
}

// readCPUWeightNice follows cpu_weight_nice_read_s64: the nice level
// whose weight is closest to the shares.
func readCPUWeightNice(_ *FS, c *cgroup) string {
	w := int64(shares(c))
	last := int64(math.MaxInt64)
	prio := 0
	for ; prio < len(prioToWeight); prio++ {
		d := int64(prioToWeight[prio]) - w
		if d < 0 {
			d = -d
		}
		if d >= last {
			break
		}
		last = d
	}
	return strconv.Itoa(prio-1-20) + "\n"
}

// writeCPUWeightNice follows cpu_weight_nice_write_s64: kstrtoll on the
// raw buffer, -20 to 19 (ERANGE otherwise).
func writeCPUWeightNice(_ *FS, c *cgroup, s string) error {
	n, err := kstrtoll(s)
	if err != nil {
		return err
	}
	if n < -20 || n > 19 {
		return unix.ERANGE
	}
	return setShares(c, prioToWeight[n+20])
}

// writeCPUIdle follows cpu_idle_write_s64 and sched_group_set_idle:
// kstrtoll on the raw buffer, 0 or 1 (EINVAL otherwise). Changing it
// resets the shares: an idle group has the minimum weight
// (WEIGHT_IDLEPRIO, 3), and leaving idle gives the default (1024), not
// the weight before.
func writeCPUIdle(_ *FS, c *cgroup, s string) error {
	v, err := kstrtoll(s)
	if err != nil {
		return err
	}
	if v != 0 && v != 1 {
		return unix.EINVAL
	}
	idle := strconv.FormatInt(v, 10)
	if c.values["cpu.idle"] == idle || (idle == "0" && c.values["cpu.idle"] == "") {
		return nil
	}
	c.values["cpu.idle"] = idle
	c.values["cpu.shares"] = map[string]string{"0": "1024", "1": "3"}[idle]
	return nil
}
