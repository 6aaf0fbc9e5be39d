package cgroupfs

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestOddButValidNames(t *testing.T) {
	// The kernel allows these; so does the Manager (TestOddButValidNamesAreCreated).
	for _, name := range []string{
		"a b", "-x", "...", "a..b", ".hidden", "ünïcödé", "tab\there", "a/b/c/d/e/f",
		strings.Repeat("n", 255),
	} {
		if err := brokenNameRule(name); err != "" {
			t.Errorf("brokenNameRule(%q) = %q, want none", name, err)
		}
	}
}

func TestLevels(t *testing.T) {
	for in, want := range map[string][]string{
		".":     nil,
		"a":     {"a"},
		"a/b/c": {"a", "a/b", "a/b/c"},
	} {
		if diff := cmp.Diff(want, levels(in)); diff != "" {
			t.Errorf("levels(%q) (-want +got):\n%s", in, diff)
		}
	}
	for _, tc := range []struct {
		p, dir string
		want   bool
	}{
		{"a", ".", true}, {"a/b", "a", true}, {"a", "a", true}, {"ab", "a", false}, {"a", "a/b", false},
	} {
		if got := isBeneath(tc.p, tc.dir); got != tc.want {
			t.Errorf("isBeneath(%q, %q) = %v", tc.p, tc.dir, got)
		}
	}
}
