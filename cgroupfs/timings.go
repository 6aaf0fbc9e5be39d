package cgroupfs

import "time"

// timings are the Manager's waits and retries. The defaults are ktstr's
// and the kernel's needs; tests of error paths on a fake shorten them
// (RemoveRetry, MoveRetry) so that they run in milliseconds.
type timings struct {
	// removeWaitEmpty bounds RemoveCgroup's wait for "populated 0" after
	// draining, and rmdirBudget its EBUSY retries after that.
	removeWaitEmpty time.Duration
	rmdirBudget     time.Duration
	// moveRetries and moveRetryDelay are MoveTasks' attempts on EBUSY.
	moveRetries    int
	moveRetryDelay time.Duration
}

var defaultTimings = timings{
	removeWaitEmpty: 2 * time.Second,
	rmdirBudget:     2 * time.Second,
	moveRetries:     3,
	moveRetryDelay:  100 * time.Millisecond,
}

// RemoveRetry sets how long RemoveCgroup (and CleanupAll, which calls
// it) waits, once rmdir said EBUSY and the tasks were drained, for the
// kernel to report the cgroup empty (waitEmpty, default 2 s), and then
// how long it retries rmdir on EBUSY (retry, default 2 s). A value of
// zero or less keeps that default.
func RemoveRetry(waitEmpty, retry time.Duration) ManagerOption {
	return func(c *managerConfig) {
		if waitEmpty > 0 {
			c.timings.removeWaitEmpty = waitEmpty
		}
		if retry > 0 {
			c.timings.rmdirBudget = retry
		}
	}
}

// MoveRetry sets how many writes MoveTasks tries for a pid refused with
// EBUSY (attempts, default 3: a sched_ext scheduler can refuse a move
// for a moment) and the pause between them (delay, default 100 ms).
// attempts below 1 and a negative delay keep their defaults; a zero
// delay retries at once.
func MoveRetry(attempts int, delay time.Duration) ManagerOption {
	return func(c *managerConfig) {
		if attempts >= 1 {
			c.timings.moveRetries = attempts
		}
		if delay >= 0 {
			c.timings.moveRetryDelay = delay
		}
	}
}
