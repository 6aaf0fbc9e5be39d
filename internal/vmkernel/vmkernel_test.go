package vmkernel_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cgguard/cgguard/internal/vmkernel"
)

func TestFindNewestInCache(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	dir := filepath.Join(cache, "cgguard")
	if _, err := vmkernel.Find(""); !errors.Is(err, vmkernel.ErrNoKernel) || !strings.Contains(err.Error(), "vm-setup.sh") {
		t.Errorf("Find with an empty cache = %v, want ErrNoKernel with the fix", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	old, newer := filepath.Join(dir, "vmlinuz-6.1"), filepath.Join(dir, "vmlinuz-5.10")
	for i, p := range []string{old, newer} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		mt := time.Unix(1000+int64(i)*1000, 0)
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := vmkernel.Find(""); err != nil || got != newer {
		t.Errorf("Find = %q, %v; want the most recently modified %q", got, err, newer)
	}
	if got, err := vmkernel.Find(old); err != nil || got != old {
		t.Errorf("Find(named) = %q, %v; want %q", got, err, old)
	}
	if _, err := vmkernel.Find(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Find(a directory) = %v, want an error", err)
	}
	if _, err := vmkernel.Find(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Find(missing) = %v, want ErrNotExist", err)
	}
}

func ExampleFind() {
	old, had := os.LookupEnv("XDG_CACHE_HOME")
	os.Setenv("XDG_CACHE_HOME", "/nonexistent")
	defer func() {
		if had {
			os.Setenv("XDG_CACHE_HOME", old)
		} else {
			os.Unsetenv("XDG_CACHE_HOME")
		}
	}()
	_, err := vmkernel.Find("")
	fmt.Println(errors.Is(err, vmkernel.ErrNoKernel))
	// Output: true
}
