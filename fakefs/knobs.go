package fakefs

import (
	"fmt"
	"math"
	"strconv"
	"strings"

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
var writeOOMGroup = writeBoolKnob("memory.oom.group")

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
// cgroup weight range; 6.1 does not clamp it (an idle group reads 0),
// 6.12 clamps it to 1-10000 (an idle group reads 1).
func readCPUWeight(f *FS, c *cgroup) string {
	w := divRoundClosest(shares(c)*100, 1024)
	if f.kernel >= kernel6_12 {
		w = min(max(w, 1), 10000)
	}
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

// cpu.max and cpu.max.burst are kept in nanoseconds, as the kernel keeps
// them (tg->cfs_bandwidth), and read back in microseconds.
const (
	nsecPerUsec       = 1000
	runtimeInf        = ^uint64(0)            // RUNTIME_INF: no quota
	minCFSQuotaPeriod = 1000 * nsecPerUsec    // 1 ms
	maxCFSQuotaPeriod = 1000000 * nsecPerUsec // 1 s
	maxCFSRuntime     = (1<<44 - 1) * nsecPerUsec
	defaultCFSPeriod  = 100000 * nsecPerUsec
)

// bandwidth returns the cgroup's CFS period, quota and burst, in ns.
func bandwidth(c *cgroup) (period, quota, burst uint64) {
	period, quota = defaultCFSPeriod, runtimeInf
	if v, ok := c.values["cpu.max.period"]; ok {
		period, _ = strconv.ParseUint(v, 10, 64)
	}
	if v, ok := c.values["cpu.max.quota"]; ok {
		quota, _ = strconv.ParseUint(v, 10, 64)
	}
	if v, ok := c.values["cpu.max.burst"]; ok {
		burst, _ = strconv.ParseUint(v, 10, 64)
	}
	return period, quota, burst
}

// setBandwidth follows tg_set_cfs_bandwidth: EINVAL for a quota or
// period under 1 ms, a period over 1 s, a quota beyond max_cfs_runtime,
// or a burst larger than the quota.
func setBandwidth(c *cgroup, period, quota, burst uint64) error {
	if quota < minCFSQuotaPeriod || period < minCFSQuotaPeriod || period > maxCFSQuotaPeriod {
		return unix.EINVAL
	}
	if quota != runtimeInf && (quota > maxCFSRuntime || burst > quota || burst+quota > maxCFSRuntime) {
		return unix.EINVAL
	}
	c.values["cpu.max.period"] = strconv.FormatUint(period, 10)
	c.values["cpu.max.quota"] = strconv.FormatUint(quota, 10)
	c.values["cpu.max.burst"] = strconv.FormatUint(burst, 10)
	return nil
}

func readCPUMax(_ *FS, c *cgroup) string {
	period, quota, _ := bandwidth(c)
	q := "max"
	if quota != runtimeInf {
		q = strconv.FormatUint(quota/nsecPerUsec, 10)
	}
	return q + " " + strconv.FormatUint(period/nsecPerUsec, 10) + "\n"
}

// writeCPUMax follows cpu_max_write and cpu_period_quota_parse:
// sscanf(buf, "%20s %llu") for the quota word and an optional period
// (microseconds; what follows is ignored), the word a number
// (sscanf "%llu": digits first, the rest ignored) or "max", then the
// checks of tg_set_cfs_bandwidth. Values wrap as the kernel's u64 do.
func writeCPUMax(_ *FS, c *cgroup, s string) error {
	period, _, burst := bandwidth(c)
	periodUs := period / nsecPerUsec
	tok, rest, ok := scanWord(s, 20)
	if !ok {
		return unix.EINVAL
	}
	if v, _, ok := scanUint(rest); ok {
		periodUs = v
	}
	var quota uint64
	if v, _, ok := scanUint(tok); ok && tok != "" {
		quota = v * nsecPerUsec
	} else if tok == "max" {
		quota = runtimeInf
	} else {
		return unix.EINVAL
	}
	return setBandwidth(c, periodUs*nsecPerUsec, quota, burst)
}

func readCPUMaxBurst(_ *FS, c *cgroup) string {
	_, _, burst := bandwidth(c)
	return strconv.FormatUint(burst/nsecPerUsec, 10) + "\n"
}

// writeCPUMaxBurst follows cpu_cfs_burst_write_u64 and tg_set_cfs_burst:
// kstrtoull on the raw buffer (EINVAL, ERANGE), EINVAL beyond
// U64_MAX/1000 microseconds, then tg_set_cfs_bandwidth's checks.
func writeCPUMaxBurst(_ *FS, c *cgroup, s string) error {
	us, err := kstrtoull(s)
	if err != nil {
		return err
	}
	if us > math.MaxUint64/nsecPerUsec {
		return unix.EINVAL
	}
	period, quota, _ := bandwidth(c)
	return setBandwidth(c, period, quota, us*nsecPerUsec)
}

// writeBoolKnob follows the 0-or-1 knobs that parse with kstrtoint
// after strstrip (memory.oom.group, memory.zswap.writeback): EINVAL for
// other numbers, kstrtoint's errors for the rest.
func writeBoolKnob(name string) func(*FS, *cgroup, string) error {
	return func(_ *FS, c *cgroup, s string) error {
		v, err := kstrtoint(strstrip(s))
		if err != nil {
			return err
		}
		if v != 0 && v != 1 {
			return unix.EINVAL
		}
		c.values[name] = strconv.Itoa(v)
		return nil
	}
}

var writeZswapWriteback = writeBoolKnob("memory.zswap.writeback")

// resetPeak follows peak_write (6.12): any write resets the peak the
// writer's open file reports; the fake's usage is always 0.
func resetPeak(*FS, *cgroup, string) error { return nil }

// writeReclaim follows memory_reclaim. The fake's cgroups hold no
// memory, so asking for a page or more fails as an unmeetable request
// does (EAGAIN after the retries); less than a page succeeds at once.
// 6.1 parses the size with page_counter_memparse(buf, "") (so an empty
// or blank write asks for everything); 6.12 with memparse, which must
// consume something, then takes "swappiness=N" (0-200) options.
func writeReclaim(f *FS, _ *cgroup, s string) error {
	s = strstrip(s)
	var pages uint64
	if f.kernel < kernel6_12 {
		p, err := pageCounterMemparse(s, "")
		if err != nil {
			return err
		}
		pages = p
	} else {
		bytes, rest := memparse(s)
		if len(rest) == len(s) {
			return unix.EINVAL
		}
		for opt := range strings.SplitSeq(strstrip(rest), " ") {
			if opt == "" {
				continue
			}
			v, ok := strings.CutPrefix(opt, "swappiness=")
			if !ok {
				return unix.EINVAL
			}
			n, used := simpleStrtol(v)
			if used == 0 || used != len(v) || n < 0 || n > 200 {
				return unix.EINVAL
			}
		}
		pages = bytes / pageSizeBytes
	}
	if pages > 0 {
		return unix.EAGAIN
	}
	return nil
}

// readIOWeight prints io.weight: the cgroup's default weight (per-device
// weights need devices, which the fake has none of).
func readIOWeight(_ *FS, c *cgroup) string {
	w, ok := c.values["io.weight"]
	if !ok {
		w = "100"
	}
	return "default " + w + "\n"
}

// writeIOWeight follows ioc_weight_write: with a ':' it names a device
// (writeBlkgConf); otherwise sscanf "default %u" or "%u", 1 to 10000
// (EINVAL otherwise).
func writeIOWeight(f *FS, c *cgroup, s string) error {
	if strings.Contains(s, ":") {
		return writeBlkgConf(f, c, s)
	}
	v, _, ok := uint64(0), "", false
	if rest, lit := scanLiteral(s, "default "); lit {
		v, _, ok = scanUint(rest)
	}
	if !ok {
		v, _, ok = scanUint(s)
	}
	v = uint64(uint32(v)) // %u stores an unsigned int
	if !ok || v < 1 || v > 10000 {
		return unix.EINVAL
	}
	c.values["io.weight"] = strconv.FormatUint(v, 10)
	return nil
}

// writeBlkgConf follows blkg_conf_open_bdev, where every per-device
// block knob starts (io.max, io.weight's device lines, io.cost.*): a
// "MAJ:MIN" (sscanf "%u:%u") followed by whitespace, or EINVAL; then the
// device, which the fake's machine lacks: ENODEV.
func writeBlkgConf(_ *FS, _ *cgroup, s string) error {
	_, rest, ok := scanUint(s)
	if !ok {
		return unix.EINVAL
	}
	if rest, ok = scanLiteral(rest, ":"); !ok {
		return unix.EINVAL
	}
	if _, rest, ok = scanUint(rest); !ok {
		return unix.EINVAL
	}
	if rest == "" || !isSpace(rest[0]) {
		return unix.EINVAL
	}
	return unix.ENODEV
}

// writeRdmaMax follows rdmacg_resource_set_max: after strstrip a device
// name, then space-separated "hca_handle=N" or "hca_object=N" (N >= 0,
// or a prefix of "max"), EINVAL otherwise; then the device, which the
// fake's machine lacks: ENODEV.
func writeRdmaMax(_ *FS, _ *cgroup, s string) error {
	_, opts, hasOpts := strings.Cut(strstrip(s), " ")
	if !hasOpts {
		return unix.ENODEV
	}
	for opt := range strings.SplitSeq(opts, " ") {
		name, value, ok := strings.Cut(opt, "=")
		if !ok || (name != "hca_handle" && name != "hca_object") {
			return unix.EINVAL
		}
		n, used := simpleStrtol(value)
		switch {
		case used > 0 && n >= math.MinInt32 && n <= math.MaxInt32:
			if n < 0 {
				return unix.EINVAL
			}
		case strings.HasPrefix("max", value) && used == 0:
		default:
			return unix.EINVAL
		}
	}
	return unix.ENODEV
}

// writeMiscMax follows misc_cg_max_write: after strstrip a resource
// name, a space, then "max" or a kstrtoul number (its errors first);
// the fake's machine has no misc resource with a capacity (no SEV, no
// TDX), so every name then gives EINVAL, as on the measured VMs.
func writeMiscMax(_ *FS, _ *cgroup, s string) error {
	_, value, ok := strings.Cut(strstrip(s), " ")
	if !ok {
		return unix.EINVAL
	}
	if value = strstrip(value); value != "max" {
		if _, err := kstrtoul(value); err != nil {
			return err
		}
	}
	return unix.EINVAL
}

// writePSI follows pressure_write and psi_trigger_create: a trigger
// "some|full <threshold us> <window us>" (sscanf "some %u %u"), window
// at most 10 s (and, on 6.1, at least 500 ms; without CAP_SYS_RESOURCE
// on later kernels, a multiple of 2 s), threshold from 1 to the window,
// EINVAL otherwise. A trigger lives as long as the open file
// that wrote it; WriteFile closes the file at once, so a valid trigger
// succeeds and leaves nothing behind.
func writePSI(f *FS, _ *cgroup, s string) error {
	var threshold, window uint64
	ok := false
	for _, kind := range []string{"some ", "full "} {
		rest, lit := scanLiteral(s, kind)
		if !lit {
			continue
		}
		var r string
		var ok1, ok2 bool
		threshold, r, ok1 = scanUint(rest)
		window, _, ok2 = scanUint(r)
		if ok1 && ok2 {
			ok = true
			break
		}
	}
	if !ok {
		return unix.EINVAL
	}
	threshold, window = uint64(uint32(threshold)), uint64(uint32(window))
	minWindow := uint64(1)
	if f.kernel < kernel6_12 {
		minWindow = 500000
	}
	if window < minWindow || window > 10000000 || threshold == 0 || threshold > window {
		return unix.EINVAL
	}
	if f.noCapSysResource && f.kernel >= kernel6_12 && window%2000000 != 0 {
		return unix.EINVAL // unprivileged triggers use the 2 s averaging window
	}
	return nil
}

// readMemoryStat prints memory.stat of an empty cgroup: every counter
// the kernel version prints, at 0.
func readMemoryStat(f *FS, _ *cgroup) string {
	keys := memoryStatKeys6_12
	if f.kernel < kernel6_12 {
		keys = memoryStatKeys6_1
	}
	var b strings.Builder
	for _, k := range strings.Fields(keys) {
		b.WriteString(k + " 0\n")
	}
	return b.String()
}

// readMemoryNumaStat prints memory.numa_stat: each counter per memory
// node of the machine.
func readMemoryNumaStat(f *FS, _ *cgroup) string {
	keys := memoryNumaStatKeys6_12
	if f.kernel < kernel6_12 {
		keys = memoryNumaStatKeys6_1
	}
	var b strings.Builder
	for _, k := range strings.Fields(keys) {
		b.WriteString(k)
		for _, n := range f.mems.IDs() {
			fmt.Fprintf(&b, " N%d=0", n)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// readHugetlbNumaStat prints hugetlb.<size>.numa_stat.
func readHugetlbNumaStat(f *FS, _ *cgroup) string {
	var b strings.Builder
	b.WriteString("total=0")
	for _, n := range f.mems.IDs() {
		fmt.Fprintf(&b, " N%d=0", n)
	}
	b.WriteString("\n")
	return b.String()
}

// The counters of memory.stat and memory.numa_stat, in the kernel's
// order, as Debian's 6.1 and 6.12 print them (6.18 is taken to print
// 6.12's: the host offers no memory controller to measure).
const (
	memoryStatKeys6_1 = `anon file kernel kernel_stack pagetables sec_pagetables percpu sock vmalloc shmem
		zswap zswapped file_mapped file_dirty file_writeback swapcached anon_thp file_thp shmem_thp
		inactive_anon active_anon inactive_file active_file unevictable slab_reclaimable
		slab_unreclaimable slab workingset_refault_anon workingset_refault_file
		workingset_activate_anon workingset_activate_file workingset_restore_anon
		workingset_restore_file workingset_nodereclaim pgscan pgsteal pgscan_kswapd pgscan_direct
		pgsteal_kswapd pgsteal_direct pgfault pgmajfault pgrefill pgactivate pgdeactivate pglazyfree
		pglazyfreed zswpin zswpout thp_fault_alloc thp_collapse_alloc`
	memoryStatKeys6_12 = `anon file kernel kernel_stack pagetables sec_pagetables percpu sock vmalloc shmem
		zswap zswapped file_mapped file_dirty file_writeback swapcached anon_thp file_thp shmem_thp
		inactive_anon active_anon inactive_file active_file unevictable slab_reclaimable
		slab_unreclaimable slab workingset_refault_anon workingset_refault_file
		workingset_activate_anon workingset_activate_file workingset_restore_anon
		workingset_restore_file workingset_nodereclaim pgdemote_kswapd pgdemote_direct
		pgdemote_khugepaged pgpromote_success pgscan pgsteal pgscan_kswapd pgscan_direct
		pgscan_khugepaged pgsteal_kswapd pgsteal_direct pgsteal_khugepaged pgfault pgmajfault
		pgrefill pgactivate pgdeactivate pglazyfree pglazyfreed swpin_zero swpout_zero zswpin
		zswpout zswpwb thp_fault_alloc thp_collapse_alloc thp_swpout thp_swpout_fallback
		numa_pages_migrated numa_pte_updates numa_hint_faults`
	memoryNumaStatKeys6_1 = `anon file kernel_stack pagetables sec_pagetables shmem file_mapped file_dirty
		file_writeback swapcached anon_thp file_thp shmem_thp inactive_anon active_anon
		inactive_file active_file unevictable slab_reclaimable slab_unreclaimable
		workingset_refault_anon workingset_refault_file workingset_activate_anon
		workingset_activate_file workingset_restore_anon workingset_restore_file
		workingset_nodereclaim`
	memoryNumaStatKeys6_12 = memoryNumaStatKeys6_1 + ` pgdemote_kswapd pgdemote_direct
		pgdemote_khugepaged pgpromote_success`
)
