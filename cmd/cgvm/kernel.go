package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/cgguard/cgguard/internal/vmkernel"
)

// bootImage returns the file to pass to qemu -kernel. Booting the bzImage
// makes the guest decompress itself on every boot, which under TCG is most
// of the boot time (~4.1 s against ~1.9 s measured). So the payload is
// decompressed once into an ELF vmlinux, which qemu boots through its PVH
// entry point, and cached by the image's name, size and mtime. Any failure
// (an unknown compression, no xz on the host, a read-only cache) falls back
// to the bzImage: slower, never wrong.
func bootImage(kernel string) string {
	fi, err := os.Stat(kernel)
	if err != nil {
		return kernel
	}
	dir, err := vmkernel.CacheDir()
	if err != nil {
		return kernel
	}
	cached := filepath.Join(dir, fmt.Sprintf("vmlinux-%s-%d-%d", filepath.Base(kernel), fi.Size(), fi.ModTime().UnixNano()))
	if isFile(cached) {
		return cached
	}
	elfImage, err := decompressKernel(kernel)
	if err != nil {
		return kernel
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return kernel
	}
	// Concurrent runners (go test runs packages in parallel) may race to
	// fill the cache: write privately and rename, so none sees half a file.
	tmp, err := os.CreateTemp(dir, ".vmlinux-*")
	if err != nil {
		return kernel
	}
	_, werr := tmp.Write(elfImage)
	tmp.Chmod(0o644) // shared by every user of the cache
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), cached) != nil {
		os.Remove(tmp.Name())
		return kernel
	}
	return cached
}

// decompressKernel extracts the ELF vmlinux from a bzImage. The boot
// protocol (Documentation/arch/x86/boot.rst, version >= 2.08) gives the
// payload's offset and length; its magic says how it is compressed.
func decompressKernel(bzImage string) ([]byte, error) {
	img, err := os.ReadFile(bzImage)
	if err != nil {
		return nil, err
	}
	payload, err := bzPayload(img)
	if err != nil {
		return nil, err
	}
	var out []byte
	switch {
	case bytes.HasPrefix(payload, []byte("\xfd7zXZ\x00")):
		// --single-stream stops at the end of the xz stream and ignores the
		// 4-byte uncompressed size the kernel build appends.
		out, err = filter(payload, "xz", "-dc", "--single-stream")
	case bytes.HasPrefix(payload, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		out, err = filter(payload[:len(payload)-4], "zstd", "-dcq")
	case bytes.HasPrefix(payload, []byte{0x1f, 0x8b}):
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(bytes.NewReader(payload)); err == nil {
			zr.Multistream(false)
			out, err = io.ReadAll(zr)
		}
	default:
		return nil, fmt.Errorf("%s: unsupported payload compression (magic % x)", bzImage, payload[:min(6, len(payload))])
	}
	if err != nil {
		return nil, fmt.Errorf("%s: decompressing the payload: %w", bzImage, err)
	}
	if !bytes.HasPrefix(out, []byte("\x7fELF")) {
		return nil, fmt.Errorf("%s: the decompressed payload is not an ELF file", bzImage)
	}
	return out, nil
}

// bzPayload returns the compressed kernel inside a bzImage.
func bzPayload(img []byte) ([]byte, error) {
	if len(img) < 0x250 || string(img[0x202:0x206]) != "HdrS" {
		return nil, errors.New("not a bzImage (no HdrS boot header)")
	}
	if v := binary.LittleEndian.Uint16(img[0x206:]); v < 0x208 {
		return nil, fmt.Errorf("boot protocol %#x is older than 2.08 and does not locate its payload", v)
	}
	setupSects := int(img[0x1f1])
	if setupSects == 0 {
		setupSects = 4
	}
	off := (setupSects+1)*512 + int(binary.LittleEndian.Uint32(img[0x248:]))
	n := int(binary.LittleEndian.Uint32(img[0x24c:]))
	if n < 8 || off+n > len(img) {
		return nil, fmt.Errorf("payload at %d+%d lies outside the %d-byte image", off, n, len(img))
	}
	return img[off : off+n], nil
}

// filter pipes in through a host decompressor.
func filter(in []byte, name string, args ...string) ([]byte, error) {
	bin, err := exec.LookPath(name)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdin = bytes.NewReader(in)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
