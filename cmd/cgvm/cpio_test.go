package main

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// cpioEntry is one entry as readCPIO parses it back.
type cpioEntry struct {
	Name  string
	Mode  uint32
	Data  string
	Major uint32
	Minor uint32
}

// readCPIO is a small newc reader, independent of the writer, checking the
// magic, the field layout and the 4-byte alignment the kernel requires.
func readCPIO(r io.Reader) ([]cpioEntry, error) {
	var out []cpioEntry
	var off int64
	read := func(n int64) ([]byte, error) {
		b := make([]byte, n)
		_, err := io.ReadFull(r, b)
		off += n
		return b, err
	}
	align := func() error {
		if pad := (4 - off%4) % 4; pad > 0 {
			b, err := read(pad)
			if err != nil {
				return err
			}
			if strings.Trim(string(b), "\x00") != "" {
				return fmt.Errorf("non-zero padding at %d", off)
			}
		}
		return nil
	}
	for {
		h, err := read(110)
		if err != nil {
			return nil, fmt.Errorf("header at %d: %w", off, err)
		}
		if string(h[:6]) != "070701" {
			return nil, fmt.Errorf("bad magic %q at %d", h[:6], off-110)
		}
		field := func(i int) uint32 {
			v, err := strconv.ParseUint(string(h[6+8*i:14+8*i]), 16, 32)
			if err != nil {
				panic(err)
			}
			return uint32(v)
		}
		mode, size, namesize := field(1), field(6), field(11)
		name, err := read(int64(namesize))
		if err != nil {
			return nil, err
		}
		if name[len(name)-1] != 0 {
			return nil, fmt.Errorf("name %q not NUL-terminated", name)
		}
		if err := align(); err != nil {
			return nil, err
		}
		data, err := read(int64(size))
		if err != nil {
			return nil, err
		}
		if err := align(); err != nil {
			return nil, err
		}
		e := cpioEntry{Name: string(name[:len(name)-1]), Mode: mode, Data: string(data), Major: field(9), Minor: field(10)}
		if e.Name == cpioTrailer {
			return out, nil
		}
		out = append(out, e)
	}
}

func TestCPIORoundTrip(t *testing.T) {
	var buf bytes.Buffer
	c := newCPIOWriter(&buf)
	c.charDev("/dev/console", 0o600, 5, 1)
	c.file("/a/b/c.txt", 0o644, 5, strings.NewReader("hello"))
	c.file("a/b/c.txt", 0o644, 3, strings.NewReader("dup")) // skipped: written before
	c.file("/init", 0o755, 2, strings.NewReader("xy"))
	c.symlink("/a/link", "b/c.txt")
	c.mkdirAll("/a/empty", 0o700)
	assert.NilError(t, c.close())
	assert.Check(t, buf.Len()%4 == 0, "archive is %d bytes, not a multiple of 4", buf.Len())
	got, err := readCPIO(&buf)
	assert.NilError(t, err, "reading the archive back")
	// Parents come before what is inside them: the kernel does not create
	// missing directories.
	want := []cpioEntry{
		{Name: "dev", Mode: modeDir | 0o755},
		{Name: "dev/console", Mode: modeChr | 0o600, Major: 5, Minor: 1},
		{Name: "a", Mode: modeDir | 0o755},
		{Name: "a/b", Mode: modeDir | 0o755},
		{Name: "a/b/c.txt", Mode: modeReg | 0o644, Data: "hello"},
		{Name: "init", Mode: modeReg | 0o755, Data: "xy"},
		{Name: "a/link", Mode: modeLink | 0o777, Data: "b/c.txt"},
		{Name: "a/empty", Mode: modeDir | 0o700},
	}
	assert.Check(t, is.DeepEqual(got, want), "archive entries")
}

func TestCPIOShortReaderFails(t *testing.T) {
	c := newCPIOWriter(io.Discard)
	c.file("f", 0o644, 10, strings.NewReader("short"))
	assert.Check(t, is.ErrorContains(c.close(), "copied 5 of 10 bytes"), "close() reports the short copy")
}
