package cgtest

import "os/exec"

// SetStartCmd replaces how Start starts a command, so that a test can
// make clone3 refuse; it returns the function that restores it.
func SetStartCmd(f func(*exec.Cmd) error) (restore func()) {
	old := startCmd
	startCmd = f
	return func() { startCmd = old }
}

// DescribeProcess exposes describeProcess to the tests of the hints.
var DescribeProcess = describeProcess
