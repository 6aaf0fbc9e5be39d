package cgtest

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestParseStatStartTime(t *testing.T) {
	// Field 22 is 4242 in each; the command names try to confuse a
	// naive split.
	const tail = " S 1 2 3 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 4242 1000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0"
	tests := []struct {
		desc    string
		in      string
		want    uint64
		wantErr string
	}{
		{desc: "plain", in: "1234 (sleep)" + tail, want: 4242},
		{desc: "spaces and parens in comm", in: "1234 (a) (b c) 9 9)" + tail, want: 4242},
		{desc: "newline at end", in: "1234 (sleep)" + tail + "\n", want: 4242},
		{desc: "no paren", in: "1234 sleep S 1", wantErr: "no \")\""},
		{desc: "truncated", in: "1234 (sleep) S 1 2 3", wantErr: "only 4 fields"},
		{desc: "garbage start time", in: "1234 (sleep) S 1 2 3 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 x 1", wantErr: "start time \"x\""},
	}
	for _, tc := range tests {
		got, err := parseStatStartTime(tc.in)
		if tc.wantErr != "" {
			assert.Check(t, is.ErrorContains(err, tc.wantErr), "%s: = %d, %v; want an error containing %q", tc.desc, got, err, tc.wantErr)
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: = %d, %v; want %d", tc.desc, got, err, tc.want)
		}
	}
}

func TestProcessStartTime(t *testing.T) {
	self, err := processStartTime(os.Getpid())
	assert.NilError(t, err)
	cmd := exec.Command("sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	child, err := processStartTime(cmd.Process.Pid)
	assert.NilError(t, err)
	if child < self {
		t.Errorf("child started at tick %d, before its parent at %d", child, self)
	}
	if again, err := processStartTime(os.Getpid()); err != nil || again != self {
		t.Errorf("start time changed: %d then %d, %v", self, again, err)
	}
	// Above any pid_max (at most 2^22), so it cannot exist.
	if _, err := processStartTime(1 << 30); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ProcessStartTime of a missing pid = %v, want fs.ErrNotExist", err)
	}
}
