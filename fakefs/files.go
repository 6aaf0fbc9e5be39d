package fakefs

import (
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"golang.org/x/sys/unix"
)

// pageSize is the largest write most cgroup files accept in one go
// (kernfs atomic_write_len); longer writes fail with E2BIG.
const pageSize = 4096

// cpusetMaxWrite is cpuset.cpus's max_write_len, 100 + 6*NR_CPUS, for
// NR_CPUS 8192 as on a Debian x86-64 kernel.
const cpusetMaxWrite = 100 + 6*8192

// fileSpec describes one interface file: its mode and how it is read and
// written. A nil read makes the file write-only (read gives EINVAL); a
// nil write makes it read-only (write gives EINVAL).
type fileSpec struct {
	name     string
	mode     fs.FileMode
	read     func(f *FS, c *cgroup) string
	write    func(f *FS, c *cgroup, s string) error
	maxWrite int // 0: pageSize
}

// where says which cgroups carry a file.
type where int

const (
	everywhere where = iota
	notOnRoot
	onlyOnRoot
)

// fileDef is an interface file and where and since when it exists.
type fileDef struct {
	spec  fileSpec
	where where
	// from is the first kernel with the file; before, when not zero, the
	// first without it (or with another definition of it).
	from, before kernelVersion
}

// in reports whether kernel v has the file.
func (d fileDef) in(v kernelVersion) bool {
	return v >= d.from && (d.before == 0 || v < d.before)
}

// since and until tag a definition with the kernels that have it.
func (d fileDef) since(v kernelVersion) fileDef { d.from = v; return d }
func (d fileDef) until(v kernelVersion) fileDef { d.before = v; return d }

func def(name string, mode fs.FileMode, w where, read func(*FS, *cgroup) string, write func(*FS, *cgroup, string) error) fileDef {
	return fileDef{spec: fileSpec{name: name, mode: mode, read: read, write: write}, where: w}
}

// ro and rw are the common shapes: a read-only file and a knob.
func ro(name string, w where, read func(*FS, *cgroup) string) fileDef {
	return def(name, 0o444, w, read, nil)
}

func rw(name string, w where, read func(*FS, *cgroup) string, write func(*FS, *cgroup, string) error) fileDef {
	return def(name, 0o644, w, read, write)
}

// cpuset lists are longer than a page on big machines.
func long(d fileDef) fileDef { d.spec.maxWrite = cpusetMaxWrite; return d }

// coreFiles are the files every cgroup has regardless of controllers,
// with their modes, as measured on Linux 6.1, 6.12 and 6.18.
var coreFiles = []fileDef{
	ro("cgroup.controllers", everywhere, readControllers),
	ro("cgroup.events", notOnRoot, readEvents),
	rw("cgroup.freeze", notOnRoot, readFreeze, writeFreeze),
	def("cgroup.kill", 0o200, notOnRoot, nil, writeKill),
	rw("cgroup.max.depth", everywhere, readMaxDepth, writeMaxDepth),
	rw("cgroup.max.descendants", everywhere, readMaxDesc, writeMaxDesc),
	rw("cgroup.pressure", everywhere, readPressureSwitch, writePressureSwitch),
	rw("cgroup.procs", everywhere, readProcs, writeProcs),
	ro("cgroup.stat", everywhere, readStat),
	ro("cgroup.stat.local", notOnRoot, constant("frozen_usec 0\n")).since(kernel6_18),
	rw("cgroup.subtree_control", everywhere, readSubtree, writeSubtree),
	rw("cgroup.threads", everywhere, readThreads, writeThreads),
	rw("cgroup.type", notOnRoot, readType, writeType),
	rw("cpu.pressure", everywhere, readPSI, writePSI),
	ro("cpu.stat", everywhere, readCPUStat),
	ro("cpu.stat.local", everywhere, readCPUStatLocal).since(kernel6_12),
	rw("io.pressure", everywhere, readPSI, writePSI),
	rw("memory.pressure", everywhere, readPSI, writePSI),
}

