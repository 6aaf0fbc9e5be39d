package schedext

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

//go:generate sh bpf/build.sh

//go:embed bpf/fifo.bpf.o
var fifoObject []byte

//go:embed bpf/stall.bpf.o
var stallObject []byte

// Scheduler is a compiled BPF scheduler: an ELF object holding one
// sched_ext_ops struct_ops map and its programs.
type Scheduler struct {
	name   string // sched_ext_ops.name, what /sys/kernel/sched_ext/root/ops shows
	ops    string // the struct_ops map's name in the object
	object []byte
}

// FIFO is a working scheduler of every task of the system: tasks wait in
// the kernel's global dispatch queue and run in the order they became
// runnable, for 20 ms slices (SCX_SLICE_DFL).
var FIFO = Scheduler{name: "cgguard_fifo", ops: "fifo_ops", object: fifoObject}

// Stall is a broken scheduler. It takes only the tasks whose policy is
// SCHED_EXT (SCX_OPS_SWITCH_PARTIAL; every other task keeps the fair
// scheduler) and never runs them: they stay runnable until the kernel's
// watchdog sees one wait longer than the scheduler's timeout (3 s) and
// disables the scheduler, with ExitStall. Tasks it held then go back to the
// fair scheduler.
var Stall = Scheduler{name: "cgguard_stall", ops: "stall_ops", object: stallObject}

// Name returns the scheduler's name, as /sys/kernel/sched_ext/root/ops
// shows it while the scheduler is attached.
func (s Scheduler) Name() string { return s.name }

// Attach loads the scheduler into the kernel and attaches it: from then on
// sched_ext schedules the tasks it takes. The caller must call Detach when
// done; a test registers that with t.Cleanup before it makes the cgroups
// and workloads that should go first.
//
// It fails when the kernel has no sched_ext (CONFIG_SCHED_CLASS_EXT), the
// verifier rejects a program (the error carries the verifier's log), the
// caller may not load BPF programs (EPERM), or another BPF scheduler is
// attached; the errno is kept in the error chain.
func (s Scheduler) Attach() (*Attached, error) {
	if len(s.object) == 0 {
		return nil, errors.New("schedext: attach: the zero Scheduler has no BPF object; use FIFO or Stall")
	}
	if _, err := os.Stat(stateFile); err != nil {
		return nil, fmt.Errorf("schedext: attach %s: this kernel has no sched_ext (CONFIG_SCHED_CLASS_EXT): %w", s.name, err)
	}
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(s.object))
	if err != nil {
		return nil, fmt.Errorf("schedext: attach %s: read its BPF object: %w", s.name, err)
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("schedext: attach %s: the kernel refused to load it: %+v", s.name, ve)
		}
		return nil, fmt.Errorf("schedext: attach %s: load into the kernel: %w", s.name, err)
	}
	ops := coll.Maps[s.ops]
	if ops == nil {
		coll.Close()
		return nil, fmt.Errorf("schedext: attach %s: its object has no struct_ops map %q", s.name, s.ops)
	}
	l, err := link.AttachStructOps(link.StructOpsOptions{Map: ops})
	if err != nil {
		coll.Close()
		return nil, fmt.Errorf("schedext: attach %s (sched_ext state %s): %w", s.name, readState(), err)
	}
	return &Attached{name: s.name, coll: coll, link: l}, nil
}

// Attached is a scheduler loaded and attached by Scheduler.Attach.
type Attached struct {
	name string
	coll *ebpf.Collection
	link link.Link

	mu       sync.Mutex
	detached bool
	exit     ExitKind // read at Detach, while the collection was open
	detErr   error
}

// Name returns the attached scheduler's name.
func (a *Attached) Name() string { return a.name }

// Detach detaches the scheduler, if the kernel has not disabled it
// already, and unloads it; every task it held goes back to the fair
// scheduler before it returns. Later calls do nothing and return the first
// call's result.
func (a *Attached) Detach() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.detached {
		return a.detErr
	}
	a.detached = true
	// Closing the link's only reference unregisters the ops, and the
	// kernel finishes disabling the scheduler (its exit callback included)
	// before close returns.
	lerr := a.link.Close()
	kind, kerr := a.readExitKind()
	a.exit = kind
	a.coll.Close()
	a.detErr = errors.Join(lerr, kerr)
	if a.detErr != nil {
		a.detErr = fmt.Errorf("schedext: detach %s: %w", a.name, a.detErr)
	}
	return a.detErr
}

// ExitKind says why the kernel disabled the scheduler, as the scheduler's
// exit callback recorded it: ExitNone while it runs, ExitUnreg after a
// Detach of a running scheduler, ExitStall after the watchdog disabled it.
func (a *Attached) ExitKind() (ExitKind, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.detached {
		return a.exit, nil
	}
	return a.readExitKind()
}

// readExitKind reads the scheduler's exit_kind variable, which its exit
// callback sets.
func (a *Attached) readExitKind() (ExitKind, error) {
	v := a.coll.Variables["exit_kind"]
	if v == nil {
		return 0, fmt.Errorf("%s has no exit_kind variable", a.name)
	}
	var k uint64
	if err := v.Get(&k); err != nil {
		return 0, fmt.Errorf("read the exit kind of %s: %w", a.name, err)
	}
	return ExitKind(k), nil
}

// ExitKind is the kernel's enum scx_exit_kind: why a scheduler ended.
type ExitKind uint64

// Exit kinds, with the values of the kernel's enum scx_exit_kind.
const (
	ExitNone     ExitKind = 0    // still running
	ExitUnreg    ExitKind = 64   // detached from user space
	ExitSysRq    ExitKind = 67   // disabled with sysrq-S
	ExitError    ExitKind = 1024 // the kernel found an error
	ExitErrorBPF ExitKind = 1025 // the scheduler called scx_bpf_error
	ExitStall    ExitKind = 1026 // the watchdog found a runnable task that did not run in time
)

// String returns the kernel's description of k.
func (k ExitKind) String() string {
	switch k {
	case ExitNone:
		return "none"
	case ExitUnreg:
		return "unregistered from user space"
	case ExitSysRq:
		return "disabled by sysrq-S"
	case ExitError:
		return "runtime error"
	case ExitErrorBPF:
		return "scx_bpf_error"
	case ExitStall:
		return "runnable task stall"
	}
	return fmt.Sprintf("exit kind %d", uint64(k))
}

// The kernel's sched_ext status files.
const (
	stateFile = "/sys/kernel/sched_ext/state"
	opsFile   = "/sys/kernel/sched_ext/root/ops"
)

// State returns sched_ext's state: "enabled" while a BPF scheduler runs,
// "disabled" when none does, or a transition ("enabling", "disabling").
// It fails when the kernel has no sched_ext.
func State() (string, error) {
	b, err := os.ReadFile(stateFile)
	if err != nil {
		return "", fmt.Errorf("schedext: read sched_ext's state: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// Ops returns the name of the attached BPF scheduler, from
// /sys/kernel/sched_ext/root/ops. It fails (fs.ErrNotExist) when none is
// attached.
func Ops() (string, error) {
	b, err := os.ReadFile(opsFile)
	if err != nil {
		return "", fmt.Errorf("schedext: read the attached scheduler's name: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// readState is State for error messages.
func readState() string {
	s, err := State()
	if err != nil {
		return "unknown"
	}
	return s
}
