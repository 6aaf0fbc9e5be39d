package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path"
	"strings"
)

// The kernel unpacks an initramfs given as a "newc" cpio archive: a 110-byte
// ASCII header per entry (magic 070701 and thirteen 8-digit hex fields),
// the NUL-terminated name, the data, each padded to 4 bytes, and a final
// entry named TRAILER!!!. Writing it here keeps the runner free of a cpio
// binary and lets it set owners and device nodes without being root.
const (
	cpioMagic   = "070701"
	cpioTrailer = "TRAILER!!!"

	modeDir  = 0o040000
	modeReg  = 0o100000
	modeLink = 0o120000
	modeChr  = 0o020000
)

// cpioWriter writes a newc archive. Entries are owned by root. Parent
// directories are emitted before anything inside them, because the kernel's
// unpacker does not create missing parents. The first error sticks.
type cpioWriter struct {
	w     *bufio.Writer
	ino   uint32
	seen  map[string]bool // names already written, files and directories
	err   error
	total int64 // bytes of file data written, to bound the archive
}

func newCPIOWriter(w io.Writer) *cpioWriter {
	return &cpioWriter{w: bufio.NewWriterSize(w, 1<<20), seen: map[string]bool{"": true, ".": true}}
}

// cleanName turns an absolute or relative path into the archive's form:
// relative to the new root, no leading slash or "./".
func cleanName(name string) string {
	name = path.Clean("/" + name)
	return strings.TrimPrefix(name, "/")
}

func (c *cpioWriter) header(name string, mode uint32, size int64, nlink, rdevMajor, rdevMinor uint32) {
	if c.err != nil {
		return
	}
	c.ino++
	// Field order: ino mode uid gid nlink mtime filesize devmajor devminor
	// rdevmajor rdevminor namesize check.
	_, c.err = fmt.Fprintf(c.w, "%s%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		cpioMagic, c.ino, mode, 0, 0, nlink, 0, uint32(size), 0, 0, rdevMajor, rdevMinor, len(name)+1, 0)
	if c.err != nil {
		return
	}
	c.write([]byte(name + "\x00"))
	c.pad(110 + int64(len(name)) + 1)
}

func (c *cpioWriter) write(b []byte) {
	if c.err == nil {
		_, c.err = c.w.Write(b)
	}
}

func (c *cpioWriter) pad(n int64) {
	if r := n % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}

// mkdirAll writes directory entries for dir and every missing parent.
func (c *cpioWriter) mkdirAll(dir string, perm uint32) {
	dir = cleanName(dir)
	if c.seen[dir] {
		return
	}
	c.mkdirAll(path.Dir(dir), 0o755)
	c.seen[dir] = true
	c.header(dir, modeDir|perm&0o7777, 0, 2, 0, 0)
}

// file writes a regular file of exactly size bytes read from r. A name
// written before is skipped, so packing the same library twice is harmless.
func (c *cpioWriter) file(name string, perm uint32, size int64, r io.Reader) {
	name = cleanName(name)
	if c.err != nil || c.seen[name] {
		return
	}
	if size > 0xffffffff {
		c.err = fmt.Errorf("%s is %d bytes, more than a newc cpio entry can hold (4 GiB)", name, size)
		return
	}
	c.mkdirAll(path.Dir(name), 0o755)
	c.seen[name] = true
	c.header(name, modeReg|perm&0o7777, size, 1, 0, 0)
	if c.err != nil {
		return
	}
	n, err := io.CopyN(c.w, r, size)
	if err != nil {
		c.err = fmt.Errorf("packing %s: copied %d of %d bytes: %w", name, n, size, err)
		return
	}
	c.total += size
	c.pad(size)
}

// symlink writes a symbolic link whose data is its target.
func (c *cpioWriter) symlink(name, target string) {
	name = cleanName(name)
	if c.err != nil || c.seen[name] {
		return
	}
	c.mkdirAll(path.Dir(name), 0o755)
	c.seen[name] = true
	c.header(name, modeLink|0o777, int64(len(target)), 1, 0, 0)
	c.write([]byte(target))
	c.pad(int64(len(target)))
}

// charDev writes a character device node, e.g. /dev/console before
// devtmpfs is mounted: the kernel opens it for init's stdio.
func (c *cpioWriter) charDev(name string, perm, major, minor uint32) {
	name = cleanName(name)
	if c.err != nil || c.seen[name] {
		return
	}
	c.mkdirAll(path.Dir(name), 0o755)
	c.seen[name] = true
	c.header(name, modeChr|perm&0o7777, 0, 1, major, minor)
}

// close writes the trailer and flushes; it returns the first error of any
// earlier call.
func (c *cpioWriter) close() error {
	c.header(cpioTrailer, 0, 0, 1, 0, 0)
	if c.err == nil {
		c.err = c.w.Flush()
	}
	return c.err
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
