// Package vmkernel finds the kernel image the cgvm VM runner boots: the
// one named by CGVM_KERNEL, else the newest vmlinuz-* that
// scripts/vm-setup.sh put in the cache directory. It exists so that the
// runner (cmd/cgvm) and cgguard doctor look in one place.
package vmkernel

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// EnvVar names the environment variable that names the kernel image to
// boot, overriding the cache.
const EnvVar = "CGVM_KERNEL"

// ErrNoKernel is wrapped by the error of Find when no kernel image is
// named and the cache holds none.
var ErrNoKernel = errors.New("no kernel image found")

// CacheDir returns the directory where scripts/vm-setup.sh puts the
// kernel image and where the runner caches the decompressed kernel:
// ${XDG_CACHE_HOME:-$HOME/.cache}/cgguard. It fails when neither
// XDG_CACHE_HOME nor HOME is set.
func CacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "cgguard"), nil
}

// Find returns the kernel image to boot: named when it is not empty
// (it must be a regular file), else the most recently modified
// vmlinuz-* in CacheDir. Without one the error wraps ErrNoKernel and
// says how to get one (scripts/vm-setup.sh, or CGVM_KERNEL).
func Find(named string) (string, error) {
	if named != "" {
		fi, err := os.Stat(named)
		if err != nil {
			return "", fmt.Errorf("kernel image %s: %w (set %s to a bzImage such as /boot/vmlinuz-*, or run scripts/vm-setup.sh)", named, err, EnvVar)
		}
		if !fi.Mode().IsRegular() {
			return "", fmt.Errorf("kernel image %s is not a regular file (set %s to a bzImage, or run scripts/vm-setup.sh)", named, EnvVar)
		}
		return named, nil
	}
	dir, err := CacheDir()
	if err != nil {
		return "", fmt.Errorf("%w: no cache directory (%v); run scripts/vm-setup.sh or set %s", ErrNoKernel, err, EnvVar)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "vmlinuz-*"))
	if len(matches) == 0 {
		return "", fmt.Errorf("%w in %s: run scripts/vm-setup.sh (it fetches Debian's kernel image without installing it), or set %s", ErrNoKernel, dir, EnvVar)
	}
	sort.Slice(matches, func(i, j int) bool {
		a, _ := os.Stat(matches[i])
		b, _ := os.Stat(matches[j])
		if a == nil || b == nil {
			return matches[i] > matches[j]
		}
		return a.ModTime().After(b.ModTime())
	})
	return matches[0], nil
}
