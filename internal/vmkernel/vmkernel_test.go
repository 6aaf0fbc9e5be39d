package vmkernel_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cgguard/cgguard/internal/vmkernel"
)

// cache makes an empty cache directory holding kernels with the given
// releases, and points CacheDir at it.
func cache(t *testing.T, releases ...string) string {
	t.Helper()
	root := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", root)
	dir := filepath.Join(root, "cgguard")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, r := range releases {
		if err := os.WriteFile(filepath.Join(dir, "vmlinuz-"+r), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestFindByVersion(t *testing.T) {
	dir := cache(t, "6.12.48+deb13-amd64", "6.1.0-9-amd64", "6.1.0-56-amd64", "7.2.1+unstable-amd64")
	for spec, want := range map[string]string{
		"":              "vmlinuz-6.1.0-56-amd64", // the default, newest 6.1 release; never 6.12 or 7.2
		"6.1":           "vmlinuz-6.1.0-56-amd64",
		"6.12":          "vmlinuz-6.12.48+deb13-amd64",
		"7.2":           "vmlinuz-7.2.1+unstable-amd64",
		"6.1.0-9-amd64": "vmlinuz-6.1.0-9-amd64",
		filepath.Join(dir, "vmlinuz-6.12.48+deb13-amd64"): "vmlinuz-6.12.48+deb13-amd64",
	} {
		got, err := vmkernel.Find(spec)
		if err != nil || filepath.Base(got) != want {
			t.Errorf("Find(%q) = %q, %v; want %s", spec, got, err, want)
		}
	}
	_, err := vmkernel.Find("5.10")
	if !errors.Is(err, vmkernel.ErrNoKernel) {
		t.Fatalf("Find(5.10) = %v, want ErrNoKernel", err)
	}
	for _, want := range []string{`"5.10"`, "6.1 (6.1.0-9-amd64), 6.1 (6.1.0-56-amd64), 6.12 (6.12.48+deb13-amd64), 7.2 (7.2.1+unstable-amd64)", "vm-setup.sh"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Find(5.10) error %q does not say %q", err, want)
		}
	}
}

func TestFindDefaultMissing(t *testing.T) {
	cache(t, "6.12.48+deb13-amd64")
	_, err := vmkernel.Find("")
	if !errors.Is(err, vmkernel.ErrNoKernel) || !strings.Contains(err.Error(), "version 6.1, is not cached") || !strings.Contains(err.Error(), "6.12 (6.12.48+deb13-amd64)") {
		t.Errorf("Find() without 6.1 cached = %v; want ErrNoKernel naming the default and the cached 6.12", err)
	}
	cache(t)
	if _, err := vmkernel.Find(""); !errors.Is(err, vmkernel.ErrNoKernel) || !strings.Contains(err.Error(), "holds none") {
		t.Errorf("Find() with an empty cache = %v, want ErrNoKernel saying the cache is empty", err)
	}
}

func TestFindPath(t *testing.T) {
	dir := cache(t)
	if _, err := vmkernel.Find(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Find(a directory) = %v, want an error", err)
	}
	if _, err := vmkernel.Find(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Find(missing) = %v, want ErrNotExist", err)
	}
}

func TestBanner(t *testing.T) {
	img := make([]byte, 0x400)
	copy(img[0x202:], "HdrS")
	img[0x20e] = 0x100 & 0xff
	img[0x20f] = 0x100 >> 8
	copy(img[0x300:], "6.1.0-56-amd64 (debian-kernel@lists.debian.org) #1 SMP\x00junk")
	p := filepath.Join(t.TempDir(), "vmlinuz")
	if err := os.WriteFile(p, img, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := vmkernel.Banner(p); err != nil || got != "6.1.0-56-amd64 (debian-kernel@lists.debian.org) #1 SMP" {
		t.Errorf("Banner = %q, %v", got, err)
	}
	if err := os.WriteFile(p, []byte("not a kernel"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := vmkernel.Banner(p); err == nil || !strings.Contains(err.Error(), "not a bzImage") {
		t.Errorf("Banner(not a kernel) = %v, want an error", err)
	}
}

// With no kernel named, Find boots the cached DefaultVersion, and says
// what is cached when it is missing.
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

// A kernel that scripts/fetch-kernel-sid.sh keeps in a directory of its
// own is listed and found by version, and SchedExt reads the config
// cached beside each image.
func TestSchedExtFromConfig(t *testing.T) {
	dir := cache(t, "6.1.0-56-amd64", "6.12.48+deb13-amd64")
	sid := filepath.Join(dir, "kernels", "7.2.13+deb14-amd64")
	for path, data := range map[string]string{
		filepath.Join(sid, "vmlinuz"):                    "x",
		filepath.Join(sid, "config"):                     "CONFIG_BPF=y\nCONFIG_SCHED_CLASS_EXT=y\n",
		filepath.Join(dir, "config-6.12.48+deb13-amd64"): "CONFIG_BPF=y\n# CONFIG_SCHED_CLASS_EXT is not set\n",
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := vmkernel.Find("7.2"); err != nil || got != filepath.Join(sid, "vmlinuz") {
		t.Errorf("Find(7.2) = %q, %v; want the image in %s", got, err, sid)
	}
	ks, err := vmkernel.List()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range ks {
		yes, known := k.SchedExt()
		got = append(got, fmt.Sprintf("%s:%v,%v", k.Version(), yes, known))
	}
	if want := "6.1:false,false 6.12:false,true 7.2:true,true"; strings.Join(got, " ") != want {
		t.Errorf("SchedExt of the cached kernels = %q, want %q", strings.Join(got, " "), want)
	}
}
