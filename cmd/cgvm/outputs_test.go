package main

import (
	"fmt"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestFindOutputsGoTestArgs(t *testing.T) {
	// What go test -cover -coverprofile passes (measured, Go 1.26).
	args := []string{"-test.paniconexit0", "-test.gocoverdir=/tmp/go-build1/b001/gocoverdir",
		"-test.timeout=10m0s", "-test.coverprofile=/tmp/go-build1/b001/_cover_.out", "-test.v=true",
		"-test.cpuprofile", "cpu.out", "-test.outputdir=/out", "--", "-test.trace=/not/a/flag"}
	got := findOutputs(args, "/pkg", "/tmp/go-build1/b001/gocoverdir")
	want := []output{
		{Path: "/tmp/go-build1/b001/_cover_.out"},
		{Path: "/out/cpu.out"},
		{Path: "/tmp/go-build1/b001/gocoverdir", Dir: true},
		{Path: "/out", Dir: true},
		{Path: "/tmp/go-build1/b001/gocoverdir", Dir: true},
	}
	assert.Check(t, is.DeepEqual(got, want), "findOutputs")
	for p, ok := range map[string]bool{
		"/tmp/go-build1/b001/_cover_.out":       true,
		"/tmp/go-build1/b001/gocoverdir/covm.1": true,
		"/tmp/go-build1/b001/gocoverdir/../x":   false,
		"/tmp/go-build1/b001/other":             false,
		"/etc/passwd":                           false,
		"relative":                              false,
	} {
		assert.Check(t, is.Equal(allowed(want, p), ok), "allowed(%q)", p)
	}
}

func TestReportRoundTrip(t *testing.T) {
	got := parseReport(encodeFile("/x/y", []byte("a b\nc")))
	if got.path != "/x/y" || string(got.data) != "a b\nc" || got.exit {
		t.Errorf("file report = %+v", got)
	}
	exit := parseReport(encodeExit(7))
	assert.Check(t, exit.exit && exit.code == 7, "exit report = %+v, want exit 7", exit)
	for _, bad := range []string{"CGVM-EXIT x\n", "CGVM-FILE !!! x\n", "hello\n", ""} {
		got := parseReport(bad)
		assert.Check(t, got.malformed, "parseReport(%q) = %+v, want malformed", bad, got)
	}
}

func TestPickTimeout(t *testing.T) {
	for _, tc := range []struct {
		env  string
		args []string
		want string
	}{
		{"", nil, "10m0s"},
		{"", []string{"-test.timeout=1m0s"}, "1m30s"},
		{"20s", []string{"-test.timeout=1m0s"}, "20s"},
		{"0", nil, "0s"},
	} {
		got, err := pickTimeout(tc.env, tc.args)
		assert.Check(t, err)
		assert.Check(t, is.Equal(got.String(), tc.want), "pickTimeout(%q, %q)", tc.env, tc.args)
	}
	if _, err := pickTimeout("soon", nil); err == nil {
		t.Error("pickTimeout(\"soon\") succeeded, want an error naming CGVM_TIMEOUT")
	}
}

// The kernel's panic line stays in the printed tail however long the call
// trace after it is.
func TestLogTailKeepsThePanicLine(t *testing.T) {
	var lines []string
	for i := range 10 {
		lines = append(lines, fmt.Sprint("boot ", i))
	}
	lines = append(lines, "Kernel panic - not syncing: Attempted to kill init!")
	for i := range 100 {
		lines = append(lines, fmt.Sprint("trace ", i))
	}
	got := logTail(lines, 60)
	if len(got) != 62 || got[0] != lines[10] || got[1] != "[...]" || got[61] != "trace 99" {
		t.Errorf("logTail kept %d lines starting %q, want the panic line, [...], then the last 60", len(got), got[:2])
	}
	assert.Check(t, is.Len(logTail(lines[:5], 60), 5), "logTail of a short log keeps it all")
	assert.Check(t, is.Equal(logTail(append(lines[:10:10], lines[11:]...), 60)[0], "trace 40"), "logTail without a panic keeps the last 60 lines")
}
