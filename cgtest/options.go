package cgtest

import "time"

// Policy says how teardown empties a cgroup that still holds tasks. Its
// only values are Kill and Drain: no other can be made, so teardown
// never has to guess what an unknown one means.
type Policy struct{ drain bool }

var (
	// Kill, the default (and the zero Policy), kills every task in the
	// cgroup and its descendants (cgroup.kill) and waits for the kernel
	// to report the cgroup empty.
	Kill = Policy{}
	// Drain moves every task out of the cgroup and its descendants with
	// Manager.DrainTasks (to wherever the Manager drains to; see
	// cgroupfs.DrainTo) and waits for the cgroup to be empty. The tasks
	// keep running, for as long as that cgroup lives: under Root, until
	// the per-test root is removed at the end of the test (see Root).
	Drain = Policy{drain: true}
)

// String returns "kill" or "drain".
func (p Policy) String() string {
	if p.drain {
		return "drain"
	}
	return "kill"
}

// defaultBudget is how long the teardown of one Group may take in total,
// unless Budget says otherwise. It is generous: removing an empty cgroup
// takes microseconds, and killed tasks are gone in about a millisecond;
// only a task stuck in the kernel or a hung cgroupfs write uses it up.
const defaultBudget = 10 * time.Second

// Option configures a Group (NewGroup, RootGroupOptions) or a Sweep. The
// defaults: the Kill policy, warnings with t.Logf, and a budget of 10
// seconds. Sweep reads only Budget.
type Option func(*config)

type config struct {
	policy Policy
	strict bool
	budget time.Duration
	grace  time.Duration // after the budget, before a removal is abandoned; 0: derived from budget
}

func newConfig(opts []Option) config {
	c := config{policy: Kill, budget: defaultBudget}
	for _, opt := range opts {
		opt(&c)
	}
	if c.budget <= 0 {
		c.budget = defaultBudget
	}
	return c
}

// WithPolicy sets how teardown empties a cgroup that still holds tasks:
// Kill (the default) or Drain.
func WithPolicy(p Policy) Option {
	return func(c *config) { c.policy = p }
}

// Strict makes every teardown failure a test failure (t.Errorf) instead
// of a warning (t.Logf). A cgroup that is already gone is still not a
// failure.
func Strict() Option {
	return func(c *config) { c.strict = true }
}

// Budget bounds the whole teardown of the group: from the first of its
// cleanups to run, every wait and retry stops after d. A cgroup whose
// removal ran out of budget is reported with the state last observed,
// and the remaining cgroups still get one removal attempt each, without
// waiting. For Sweep, d bounds the wait, per stale root, for its killed
// tasks to be gone. A d of zero or less means the default, 10 seconds.
func Budget(d time.Duration) Option {
	return func(c *config) { c.budget = d }
}
