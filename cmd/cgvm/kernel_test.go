package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// fakeBzImage builds the parts of a bzImage the runner reads: the boot
// header locating a gzip payload that holds an "ELF" file, with the 4-byte
// size trailer the kernel build appends.
func fakeBzImage(t *testing.T, elfData []byte) []byte {
	t.Helper()
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(elfData)
	zw.Close()
	binary.Write(&z, binary.LittleEndian, uint32(len(elfData)))
	const setupSects = 3
	img := make([]byte, (setupSects+1)*512+100)
	img[0x1f1] = setupSects
	copy(img[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(img[0x206:], 0x20f)
	binary.LittleEndian.PutUint32(img[0x248:], 100) // payload offset past the setup code
	binary.LittleEndian.PutUint32(img[0x24c:], uint32(z.Len()))
	return append(img, z.Bytes()...)
}

func TestDecompressKernel(t *testing.T) {
	elfData := append([]byte("\x7fELF"), bytes.Repeat([]byte("kernel"), 1000)...)
	p := filepath.Join(t.TempDir(), "vmlinuz-test")
	assert.NilError(t, os.WriteFile(p, fakeBzImage(t, elfData), 0o644))
	got, err := decompressKernel(p)
	assert.NilError(t, err)
	if !bytes.Equal(got, elfData) {
		t.Errorf("decompressed %d bytes, want the %d-byte ELF image", len(got), len(elfData))
	}
}

func TestBootImageCachesAndFallsBack(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir := t.TempDir()
	good := filepath.Join(dir, "vmlinuz-good")
	os.WriteFile(good, fakeBzImage(t, []byte("\x7fELF-image")), 0o644)
	first := bootImage(good)
	assert.Assert(t, first != good, "bootImage(%s) returned the bzImage; want a cached decompressed kernel", good)
	b, _ := os.ReadFile(first)
	assert.Check(t, is.Equal(string(b), "\x7fELF-image"), "cached kernel %s", first)
	assert.Check(t, is.Equal(bootImage(good), first), "second bootImage, the cached one")
	// Not a bzImage: booted as given, qemu will say what it thinks of it.
	bad := filepath.Join(dir, "vmlinuz-bad")
	os.WriteFile(bad, []byte("not a kernel"), 0o644)
	assert.Check(t, is.Equal(bootImage(bad), bad), "bootImage(not a bzImage), unchanged")
}
