package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// cgroupRoot is where the guest mounts cgroup v2.
const cgroupRoot = "/sys/fs/cgroup"

// guestBusybox is where the host packs vm-setup.sh's static busybox.
const guestBusybox = "/cgvm/busybox"

// guestConfigPath is where the host packs the guest's instructions.
const guestConfigPath = "/cgvm/config.json"

// maxReturnBytes bounds what the guest sends back over the serial port
// (~0.35 MB/s under TCG): coverage data is small, a runaway file is not.
const maxReturnBytes = 64 << 20

// isGuest reports whether this process is the VM's /init.
func isGuest() bool {
	return os.Getpid() == 1 || os.Args[0] == "/init"
}

// guestMain is /init in the VM. PID 1 must never return: the kernel panics
// when init exits. Whatever happens, it reports an exit line if it can and
// powers off; a Go panic here is recovered for the same reason.
func guestMain() {
	code := 1
	var out, ctl *os.File
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "cgvm guest: panic: %v\n", r)
			if out != nil {
				fmt.Fprintf(out, "cgvm guest: internal panic: %v (the kernel log has more)\n", r)
			}
			code = 1
		}
		if ctl != nil {
			fmt.Fprint(ctl, encodeExit(code))
			drain(ctl)
		}
		powerOff()
	}()
	cfg, err := readConfig()
	if err == nil && cfg.Init == initSystemd && os.Getpid() == 1 {
		// systemd takes over PID 1 and runs /init again as
		// cgvm-test.service; Exec returns only when it failed.
		err = fmt.Errorf("starting systemd as PID 1: %w", unix.Exec(guestSystemd, []string{guestSystemd}, cfg.Env))
	}
	var serr error
	out, ctl, serr = guestSetup()
	if serr != nil {
		err = serr
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "cgvm guest: %v\n", err)
		if out != nil {
			fmt.Fprintf(out, "cgvm guest: %v\n", err)
		}
		return
	}
	code = guestRun(cfg, out, ctl)
}

// readConfig reads what the host packed for the guest.
func readConfig() (guestConfig, error) {
	var cfg guestConfig
	b, err := os.ReadFile(guestConfigPath)
	if err != nil {
		return cfg, fmt.Errorf("reading %s: %w (the initramfs was not packed by the cgvm host side)", guestConfigPath, err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return cfg, fmt.Errorf("decoding %s: %w", guestConfigPath, err)
	}
	return cfg, nil
}

// guestSetup mounts what a cgroup test expects (unless systemd, as PID 1,
// did) and opens the serial ports for the test's output (ttyS1) and the
// report (ttyS2).
func guestSetup() (out, ctl *os.File, err error) {
	mounts := []struct{ src, dir, fstype string }{
		{"proc", "/proc", "proc"},
		{"sysfs", "/sys", "sysfs"},
		{"devtmpfs", "/dev", "devtmpfs"},
		// The point of the VM: cgroup v2 owns every controller here.
		{"cgroup2", cgroupRoot, "cgroup2"},
	}
	for _, m := range mounts {
		if os.Getpid() != 1 {
			break // systemd's service: systemd mounted them
		}
		if err := os.MkdirAll(m.dir, 0o755); err != nil {
			return nil, nil, err
		}
		if err := unix.Mount(m.src, m.dir, m.fstype, 0, ""); err != nil && !errors.Is(err, unix.EBUSY) {
			return nil, nil, fmt.Errorf("mounting %s at %s: %w", m.fstype, m.dir, err)
		}
	}
	if err := enableControllers(cgroupRoot); err != nil {
		return nil, nil, err
	}
	if err := installBusybox(guestBusybox); err != nil {
		return nil, nil, err
	}
	// /tmp stays on the initramfs root, which is already a tmpfs: a tmpfs
	// mounted over it would hide the test binary and working directory that
	// the runner packs at their host paths, which often lie under /tmp.
	if err := os.MkdirAll("/tmp", 0o1777); err != nil {
		return nil, nil, err
	}
	if out, err = openSerial("/dev/ttyS1"); err != nil {
		return nil, nil, err
	}
	if ctl, err = openSerial("/dev/ttyS2"); err != nil {
		return out, nil, err
	}
	return out, ctl, nil
}

// enableControllers enables, in the root's cgroup.subtree_control, every
// controller the root offers, one write each so one refusal cannot hide
// the rest. A host's root is never written (the host's init owns it), but
// the VM is throwaway and its tests expect a root like a container's or a
// systemd machine's, where new cgroups get every controller: without this
// cgtest.Root(t, cgtest.RequireControllers("cpuset")) would skip.
func enableControllers(root string) error {
	b, err := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
	if err != nil {
		return fmt.Errorf("reading the controllers of the guest's cgroup root: %w", err)
	}
	var refused []string
	for _, c := range strings.Fields(string(b)) {
		if err := os.WriteFile(filepath.Join(root, "cgroup.subtree_control"), []byte("+"+c), 0); err != nil {
			refused = append(refused, fmt.Sprintf("%s (%v)", c, err))
		}
	}
	if len(refused) > 0 {
		return fmt.Errorf("enabling controllers in %s/cgroup.subtree_control: %s", root, strings.Join(refused, ", "))
	}
	return nil
}

// installBusybox links every applet of the busybox at bin to it, at the
// applet's usual path (/bin/dd, /usr/bin/awk, ...) unless the host packed
// a program there: the host's own tools and CGVM_FILES win. Without a
// packed busybox it does nothing.
func installBusybox(bin string) error {
	if _, err := os.Stat(bin); err != nil {
		return nil
	}
	list, err := exec.Command(bin, "--list-full").Output()
	if err != nil {
		return fmt.Errorf("listing the applets of %s: %w", bin, err)
	}
	for _, rel := range strings.Fields(string(list)) {
		p := "/" + rel
		if _, err := os.Lstat(p); err == nil {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("installing busybox's %s: %w", rel, err)
		}
		if err := os.Symlink(bin, p); err != nil {
			return fmt.Errorf("installing busybox's %s: %w", rel, err)
		}
	}
	return nil
}

// openSerial opens a serial port in raw mode: the line discipline would
// otherwise turn every "\n" into "\r\n" and mangle the test's output.
func openSerial(name string) (*os.File, error) {
	fd, err := unix.Open(name, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", name, err)
	}
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("reading termios of %s: %w", name, err)
	}
	// cfmakeraw(3).
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("setting %s raw: %w", name, err)
	}
	return os.NewFile(uintptr(fd), name), nil
}