// controllerFiles are the files each controller adds to a cgroup where
// it is enabled (for the root: where the root offers it), as measured
// on 6.1 and 6.12 in the VM with every controller. The host's 6.18
// offers no controller to a test cgroup, so 6.18 keeps 6.12's controller
// files. hugetlb's files are per huge page size (hugetlbFiles). Every
// knob parses writes as the kernel does (knobs.go); usage and statistics
// files read zero, the values of a fresh, empty cgroup.
var controllerFiles = map[string][]fileDef{
	"cpuset": {
		long(rw("cpuset.cpus", notOnRoot, readCpus, writeCpus)),
		ro("cpuset.cpus.effective", everywhere, readCpusEff),
		long(rw("cpuset.cpus.exclusive", notOnRoot, readExclusive, writeExclusive)).since(kernel6_12),
		ro("cpuset.cpus.exclusive.effective", notOnRoot, readExclusiveEff).since(kernel6_12),
		ro("cpuset.cpus.isolated", onlyOnRoot, readIsolated).since(kernel6_12),
		rw("cpuset.cpus.partition", notOnRoot, readPartition, writePartition),
		long(rw("cpuset.mems", notOnRoot, readMems, writeMems)),
		ro("cpuset.mems.effective", everywhere, readMemsEff),
	},
	"cpu": {
		rw("cpu.idle", notOnRoot, knob("cpu.idle", "0"), writeCPUIdle),
		rw("cpu.max", notOnRoot, readCPUMax, writeCPUMax),
		rw("cpu.max.burst", notOnRoot, readCPUMaxBurst, writeCPUMaxBurst),
		rw("cpu.weight", notOnRoot, readCPUWeight, writeCPUWeight),
		rw("cpu.weight.nice", notOnRoot, readCPUWeightNice, writeCPUWeightNice),
	},
	"io": {
		rw("io.cost.model", onlyOnRoot, constant(""), writeBlkgConf),
		rw("io.cost.qos", onlyOnRoot, constant(""), writeBlkgConf),
		rw("io.max", notOnRoot, constant(""), writeBlkgConf),
		ro("io.stat", everywhere, constant("")),
		rw("io.weight", notOnRoot, readIOWeight, writeIOWeight),
	},
	"memory": {
		ro("memory.current", notOnRoot, constant("0\n")),
		ro("memory.events", notOnRoot, constant(memoryEvents)),
		ro("memory.events.local", notOnRoot, constant(memoryEvents)),
		rw("memory.high", notOnRoot, knob("memory.high", "max"), writeMemory("memory.high")),
		rw("memory.low", notOnRoot, knob("memory.low", "0"), writeMemory("memory.low")),
		rw("memory.max", notOnRoot, knob("memory.max", "max"), writeMemory("memory.max")),
		rw("memory.min", notOnRoot, knob("memory.min", "0"), writeMemory("memory.min")),
		ro("memory.numa_stat", everywhere, readMemoryNumaStat),
		rw("memory.oom.group", notOnRoot, knob("memory.oom.group", "0"), writeOOMGroup),
		ro("memory.peak", notOnRoot, constant("0\n")).until(kernel6_12),
		rw("memory.peak", notOnRoot, constant("0\n"), resetPeak).since(kernel6_12),
		def("memory.reclaim", 0o200, everywhere, nil, writeReclaim),
		ro("memory.stat", everywhere, readMemoryStat),
		ro("memory.swap.current", notOnRoot, constant("0\n")),
		ro("memory.swap.events", notOnRoot, constant("high 0\nmax 0\nfail 0\n")),
		rw("memory.swap.high", notOnRoot, knob("memory.swap.high", "max"), writeMemory("memory.swap.high")),
		rw("memory.swap.max", notOnRoot, knob("memory.swap.max", "max"), writeMemory("memory.swap.max")),
		rw("memory.swap.peak", notOnRoot, constant("0\n"), resetPeak).since(kernel6_12),
		ro("memory.zswap.current", notOnRoot, constant("0\n")),
		rw("memory.zswap.max", notOnRoot, knob("memory.zswap.max", "max"), writeMemory("memory.zswap.max")),
		rw("memory.zswap.writeback", everywhere, knob("memory.zswap.writeback", "1"), writeZswapWriteback).since(kernel6_12),
	},
	"pids": {
		ro("pids.current", notOnRoot, readPidsCurrent),
		ro("pids.events", notOnRoot, constant("max 0\n")),
		ro("pids.events.local", notOnRoot, constant("max 0\n")).since(kernel6_12),
		rw("pids.max", notOnRoot, knob("pids.max", "max"), writePidsMax),
		ro("pids.peak", notOnRoot, readPidsCurrent),
	},
	"rdma": {
		ro("rdma.current", notOnRoot, constant("")),
		rw("rdma.max", notOnRoot, constant(""), writeRdmaMax),
	},
	"misc": {
		ro("misc.capacity", onlyOnRoot, constant("")),
		ro("misc.current", notOnRoot, constant("")).until(kernel6_12),
		ro("misc.current", everywhere, constant("")).since(kernel6_12),
		ro("misc.events", notOnRoot, constant("")),
		ro("misc.events.local", notOnRoot, constant("")).since(kernel6_12),
		rw("misc.max", notOnRoot, constant(""), writeMiscMax),
		ro("misc.peak", everywhere, constant("")).since(kernel6_12),
	},
}

