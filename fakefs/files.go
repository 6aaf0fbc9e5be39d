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

type fileDef struct {
	spec  fileSpec
	where where
}

// coreFiles are the files every cgroup has regardless of controllers,
// as measured on Linux 6.18 (modes included).
var coreFiles = []fileDef{
	{fileSpec{name: "cgroup.controllers", mode: 0o444, read: readControllers}, everywhere},
	{fileSpec{name: "cgroup.events", mode: 0o444, read: readEvents}, notOnRoot},
	{fileSpec{name: "cgroup.freeze", mode: 0o644, read: readFreeze, write: writeFreeze}, notOnRoot},
	{fileSpec{name: "cgroup.kill", mode: 0o200, write: writeKill}, notOnRoot},
	{fileSpec{name: "cgroup.max.depth", mode: 0o644, read: readMaxDepth, write: writeMaxDepth}, everywhere},
	{fileSpec{name: "cgroup.max.descendants", mode: 0o644, read: readMaxDesc, write: writeMaxDesc}, everywhere},
	{fileSpec{name: "cgroup.pressure", mode: 0o644, read: readPressureSwitch, write: writePressureSwitch}, everywhere},
	{fileSpec{name: "cgroup.procs", mode: 0o644, read: readProcs, write: writeProcs}, everywhere},
	{fileSpec{name: "cgroup.stat", mode: 0o444, read: readStat}, everywhere},
	{fileSpec{name: "cgroup.stat.local", mode: 0o444, read: constant("frozen_usec 0\n")}, notOnRoot},
	{fileSpec{name: "cgroup.subtree_control", mode: 0o644, read: readSubtree, write: writeSubtree}, everywhere},
	{fileSpec{name: "cgroup.threads", mode: 0o644, read: readThreads, write: writeThreads}, everywhere},
	{fileSpec{name: "cgroup.type", mode: 0o644, read: readType, write: writeType}, notOnRoot},
	{fileSpec{name: "cpu.pressure", mode: 0o644, read: readPSI, write: writePSI}, everywhere},
	{fileSpec{name: "cpu.stat", mode: 0o444, read: readCPUStat}, everywhere},
	{fileSpec{name: "cpu.stat.local", mode: 0o444, read: readCPUStatLocal}, everywhere},
	{fileSpec{name: "io.pressure", mode: 0o644, read: readPSI, write: writePSI}, everywhere},
	{fileSpec{name: "memory.pressure", mode: 0o644, read: readPSI, write: writePSI}, everywhere},
}

