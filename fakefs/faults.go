package fakefs

import (
	"errors"
	"io/fs"
	"path"
	"sync"

	"golang.org/x/sys/unix"
)

// Op names an operation of the FS, for fault injection (Fail, Hang) and
// in the operation log (Log).
type Op string

// The operations of an FS. OpMkdir through OpWatch are the cgroupfs.FS
// methods; OpSpawn, OpExit and OpKill are the fake-task methods (Fail and
// Hang apply to OpSpawn, whose path is the cgroup; exits and kills are
// only logged).
const (
	OpMkdir   Op = "mkdir"
	OpRmdir   Op = "rmdir"
	OpRead    Op = "read"
	OpWrite   Op = "write"
	OpReadDir Op = "readdir"
	OpWatch   Op = "watch"
	OpSpawn   Op = "spawn"
	OpExit    Op = "exit"
	OpKill    Op = "kill"
)

// fault is one injected failure or hang.
type fault struct {
	op      Op
	pattern string
	err     error         // nil for a hang
	times   int           // remaining failures; <0: always
	release chan struct{} // closed when a hang is released
	entered chan struct{} // closed when the first call blocks in the hang
	enterer sync.Once
}

func (ft *fault) matches(op Op, name string) bool {
	if ft.op != op {
		return false
	}
	if ft.pattern == name {
		return true
	}
	ok, _ := path.Match(ft.pattern, name)
	return ok
}

// Fail makes the next times calls of op on a path matching pattern fail
// with err, without any effect, and returns a function that removes the
// fault early. times < 0 fails every call until removed; times == 0
// injects nothing. The pattern is an FS-relative path ("a/cgroup.procs")
// or a path.Match pattern ("*/cgroup.kill"); a malformed pattern matches
// only the identical path.
//
// The caller sees err inside an *fs.PathError naming op and the path,
// unless err already is an *fs.PathError, so errors.Is(err, unix.EBUSY)
// holds as for the kernel's own errors. Faults are checked in the order
// they were added; the first match wins. A nil err stands for EIO.
func (f *FS) Fail(op Op, pattern string, err error, times int) (remove func()) {
	if times == 0 {
		return func() {}
	}
	if err == nil {
		err = unix.EIO
	}
	ft := &fault{op: op, pattern: pattern, err: err, times: times}
	f.mu.Lock()
	f.faults = append(f.faults, ft)
	f.mu.Unlock()
	return func() { f.removeFault(ft) }
}

// Hang makes every call of op on a path matching pattern block until
// release is called; the call then proceeds normally. Use it to exercise
// write timeouts and cancellation. release may be called more than once
// and from any goroutine. Calls that begin after release do not block.
func (f *FS) Hang(op Op, pattern string) (release func()) {
	_, release = f.HangEntered(op, pattern)
	return release
}

// HangEntered is Hang that also tells when a call is stuck: entered is
// closed as soon as the first matching call blocks in the hang, so a
// test can act on "the operation is in progress" (cancel, time out,
// release) without sleeping.
func (f *FS) HangEntered(op Op, pattern string) (entered <-chan struct{}, release func()) {
	ft := &fault{op: op, pattern: pattern, times: -1, release: make(chan struct{}), entered: make(chan struct{})}
	f.mu.Lock()
	f.faults = append(f.faults, ft)
	f.mu.Unlock()
	var once sync.Once
	return ft.entered, func() {
		once.Do(func() {
			f.removeFault(ft)
			close(ft.release)
		})
	}
}

func (f *FS) removeFault(ft *fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, x := range f.faults {
		if x == ft {
			f.faults = append(f.faults[:i], f.faults[i+1:]...)
			return
		}
	}
}

// do runs one operation under the lock: it first waits out any hang,
// then applies an injected failure, else runs fn, and logs the outcome.
// fn returns a bare errno; do wraps it in an *fs.PathError.
func (f *FS) do(op Op, name, data string, fn func() error) error {
	f.mu.Lock()
	for {
		var hang *fault
		for _, ft := range f.faults {
			if ft.release != nil && ft.matches(op, name) {
				hang = ft
				break
			}
		}
		if hang == nil {
			break
		}
		f.mu.Unlock()
		hang.enterer.Do(func() { close(hang.entered) })
		<-hang.release
		f.mu.Lock()
	}
	defer f.mu.Unlock()
	var err error
	injected := false
	for i, ft := range f.faults {
		if ft.release == nil && ft.matches(op, name) {
			injected = true
			err = ft.err
			var pe *fs.PathError
			if !errors.As(err, &pe) {
				err = pathErr(op, name, err)
			}
			if ft.times > 0 {
				ft.times--
				if ft.times == 0 {
					f.faults = append(f.faults[:i], f.faults[i+1:]...)
				}
			}
			break
		}
	}
	if !injected {
		if err = fn(); err != nil {
			err = pathErr(op, name, err)
		}
	}
	f.record(LogEntry{Op: op, Path: name, Data: data, Err: err, Injected: injected})
	return err
}