// memoryEvents is memory.events of a cgroup that never hit a limit.
const memoryEvents = "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n"

// hugetlbFiles are the hugetlb controller's files for one huge page
// size, the same on 6.1 and 6.12.
func hugetlbFiles(hp hugePage) []fileDef {
	p := "hugetlb." + hp.name + "."
	return []fileDef{
		ro(p+"current", notOnRoot, constant("0\n")),
		ro(p+"events", notOnRoot, constant("max 0\n")),
		ro(p+"events.local", notOnRoot, constant("max 0\n")),
		rw(p+"max", notOnRoot, knob(p+"max", "max"), writeHugetlbMax(p+"max", hp.bytes)),
		ro(p+"numa_stat", notOnRoot, readHugetlbNumaStat),
		ro(p+"rsvd.current", notOnRoot, constant("0\n")),
		rw(p+"rsvd.max", notOnRoot, knob(p+"rsvd.max", "max"), writeHugetlbMax(p+"rsvd.max", hp.bytes)),
	}
}

// fileTable is the files of one kernel version on one machine.
type fileTable struct {
	core []fileDef
	ctrl map[string][]fileDef
}

// buildFiles selects the files of f's kernel, with hugetlb files for
// f's huge page sizes.
func (f *FS) buildFiles() {
	keep := func(defs []fileDef) []fileDef {
		var out []fileDef
		for _, d := range defs {
			if d.in(f.kernel) {
				out = append(out, d)
			}
		}
		return out
	}
	t := fileTable{core: keep(coreFiles), ctrl: map[string][]fileDef{}}
	for name, defs := range controllerFiles {
		t.ctrl[name] = keep(defs)
	}
	for _, hp := range f.hugePages {
		t.ctrl["hugetlb"] = append(t.ctrl["hugetlb"], hugetlbFiles(hp)...)
	}
	f.table = t
}

func (d fileDef) on(c *cgroup) bool {
	switch d.where {
	case notOnRoot:
		return !c.isRoot()
	case onlyOnRoot:
		return c.isRoot()
	}
	return true
}

// files returns the interface files of c, core files first.
func (f *FS) files(c *cgroup) []fileSpec {
	var out []fileSpec
	for _, d := range f.table.core {
		if d.on(c) && f.shown(c, d.spec.name) {
			out = append(out, d.spec)
		}
	}
	en := f.enabled(c)
	for i, ctl := range knownControllers {
		if !en.has(i) {
			continue
		}
		for _, d := range f.table.ctrl[ctl.name] {
			if d.on(c) {
				out = append(out, d.spec)
			}
		}
	}
	return out
}

// fileSpec finds the interface file name of c.
func (f *FS) fileSpec(c *cgroup, name string) (fileSpec, bool) {
	for _, d := range f.table.core {
		if d.spec.name == name {
			return d.spec, d.on(c) && f.shown(c, name)
		}
	}
	ctl, _, _ := strings.Cut(name, ".")
	i := controllerIndex(ctl)
	if i < 0 || !f.enabled(c).has(i) {
		return fileSpec{}, false
	}
	for _, d := range f.table.ctrl[ctl] {
		if d.spec.name == name && d.on(c) {
			return d.spec, true
		}
	}
	return fileSpec{}, false
}

func constant(s string) func(*FS, *cgroup) string {
	return func(*FS, *cgroup) string { return s }
}

func boolDigit(b bool) int {
	if b {
		return 1
	}
	return 0
}

func readControllers(f *FS, c *cgroup) string { return maskLine(f.available(c)) }
func readSubtree(_ *FS, c *cgroup) string     { return maskLine(c.subtree) }

// maskLine prints a controller list the way cgroup_print_ss_mask does:
// a newline only after a non-empty list.
func maskLine(m ctrlMask) string {
	if s := m.String(); s != "" {
		return s + "\n"
	}
	return ""
}

