package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Inits the guest can boot: cgvm's own /init runs the test binary itself;
// with initSystemd, /init hands PID 1 to systemd, whose cgvm-test.service
// runs /init again to run the test.
const (
	initDefault = ""
	initSystemd = "systemd"
)

// guestSystemd is systemd's binary in the guest.
const guestSystemd = "/lib/systemd/systemd"

// checkInit validates CGVM_INIT and returns the systemd tree to pack, from
// the cache vm-setup.sh fills, or "" for the default init.
func checkInit(init, cacheDir string) (string, error) {
	switch init {
	case initDefault:
		return "", nil
	case initSystemd:
		tree := filepath.Join(cacheDir, "systemd")
		if !isFile(filepath.Join(tree, guestSystemd)) {
			return "", fmt.Errorf("CGVM_INIT=systemd needs Debian's systemd in %s: run scripts/vm-setup.sh", tree)
		}
		return tree, nil
	}
	return "", fmt.Errorf("CGVM_INIT=%q is not an init cgvm boots: leave it unset (cgvm's own /init), or set it to systemd", init)
}

// systemdUnits are the files that make systemd run the test: cgvm.target
// (the kernel command line's systemd.unit) pulls in cgvm-test.service,
// which runs /init as an ordinary root service. Delegate=yes hands the
// test its cgroup subtree, as container runtimes' tests expect.
var systemdUnits = map[string]string{
	"/etc/systemd/system/cgvm.target": `[Unit]
Description=cgvm: run the test
Wants=cgvm-test.service
AllowIsolate=yes
`,
	"/etc/systemd/system/cgvm-test.service": `[Unit]
Description=cgvm test binary
DefaultDependencies=no

[Service]
Type=simple
ExecStart=/init
Delegate=yes
StandardInput=null
StandardOutput=tty
StandardError=tty
TTYPath=/dev/console
TTYReset=no
TTYVHangup=no
`,
	"/etc/passwd":     "root:x:0:0:root:/root:/bin/sh\n",
	"/etc/group":      "root:x:0:\n",
	"/etc/machine-id": "",
}

// systemdCmdline is added to the kernel command line with CGVM_INIT=systemd.
const systemdCmdline = "systemd.unit=cgvm.target systemd.show_status=0 systemd.log_level=warning"

// packSystemd packs the systemd tree at its paths in the guest, mapped
// through the host's top-level symlinks (/lib -> usr/lib on merged-/usr
// hosts) so that the host files packed later land in the same layout,
// and the units that run the test.
func packSystemd(c *cpioWriter, tree string) error {
	linked := map[string]string{} // top-level name -> its host symlink's target
	guestPath := func(rel string) string {
		first, rest, _ := strings.Cut(rel, "/")
		target, ok := linked[first]
		if !ok {
			target = first
			if fi, err := os.Lstat("/" + first); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
				if t, err := os.Readlink("/" + first); err == nil && !strings.Contains(t, "..") {
					c.symlink("/"+first, t)
					target = strings.TrimPrefix(t, "/")
				}
			}
			linked[first] = target
		}
		return "/" + filepath.Join(target, rest)
	}
	err := filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == tree {
			return err
		}
		rel, _ := filepath.Rel(tree, p)
		g := guestPath(rel)
		switch {
		case d.IsDir():
			c.mkdirAll(g, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			c.symlink(g, t)
		case d.Type().IsRegular():
			return packFile(c, g, p)
		}
		return c.err
	})
	if err != nil {
		return fmt.Errorf("packing systemd from %s: %w", tree, err)
	}
	c.mkdirAll("/etc/systemd/system", 0o755)
	for name, text := range systemdUnits {
		c.file(name, 0o644, int64(len(text)), strings.NewReader(text))
	}
	return c.err
}
