package cgtest

import (
	"fmt"
	"io"
	"sync"
)

// Recorder is a T for code that uses a Group outside a test function:
// examples, fuzz targets, commands such as cgguard doctor, and tests of
// helpers built on cgtest. It keeps every message the group reports and
// the cleanups it registers; Finish runs them, last in first out, as
// testing does when a test returns. The zero value is ready to use and
// is safe for concurrent use.
type Recorder struct {
	// TestName is what Name returns (cgtest uses it to name per-test
	// roots); empty means "Recorder".
	TestName string
	// Out, when not nil, also receives each message as a line
	// "log: ...", "error: ...", "fatal: ..." or "skip: ...".
	Out io.Writer

	mu       sync.Mutex
	cleanups []func()
	logs     []string
	errs     []string
	skips    []string
}

var _ T = (*Recorder)(nil)

// Helper does nothing: a Recorder has no call stack to trim.
func (r *Recorder) Helper() {}

// Name returns TestName, or "Recorder" when it is empty.
func (r *Recorder) Name() string {
	if r.TestName == "" {
		return "Recorder"
	}
	return r.TestName
}

// Cleanup registers f to run at Finish.
func (r *Recorder) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

// Logf records a log message (cgtest's teardown warnings).
func (r *Recorder) Logf(format string, args ...any) { r.record(&r.logs, "log", format, args) }

// Errorf records an error (cgtest's warnings under Strict).
func (r *Recorder) Errorf(format string, args ...any) { r.record(&r.errs, "error", format, args) }

// Fatalf records an error, like Errorf. Unlike testing's, it returns.
func (r *Recorder) Fatalf(format string, args ...any) { r.record(&r.errs, "fatal", format, args) }

// Skipf records a skip. Unlike testing's, it returns: the caller goes on
// (cgtest.Root then returns nil).
func (r *Recorder) Skipf(format string, args ...any) { r.record(&r.skips, "skip", format, args) }

func (r *Recorder) record(to *[]string, kind, format string, args []any) {
	msg := fmt.Sprintf(format, args...)
	r.mu.Lock()
	defer r.mu.Unlock()
	*to = append(*to, msg)
	if r.Out != nil {
		fmt.Fprintf(r.Out, "%s: %s\n", kind, msg)
	}
}

// Finish runs the registered cleanups, last in first out, including any
// a cleanup registers meanwhile, and returns when none is left.
func (r *Recorder) Finish() {
	for {
		r.mu.Lock()
		if len(r.cleanups) == 0 {
			r.mu.Unlock()
			return
		}
		f := r.cleanups[len(r.cleanups)-1]
		r.cleanups = r.cleanups[:len(r.cleanups)-1]
		r.mu.Unlock()
		f()
	}
}

// Logs returns the log messages recorded so far, in order.
func (r *Recorder) Logs() []string { return r.copyOf(&r.logs) }

// Errors returns the errors recorded so far (Errorf and Fatalf), in
// order.
func (r *Recorder) Errors() []string { return r.copyOf(&r.errs) }

// Skips returns the skip messages recorded so far, in order.
func (r *Recorder) Skips() []string { return r.copyOf(&r.skips) }

func (r *Recorder) copyOf(s *[]string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), *s...)
}
