package cgtest_test

import (
	"os"
	"strings"
	"testing"

	"github.com/cgguard/cgguard/cgtest"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestRootNameRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		owner cgtest.Owner
		test  string
		n     int
		want  string
	}{
		{cgtest.Owner{PID: 42, StartTime: 12345}, "TestX", 1, "cgguard-42-12345-TestX-1"},
		{cgtest.Owner{PID: 7, StartTime: 0}, "TestX/sub case#2", 3, "cgguard-7-0-TestX_sub_case_2-3"},
		{cgtest.Owner{PID: 7, StartTime: 9}, "", 1, "cgguard-7-9-_-1"},
		{cgtest.Owner{PID: 7, StartTime: 9}, "a-b", 1, "cgguard-7-9-a_b-1"},
	} {
		got := cgtest.RootName(tc.owner, tc.test, tc.n)
		if got != tc.want {
			t.Errorf("RootName(%+v, %q, %d) = %q, want %q", tc.owner, tc.test, tc.n, got, tc.want)
		}
		back, ok := cgtest.ParseRootName("/sys/fs/cgroup/" + got)
		if !ok || back != tc.owner {
			t.Errorf("ParseRootName(%q) = %+v, %v; want %+v", got, back, ok, tc.owner)
		}
	}
	long := cgtest.RootName(cgtest.Owner{PID: 4194304, StartTime: 1<<64 - 1}, strings.Repeat("T", 1000), 1<<30)
	if len(long) > 255 {
		t.Errorf("a root name is %d bytes, above NAME_MAX", len(long))
	}
}

func TestParseRootNameRejects(t *testing.T) {
	for _, name := range []string{"", "cgguard-", "cgguard-x-1-t-1", "cgguard-0-1-t-1", "cgguard--1-1-t-1", "cgguard-1-x-t-1",
		"cgguard-1-2", "other-1-2-t-1", "cgguard-test-123-abcdef"} {
		if o, ok := cgtest.ParseRootName(name); ok {
			t.Errorf("ParseRootName(%q) = %+v, true; want false", name, o)
		}
	}
}

func TestOwnerAlive(t *testing.T) {
	self, err := cgtest.Self()
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	assert.Check(t, is.Equal(self.PID, os.Getpid()), "Self().PID")
	for _, tc := range []struct {
		owner cgtest.Owner
		want  bool
	}{
		{self, true},
		{cgtest.Owner{PID: self.PID, StartTime: self.StartTime + 1}, false}, // a reused pid
		{cgtest.Owner{PID: 4194305, StartTime: 1}, false},                   // no such process
	} {
		got, err := tc.owner.Alive()
		if err != nil || got != tc.want {
			t.Errorf("%+v.Alive() = %v, %v; want %v", tc.owner, got, err, tc.want)
		}
	}
}
