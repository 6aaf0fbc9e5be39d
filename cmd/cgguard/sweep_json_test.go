package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"regexp"
	"testing"

	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/fakefs"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/golden"
)

// TestSweepJSONGolden pins what sweep -json prints (cgtest.SweepReport's
// MarshalJSON, and sweepFailed's object) byte for byte, durations and
// this process's identity masked: programs parse it. Regenerate with
// go test -run TestSweepJSONGolden ./cmd/cgguard -update.
func TestSweepJSONGolden(t *testing.T) {
	fsys := fakefs.New()
	stale := cgtest.RootName(deadOwner, "TestGone", 1)
	failing := cgtest.RootName(deadOwner, "TestGone", 2)
	live := cgtest.RootName(selfOwner(t), "TestHere", 1)
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
	self := regexp.QuoteMeta(live)
	s = regexp.MustCompile(self).ReplaceAllString(s, "cgguard-SELF-TestHere-1")
	o := selfOwner(t)
	s = regexp.MustCompile(fmt.Sprintf(`"pid": %d,(\s+)"start_time": %d\b`, o.PID, o.StartTime)).ReplaceAllString(s, `"pid": 1000,${1}"start_time": 2000`)
	golden.Assert(t, s, "sweep-json.golden")
}
