package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxWorkdirBytes bounds what is packed from the package directory: the
// initramfs lives in the guest's RAM.
const maxWorkdirBytes = 128 << 20

// plan is everything that goes into the initramfs.
type plan struct {
	self    string // this executable, packed as /init
	cfg     guestConfig
	extra   []string // host files packed at their own paths (CGVM_FILES)
	busybox string   // a static busybox, packed as guestBusybox; "" for none
	systemd string   // the systemd tree for CGVM_INIT=systemd; "" for none
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

	// The test binary at its host path (os.Args[0] re-execs must work), and
	// the host files and tools the test may run, each with the loader and
	// libraries it needs when dynamically linked (go test -race links libc).
	if err := packFile(c, p.cfg.Binary, p.cfg.Binary); err != nil {
		return err
	}
	for _, exe := range append([]string{p.cfg.Binary}, p.extra...) {
		var deps []string
		var err error
		if isELF(exe) {
			deps, err = runtimeDeps(exe)
		}
		if err != nil {
			return fmt.Errorf("finding the shared libraries of %s: %w", exe, err)
		}
		if exe != p.cfg.Binary {
			deps = append([]string{exe}, deps...)
		}
		for _, path := range deps {
			if err := packHostPath(c, path, 0); err != nil {
				return err
			}
		}
	}
	if p.busybox != "" {
		if err := packFile(c, guestBusybox, p.busybox); err != nil {
			return err
		}
	}
	if err := packWorkdir(c, p.workdir); err != nil {
		return err
	}
	// Last: a file packed twice keeps its first copy, so the host's
	// libraries, which the host's tools and test binary were built
	// against, win over the tree's.
	if p.systemd != "" {
		if err := packSystemd(c, p.systemd); err != nil {
			return err
		}
	}
	if err := c.close(); err != nil {
		return err
	}
	return f.Close()
}

// packHostPath packs the host file p so that it resolves in the guest as
// it does on the host: every symlink met on the way (/bin -> usr/bin and
// /lib64 -> usr/lib64 on merged-/usr systems, libc.so.6 -> libc-2.36.so
// elsewhere) is packed as a symlink and the file at the end of the chain as
// a regular file. Packing the resolved file under the unresolved name would
// create a real /lib directory and hide the rest of the host's layout.
func packHostPath(c *cpioWriter, p string, depth int) error {
	if depth > 40 {
		return fmt.Errorf("too many levels of symbolic links packing %s", p)
	}
	p = filepath.Clean(p)
	cur := "/"
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, part := range parts {
		next := filepath.Join(cur, part)
		fi, err := os.Lstat(next)
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(next)
			if err != nil {
				return err
			}
			c.symlink(next, target)
			if !filepath.IsAbs(target) {
				target = filepath.Join(cur, target)
			}
			return packHostPath(c, filepath.Join(append([]string{target}, parts[i+1:]...)...), depth+1)
		case i == len(parts)-1:
			return packFile(c, next, next)
		case fi.IsDir():
			c.mkdirAll(next, uint32(fi.Mode().Perm()))
		default:
			return fmt.Errorf("packing %s: %s is not a directory", p, next)
		}
		cur = next
	}
	return nil
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
