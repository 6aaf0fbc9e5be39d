package main

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
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
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findOutputs (-want +got):\n%s", diff)
	}
	for p, ok := range map[string]bool{
		"/tmp/go-build1/b001/_cover_.out":       true,
		"/tmp/go-build1/b001/gocoverdir/covm.1": true,
		"/tmp/go-build1/b001/gocoverdir/../x":   false,
		"/tmp/go-build1/b001/other":             false,
		"/etc/passwd":                           false,
		"relative":                              false,
	} {
		if allowed(want, p) != ok {
			t.Errorf("allowed(%q) = %v, want %v", p, !ok, ok)
		}
	}
}

func TestReportRoundTrip(t *testing.T) {
	got := parseReport(encodeFile("/x/y", []byte("a b\nc")))
	if got.path != "/x/y" || string(got.data) != "a b\nc" || got.exit {
		t.Errorf("file report = %+v", got)
	}
	if got := parseReport(encodeExit(7)); !got.exit || got.code != 7 {
		t.Errorf("exit report = %+v, want exit 7", got)
	}
	for _, bad := range []string{"CGVM-EXIT x\n", "CGVM-FILE !!! x\n", "hello\n", ""} {
		if got := parseReport(bad); !got.malformed {
			t.Errorf("parseReport(%q) = %+v, want malformed", bad, got)
		}
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
		if err != nil || got.String() != tc.want {
			t.Errorf("pickTimeout(%q, %q) = %v, %v; want %s", tc.env, tc.args, got, err, tc.want)
		}
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
	if got := logTail(lines[:5], 60); len(got) != 5 {
		t.Errorf("logTail of a short log = %d lines, want all 5", len(got))
	}
	if got := logTail(append(lines[:10:10], lines[11:]...), 60); got[0] != "trace 40" {
		t.Errorf("logTail without a panic starts at %q, want the last 60 lines", got[0])
	}
}
