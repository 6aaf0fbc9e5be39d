// Package vmkernel finds the kernel image the cgvm VM runner boots: the
// one CGVM_KERNEL names (a path, or a version such as "6.12" of a kernel
// that scripts/vm-setup.sh put in the cache directory), else the cached
// DefaultVersion. It exists so that the runner (cmd/cgvm), its kernel
// matrix and cgguard doctor look in one place.
package vmkernel

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// EnvVar names the environment variable that picks the kernel: a path to
// a bzImage, or the version of a cached one.
const EnvVar = "CGVM_KERNEL"

// DefaultVersion is the cached kernel booted when none is named: Debian
// 12's, the one every run of this project's CI has used. It stays the
// default when newer kernels are cached, so that a run's result does not
// depend on what else a machine happened to fetch.
const DefaultVersion = "6.1"

// ErrNoKernel is wrapped by the error of Find when the kernel asked for
// (or, with none named, DefaultVersion) is not in the cache.
var ErrNoKernel = errors.New("no kernel image found")

// Kernel is a cached kernel image.
type Kernel struct {
	Path    string // the bzImage: vmlinuz-<release> or kernels/<release>/vmlinuz in CacheDir
	Release string // uname -r in its guest, e.g. "6.12.48+deb13-amd64"
}

// SchedExt reports whether the kernel was built with sched_ext
// (CONFIG_SCHED_CLASS_EXT=y), from the config cached beside its image
// (config-<release>, or config in its kernels/<release> directory).
// known is false when no config is cached.
func (k Kernel) SchedExt() (yes, known bool) {
	cfg := filepath.Join(filepath.Dir(k.Path), "config-"+k.Release)
	if filepath.Base(k.Path) == "vmlinuz" {
		cfg = filepath.Join(filepath.Dir(k.Path), "config")
	}
	data, err := os.ReadFile(cfg)
	if err != nil {
		return false, false
	}
	return slices.Contains(strings.Split(string(data), "\n"), "CONFIG_SCHED_CLASS_EXT=y"), true
}

// Version is the kernel's major.minor version ("6.12"), by which
// CGVM_KERNEL names it.
func (k Kernel) Version() string {
	parts := strings.SplitN(k.Release, ".", 3)
	if len(parts) < 2 {
		return k.Release
	}
	minor := parts[1]
	if i := strings.IndexFunc(minor, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		minor = minor[:i]
	}
	return parts[0] + "." + minor
}

// CacheDir returns the directory where scripts/vm-setup.sh puts the
// kernel images and where the runner caches the decompressed kernels:
// ${XDG_CACHE_HOME:-$HOME/.cache}/cgguard. It fails when neither
// XDG_CACHE_HOME nor HOME is set.
func CacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "cgguard"), nil
}

// List returns the kernels in CacheDir, oldest version first. An empty or
// missing cache is an empty list, not an error.
func List() ([]Kernel, error) {
	dir, err := CacheDir()
	if err != nil {
		return nil, err
	}
	matches, err := filepath.Glob(filepath.Join(dir, "vmlinuz-*"))
	if err != nil {
		return nil, err
	}
	var ks []Kernel
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil && fi.Mode().IsRegular() {
			ks = append(ks, Kernel{Path: m, Release: strings.TrimPrefix(filepath.Base(m), "vmlinuz-")})
		}
	}
	// scripts/fetch-kernel-sid.sh keeps its kernels in a directory each.
	dirs, err := filepath.Glob(filepath.Join(dir, "kernels", "*", "vmlinuz"))
	if err != nil {
		return nil, err
	}
	for _, m := range dirs {
		if fi, err := os.Stat(m); err == nil && fi.Mode().IsRegular() {
			ks = append(ks, Kernel{Path: m, Release: filepath.Base(filepath.Dir(m))})
		}
	}
	slices.SortFunc(ks, func(a, b Kernel) int { return compareVersions(a.Release, b.Release) })
	return ks, nil
}