// controllerFiles are the files each controller adds to a cgroup where
// it is enabled (for the root: where the root offers it). The cpuset
// files are emulated fully; the memory, hugetlb and pids limits,
// memory.oom.group and cpu.idle parse as the kernel does (knobs.go);
// the other knobs hold their default and store what is written after a
// light check. Usage files read zero.
var controllerFiles = map[string][]fileDef{
	"cpuset": {
		{fileSpec{name: "cpuset.cpus", mode: 0o644, read: readCpus, write: writeCpus, maxWrite: cpusetMaxWrite}, notOnRoot},
		{fileSpec{name: "cpuset.cpus.effective", mode: 0o444, read: readCpusEff}, everywhere},
		{fileSpec{name: "cpuset.cpus.exclusive", mode: 0o644, read: knob("cpuset.cpus.exclusive", ""), write: writeCPUListKnob("cpuset.cpus.exclusive"), maxWrite: cpusetMaxWrite}, notOnRoot},
		{fileSpec{name: "cpuset.cpus.exclusive.effective", mode: 0o444, read: constant("\n")}, notOnRoot},
		{fileSpec{name: "cpuset.cpus.isolated", mode: 0o444, read: constant("\n")}, onlyOnRoot},
		{fileSpec{name: "cpuset.cpus.partition", mode: 0o644, read: knob("cpuset.cpus.partition", "member"), write: writePartition}, notOnRoot},
		{fileSpec{name: "cpuset.mems", mode: 0o644, read: readMems, write: writeMems, maxWrite: cpusetMaxWrite}, notOnRoot},
		{fileSpec{name: "cpuset.mems.effective", mode: 0o444, read: readMemsEff}, everywhere},
	},
	"cpu": {
		{fileSpec{name: "cpu.idle", mode: 0o644, read: knob("cpu.idle", "0"), write: writeCPUIdle}, notOnRoot},
		{fileSpec{name: "cpu.max", mode: 0o644, read: knob("cpu.max", "max 100000"), write: writeCPUMax}, notOnRoot},
		{fileSpec{name: "cpu.max.burst", mode: 0o644, read: knob("cpu.max.burst", "0"), write: writeRange("cpu.max.burst", 0, 1<<31-1)}, notOnRoot},
		{fileSpec{name: "cpu.weight", mode: 0o644, read: readCPUWeight, write: writeCPUWeight}, notOnRoot},
		{fileSpec{name: "cpu.weight.nice", mode: 0o644, read: readCPUWeightNice, write: writeCPUWeightNice}, notOnRoot},
	},
	"io": {
		{fileSpec{name: "io.max", mode: 0o644, read: knob("io.max", ""), write: writeKnob("io.max")}, notOnRoot},
		{fileSpec{name: "io.stat", mode: 0o444, read: constant("")}, everywhere},
		{fileSpec{name: "io.weight", mode: 0o644, read: knob("io.weight", "default 100"), write: writeKnob("io.weight")}, notOnRoot},
	},
	"memory": {
		{fileSpec{name: "memory.current", mode: 0o444, read: constant("0\n")}, notOnRoot},
		{fileSpec{name: "memory.events", mode: 0o444, read: constant("low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n")}, notOnRoot},
		{fileSpec{name: "memory.high", mode: 0o644, read: knob("memory.high", "max"), write: writeMemory("memory.high")}, notOnRoot},
		{fileSpec{name: "memory.low", mode: 0o644, read: knob("memory.low", "0"), write: writeMemory("memory.low")}, notOnRoot},
		{fileSpec{name: "memory.max", mode: 0o644, read: knob("memory.max", "max"), write: writeMemory("memory.max")}, notOnRoot},
		{fileSpec{name: "memory.min", mode: 0o644, read: knob("memory.min", "0"), write: writeMemory("memory.min")}, notOnRoot},
		{fileSpec{name: "memory.oom.group", mode: 0o644, read: knob("memory.oom.group", "0"), write: writeOOMGroup}, notOnRoot},
		{fileSpec{name: "memory.peak", mode: 0o644, read: constant("0\n"), write: writeKnob("memory.peak")}, notOnRoot},
		{fileSpec{name: "memory.reclaim", mode: 0o200, write: writeKnob("memory.reclaim")}, everywhere},
		{fileSpec{name: "memory.stat", mode: 0o444, read: constant("anon 0\nfile 0\nkernel 0\n")}, everywhere},
		{fileSpec{name: "memory.swap.current", mode: 0o444, read: constant("0\n")}, notOnRoot},
		{fileSpec{name: "memory.swap.max", mode: 0o644, read: knob("memory.swap.max", "max"), write: writeMemory("memory.swap.max")}, notOnRoot},
	},
	"hugetlb": {
		{fileSpec{name: "hugetlb.1GB.current", mode: 0o444, read: constant("0\n")}, notOnRoot},
		{fileSpec{name: "hugetlb.1GB.events", mode: 0o444, read: constant("max 0\n")}, notOnRoot},
		{fileSpec{name: "hugetlb.1GB.max", mode: 0o644, read: knob("hugetlb.1GB.max", "max"), write: writeHugetlbMax("hugetlb.1GB.max", 1<<30)}, notOnRoot},
		{fileSpec{name: "hugetlb.2MB.current", mode: 0o444, read: constant("0\n")}, notOnRoot},
		{fileSpec{name: "hugetlb.2MB.events", mode: 0o444, read: constant("max 0\n")}, notOnRoot},
		{fileSpec{name: "hugetlb.2MB.max", mode: 0o644, read: knob("hugetlb.2MB.max", "max"), write: writeHugetlbMax("hugetlb.2MB.max", 2<<20)}, notOnRoot},
	},
	"pids": {
		{fileSpec{name: "pids.current", mode: 0o444, read: readPidsCurrent}, notOnRoot},
		{fileSpec{name: "pids.events", mode: 0o444, read: constant("max 0\n")}, notOnRoot},
		{fileSpec{name: "pids.max", mode: 0o644, read: knob("pids.max", "max"), write: writePidsMax}, notOnRoot},
		{fileSpec{name: "pids.peak", mode: 0o444, read: readPidsCurrent}, notOnRoot},
	},
	"rdma": {
		{fileSpec{name: "rdma.current", mode: 0o444, read: constant("")}, notOnRoot},
		{fileSpec{name: "rdma.max", mode: 0o644, read: knob("rdma.max", ""), write: writeKnob("rdma.max")}, notOnRoot},
	},
	"misc": {
		{fileSpec{name: "misc.current", mode: 0o444, read: constant("")}, notOnRoot},
		{fileSpec{name: "misc.max", mode: 0o644, read: knob("misc.max", ""), write: writeKnob("misc.max")}, notOnRoot},
	},
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
	for _, d := range coreFiles {
		if d.on(c) {
			out = append(out, d.spec)
		}
	}
	en := f.enabled(c)
	for i, ctl := range knownControllers {
		if !en.has(i) {
			continue
		}
		for _, d := range controllerFiles[ctl.name] {
			if d.on(c) {
				out = append(out, d.spec)
			}
		}
	}
	return out
}

