package cgroupfs

import (
	"errors"
	"slices"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestParseCPUSet(t *testing.T) {
	tests := []struct {
		in      string
		want    []int  // nil with wantErr
		canon   string // String() of the result
		wantErr string // substring of the error; "" for success
	}{
		// ktstr's and the kernel's formats.
		{in: "0-3,5,7-9", want: []int{0, 1, 2, 3, 5, 7, 8, 9}, canon: "0-3,5,7-9"},
		{in: "0", want: []int{0}, canon: "0"},
		{in: "", want: []int{}, canon: ""},
		{in: "\n", want: []int{}, canon: ""}, // what the kernel prints for an empty set
		{in: "0-1\n", want: []int{0, 1}, canon: "0-1"},
		{in: " 0-1 \n", want: []int{0, 1}, canon: "0-1"},
		{in: "1,0", want: []int{0, 1}, canon: "0-1"},
		{in: "0-3,2-5", want: []int{0, 1, 2, 3, 4, 5}, canon: "0-5"},
		{in: "5,5,5", want: []int{5}, canon: "5"},
		{in: "2-2", want: []int{2}, canon: "2"},
		{in: "63-64", want: []int{63, 64}, canon: "63-64"},
		{in: "65535", want: []int{MaxCPUSetID}, canon: "65535"},
		{in: "007", want: []int{7}, canon: "7"},
		// Errors quote the element at fault.
		{in: "3-1", wantErr: `"3-1": range is reversed`},
		{in: "a", wantErr: `"a" is not a decimal number`},
		{in: "-1", wantErr: `element "-1": missing number`},
		{in: "0-", wantErr: `element "0-": missing number`},
		{in: "0,,1", wantErr: `element "": missing number`},
		{in: ",", wantErr: "missing number"},
		{in: "0-4000000000", wantErr: "above the largest supported id 65535"},
		{in: "65536", wantErr: "above the largest supported id 65535"},
		{in: "99999999999999999999999", wantErr: "above the largest supported id"},
		{in: "0-1-2", wantErr: `"1-2" is not a decimal number`},
		{in: "+1", wantErr: "not a decimal number"},
		{in: "0x1", wantErr: "not a decimal number"},
		{in: "0, 1", wantErr: `" 1" is not a decimal number`},
		{in: "0-7:2/4", wantErr: "not a decimal number"}, // the kernel's stride syntax is not supported
	}
	for _, tc := range tests {
		got, err := ParseCPUSet(tc.in)
		if tc.wantErr != "" {
			assert.Check(t, is.ErrorContains(err, tc.wantErr), "ParseCPUSet(%q)", tc.in)
			assert.Check(t, is.ErrorIs(err, ErrCPUSetSyntax), "ParseCPUSet(%q)", tc.in)
			assert.Check(t, got.IsEmpty(), "ParseCPUSet(%q) returned %v with its error, want the empty set", tc.in, got)
			continue
		}
		if !assert.Check(t, err, "ParseCPUSet(%q)", tc.in) {
			continue
		}
		assert.Check(t, is.DeepEqual(got.IDs(), tc.want), "ParseCPUSet(%q).IDs()", tc.in)
		assert.Check(t, is.Equal(got.String(), tc.canon), "ParseCPUSet(%q).String()", tc.in)
		assert.Check(t, is.Equal(got.Len(), len(tc.want)), "ParseCPUSet(%q).Len()", tc.in)
	}
}

func TestCPUSetString(t *testing.T) {
	tests := []struct {
		ids  []int
		want string
	}{
		{nil, ""},
		{[]int{0, 1, 3, 5, 6, 7}, "0-1,3,5-7"},
		{[]int{7, 6, 5, 3, 1, 0}, "0-1,3,5-7"},
		{[]int{0, 2, 4}, "0,2,4"},
		{[]int{1, 2}, "1-2"}, // the kernel prints a pair as a range too
		{[]int{62, 63, 64, 65, 128}, "62-65,128"},
		{[]int{MaxCPUSetID}, "65535"},
	}
	for _, tc := range tests {
		assert.Check(t, is.Equal(NewCPUSet(tc.ids...).String(), tc.want), "NewCPUSet(%v).String()", tc.ids)
	}
}

func TestNewCPUSetPanicsOutOfRange(t *testing.T) {
	for _, id := range []int{-1, MaxCPUSetID + 1} {
		assert.Check(t, is.Panics(func() { NewCPUSet(id) }), "NewCPUSet(%d)", id)
	}
}

func TestCPUSetAlgebra(t *testing.T) {
	a := NewCPUSet(0, 1, 2, 64, 200)
	b := NewCPUSet(1, 2, 3, 200)
	assert.Check(t, is.Equal(a.Intersect(b).String(), "1-2,200"), "Intersect")
	assert.Check(t, is.Equal(a.Union(b).String(), "0-3,64,200"), "Union")
	// Intersect must trim trailing zero words, or Equal and IsEmpty lie.
	x := NewCPUSet(200).Intersect(NewCPUSet(0))
	assert.Check(t, x.IsEmpty() && x.Equal(CPUSet{}), "disjoint Intersect = %v, want the empty set", x)
	assert.Check(t, NewCPUSet(1, 2).IsSubsetOf(a), "{1,2}⊆a")
	assert.Check(t, !b.IsSubsetOf(a), "b⊄a")
	assert.Check(t, (CPUSet{}).IsSubsetOf(a), "∅⊆a")
	for id, want := range map[int]bool{-1: false, 0: true, 3: false, 64: true, 200: true, 100000: false} {
		assert.Check(t, is.Equal(a.Contains(id), want), "Contains(%d)", id)
	}
	// Methods never modify the receiver.
	assert.Check(t, is.Equal(a.String(), "0-2,64,200"), "receiver a changed")
	assert.Check(t, is.Equal(b.String(), "1-3,200"), "receiver b changed")
}

func TestCPUSetUnixRoundTrip(t *testing.T) {
	for _, s := range []CPUSet{{}, NewCPUSet(0), NewCPUSet(0, 1, 63, 64, 1023)} {
		u, err := s.Unix()
		assert.NilError(t, err, "%v.Unix()", s)
		assert.Check(t, is.Equal(u.Count(), s.Len()), "%v.Unix().Count()", s)
		for _, id := range s.IDs() {
			assert.Check(t, u.IsSet(id), "%v.Unix() lacks cpu %d", s, id)
		}
	}
	_, err := NewCPUSet(1024).Unix()
	assert.Check(t, is.ErrorContains(err, "1024"), "NewCPUSet(1024).Unix()")
}

// FuzzParseCPUSet checks that ParseCPUSet never panics, that whatever it
// accepts formats to a string it parses back to the same set, and that
// the format is canonical (formatting twice changes nothing).
func FuzzParseCPUSet(f *testing.F) {
	for _, seed := range []string{"0-3,5,7-9", "0", "", "\n", "1,0", "0-3,2-5", "3-1", "a", "-1", "0-",
		"0-4000000000", " 0-1 \n", "65535", "0,,1", "63-64,128"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseCPUSet(in)
		if err != nil {
			if !errors.Is(err, ErrCPUSetSyntax) {
				t.Fatalf("ParseCPUSet(%q) error %v does not wrap ErrCPUSetSyntax", in, err)
			}
			return
		}
		str := s.String()
		back, err := ParseCPUSet(str)
		if err != nil {
			t.Fatalf("ParseCPUSet(%q) = %q, which does not parse back: %v", in, str, err)
		}
		if !back.Equal(s) || !slices.Equal(back.IDs(), s.IDs()) {
			t.Fatalf("round trip of %q: %q parses to %v", in, str, back)
		}
		if again := back.String(); again != str {
			t.Fatalf("String not canonical: %q, then %q", str, again)
		}
		if ids := s.IDs(); len(ids) > 0 && (ids[0] < 0 || ids[len(ids)-1] > MaxCPUSetID) {
			t.Fatalf("ParseCPUSet(%q) holds ids out of range: %v", in, ids)
		}
	})
}