// eventsText is cgroup.events for each populated (bit 1) and frozen (bit
// 0) state: the file is read in every wait loop, so it is not formatted.
var eventsText = [4]string{
	"populated 0\nfrozen 0\n",
	"populated 0\nfrozen 1\n",
	"populated 1\nfrozen 0\n",
	"populated 1\nfrozen 1\n",
}

func readEvents(f *FS, c *cgroup) string {
	return eventsText[2*boolDigit(f.populated(c))+boolDigit(frozenEff(c))]
}

func readFreeze(_ *FS, c *cgroup) string { return fmt.Sprintf("%d\n", boolDigit(c.freeze)) }

// writeFreeze follows cgroup_freeze_write: kstrtoint, then 0 or 1.
func writeFreeze(f *FS, c *cgroup, s string) error {
	v, err := kstrtoint(strstrip(s))
	if err != nil {
		return err
	}
	if v < 0 || v > 1 {
		return unix.ERANGE
	}
	c.freeze = v == 1
	return nil
}

// writeKill follows cgroup_kill_write: kstrtoint, then only 1 (ERANGE),
// and EOPNOTSUPP in a threaded cgroup; it kills every task of the
// subtree.
func writeKill(f *FS, c *cgroup, s string) error {
	v, err := kstrtoint(strstrip(s))
	if err != nil {
		return err
	}
	if v != 1 {
		return unix.ERANGE
	}
	if c.threaded {
		// Killing takes whole processes down, so, as for cgroup.procs,
		// a threaded cgroup refuses it.
		return unix.EOPNOTSUPP
	}
	f.killSubtree(c)
	return nil
}

func maxLine(v int) string {
	if v < 0 {
		return "max\n"
	}
	return strconv.Itoa(v) + "\n"
}

func readMaxDepth(_ *FS, c *cgroup) string { return maxLine(c.maxDepth) }
func readMaxDesc(_ *FS, c *cgroup) string  { return maxLine(c.maxDesc) }

// parseMax follows cgroup_max_depth_write: "max" (after strstrip), or a
// kstrtoint number that must not be negative (ERANGE).
func parseMax(s string) (int, error) {
	s = strstrip(s)
	if s == "max" {
		return -1, nil
	}
	v, err := kstrtoint(s)
	if err != nil {
		return 0, err
	}
	if v < 0 {
		return 0, unix.ERANGE
	}
	if v == 1<<31-1 {
		return -1, nil // the kernel's "max" is INT_MAX
	}
	return v, nil
}

func writeMaxDepth(_ *FS, c *cgroup, s string) error {
	v, err := parseMax(s)
	if err == nil {
		c.maxDepth = v
	}
	return err
}

func writeMaxDesc(_ *FS, c *cgroup, s string) error {
	v, err := parseMax(s)
	if err == nil {
		c.maxDesc = v
	}
	return err
}

func readPressureSwitch(_ *FS, c *cgroup) string { return fmt.Sprintf("%d\n", boolDigit(c.pressure)) }

// writePressureSwitch follows cgroup_pressure_write: kstrtoint, then 0
// or 1 (ERANGE otherwise), as measured.
func writePressureSwitch(_ *FS, c *cgroup, s string) error {
	v, err := kstrtoint(strstrip(s))
	if err != nil {
		return err
	}
	if v < 0 || v > 1 {
		return unix.ERANGE
	}
	c.pressure = v == 1
	return nil
}

func readPSI(*FS, *cgroup) string {
	return "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
}

// readStat prints cgroup.stat: 6.12 added a count of the cgroups with
// state for each controller bound to the hierarchy (nr_subsys_*) and of
// the dying ones. Removed cgroups die at once in the fake, so the dying
// counts are 0.
func readStat(f *FS, c *cgroup) string {
	var b strings.Builder
	fmt.Fprintf(&b, "nr_descendants %d\n", c.descendants())
	if f.kernel < kernel6_12 {
		b.WriteString("nr_dying_descendants 0\n")
		return b.String()
	}
	bound := f.rootCtrls | 1<<controllerIndex("perf_event")
	for i, ctl := range knownControllers {
		if bound.has(i) {
			fmt.Fprintf(&b, "nr_subsys_%s %d\n", ctl.name, f.countCSS(c, i))
		}
	}
	b.WriteString("nr_dying_descendants 0\n")
	for i, ctl := range knownControllers {
		if bound.has(i) {
			fmt.Fprintf(&b, "nr_dying_subsys_%s 0\n", ctl.name)
		}
	}
	return b.String()
}