// fileSpec finds the interface file name of c.
func (f *FS) fileSpec(c *cgroup, name string) (fileSpec, bool) {
	for _, d := range coreFiles {
		if d.spec.name == name {
			return d.spec, d.on(c)
		}
	}
	ctl, _, _ := strings.Cut(name, ".")
	i := controllerIndex(ctl)
	if i < 0 || !f.enabled(c).has(i) {
		return fileSpec{}, false
	}
	for _, d := range controllerFiles[ctl] {
		if d.spec.name == name {
			return d.spec, d.on(c)
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

// writePSI refuses pressure triggers: they need poll(2) on an open file,
// which the FS interface cannot express.
func writePSI(*FS, *cgroup, string) error { return unix.EOPNOTSUPP }

func readStat(f *FS, c *cgroup) string {
	var b strings.Builder
	fmt.Fprintf(&b, "nr_descendants %d\n", c.descendants())
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

func readCPUStat(f *FS, c *cgroup) string {
	s := "usage_usec 0\nuser_usec 0\nsystem_usec 0\nnice_usec 0\n"
	if !c.isRoot() && f.enabled(c).has(controllerIndex("cpu")) {
		s += "nr_periods 0\nnr_throttled 0\nthrottled_usec 0\nnr_bursts 0\nburst_usec 0\n"
	}
	return s
}

func readCPUStatLocal(f *FS, c *cgroup) string {
	if !c.isRoot() && f.enabled(c).has(controllerIndex("cpu")) {
		return "throttled_usec 0\n"
	}
	return ""
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

// effectiveCPUs follows the cpuset controller on cgroup v2: a cgroup's
// effective CPUs are its own cpuset.cpus within its parent's effective
// CPUs, or the parent's when that is empty (no cpuset.cpus, or none of
// them left). The root, and any cgroup without the cpuset controller,
// has the parent's (the root: the machine's).
func (f *FS) effectiveCPUs(c *cgroup) cgroupfs.CPUSet {
	if c.isRoot() {
		return f.cpus
	}
	parent := f.effectiveCPUs(c.parent)
	if !f.enabled(c).has(controllerIndex("cpuset")) {
		return parent
	}
	if eff := c.cpus.Intersect(parent); !eff.IsEmpty() {
		return eff
	}
	return parent
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
	c.cpus = set
	return nil
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

func writeCPUListKnob(name string) func(*FS, *cgroup, string) error {
	return func(f *FS, c *cgroup, s string) error {
		set, err := f.parseCPUs(s, f.cpuBits, f.cpus)
		if err == nil {
			c.values[name] = set.String()
		}
		return err
	}
}

// writePartition accepts the three partition types; the fake does not
// check the conditions a valid partition root needs.
func writePartition(_ *FS, c *cgroup, s string) error {
	switch v := strstrip(s); v {
	case "member", "root", "isolated":
		c.values["cpuset.cpus.partition"] = v
		return nil
	}
	return unix.EINVAL
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

// writeKnob stores the write as given (whitespace trimmed): the fake
// does not parse these files.
func writeKnob(name string) func(*FS, *cgroup, string) error {
	return func(_ *FS, c *cgroup, s string) error {
		c.values[name] = strstrip(s)
		return nil
	}
}

// writeRange accepts a decimal integer in [lo, hi]: EINVAL for garbage,
// ERANGE outside the range.
func writeRange(name string, lo, hi int) func(*FS, *cgroup, string) error {
	return func(_ *FS, c *cgroup, s string) error {
		v, err := strconv.ParseInt(strstrip(s), 10, 64)
		if err != nil {
			return unix.EINVAL
		}
		if v < int64(lo) || v > int64(hi) {
			return unix.ERANGE
		}
		c.values[name] = strconv.FormatInt(v, 10)
		return nil
	}
}

// writeCPUMax accepts "$MAX [$PERIOD]" where $MAX is "max" or a number.
func writeCPUMax(_ *FS, c *cgroup, s string) error {
	fields := strings.Fields(strstrip(s))
	if len(fields) == 0 || len(fields) > 2 {
		return unix.EINVAL
	}
	period := "100000"
	if old, ok := c.values["cpu.max"]; ok {
		period = strings.Fields(old)[1]
	}
	if len(fields) == 2 {
		if _, err := strconv.ParseUint(fields[1], 10, 64); err != nil {
			return unix.EINVAL
		}
		period = fields[1]
	}
	if fields[0] != "max" {
		if _, err := strconv.ParseUint(fields[0], 10, 64); err != nil {
			return unix.EINVAL
		}
	}
	c.values["cpu.max"] = fields[0] + " " + period
	return nil
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
