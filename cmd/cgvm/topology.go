package main

import (
	"fmt"
	"strconv"
	"strings"
)

// topology is the guest's CPU and memory layout: sockets of cores of
// threads, split into NUMA nodes of whole sockets. Each socket has its own
// last-level cache in qemu's x86 CPU model, so sockets are how a test gets
// several LLCs (cgtest.LLCs).
type topology struct {
	cpus                    int // sockets*cores*threads, or CGVM_CPUS alone
	sockets, cores, threads int // 0: not asked for; plain -smp cpus
	nodes                   int // NUMA nodes; 0 or 1: none
	memMiB                  int
}

// parseTopology reads the topology from the environment (getenv) and
// checks that it fits together, each error a sentence naming the
// variables and what would fit.
func parseTopology(getenv func(string) string) (topology, error) {
	var t topology
	num := func(name string, def int) (int, error) {
		v := getenv(name)
		if v == "" {
			return def, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("%s=%q is not a positive whole number", name, v)
		}
		return n, nil
	}
	var err error
	if t.cpus, err = num("CGVM_CPUS", 0); err != nil {
		return t, err
	}
	if t.sockets, err = num("CGVM_SOCKETS", 0); err != nil {
		return t, err
	}
	if t.cores, err = num("CGVM_CORES", 0); err != nil {
		return t, err
	}
	if t.threads, err = num("CGVM_THREADS", 0); err != nil {
		return t, err
	}
	if t.nodes, err = num("CGVM_NUMA", 1); err != nil {
		return t, err
	}
	mem := getenv("CGVM_MEM")
	if mem == "" {
		mem = "512M"
	}
	if t.memMiB, err = parseMiB(mem); err != nil {
		return t, fmt.Errorf("CGVM_MEM=%q: %v", mem, err)
	}
	shaped := t.sockets+t.cores+t.threads > 0 || t.nodes > 1
	if !shaped {
		if t.cpus == 0 {
			t.cpus = 2
		}
		return t, nil
	}
	if t.sockets == 0 {
		t.sockets = max(t.nodes, 1)
	}
	t.cores, t.threads = max(t.cores, 1), max(t.threads, 1)
	product := t.sockets * t.cores * t.threads
	if t.cpus != 0 && t.cpus != product {
		return t, fmt.Errorf("CGVM_CPUS=%d does not match CGVM_SOCKETS=%d x CGVM_CORES=%d x CGVM_THREADS=%d = %d CPUs: unset CGVM_CPUS, or make them agree",
			t.cpus, t.sockets, t.cores, t.threads, product)
	}
	t.cpus = product
	if t.cpus > 255 {
		return t, fmt.Errorf("%d CPUs (CGVM_SOCKETS=%d x CGVM_CORES=%d x CGVM_THREADS=%d) is more than the 255 qemu's pc machine boots", t.cpus, t.sockets, t.cores, t.threads)
	}
	if t.nodes > 1 {
		if t.sockets%t.nodes != 0 {
			return t, fmt.Errorf("CGVM_NUMA=%d nodes cannot each hold whole sockets of CGVM_SOCKETS=%d: set CGVM_SOCKETS to a multiple of %d", t.nodes, t.sockets, t.nodes)
		}
		if t.memMiB%t.nodes != 0 || t.memMiB/t.nodes < 64 {
			return t, fmt.Errorf("CGVM_MEM=%s does not split into %d NUMA nodes of at least 64 MiB each: give a multiple of %d MiB", mem, t.nodes, 64*t.nodes)
		}
	}
	return t, nil
}

// parseMiB parses qemu's -m syntax for whole MiB: "512", "512M", "2G".
func parseMiB(s string) (int, error) {
	mult := 1
	switch {
	case strings.HasSuffix(s, "G"), strings.HasSuffix(s, "g"):
		mult, s = 1024, s[:len(s)-1]
	case strings.HasSuffix(s, "M"), strings.HasSuffix(s, "m"):
		s = s[:len(s)-1]
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("not a memory size like 512M or 2G")
	}
	return n * mult, nil
}

// qemuArgs returns the -m, -smp and -numa arguments.
func (t topology) qemuArgs() []string {
	args := []string{"-m", fmt.Sprintf("%dM", t.memMiB)}
	if t.sockets == 0 {
		return append(args, "-smp", strconv.Itoa(t.cpus))
	}
	args = append(args, "-smp", fmt.Sprintf("cpus=%d,sockets=%d,cores=%d,threads=%d", t.cpus, t.sockets, t.cores, t.threads))
	if t.nodes < 2 {
		return args
	}
	// qemu numbers CPUs socket by socket, so node i's whole sockets are
	// one contiguous range of CPU indexes.
	per := t.cpus / t.nodes
	for i := range t.nodes {
		args = append(args,
			"-object", fmt.Sprintf("memory-backend-ram,id=mem%d,size=%dM", i, t.memMiB/t.nodes),
			"-numa", fmt.Sprintf("node,nodeid=%d,cpus=%d-%d,memdev=mem%d", i, i*per, (i+1)*per-1, i))
	}
	return args
}

// String describes the layout, for logs and errors.
func (t topology) String() string {
	if t.sockets == 0 {
		return fmt.Sprintf("%d CPUs, %d MiB", t.cpus, t.memMiB)
	}
	return fmt.Sprintf("%d CPUs (%d sockets x %d cores x %d threads), %d NUMA node(s), %d MiB",
		t.cpus, t.sockets, t.cores, t.threads, max(t.nodes, 1), t.memMiB)
}
