package cgroupfs

import (
	"errors"
	"fmt"
	"time"
)

// ErrWriteTimeout is matched (errors.Is) by every error WriteFile returns
// when a write did not complete within its timeout.
var ErrWriteTimeout = errors.New("cgroup write timed out")

// TimeoutError is the Err of the *fs.PathError that OSFS.WriteFile returns
// when the kernel did not complete the open and write of a file within
// the write timeout. errors.Is(err, ErrWriteTimeout) and os.IsTimeout(err)
// hold for it. The write was not cancelled: it goes on in the background
// and may still take effect.
type TimeoutError struct {
	Path  string        // absolute path of the file written
	Limit time.Duration // the bound that ran out
}

// Error says what ran out, why a cgroup write can block, and what to try.
func (e *TimeoutError) Error() string {
	return fmt.Sprintf("write to %s did not complete within %v: a cgroup write can block in the kernel "+
		"(for example while a sched_ext scheduler is loaded or reconfigured, or a frozen or dying task "+
		"is moved); the write may still take effect later, so re-read the file before retrying, "+
		"check dmesg and the scheduler's state, or allow longer with cgroupfs.WithWriteTimeout",
		e.Path, e.Limit)
}

// Is reports whether target is ErrWriteTimeout.
func (e *TimeoutError) Is(target error) bool { return target == ErrWriteTimeout }

// Timeout reports true, so os.IsTimeout and net-style checks recognise it.
func (e *TimeoutError) Timeout() bool { return true }
