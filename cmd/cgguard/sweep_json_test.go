package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/fakefs"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
	"gotest.tools/v3/golden"
)

// TestSweepJSONGolden pins what sweep -json prints (cgtest.SweepReport's
// MarshalJSON, and sweepFailed's object) byte for byte, durations and
// pid 1's start time masked: programs parse it. Regenerate with
// go test -run TestSweepJSONGolden ./cmd/cgguard -update.
func TestSweepJSONGolden(t *testing.T) {
	fsys := fakefs.New()
	stale := cgtest.RootName(deadOwner, "TestGone", 1)
	failing := cgtest.RootName(deadOwner, "TestGone", 2)
	// pid 1 owns the live root: its name sorts before the dead ones'
	// wherever this runs, which this process's pid would not.
	initOwner := cgtest.Owner{PID: 1, StartTime: initStartTime(t)}
	live := cgtest.RootName(initOwner, "TestHere", 1)
	for _, d := range []string{stale, stale + "/w", failing, live, "user.slice"} {
		if err := fsys.Mkdir(d); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := fsys.Spawn(stale + "/w"); err != nil {
		t.Fatal(err)
	}
	fsys.Fail(fakefs.OpRmdir, failing, unix.EACCES, -1)

	var all bytes.Buffer
	for _, dry := range []bool{true, false} {
		var out, errb bytes.Buffer
		code := sweepFS(fsys, "/fake", dry, true, &out, &errb)
		fmt.Fprintf(&all, "sweep -n=%v -json: exit %d, stderr %q\n%s", dry, code, errb.String(), out.String())
	}
	var out, errb bytes.Buffer
	code := sweepFailed(&out, &errb, true, "/gone", false, fs.ErrNotExist)
	fmt.Fprintf(&all, "a sweep that failed: exit %d\n%s", code, out.String())

	s := regexp.MustCompile(`"took_ns": [1-9][0-9]*`).ReplaceAllString(all.String(), `"took_ns": 1`)
	s = strings.ReplaceAll(s, live, "cgguard-1-INITSTART-TestHere-1")
	s = regexp.MustCompile(fmt.Sprintf(`("pid": 1,\s+"start_time": )%d\b`, initOwner.StartTime)).ReplaceAllString(s, `${1}2000`)
	golden.Assert(t, s, "sweep-json.golden")
}

// initStartTime returns pid 1's start time, field 22 of /proc/1/stat.
func initStartTime(t *testing.T) uint64 {
	t.Helper()
	data, err := os.ReadFile("/proc/1/stat")
	assert.NilError(t, err)
	// The fields after the command name, which ends with the last ')',
	// start with field 3.
	i := strings.LastIndexByte(string(data), ')')
	fields := strings.Fields(string(data[i+1:]))
	assert.Assert(t, i >= 0 && len(fields) > 19, "/proc/1/stat: %q", data)
	n, err := strconv.ParseUint(fields[19], 10, 64)
	assert.NilError(t, err, "/proc/1/stat field 22")
	return n
}
