package fakefs

import (
	"strings"

	"github.com/cgguard/cgguard/cgroupfs"
	"golang.org/x/sys/unix"
)

// The parsers in this file copy the kernel's, so that any byte string
// written to a fake file gets the answer the kernel would give. Each
// names the kernel function it follows.

// cString returns data up to its first NUL byte: kernfs hands the write
// handler a NUL-terminated buffer, so the kernel never sees what follows
// a NUL ("5\x00junk" moves pid 5; "\x005" is an empty string).
func cString(data []byte) string {
	s := string(data)
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return s
}

// isSpace is the kernel's isspace for ASCII (lib/ctype.c): space, \t,
// \n, \v, \f, \r. Go's unicode.IsSpace would also accept 0x85 and 0xA0.
func isSpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r')
}

// strstrip removes leading and trailing kernel whitespace (strstrip).
func strstrip(s string) string {
	i, j := 0, len(s)
	for i < j && isSpace(s[i]) {
		i++
	}
	for j > i && isSpace(s[j-1]) {
		j--
	}
	return s[i:j]
}

// parseUint follows _parse_integer: it consumes digits of base from s
// and returns the value, how many bytes it consumed and whether the
// value overflowed 64 bits.
func parseUint(s string, base uint64) (n uint64, used int, overflow bool) {
	for used < len(s) {
		c := s[used]
		var d uint64
		switch {
		case c >= '0' && c <= '9':
			d = uint64(c - '0')
		case c >= 'a' && c <= 'f':
			d = uint64(c-'a') + 10
		case c >= 'A' && c <= 'F':
			d = uint64(c-'A') + 10
		default:
			return n, used, overflow
		}
		if d >= base {
			return n, used, overflow
		}
		if n > (^uint64(0)-d)/base {
			overflow = true
		}
		n = n*base + d
		used++
	}
	return n, used, overflow
}

func isXDigit(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// kstrtoull follows the kernel's kstrtoull with base 0: an optional '+',
// "0x" for hex, a leading "0" for octal, decimal otherwise; one trailing
// newline is allowed and nothing else. It returns EINVAL for garbage and
// ERANGE for overflow.
func kstrtoull(s string) (uint64, error) {
	s = strings.TrimPrefix(s, "+")
	base := uint64(10)
	switch {
	case len(s) >= 3 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && isXDigit(s[2]):
		base, s = 16, s[2:]
	case len(s) >= 1 && s[0] == '0':
		base = 8
	}
	n, used, overflow := parseUint(s, base)
	if used == 0 {
		return 0, unix.EINVAL
	}
	if overflow {
		return 0, unix.ERANGE
	}
	rest := s[used:]
	if rest == "\n" {
		rest = ""
	}
	if rest != "" {
		return 0, unix.EINVAL
	}
	return n, nil
}

// kstrtoint follows the kernel's kstrtoint with base 0: kstrtoull plus
// a leading '-', and ERANGE when the value does not fit in an int32.
func kstrtoint(s string) (int, error) {
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
		if strings.HasPrefix(s, "+") || strings.HasPrefix(s, "-") {
			return 0, unix.EINVAL
		}
	}
	n, err := kstrtoull(s)
	if err != nil {
		return 0, err
	}
	if neg {
		if n > 1<<31 {
			return 0, unix.ERANGE
		}
		return -int(n), nil
	}
	if n > 1<<31-1 {
		return 0, unix.ERANGE
	}
	return int(n), nil
}

