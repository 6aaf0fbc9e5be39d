package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// maxWorkdirBytes bounds what is packed from the package directory: the
// initramfs lives in the guest's RAM.
const maxWorkdirBytes = 128 << 20

// plan is everything that goes into the initramfs.
type plan struct {
	self    string // this executable, packed as /init
	cfg     guestConfig
	extra   []string // host files packed at their own paths (CGVM_FILES)
	workdir string   // the package directory: its files and testdata/
}

// writeInitramfs packs p into a newc cpio at dst.
func writeInitramfs(dst string, p plan) error {
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer f.Close()
	c := newCPIOWriter(f)

	c.mkdirAll("/dev", 0o755)
	c.charDev("/dev/console", 0o600, 5, 1)
	for _, d := range []string{"/proc", "/sys", "/tmp", "/cgvm"} {
		c.mkdirAll(d, 0o755)
	}
	if err := packFile(c, "/init", p.self); err != nil {
		return err
	}
	cfg, err := json.Marshal(p.cfg)
	if err != nil {
		return err
	}
	c.file(guestConfigPath, 0o644, int64(len(cfg)), bytesReader(cfg))

	// The test binary and anything else executable, with the loader and
	// libraries of dynamically linked ones (go test -race links libc).
	for _, exe := range append([]string{p.cfg.Binary}, p.extra...) {
		deps, err := runtimeDeps(exe)
		if err != nil {
			return fmt.Errorf("finding the shared libraries of %s: %w", exe, err)
		}
		for _, path := range append([]string{exe}, deps...) {
			if err := packFile(c, path, path); err != nil {
				return err
			}
		}
	}
	if err := packWorkdir(c, p.workdir); err != nil {
		return err
	}
	if err := c.close(); err != nil {
		return err
	}
	return f.Close()
}

// packFile packs the host file src (following symlinks) as name.
func packFile(c *cpioWriter, name, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	c.file(name, uint32(fi.Mode().Perm()), fi.Size(), f)
	return c.err
}

// packWorkdir packs the package directory's own files and its testdata/
// tree at their host paths: go test runs the binary there, and tests open
// testdata/ relative to it. Subdirectories other than testdata/ are other
// packages and stay out.
func packWorkdir(c *cpioWriter, dir string) error {
	c.mkdirAll(dir, 0o755)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	start := c.total
	check := func() error {
		if c.total-start > maxWorkdirBytes {
			return fmt.Errorf("%s and its testdata/ hold more than %d MiB, too much for the VM's in-memory root; move large fixtures out of testdata/", dir, maxWorkdirBytes>>20)
		}
		return c.err
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		switch {
		case e.Type().IsRegular():
			if err := packFile(c, p, p); err != nil {
				return err
			}
		case e.Type()&fs.ModeSymlink != 0:
			if t, err := os.Readlink(p); err == nil {
				c.symlink(p, t)
			}
		}
		if err := check(); err != nil {
			return err
		}
	}
	td := filepath.Join(dir, "testdata")
	if _, err := os.Lstat(td); err != nil {
		return nil
	}
	return filepath.WalkDir(td, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			info, err := d.Info()
			if err != nil {
				return err
			}
			c.mkdirAll(p, uint32(info.Mode().Perm()))
		case d.Type().IsRegular():
			if err := packFile(c, p, p); err != nil {
				return err
			}
		case d.Type()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			c.symlink(p, t)
		}
		return check()
	})
}
