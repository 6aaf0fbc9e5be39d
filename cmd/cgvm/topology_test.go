package main

import (
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func env(kv map[string]string) func(string) string {
	return func(name string) string { return kv[name] }
}

func TestTopologyQemuArgs(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"default", nil, "-m 512M -smp 2"},
		{"cpus only", map[string]string{"CGVM_CPUS": "4", "CGVM_MEM": "1G"}, "-m 1024M -smp 4"},
		{"sockets", map[string]string{"CGVM_SOCKETS": "2", "CGVM_CORES": "2"}, "-m 512M -smp cpus=4,sockets=2,cores=2,threads=1"},
		{"agreeing cpus", map[string]string{"CGVM_CPUS": "8", "CGVM_SOCKETS": "2", "CGVM_CORES": "2", "CGVM_THREADS": "2"}, "-m 512M -smp cpus=8,sockets=2,cores=2,threads=2"},
		{"numa", map[string]string{"CGVM_NUMA": "2", "CGVM_CORES": "2"},
			"-m 512M -smp cpus=4,sockets=2,cores=2,threads=1 " +
				"-object memory-backend-ram,id=mem0,size=256M -numa node,nodeid=0,cpus=0-1,memdev=mem0 " +
				"-object memory-backend-ram,id=mem1,size=256M -numa node,nodeid=1,cpus=2-3,memdev=mem1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topo, err := parseTopology(env(tc.env))
			assert.NilError(t, err)
			assert.Check(t, is.Equal(strings.Join(topo.qemuArgs(), " "), tc.want), "qemu arguments")
		})
	}
}

func TestTopologyErrorsSayWhatFits(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"CGVM_CPUS": "two"}, `CGVM_CPUS="two" is not a positive whole number`},
		{map[string]string{"CGVM_SOCKETS": "0"}, `CGVM_SOCKETS="0" is not a positive whole number`},
		{map[string]string{"CGVM_CPUS": "4", "CGVM_SOCKETS": "2", "CGVM_CORES": "3"}, "CGVM_CPUS=4 does not match CGVM_SOCKETS=2 x CGVM_CORES=3 x CGVM_THREADS=1 = 6 CPUs"},
		{map[string]string{"CGVM_NUMA": "2", "CGVM_SOCKETS": "3"}, "CGVM_NUMA=2 nodes cannot each hold whole sockets of CGVM_SOCKETS=3: set CGVM_SOCKETS to a multiple of 2"},
		{map[string]string{"CGVM_NUMA": "4", "CGVM_MEM": "200M"}, "CGVM_MEM=200M does not split into 4 NUMA nodes of at least 64 MiB each"},
		{map[string]string{"CGVM_SOCKETS": "16", "CGVM_CORES": "16"}, "256 CPUs"},
		{map[string]string{"CGVM_MEM": "lots"}, `CGVM_MEM="lots": not a memory size like 512M or 2G`},
	} {
		_, err := parseTopology(env(tc.env))
		assert.Check(t, is.ErrorContains(err, tc.want), "parseTopology(%v)", tc.env)
	}
}