// Find returns the kernel image to boot for spec, the value of EnvVar. A
// spec with a "/" in it, or naming an existing file, is a path and must be
// a regular file. Any other spec is a version, "6.12" or a full release
// such as "6.12.48+deb13-amd64", of a cached kernel (the newest release
// when several match); an empty spec means DefaultVersion. A version not
// in the cache is an error that wraps ErrNoKernel and names what is
// cached.
func Find(spec string) (string, error) {
	if strings.Contains(spec, "/") || isFile(spec) {
		fi, err := os.Stat(spec)
		if err != nil {
			return "", fmt.Errorf("kernel image %s: %w (set %s to a bzImage such as /boot/vmlinuz-*, or to the version of a cached kernel)", spec, err, EnvVar)
		}
		if !fi.Mode().IsRegular() {
			return "", fmt.Errorf("kernel image %s is not a regular file (set %s to a bzImage, or to the version of a cached kernel)", spec, EnvVar)
		}
		return spec, nil
	}
	version := spec
	if version == "" {
		version = DefaultVersion
	}
	ks, err := List()
	if err != nil {
		return "", fmt.Errorf("%w: no cache directory (%v); run scripts/vm-setup.sh or set %s to a kernel image", ErrNoKernel, err, EnvVar)
	}
	var found string
	for _, k := range ks {
		if k.Release == version || k.Version() == version {
			found = k.Path // the list is sorted: the last match is the newest
		}
	}
	if found != "" {
		return found, nil
	}
	dir, _ := CacheDir()
	what := fmt.Sprintf("no cached kernel has version %q", version)
	if spec == "" {
		what = fmt.Sprintf("%s is not set and the default kernel, version %s, is not cached", EnvVar, DefaultVersion)
	}
	return "", fmt.Errorf("%w: %s; %s: run scripts/vm-setup.sh, or set %s to a cached version or to a kernel image's path", ErrNoKernel, what, describe(dir, ks), EnvVar)
}

// describe names the cached kernels for an error message.
func describe(dir string, ks []Kernel) string {
	if len(ks) == 0 {
		return "the cache " + dir + " holds none"
	}
	var names []string
	for _, k := range ks {
		names = append(names, fmt.Sprintf("%s (%s)", k.Version(), k.Release))
	}
	return "cached in " + dir + ": " + strings.Join(names, ", ")
}

// Banner returns the version banner a bzImage carries in its boot header
// ("6.1.0-56-amd64 (debian-kernel@lists.debian.org) #1 SMP ..."), the
// release being its first word. It fails on a file that is not a bzImage.
func Banner(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	hdr := make([]byte, 0x210)
	if _, err := io.ReadFull(f, hdr); err != nil || string(hdr[0x202:0x206]) != "HdrS" {
		return "", fmt.Errorf("%s is not a bzImage (no HdrS boot header)", path)
	}
	// Documentation/arch/x86/boot.rst: kernel_version is a pointer, less
	// 0x200, to a NUL-terminated string.
	off := int64(hdr[0x20e]) | int64(hdr[0x20f])<<8
	if off == 0 {
		return "", fmt.Errorf("%s: the boot header has no version string", path)
	}
	buf := make([]byte, 256)
	n, err := f.ReadAt(buf, off+0x200)
	if n == 0 {
		return "", fmt.Errorf("%s: reading the version string: %w", path, err)
	}
	s, _, _ := bytes.Cut(buf[:n], []byte{0})
	return string(s), nil
}

// compareVersions orders kernel releases by their numbers: 6.1 < 6.1.9 <
// 6.1.10 < 6.12.
func compareVersions(a, b string) int {
	as, bs := numbers(a), numbers(b)
	for i := 0; i < len(as) && i < len(bs); i++ {
		if as[i] != bs[i] {
			if as[i] < bs[i] {
				return -1
			}
			return 1
		}
	}
	if c := len(as) - len(bs); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func numbers(s string) []int {
	var out []int
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r < '0' || r > '9' }) {
		n, _ := strconv.Atoi(f)
		out = append(out, n)
	}
	return out
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