// countCSS counts the cgroups of c's subtree (c included) where
// controller i has state: where it is enabled, and everywhere for an
// implicit controller.
func (f *FS) countCSS(c *cgroup, i int) int {
	n := 0
	if knownControllers[i].implicit || f.enabled(c).has(i) {
		n = 1
	}
	for _, ch := range c.children {
		n += f.countCSS(ch, i)
	}
	return n
}

// readCPUStat prints cpu.stat: the CPU times (nice_usec since 6.12)
// and, where the cpu controller is enabled (the root too, when it is
// bound to cgroup v2), the bandwidth statistics.
func readCPUStat(f *FS, c *cgroup) string {
	s := "usage_usec 0\nuser_usec 0\nsystem_usec 0\n"
	if f.kernel >= kernel6_12 {
		s += "nice_usec 0\n"
	}
	if f.enabled(c).has(controllerIndex("cpu")) {
		s += "nr_periods 0\nnr_throttled 0\nthrottled_usec 0\nnr_bursts 0\nburst_usec 0\n"
	}
	return s
}

func readCPUStatLocal(f *FS, c *cgroup) string {
	if f.enabled(c).has(controllerIndex("cpu")) {
		return "throttled_usec 0\n"
	}
	return ""
}

// shown reports whether the file name of c is visible: writing 0 to
// cgroup.pressure hides the cgroup's pressure files
// (cgroup_pressure_write shows or hides them).
func (f *FS) shown(c *cgroup, name string) bool {
	switch name {
	case "cpu.pressure", "io.pressure", "memory.pressure":
		return c.pressure
	}
	return true
}

// writeSubtree follows cgroup_subtree_control_write: every token is
// checked before anything changes (EINVAL for a missing sign or an
// unknown name), then in controller order ENOENT for a controller the
// cgroup's cgroup.controllers lacks and EBUSY for disabling one a child
// still enables, and finally the no-internal-process rule for enabling.
func writeSubtree(f *FS, c *cgroup, s string) error {
	var enable, disable ctrlMask
	for tok := range strings.SplitSeq(strstrip(s), " ") {
		if tok == "" {
			continue
		}
		i := controllerIndex(tok[1:])
		if i < 0 {
			return unix.EINVAL
		}
		switch tok[0] {
		case '+':
			enable |= 1 << i
			disable &^= 1 << i
		case '-':
			disable |= 1 << i
			enable &^= 1 << i
		default:
			return unix.EINVAL
		}
	}
	for i := range knownControllers {
		switch {
		case enable.has(i):
			if c.subtree.has(i) {
				enable &^= 1 << i
				continue
			}
			if knownControllers[i].implicit || !f.available(c).has(i) {
				return unix.ENOENT
			}
		case disable.has(i):
			if !c.subtree.has(i) {
				disable &^= 1 << i
				continue
			}
			for _, ch := range c.children {
				if ch.subtree.has(i) {
					return unix.EBUSY
				}
			}
		}
	}
	if enable == 0 && disable == 0 {
		return nil
	}
	if err := f.vetEnable(c, enable); err != nil {
		return err
	}
	// The children's cpuset bookkeeping comes and goes.
	if i := controllerIndex("cpuset"); f.kernel < kernel6_12 && (enable | disable).has(i) {
		for _, ch := range f.sortedByID(c) {
			if enable.has(i) {
				f.online61(ch)
			} else if disable.has(i) {
				f.offline61(ch)
			}
		}
	}
	c.subtree = (c.subtree | enable) &^ disable
	// Disabling a controller destroys its state in the children: enabled
	// again later, it starts from the defaults, as in the kernel.
	for i, ctl := range knownControllers {
		if !disable.has(i) {
			continue
		}
		for _, ch := range c.children {
			if ctl.name == "cpuset" {
				ch.cpus, ch.mems = cgroupfs.CPUSet{}, cgroupfs.CPUSet{}
			}
			for k := range ch.values {
				if strings.HasPrefix(k, ctl.name+".") {
					delete(ch.values, k)
				}
			}
		}
	}
	return nil
}

// effectiveCPUs is c's cpuset.cpus.effective: its cpuset bookkeeping's
// (partition61.go), or without the cpuset controller its nearest
// ancestor's (the root: the machine's less its partitions').
func (f *FS) effectiveCPUs(c *cgroup) cgroupfs.CPUSet {
	for c.cs == nil && !c.isRoot() {
		c = c.parent
	}
	return f.cpusetOf(c).eff
}

