package cgtest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/cgguard/cgguard/cgroupfs"
)

// SplitCPUs divides cpus into n disjoint sets of consecutive ids whose
// sizes differ by at most one, the larger ones first ("halves" for
// n = 2, "disjoint" cpusets), for table-driven tests. It fails when n
// is below 1 or above the number of CPUs, as a cgroup cannot run on no
// CPU.
func SplitCPUs(cpus cgroupfs.CPUSet, n int) ([]cgroupfs.CPUSet, error) {
	ids := cpus.IDs()
	if n < 1 || n > len(ids) {
		return nil, fmt.Errorf("cgtest: split cpus %q into %d sets: need between 1 and %d sets, one CPU each at least", cpus, n, len(ids))
	}
	out := make([]cgroupfs.CPUSet, 0, n)
	size, extra := len(ids)/n, len(ids)%n
	for i := range n {
		k := size
		if i < extra {
			k++
		}
		out = append(out, cgroupfs.NewCPUSet(ids[:k]...))
		ids = ids[k:]
	}
	return out, nil
}

// OverlappingCPUs is SplitCPUs with each set but the last extended by the
// first overlap CPUs of the next one, so that neighbours share CPUs. It fails like SplitCPUs, and when a set
// has fewer than overlap CPUs to share.
func OverlappingCPUs(cpus cgroupfs.CPUSet, n, overlap int) ([]cgroupfs.CPUSet, error) {
	parts, err := SplitCPUs(cpus, n)
	if err != nil {
		return nil, err
	}
	if overlap < 0 {
		return nil, fmt.Errorf("cgtest: overlapping cpus %q: the overlap %d is negative", cpus, overlap)
	}
	out := make([]cgroupfs.CPUSet, len(parts))
	for i, p := range parts {
		out[i] = p
		if i+1 == len(parts) || overlap == 0 {
			continue
		}
		next := parts[i+1].IDs()
		if len(next) < overlap {
			return nil, fmt.Errorf("cgtest: overlapping cpus %q in %d sets: set %d has %d CPUs, fewer than the overlap of %d", cpus, n, i+1, len(next), overlap)
		}
		out[i] = p.Union(cgroupfs.NewCPUSet(next[:overlap]...))
	}
	return out, nil
}

// Spread returns a Layout of one cgroup per set, named prefix followed
// by its index ("cg_0", "cg_1", ... for the prefix "cg_"), in order.
func Spread(prefix string, sets []cgroupfs.CPUSet) Layout {
	l := make(Layout, len(sets))
	for i, s := range sets {
		l[i] = Spec{Name: prefix + strconv.Itoa(i), CPUs: s}
	}
	return l
}

// sysCPU is where Linux describes the CPUs; a variable for tests.
var sysCPU = "/sys/devices/system/cpu"

// LLCs returns the CPUs of each last-level cache of this machine (the
// CPUs sharing the highest-level cache that sysfs lists), ordered by
// their lowest CPU id. It reads
// /sys/devices/system/cpu; it fails when that lists no online CPU or no
// cache for one of them (some VMs and containers hide the caches).
func LLCs() ([]cgroupfs.CPUSet, error) {
	data, err := os.ReadFile(filepath.Join(sysCPU, "online"))
	if err != nil {
		return nil, fmt.Errorf("cgtest: find the online CPUs: %w", err)
	}
	online, err := cgroupfs.ParseCPUSet(string(data))
	if err != nil || online.IsEmpty() {
		return nil, fmt.Errorf("cgtest: %s/online reads %q: no online CPU (%v)", sysCPU, data, err)
	}
	seen := make(map[string]bool)
	var out []cgroupfs.CPUSet
	for _, cpu := range online.IDs() {
		llc, err := lastLevelCache(cpu)
		if err != nil {
			return nil, err
		}
		if !seen[llc.String()] {
			seen[llc.String()] = true
			out = append(out, llc.Intersect(online))
		}
	}
	slices.SortFunc(out, func(a, b cgroupfs.CPUSet) int { return a.IDs()[0] - b.IDs()[0] })
	return out, nil
}

// lastLevelCache returns the CPUs that share cpu's highest-level cache.
func lastLevelCache(cpu int) (cgroupfs.CPUSet, error) {
	dir := filepath.Join(sysCPU, "cpu"+strconv.Itoa(cpu), "cache")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return cgroupfs.CPUSet{}, fmt.Errorf("cgtest: find the caches of CPU %d: %w (this machine does not describe its caches in sysfs)", cpu, err)
	}
	best, bestLevel := "", -1
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "index") {
			continue
		}
		lv, err := os.ReadFile(filepath.Join(dir, e.Name(), "level"))
		if err != nil {
			continue
		}
		if level, err := strconv.Atoi(strings.TrimSpace(string(lv))); err == nil && level > bestLevel {
			best, bestLevel = e.Name(), level
		}
	}
	if best == "" {
		return cgroupfs.CPUSet{}, fmt.Errorf("cgtest: CPU %d lists no cache with a level in %s", cpu, dir)
	}
	shared, err := os.ReadFile(filepath.Join(dir, best, "shared_cpu_list"))
	if err != nil {
		return cgroupfs.CPUSet{}, fmt.Errorf("cgtest: CPUs sharing the L%d cache of CPU %d: %w", bestLevel, cpu, err)
	}
	set, err := cgroupfs.ParseCPUSet(string(shared))
	if err != nil {
		return cgroupfs.CPUSet{}, fmt.Errorf("cgtest: CPUs sharing the L%d cache of CPU %d: %w", bestLevel, cpu, err)
	}
	if !set.Contains(cpu) {
		set = set.Union(cgroupfs.NewCPUSet(cpu))
	}
	return set, nil
}