// parseCPUList follows bitmap_parselist (lib/bitmap-str.c), the parser
// behind cpuset.cpus and cpuset.mems: regions separated by commas or
// whitespace, each "N", "N-M", "N-M:used/group" or "all", where "N" as a
// number is the last bit; the string ends at NUL or newline. Numbers at
// or above nbits give ERANGE, malformed regions EINVAL, numbers beyond
// 32 bits EOVERFLOW.
func parseCPUList(s string, nbits int) (cgroupfs.CPUSet, error) {
	var ids []int
	endOfStr := func(i int) bool { return i >= len(s) || s[i] == '\n' }
	endOfRegion := func(i int) bool { return endOfStr(i) || isSpace(s[i]) || s[i] == ',' }
	lastbit := uint64(nbits - 1)
	getnum := func(i int) (uint64, int, error) {
		if i < len(s) && s[i] == 'N' {
			return lastbit, i + 1, nil
		}
		n, used, overflow := parseUint(s[min(i, len(s)):], 10)
		if used == 0 {
			return 0, i, unix.EINVAL
		}
		if overflow || n > 1<<32-1 {
			return 0, i, unix.EOVERFLOW
		}
		return n, i + used, nil
	}
	i := 0
	for {
		// bitmap_find_region: skip separators; stop at the end.
		for i < len(s) && (isSpace(s[i]) || s[i] == ',') && s[i] != '\n' {
			i++
		}
		if endOfStr(i) {
			break
		}
		var start, end, off, group uint64
		var err error
		pattern := false
		if len(s)-i >= 3 && strings.EqualFold(s[i:i+3], "all") {
			start, end = 0, lastbit
			i += 3
		} else {
			if start, i, err = getnum(i); err != nil {
				return cgroupfs.CPUSet{}, err
			}
			end = start
			if !endOfRegion(i) {
				if s[i] != '-' {
					return cgroupfs.CPUSet{}, unix.EINVAL
				}
				if end, i, err = getnum(i + 1); err != nil {
					return cgroupfs.CPUSet{}, err
				}
			}
		}
		if !endOfRegion(i) {
			if s[i] != ':' {
				return cgroupfs.CPUSet{}, unix.EINVAL
			}
			if off, i, err = getnum(i + 1); err != nil {
				return cgroupfs.CPUSet{}, err
			}
			if i >= len(s) || s[i] != '/' {
				return cgroupfs.CPUSet{}, unix.EINVAL
			}
			if group, i, err = getnum(i + 1); err != nil {
				return cgroupfs.CPUSet{}, err
			}
			pattern = true
		}
		if !pattern {
			off, group = end+1, end+1
		}
		// bitmap_check_region.
		if start > end || group == 0 || off > group {
			return cgroupfs.CPUSet{}, unix.EINVAL
		}
		if end >= uint64(nbits) {
			return cgroupfs.CPUSet{}, unix.ERANGE
		}
		for id := start; id <= end; id++ {
			if (id-start)%group < off {
				ids = append(ids, int(id))
			}
		}
		// After a pattern the kernel continues at whatever follows; a
		// region must be followed by a separator or the end.
		if pattern && !endOfRegion(i) {
			return cgroupfs.CPUSet{}, unix.EINVAL
		}
	}
	return cgroupfs.NewCPUSet(ids...), nil
}

// skipSpaces follows skip_spaces.
func skipSpaces(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	return s
}

// scanUint is one unsigned integer conversion of the kernel's vsscanf
// ("%u", "%llu", base 10): it skips whitespace, needs a digit (no sign),
// and wraps on overflow as simple_strntoull does. It returns the value
// and what follows, or ok false when nothing converted.
func scanUint(s string) (n uint64, rest string, ok bool) {
	s = skipSpaces(s)
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, s, false
	}
	for len(s) > 0 && s[0] >= '0' && s[0] <= '9' {
		n = n*10 + uint64(s[0]-'0')
		s = s[1:]
	}
	return n, s, true
}

// scanWord is vsscanf's "%Ns": it skips whitespace and takes up to max
// bytes that are not whitespace. An all-blank string converts to "".
func scanWord(s string, max int) (word, rest string, ok bool) {
	if s == "" {
		return "", s, false
	}
	s = skipSpaces(s)
	i := 0
	for i < len(s) && i < max && !isSpace(s[i]) {
		i++
	}
	return s[:i], s[i:], true
}

// scanLiteral matches vsscanf's literal format text lit: whitespace in
// lit skips any whitespace (none too), other bytes must match exactly.
func scanLiteral(s, lit string) (rest string, ok bool) {
	for i := 0; i < len(lit); i++ {
		if isSpace(lit[i]) {
			s = skipSpaces(s)
			continue
		}
		if s == "" || s[0] != lit[i] {
			return s, false
		}
		s = s[1:]
	}
	return s, true
}

// simpleStrtol follows simple_strtol with base 0: an optional '-', then
// simple_strtoull's radix detection; it returns the value and how many
// bytes it used (0: none).
func simpleStrtol(s string) (int64, int) {
	neg := strings.HasPrefix(s, "-")
	body := s
	if neg {
		body = s[1:]
	}
	base := uint64(10)
	digits := body
	switch {
	case len(body) >= 3 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X') && isXDigit(body[2]):
		base, digits = 16, body[2:]
	case len(body) >= 1 && body[0] == '0':
		base = 8
	}
	n, used, _ := parseUint(digits, base)
	if used == 0 {
		return 0, 0
	}
	used += len(s) - len(digits)
	if neg {
		return -int64(n), used
	}
	return int64(n), used
}

// kstrtoul follows kstrtoul with base 0 (kstrtoull on 64 bits).
func kstrtoul(s string) (uint64, error) { return kstrtoull(s) }