// difference returns the ids of a that are not in b.
func difference(a, b cgroupfs.CPUSet) cgroupfs.CPUSet {
	var ids []int
	for _, id := range a.IDs() {
		if !b.Contains(id) {
			ids = append(ids, id)
		}
	}
	return cgroupfs.NewCPUSet(ids...)
}

func (f *FS) effectiveMems(c *cgroup) cgroupfs.CPUSet {
	if c.isRoot() {
		return f.mems
	}
	parent := f.effectiveMems(c.parent)
	if !f.enabled(c).has(controllerIndex("cpuset")) {
		return parent
	}
	if eff := c.mems.Intersect(parent); !eff.IsEmpty() {
		return eff
	}
	return parent
}

func readCpus(_ *FS, c *cgroup) string        { return c.cpus.String() + "\n" }
func readMems(_ *FS, c *cgroup) string        { return c.mems.String() + "\n" }
func readCpusEff(f *FS, c *cgroup) string     { return f.effectiveCPUs(c).String() + "\n" }
func readMemsEff(f *FS, c *cgroup) string     { return f.effectiveMems(c).String() + "\n" }
func readPidsCurrent(_ *FS, c *cgroup) string { return "0\n" }

// writeCpus follows update_cpumask: after strstrip an empty string
// clears; otherwise bitmap_parselist over nr_cpu_ids bits (ERANGE beyond
// the machine, EINVAL for garbage), and CPUs the machine lacks are
// EINVAL. Clearing a populated cgroup's CPUs is ENOSPC (vetEmpty).
func writeCpus(f *FS, c *cgroup, s string) error {
	set, err := f.parseCPUs(s, f.cpuBits, f.cpus)
	if err != nil {
		return err
	}
	if err := f.vetEmpty(c, c.cpus, set); err != nil {
		return err
	}
	f.cpusetOf(c)
	if f.kernel < kernel6_12 {
		f.updateCpumask61(c, set)
		return nil
	}
	return f.updateCpumask612(c, set)
}

// vetEmpty follows validate_change: a populated cpuset (tasks in it or
// below it, exiting ones included) cannot go from some CPUs or nodes to
// none (ENOSPC), even on cgroup v2 where an empty set would mean
// "inherit" (measured on Linux 6.1; the same code is in 6.18).
func (f *FS) vetEmpty(c *cgroup, cur, trial cgroupfs.CPUSet) error {
	if f.populated(c) && !cur.IsEmpty() && trial.IsEmpty() {
		return unix.ENOSPC
	}
	return nil
}

// writeMems follows update_nodemask, with MAX_NUMNODES bits.
func writeMems(f *FS, c *cgroup, s string) error {
	set, err := f.parseCPUs(s, nodeBits, f.mems)
	if err != nil {
		return err
	}
	if err := f.vetEmpty(c, c.mems, set); err != nil {
		return err
	}
	c.mems = set
	return nil
}

func (f *FS) parseCPUs(s string, nbits int, machine cgroupfs.CPUSet) (cgroupfs.CPUSet, error) {
	s = strstrip(s)
	if s == "" {
		return cgroupfs.CPUSet{}, nil
	}
	set, err := parseCPUList(s, nbits)
	if err != nil {
		return cgroupfs.CPUSet{}, err
	}
	if !set.IsSubsetOf(machine) {
		return cgroupfs.CPUSet{}, unix.EINVAL
	}
	return set, nil
}

// knob reads a stored value, or def when nothing was written.
func knob(name, def string) func(*FS, *cgroup) string {
	return func(_ *FS, c *cgroup) string {
		v, ok := c.values[name]
		if !ok {
			v = def
		}
		if v == "" {
			return ""
		}
		return v + "\n"
	}
}

// dirEntry is an fs.DirEntry (and fs.FileInfo) of a fake directory.
type dirEntry struct {
	name string
	mode fs.FileMode
}

func (d dirEntry) Name() string               { return d.name }
func (d dirEntry) IsDir() bool                { return d.mode.IsDir() }
func (d dirEntry) Type() fs.FileMode          { return d.mode.Type() }
func (d dirEntry) Info() (fs.FileInfo, error) { return fileInfo(d), nil }

type fileInfo dirEntry

func (i fileInfo) Name() string       { return i.name }
func (i fileInfo) Size() int64        { return 0 }
func (i fileInfo) Mode() fs.FileMode  { return i.mode }
func (i fileInfo) ModTime() time.Time { return time.Time{} }
func (i fileInfo) IsDir() bool        { return i.mode.IsDir() }
func (i fileInfo) Sys() any           { return nil }
