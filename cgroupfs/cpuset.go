package cgroupfs

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// MaxCPUSetID is the largest CPU or memory-node id a CPUSet holds. It is
// above any kernel's NR_CPUS (at most 8192) and MAX_NUMNODES, and keeps
// a hostile list such as "0-4000000000" from allocating gigabytes.
const MaxCPUSetID = 65535

// CPUSet is a set of CPU ids or memory-node ids, as written to and read
// from cpuset.cpus and cpuset.mems. The zero value is the empty set.
// A CPUSet is a value: methods never modify the receiver.
type CPUSet struct {
	words []uint64 // bit i of words[i/64] is id i; no trailing zero words
}

// NewCPUSet returns the set holding ids. It panics on an id below zero
// or above MaxCPUSetID, as that is a programming error; use ParseCPUSet
// for input from outside the program.
func NewCPUSet(ids ...int) CPUSet {
	var s CPUSet
	for _, id := range ids {
		if id < 0 || id > MaxCPUSetID {
			panic(fmt.Sprintf("cgroupfs.NewCPUSet: id %d out of range [0, %d]", id, MaxCPUSetID))
		}
		s.add(id, id)
	}
	return s
}

// add sets every id in [lo, hi]. It mutates s; only constructors call it.
func (s *CPUSet) add(lo, hi int) {
	if need := hi/64 + 1; need > len(s.words) {
		s.words = append(s.words, make([]uint64, need-len(s.words))...)
	}
	for id := lo; id <= hi; id++ {
		s.words[id/64] |= 1 << (id % 64)
	}
}

// ParseCPUSet parses the kernel list format: comma-separated ids and
// inclusive ranges ("0-3,5,7-9"). Surrounding whitespace, including the
// trailing newline the kernel prints, is allowed; an empty string is
// the empty set. Ids may appear in any order and overlap, as the kernel
// accepts. Garbage, reversed ranges ("3-1") and ids above MaxCPUSetID are
// errors that quote the offending element.
func ParseCPUSet(str string) (CPUSet, error) {
	var s CPUSet
	trimmed := strings.TrimSpace(str)
	if trimmed == "" {
		return s, nil
	}
	for elem := range strings.SplitSeq(trimmed, ",") {
		lo, hi, err := parseCPURange(elem)
		if err != nil {
			return CPUSet{}, fmt.Errorf("cgroupfs: parse cpu list %q: %w", str, err)
		}
		s.add(lo, hi)
	}
	return s, nil
}

// ErrCPUSetSyntax is wrapped by every ParseCPUSet error.
var ErrCPUSetSyntax = errors.New("invalid cpu list")

func parseCPURange(elem string) (lo, hi int, err error) {
	first, last, isRange := strings.Cut(elem, "-")
	if lo, err = parseCPUID(first); err != nil {
		return 0, 0, fmt.Errorf("%w: element %q: %v", ErrCPUSetSyntax, elem, err)
	}
	hi = lo
	if isRange {
		if hi, err = parseCPUID(last); err != nil {
			return 0, 0, fmt.Errorf("%w: element %q: %v", ErrCPUSetSyntax, elem, err)
		}
		if hi < lo {
			return 0, 0, fmt.Errorf("%w: element %q: range is reversed (%d > %d)", ErrCPUSetSyntax, elem, lo, hi)
		}
	}
	return lo, hi, nil
}

func parseCPUID(str string) (int, error) {
	if str == "" {
		return 0, errors.New("missing number")
	}
	for _, c := range str {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a decimal number", str)
		}
	}
	n, err := strconv.Atoi(str)
	if err != nil || n > MaxCPUSetID {
		return 0, fmt.Errorf("id %s is above the largest supported id %d", str, MaxCPUSetID)
	}
	return n, nil
}

// String returns the set in the kernel's canonical list format: ascending
// ids, runs of two or more collapsed to ranges ({0,1,3,5,6,7} is
// "0-1,3,5-7"), and "" for the empty set.
func (s CPUSet) String() string {
	var b strings.Builder
	ids := s.IDs()
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(ids[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(ids[j]))
		}
		i = j + 1
	}
	return b.String()
}

// IDs returns the ids in ascending order.
func (s CPUSet) IDs() []int {
	ids := make([]int, 0, s.Len())
	for w, word := range s.words {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			ids = append(ids, w*64+b)
			word &^= 1 << b
		}
	}
	return ids
}

// Len returns the number of ids in the set.
func (s CPUSet) Len() int {
	n := 0
	for _, word := range s.words {
		n += bits.OnesCount64(word)
	}
	return n
}

// IsEmpty reports whether the set holds no id.
func (s CPUSet) IsEmpty() bool { return s.Len() == 0 }

// Contains reports whether id is in the set.
func (s CPUSet) Contains(id int) bool {
	return id >= 0 && id/64 < len(s.words) && s.words[id/64]&(1<<(id%64)) != 0
}

// Equal reports whether s and o hold the same ids.
func (s CPUSet) Equal(o CPUSet) bool {
	return s.String() == o.String()
}

// Intersect returns the ids in both s and o.
func (s CPUSet) Intersect(o CPUSet) CPUSet {
	n := min(len(s.words), len(o.words))
	out := CPUSet{words: make([]uint64, n)}
	for i := range n {
		out.words[i] = s.words[i] & o.words[i]
	}
	out.trim()
	return out
}

// Union returns the ids in s or o.
func (s CPUSet) Union(o CPUSet) CPUSet {
	a, b := s.words, o.words
	if len(a) < len(b) {
		a, b = b, a
	}
	out := CPUSet{words: append([]uint64(nil), a...)}
	for i, w := range b {
		out.words[i] |= w
	}
	out.trim()
	return out
}

// IsSubsetOf reports whether every id of s is in o.
func (s CPUSet) IsSubsetOf(o CPUSet) bool {
	return s.Intersect(o).Equal(s)
}

func (s *CPUSet) trim() {
	for len(s.words) > 0 && s.words[len(s.words)-1] == 0 {
		s.words = s.words[:len(s.words)-1]
	}
}

// Unix converts the set to a unix.CPUSet (for sched_setaffinity). It
// fails when an id does not fit in unix.CPUSet (1024 CPUs).
func (s CPUSet) Unix() (unix.CPUSet, error) {
	var u unix.CPUSet
	limit := len(u) * 64
	for _, id := range s.IDs() {
		if id >= limit {
			return unix.CPUSet{}, fmt.Errorf("cgroupfs: cpu %d does not fit in unix.CPUSet (ids below %d)", id, limit)
		}
		u.Set(id)
	}
	return u, nil
}