// drain waits until the UART has sent everything written to it; power-off
// would otherwise cut the tail of the output.
func drain(f *os.File) {
	unix.IoctlSetInt(int(f.Fd()), unix.TCSBRK, 1) // tcdrain(3)
}

func powerOff() {
	unix.Sync()
	unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	// Power-off failed; PID 1 must still not exit. The host's timeout ends
	// the VM.
	for {
		time.Sleep(time.Hour)
	}
}

// guestRun runs the test binary and returns its exit code.
func guestRun(cfg guestConfig, out, ctl *os.File) int {
	switch cfg.Hook {
	case "panic":
		// Init exiting is a kernel panic; with panic=-1 the guest reboots,
		// and -no-reboot makes qemu exit without an exit line.
		os.Exit(3)
	case "hang":
		// Not select{}: the runtime would call that a deadlock and exit.
		for {
			time.Sleep(time.Hour)
		}
	}
	before := map[string]fileStamp{}
	for _, o := range cfg.Outputs {
		dir := filepath.Dir(o.Path)
		if o.Dir {
			dir = o.Path
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			fmt.Fprintf(out, "cgvm guest: creating output directory %s: %v\n", dir, err)
			return 1
		}
		if o.Dir {
			stampTree(o.Path, before)
		}
	}

	code := runReaping(cfg, out)
	drain(out)
	sendOutputs(ctl, out, cfg.Outputs, before)
	return code
}

// runReaping runs the test binary and returns its exit code. As PID 1 the
// guest's init inherits every orphan (a shell's background sleep, a task a
// test forgot), so rather than waiting for the test's pid alone it reaps
// every child, the way an init must.
func runReaping(cfg guestConfig, out *os.File) int {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		fmt.Fprintf(out, "cgvm guest: opening %s: %v\n", os.DevNull, err)
		return 1
	}
	defer devnull.Close()
	proc, err := os.StartProcess(cfg.Binary, append([]string{cfg.Binary}, cfg.Args...), &os.ProcAttr{
		Dir:   cfg.Dir,
		Env:   cfg.Env,
		Files: []*os.File{devnull, out, out},
	})
	if err != nil {
		fmt.Fprintf(out, "cgvm guest: starting %s: %v\n", cfg.Binary, err)
		return 1
	}
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			fmt.Fprintf(out, "cgvm guest: waiting for %s: %v\n", cfg.Binary, err)
			return 1
		}
		if pid != proc.Pid {
			continue // an orphan, reaped
		}
		switch {
		case ws.Exited():
			return ws.ExitStatus()
		case ws.Signaled():
			fmt.Fprintf(out, "cgvm guest: %s was killed by %v\n", cfg.Binary, ws.Signal())
			return 128 + int(ws.Signal())
		}
	}
}

type fileStamp struct {
	size int64
	mod  time.Time
}

func stampTree(root string, into map[string]fileStamp) {
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				into[p] = fileStamp{fi.Size(), fi.ModTime()}
			}
		}
		return nil
	})
}

// sendOutputs sends back the output files the test wrote. Directories may
// hold files that were there before the test ran (go test can name the
// directory holding the test binary): only new or changed files go back.
func sendOutputs(ctl, out *os.File, outs []output, before map[string]fileStamp) {
	budget := int64(maxReturnBytes)
	sent := map[string]bool{} // GOCOVERDIR and -test.gocoverdir name the same directory
	send := func(p string) {
		if sent[p] {
			return
		}
		sent[p] = true
		b, err := os.ReadFile(p)
		if err != nil {
			return
		}
		if int64(len(b)) > budget {
			fmt.Fprintf(out, "cgvm guest: not copying %s back: over the %d MiB budget for output files\n", p, maxReturnBytes>>20)
			return
		}
		budget -= int64(len(b))
		fmt.Fprint(ctl, encodeFile(p, b))
	}
	for _, o := range outs {
		if !o.Dir {
			send(o.Path)
			continue
		}
		after := map[string]fileStamp{}
		stampTree(o.Path, after)
		for p, st := range after {
			if prev, ok := before[p]; !ok || prev != st {
				send(p)
			}
		}
	}
}
