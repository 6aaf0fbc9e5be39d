package cgroupfs

import (
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestOddButValidNames(t *testing.T) {
	// The kernel allows these; so does the Manager (TestOddButValidNamesAreCreated).
	for _, name := range []string{
		"a b", "-x", "...", "a..b", ".hidden", "ünïcödé", "tab\there", "a/b/c/d/e/f",
		strings.Repeat("n", 255),
	} {
		assert.Check(t, is.Equal(brokenNameRule(name), ""), "brokenNameRule(%q)", name)
	}
}

func TestLevels(t *testing.T) {
	for in, want := range map[string][]string{
		".":     nil,
		"a":     {"a"},
		"a/b/c": {"a", "a/b", "a/b/c"},
	} {
		assert.Check(t, is.DeepEqual(levels(in), want), "levels(%q)", in)
	}
	for _, tc := range []struct {
		p, dir string
		want   bool
	}{
		{"a", ".", true}, {"a/b", "a", true}, {"a", "a", true}, {"ab", "a", false}, {"a", "a/b", false},
	} {
		assert.Check(t, is.Equal(isBeneath(tc.p, tc.dir), tc.want), "isBeneath(%q, %q)", tc.p, tc.dir)
	}
}
