// Package schedext is an example of testing a sched_ext scheduler with
// cgguard: a minimal BPF scheduler of our own (a global FIFO), a broken
// one (it never runs the tasks it is given, until the kernel's watchdog
// disables it), and the Go code that loads and attaches them with
// github.com/cilium/ebpf, in pure Go.
//
// The BPF C sources are in bpf/; go generate compiles them (bpf/build.sh,
// with clang, llvm-strip and bpftool), and the objects are committed, so
// building and testing need no compiler. The tests run inside the cgvm VM
// on a kernel built with CONFIG_SCHED_CLASS_EXT (see README.md): attaching
// a scheduler replaces the scheduler of the whole machine, which is why
// they never run on the host.
package schedext
