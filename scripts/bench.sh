#!/bin/sh
# Reproduces BENCHMARKS.md: runs every benchmark it cites, six times each,
# one package at a time (benchmarks of two packages running at once would
# share the two CPUs), then prints benchstat's tables with each
# implementation in a column next to its baseline.
#
# Needs root and a cgroup2 mount (the kernel halves skip otherwise, saying
# why). Takes about ten minutes on 2 cores. Usage:
#   sudo scripts/bench.sh [output-file]     (default: bench.txt)
set -eu
cd "$(dirname "$0")/.."
out=${1:-bench.txt}
benchstat="go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da"
{
	echo "# $(date -u '+%Y-%m-%dT%H:%M:%SZ') $(uname -sr) $(go version | cut -d' ' -f3) cpus=$(nproc) $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
	echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg)"
	go test -p 1 -run '^$' \
		-bench '^(BenchmarkEmpty|BenchmarkNewGroup|BenchmarkRmdirPath|BenchmarkKernelWatchClose|BenchmarkFakeVsKernel)$' \
		-benchtime=150ms -count=6 ./cgtest/ ./cgroupfs/ ./fakefs/
	# A busy iteration spends ~30 ms untimed (spawning, letting the
	# workload run): a fixed count keeps the run short.
	go test -p 1 -run '^$' -bench '^(BenchmarkBusy|BenchmarkBusyJustStarted)$' \
		-benchtime=40x -count=6 ./cgtest/
	echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out"
# One sec/op table per benchmark, each implementation in a column next
# to its baseline (the first column); `$benchstat -col /impl "$out"` shows
# every unit (B/op, allocs/op) too.
for name in Empty Busy BusyJustStarted RmdirPath KernelWatchClose FakeVsKernel NewGroup; do
	echo "== $name"
	$benchstat -filter ".name:$name" -col /impl "$out" | awk '/^$/ { exit } { print }'
done
