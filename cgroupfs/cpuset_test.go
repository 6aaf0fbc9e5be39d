package cgroupfs

import (
	"errors"
	"slices"
	"strings"
	"testing"
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
			if err == nil {
				t.Errorf("ParseCPUSet(%q) = %v, want an error containing %q", tc.in, got, tc.wantErr)
				continue
			}
			if !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrCPUSetSyntax) {
				t.Errorf("ParseCPUSet(%q) error = %q, want one containing %q and wrapping ErrCPUSetSyntax", tc.in, err, tc.wantErr)
			}
			if !got.IsEmpty() {
				t.Errorf("ParseCPUSet(%q) returned %v with its error, want the empty set", tc.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseCPUSet(%q): %v", tc.in, err)
			continue
		}
		if ids := got.IDs(); !slices.Equal(ids, tc.want) {
			t.Errorf("ParseCPUSet(%q).IDs() = %v, want %v", tc.in, ids, tc.want)
		}
		if s := got.String(); s != tc.canon {
			t.Errorf("ParseCPUSet(%q).String() = %q, want %q", tc.in, s, tc.canon)
		}
		if got.Len() != len(tc.want) {
			t.Errorf("ParseCPUSet(%q).Len() = %d, want %d", tc.in, got.Len(), len(tc.want))
		}
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
		if got := NewCPUSet(tc.ids...).String(); got != tc.want {
			t.Errorf("NewCPUSet(%v).String() = %q, want %q", tc.ids, got, tc.want)
		}
	}
}

func TestNewCPUSetPanicsOutOfRange(t *testing.T) {
	for _, id := range []int{-1, MaxCPUSetID + 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewCPUSet(%d) did not panic", id)
				}
			}()
			NewCPUSet(id)
		}()
	}
}

func TestCPUSetAlgebra(t *testing.T) {
	a := NewCPUSet(0, 1, 2, 64, 200)
	b := NewCPUSet(1, 2, 3, 200)
	if got, want := a.Intersect(b).String(), "1-2,200"; got != want {
		t.Errorf("Intersect = %q, want %q", got, want)
	}
	if got, want := a.Union(b).String(), "0-3,64,200"; got != want {
		t.Errorf("Union = %q, want %q", got, want)
	}
	// Intersect must trim trailing zero words, or Equal and IsEmpty lie.
	if x := NewCPUSet(200).Intersect(NewCPUSet(0)); !x.IsEmpty() || !x.Equal(CPUSet{}) {
		t.Errorf("disjoint Intersect = %v, want the empty set", x)
	}
	if !NewCPUSet(1, 2).IsSubsetOf(a) || b.IsSubsetOf(a) || !(CPUSet{}).IsSubsetOf(a) {
		t.Errorf("IsSubsetOf wrong: {1,2}⊆a, b⊄a, ∅⊆a expected")
	}
	for id, want := range map[int]bool{-1: false, 0: true, 3: false, 64: true, 200: true, 100000: false} {
		if got := a.Contains(id); got != want {
			t.Errorf("Contains(%d) = %v, want %v", id, got, want)
		}
	}
	// Methods never modify the receiver.
	if a.String() != "0-2,64,200" || b.String() != "1-3,200" {
		t.Errorf("receivers changed: a=%v b=%v", a, b)
	}
}

func TestCPUSetUnixRoundTrip(t *testing.T) {
	for _, s := range []CPUSet{{}, NewCPUSet(0), NewCPUSet(0, 1, 63, 64, 1023)} {
		u, err := s.Unix()
		if err != nil {
			t.Fatalf("%v.Unix(): %v", s, err)
		}
		if u.Count() != s.Len() {
			t.Errorf("%v.Unix().Count() = %d, want %d", s, u.Count(), s.Len())
		}
		for _, id := range s.IDs() {
			if !u.IsSet(id) {
				t.Errorf("%v.Unix() lacks cpu %d", s, id)
			}
		}
	}
	if _, err := NewCPUSet(1024).Unix(); err == nil || !strings.Contains(err.Error(), "1024") {
		t.Errorf("NewCPUSet(1024).Unix() error = %v, want one naming cpu 1024", err)
	}
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
