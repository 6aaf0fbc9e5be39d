// Command cgvm runs a Go test binary inside a throwaway qemu VM whose
// kernel has the full cgroup v2 hierarchy (cpuset, cpu, io, memory, pids,
// ...) mounted at /sys/fs/cgroup, with the test running as root in the root
// cgroup. It exists because hosts with cgroup v2 in hybrid mode cannot give
// cpuset to v2, and because users without cgroup delegation can run qemu
// (TCG needs no root) but cannot create cgroups.
//
// It is a go test -exec program:
//
//	scripts/vm-setup.sh   # qemu-system-x86 and a Debian kernel image, once
//	CGO_ENABLED=0 go install github.com/cgguard/cgguard/cmd/cgvm@latest
//	go test -exec "$(go env GOPATH)/bin/cgvm" ./pkg
//
// Give -exec an absolute path: go test resolves a relative one in each
// package's directory. Results of -exec runs are never cached and every
// package boots its own VM (about 2.5 s under TCG, 4 s with -race), so pass
// -exec only for the packages that need the kernel. -v, -run, -count, -json,
// -cover/-coverprofile, -cpuprofile and the other profiles, and -race work
// through it. Tests find out where they run with the public package
// github.com/cgguard/cgguard/vmtest (vmtest.InVM, vmtest.SkipUnlessVM).
//
// # What happens
//
// cgvm packs an initramfs (a newc cpio written in Go): itself as /init, the
// test binary at its host path, and for a dynamically linked binary (go test
// -race links libc) its loader and libraries; the package directory's own
// files and its testdata/ tree at their host paths (at most 128 MiB); and the
// test's arguments and environment. It boots the kernel with qemu
// (-machine pc, PVH boot of the kernel decompressed once and cached next to
// the image; the bzImage itself when that is not possible), and the guest's
// /init mounts proc, sysfs, devtmpfs and cgroup2, enables every controller
// the cgroup2 root offers in its cgroup.subtree_control (the VM is
// throwaway; a host's root is never written), runs the test binary in the
// package directory, and powers off. The test's output streams live
// from the second serial port to stdout; the third carries back files the
// test wrote to paths named by its flags (coverage, profiles) and the exit
// code, which becomes cgvm's. The kernel's own log goes to the first port
// and is printed only when something went wrong.
//
// The test binary's environment in the guest is CGGUARD_VM=1, HOME=/tmp,
// TMPDIR=/tmp, a standard PATH, and the host's GO*, TEST_* and CGGUARD_*
// variables plus those named in CGVM_PASSENV. The guest's programs are
// the host's sh, sleep, true, false and cat (cgroup tests start them to
// have tasks to move), packed with their libraries and symlinks at their
// host paths, and every applet of the static busybox that vm-setup.sh
// caches (dd, ps, grep, awk, ...) at its usual path where the host packed
// nothing; pack anything else a test runs with CGVM_FILES.
//
// # Settings
//
// go test puts its own flags after the test binary, so under -exec cgvm is
// configured by the environment. When cgvm is run by hand, a flag before
// the test binary wins over its variable.
//
//	-kernel  CGVM_KERNEL   the kernel: a cached kernel's version (6.1, 6.12) or a
//	                       bzImage's path; default: the cached 6.1. vm-setup.sh caches
//	                       kernels in ${XDG_CACHE_HOME:-$HOME/.cache}/cgguard; an
//	                       unknown version is an error naming the cached ones
//	-kernels               list the cached kernels (version, release, path) and exit
//	-cpus    CGVM_CPUS     guest CPUs; default 2, or the product of the three below
//	-sockets CGVM_SOCKETS  CPU sockets; each has its own last-level cache
//	-cores   CGVM_CORES    cores per socket
//	-threads CGVM_THREADS  threads per core
//	-numa    CGVM_NUMA     NUMA nodes, each of whole sockets and an equal share of memory
//	-mem     CGVM_MEM      guest memory, 512M or 2G; default 512M
//	-accel   CGVM_ACCEL    tcg-single (default; works anywhere: one host thread for
//	                       all vCPUs), tcg (a host thread per vCPU: faster, but qemu
//	                       7.2's multi-threaded TCG was seen to crash guests that
//	                       patch kernel text, "Oops: int3", as sched_ext attaches
//	                       and 6.12's controllers do) or kvm (fast, where it works)
//	-timeout CGVM_TIMEOUT  kill the VM after this long, 0 for never; default the
//	                       test's -test.timeout plus 30s, else 10m
//	-qemu    CGVM_QEMU     qemu binary; default qemu-system-x86_64 on PATH
//	         CGVM_INIT     unset: cgvm's own /init runs the test; systemd: systemd boots
//	                       as PID 1 and runs it as a root service (see below)
//	         CGVM_FILES    comma-separated host files or commands on PATH to pack
//	                       at their host paths (executables with their libraries)
//	         CGVM_PASSENV  comma-separated extra variables to pass to the test
//	         CGVM_APPEND   extra kernel command line, e.g. loglevel=7
//	         CGVM_LOG      also write the guest's kernel log to this file
//	         CGVM_GUEST_HOOK  panic or hang: make the guest misbehave, for cgvm's own tests
//
// A topology that does not fit (CGVM_CPUS other than sockets x cores x
// threads, NUMA nodes that do not each get whole sockets, memory that does
// not split into nodes) is an error saying what would. For example,
// CGVM_SOCKETS=2 CGVM_CORES=2 CGVM_NUMA=2 boots 4 CPUs in two nodes, and
// cgtest.LLCs sees two last-level caches.
//
// # systemd
//
// Container runtimes test their systemd cgroup driver, which talks to
// systemd over /run/systemd/private as root. With CGVM_INIT=systemd the
// guest's /init hands PID 1 to Debian's systemd (vm-setup.sh caches it and
// its libraries, extracted, never installed on the host), and systemd runs
// cgvm-test.service (Delegate=yes), which runs the test binary as root,
// with the same output, output files and exit code as the default init.
// The guest has no other services: no journald, no D-Bus daemon, no udev.
//
// # Several kernels
//
// scripts/vm-matrix.sh runs the same packages once per kernel, one VM per
// package and kernel, every output line labelled with the kernel:
//
//	CGVM_KERNELS="6.1 6.12" scripts/vm-matrix.sh -race ./pkg/...
//
// # Failures
//
// A missing kernel or a version that is not cached, a missing qemu, a test binary that is not an executable
// ELF for x86-64, and a dynamically linked cgvm (it must be built with
// CGO_ENABLED=0: it is the guest's /init and the guest has no libc) each
// end the run with one line on stderr saying how to fix it, before any VM
// boots. A guest that panics, powers off without reporting, or outlives the
// timeout is reported with the tail of the kernel log, and cgvm exits 1.
// SIGINT, SIGTERM, SIGHUP and SIGQUIT (go test's own timeout) stop the VM;
// qemu is started with a parent-death signal, so it dies with cgvm even on
// SIGKILL.
package main
