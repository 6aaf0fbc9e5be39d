package cgtest

import "time"

// DescribeProcess exposes describeProcess to the tests of the hints.
var DescribeProcess = describeProcess

// SetSysCPU points LLCs at another sysfs CPU directory; it returns the
// function that restores it.
func SetSysCPU(dir string) (restore func()) {
	old := sysCPU
	sysCPU = dir
	return func() { sysCPU = old }
}

// MissingControllerHint exposes missingControllerHint to the tests of
// Root's skip.
var MissingControllerHint = missingControllerHint

// RootManager exposes rootManager, so that the Manager Root makes can be
// tried on fakefs.
var RootManager = rootManager

// SetSchedExtDir points the hints at another sched_ext sysfs directory; it
// returns the function that restores it.
func SetSchedExtDir(dir string) (restore func()) {
	old := schedExtDir
	schedExtDir = dir
	return func() { schedExtDir = old }
}

// HardStopGrace sets how long after the budget a removal may still
// finish by itself before teardown abandons it as stuck. A test whose
// removal must end on its own (no cgroupfs call hangs) sets it long, so
// that a starved CPU cannot turn the outcome into "stuck".
func HardStopGrace(d time.Duration) Option {
	return func(c *config) { c.grace = d }
}

// The sweep's per-entry results, for the tests that check verdicts.
type (
	Verdict     = verdict
	SweptCgroup = sweptCgroup
)

const (
	SweepLive    = sweepLive
	SweepStale   = sweepStale
	SweepForeign = sweepForeign
	SweepUnknown = sweepUnknown
)

// SweptCgroups returns the report's entries, sorted by name.
func SweptCgroups(r SweepReport) []SweptCgroup { return r.cgroups }

// ParseRootName exposes parseRootName to the tests of root names.
var ParseRootName = parseRootName
