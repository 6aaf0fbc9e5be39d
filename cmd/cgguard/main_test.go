package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// TestMain lets the test binary stand in for cgguard where doctor and
// the tests spawn it ("probe"): os.Executable is the test binary here.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "probe" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func TestUsageExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{nil, exitUsage, "usage:"},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"sweep", "-x"}, exitUsage, "flag provided but not defined: -x"},
		{[]string{"sweep", "/a", "/b"}, exitUsage, `unexpected arguments ["/b"]`},
		{[]string{"sweep", "/a", "-n", "/b"}, exitUsage, `unexpected arguments ["/b"]`},
		{[]string{"doctor", "extra"}, exitUsage, `unexpected arguments ["extra"]`},
		{[]string{"doctor", "-n"}, exitUsage, "flag provided but not defined: -n"},
		{[]string{"help"}, exitOK, ""},
		{[]string{"sweep", "-h"}, exitOK, "-json"},
		// A directory that is not cgroup2: a failure, not a usage error.
		{[]string{"sweep", "-n", t.TempDir()}, exitProblem, "not a cgroup2 filesystem"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(tc.args, &stdout, &stderr)
		assert.Check(t, is.Equal(code, tc.code), "run(%q); stderr %q", tc.args, stderr.String())
		assert.Check(t, is.Contains(stderr.String(), tc.stderr), "run(%q)", tc.args)
		// A command-line user cannot add a Go option.
		assert.Check(t, !strings.Contains(stderr.String(), "PlainDirectory"), "run(%q) tells a command-line user about cgroupfs.PlainDirectory: %q", tc.args, stderr.String())
	}
}

func Example_usage() {
	run([]string{"help"}, os.Stdout, os.Stderr)
	// Output:
	// usage:
	//   cgguard doctor [-json]            can cgroup tests run here? then a live demonstration
	//   cgguard sweep [-n] [-json] [root] remove cgroups left by dead test runs (-n: list only)
}
