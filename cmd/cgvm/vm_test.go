package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/internal/vmkernel"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

var buildDir string // binaries built once for all tests

func TestMain(m *testing.M) {
	var err error
	buildDir, err = os.MkdirTemp("", "cgvm-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(buildDir)
	os.Exit(code)
}

var builds sync.Map // name -> *buildResult

type buildResult struct {
	once sync.Once
	path string
	err  error
}

// build runs the go command once per name and returns the output path.
func build(t *testing.T, name string, env []string, args ...string) string {
	t.Helper()
	v, _ := builds.LoadOrStore(name, &buildResult{})
	b := v.(*buildResult)
	b.once.Do(func() {
		b.path = filepath.Join(buildDir, name)
		// -o goes before the package, which is the last argument.
		goArgs := append(append(args[:len(args)-1:len(args)-1], "-o", b.path), args[len(args)-1])
		cmd := exec.Command("go", goArgs...)
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// runnerBin is cgvm built the way users must install it: static.
func runnerBin(t *testing.T) string {
	return build(t, "cgvm", []string{"CGO_ENABLED=0"}, "build", ".")
}

// guestBin is the test binary from testdata/guest.
func guestBin(t *testing.T) string {
	return build(t, "guest.test", nil, "test", "-c", "./testdata/guest")
}

// needVM skips unless qemu and a kernel are here, saying how to get them.
func needVM(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath(envOr("CGVM_QEMU", "qemu-system-x86_64")); err != nil {
		t.Skip("needs qemu-system-x86_64 and a kernel image to boot; run scripts/vm-setup.sh")
	}
	if _, err := vmkernel.Find(os.Getenv("CGVM_KERNEL")); err != nil {
		t.Skipf("needs a kernel image to boot: %v", err)
	}
}

type result struct {
	code           int
	stdout, stderr string
	tmp            string // the runner's TMPDIR, which names its qemu
}

// runRunner runs cgvm with args from dir and extra environment, bounded by
// a deadline far above a healthy run so a broken runner fails, not hangs.
func runRunner(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tmp := t.TempDir()
	cmd := exec.CommandContext(ctx, runnerBin(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"TMPDIR=" + tmp}, env...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("running cgvm: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("cgvm did not finish in 3 minutes\nstdout:\n%s\nstderr:\n%s", &stdout, &stderr)
	}
	r := result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String(), tmp: tmp}
	assertNoQemu(t, tmp)
	return r
}

// qemuUnder lists the pids of qemu processes whose command line mentions
// dir: the runner's TMPDIR holds its initramfs, so these are its VMs and
// nobody else's.
func qemuUnder(dir string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if strings.Contains(filepath.Base(args[0]), "qemu") && bytes.Contains(cmdline, []byte(dir)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// assertNoQemu fails if a qemu of this runner outlives it. Pdeathsig acts
// asynchronously, so it polls until a deadline.
func assertNoQemu(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids := qemuUnder(dir)
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, p := range pids {
				syscall.Kill(p, syscall.SIGKILL) // our own orphan: do not leak it past the test
			}
			t.Fatalf("qemu %v outlived its runner (initramfs under %s)", pids, dir)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func guestDir(t *testing.T) string {
	d, err := filepath.Abs("testdata/guest")
	assert.NilError(t, err)
	return d
}

func TestVMPassesArgsEnvOutputAndFiles(t *testing.T) {
	needVM(t)
	t.Parallel()
	prof := filepath.Join(t.TempDir(), "cpu.prof")
	// /bin/echo goes through the /bin -> usr/bin symlink on merged-/usr
	// hosts, which the runner must recreate in the guest.
	echo := "/bin/echo"
	if !isFile(echo) {
		t.Skip("needs /bin/echo to check CGVM_FILES")
	}
	r := runRunner(t, guestDir(t), []string{"TEST_GUEST_VALUE=from-host", "CGVM_FILES=" + echo, "TEST_GUEST_EXEC=" + echo, "TEST_GUEST_TOOLS=1"},
		guestBin(t), "-test.v", "-test.run=^TestEcho$", "-test.cpuprofile="+prof, "hello", "two words")
	if r.code != 0 {
		t.Fatalf("exit code %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		`ARGS ["hello" "two words"]`,
		"ENV TEST_GUEST_VALUE=from-host HOME=/tmp\n",
		"FIXTURE packed from testdata/\n",
		"LINE1\nLINE2\n", // raw serial port: no "\r\n"
		"EXEC packed\n",
		"TOOLS packed from testdata/\n",
		"ORPHAN reaped\n",
		"--- PASS: TestEcho",
	} {
		assert.Check(t, is.Contains(r.stdout, want), "stdout")
	}
	assert.Check(t, !strings.Contains(r.stdout, "\r"), "stdout has carriage returns: the guest's serial port is not raw:\n%q", r.stdout)
	fi, err := os.Stat(prof)
	assert.Check(t, err, "-test.cpuprofile file was not copied back from the VM")
	assert.Check(t, err != nil || fi.Size() > 0, "-test.cpuprofile file copied back from the VM is empty")
}

// TestVMOtherModule runs, through the runner, a module of its own that
// imports only cgguard's public packages: the README's test, verbatim,
// must pass in the guest, with skips turned into failures.
func TestVMOtherModule(t *testing.T) {
	needVM(t)
	t.Parallel()
	dir, err := filepath.Abs("testdata/othermodule")
	assert.NilError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	tmp := t.TempDir()
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-v", "-exec", runnerBin(t), ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly", "TMPDIR="+tmp, cgtest.NoSkipEnv+"=1")
	out, err := cmd.CombinedOutput()
	assertNoQemu(t, tmp)
	if err != nil {
		t.Fatalf("go test -exec cgvm in %s: %v\n%s", dir, err, out)
	}
	for _, want := range []string{"--- PASS: TestScheduler", "--- PASS: TestInGuest"} {
		assert.Check(t, is.Contains(string(out), want), "output")
	}
}

// TestVMTopology asks for two sockets of two cores in two NUMA nodes: the
// guest sees one last-level cache per socket (cgtest.LLCs) and two nodes.
func TestVMTopology(t *testing.T) {
	needVM(t)
	t.Parallel()
	r := runRunner(t, guestDir(t), []string{"CGVM_SOCKETS=2", "CGVM_CORES=2", "CGVM_NUMA=2"}, guestBin(t), "-test.run=^TestTopology$")
	if r.code != 0 || !strings.Contains(r.stdout, "TOPOLOGY llcs=[0-1 2-3] nodes=0-1\n") {
		t.Errorf("exit code %d; want 0 and two LLCs of two CPUs in two nodes\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestVMBusybox: the guest has busybox's applets without CGVM_FILES.
func TestVMBusybox(t *testing.T) {
	needVM(t)
	if dir, err := vmkernel.CacheDir(); err != nil || !isFile(filepath.Join(dir, "busybox")) {
		t.Skip("needs busybox in the cache: run scripts/vm-setup.sh")
	}
	t.Parallel()
	r := runRunner(t, guestDir(t), nil, guestBin(t), "-test.run=^TestBusybox$")
	if r.code != 0 || !strings.Contains(r.stdout, "BUSYBOX ran\n") {
		t.Errorf("exit code %d; want 0 and the tools run\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestVMSystemd: with CGVM_INIT=systemd, systemd is PID 1, the test runs
// as root with its private socket there, and the exit code comes back.
func TestVMSystemd(t *testing.T) {
	needVM(t)
	if dir, err := vmkernel.CacheDir(); err != nil || !isFile(filepath.Join(dir, "systemd", guestSystemd)) {
		t.Skip("needs systemd in the cache: run scripts/vm-setup.sh")
	}
	t.Parallel()
	r := runRunner(t, guestDir(t), []string{"CGVM_INIT=systemd"}, guestBin(t), "-test.run=^TestSystemd$", "-exit=5")
	if r.code != 5 || !strings.Contains(r.stdout, "SYSTEMD pid1=systemd\n") {
		t.Errorf("exit code %d; want the test's 5, and systemd as PID 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

func TestVMFailingTestFails(t *testing.T) {
	needVM(t)
	t.Parallel()
	r := runRunner(t, guestDir(t), nil, guestBin(t), "-test.run=^TestFail$")
	assert.Check(t, is.Equal(r.code, 1), "exit code from the failing test")
	assert.Check(t, is.Contains(r.stdout, "--- FAIL: TestFail"), "stdout shows the failure")
	assert.Check(t, is.Contains(r.stdout, "failing on purpose"), "stdout shows the failure")
}

func TestVMExitCode(t *testing.T) {
	needVM(t)
	t.Parallel()
	r := runRunner(t, guestDir(t), nil, guestBin(t), "-test.run=^TestEcho$", "-exit=7")
	if r.code != 7 {
		t.Errorf("exit code %d, want the test binary's 7\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestVMRaceBinary: go test -race links the test binary against libc, so the
// runner packs the loader and libraries; CI runs with -race.
func TestVMRaceBinary(t *testing.T) {
	needVM(t)
	if out, err := exec.Command("go", "env", "CGO_ENABLED").Output(); err != nil || strings.TrimSpace(string(out)) != "1" {
		t.Skip("go test -race needs cgo here (CGO_ENABLED=1 and a C compiler: apt-get install gcc)")
	}
	t.Parallel()
	bin := build(t, "guest-race.test", nil, "test", "-race", "-c", "./testdata/guest")
	if interp, _ := interpreter(bin); interp == "" {
		t.Logf("the -race test binary is static here; the library packing is not exercised")
	}
	r := runRunner(t, guestDir(t), nil, bin, "-test.v", "-test.run=^TestEcho$")
	if r.code != 0 || !strings.Contains(r.stdout, "--- PASS: TestEcho") {
		t.Errorf("exit code %d, want 0 and a pass\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

func TestVMGuestPanicIsReported(t *testing.T) {
	needVM(t)
	t.Parallel()
	r := runRunner(t, guestDir(t), []string{"CGVM_GUEST_HOOK=panic", "CGVM_TIMEOUT=2m"}, guestBin(t))
	assert.Assert(t, r.code != 0, "exit code 0 from a guest whose init died")
	assert.Check(t, is.Contains(r.stderr, "kernel panicked"), "stderr reports the panic")
	assert.Check(t, is.Contains(r.stderr, "Kernel panic"), "stderr has the kernel log")
}

func TestVMHungGuestTimesOut(t *testing.T) {
	needVM(t)
	t.Parallel()
	r := runRunner(t, guestDir(t), []string{"CGVM_GUEST_HOOK=hang", "CGVM_TIMEOUT=6s"}, guestBin(t))
	assert.Assert(t, r.code != 0, "exit code 0 from a hung guest")
	assert.Check(t, is.Contains(r.stderr, "did not finish within 6s"), "stderr reports the timeout")
}

// TestVMRunnerDeathStopsQemu kills the runner while its VM runs: by signal
// (the runner stops qemu) and by SIGKILL (Pdeathsig stops it).
func TestVMRunnerDeathStopsQemu(t *testing.T) {
	needVM(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			tmp := t.TempDir()
			cmd := exec.Command(runnerBin(t), guestBin(t))
			cmd.Dir = guestDir(t)
			cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "CGVM_GUEST_HOOK=hang", "CGVM_TIMEOUT=2m")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			assert.NilError(t, cmd.Start())
			defer cmd.Process.Kill()
			deadline := time.Now().Add(time.Minute)
			for len(qemuUnder(tmp)) == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("the runner started no qemu within a minute; stderr:\n%s", &stderr)
				}
				time.Sleep(20 * time.Millisecond)
			}
			cmd.Process.Signal(sig)
			err := cmd.Wait()
			assert.Check(t, err != nil, "runner exited 0 after %v", sig)
			if sig == syscall.SIGTERM && !strings.Contains(stderr.String(), "stopped the VM") {
				t.Errorf("stderr does not say the VM was stopped:\n%s", &stderr)
			}
			assertNoQemu(t, tmp)
		})
	}
}

// oneLine checks a bad-input error: exit 1 and a single line naming the fix.
func oneLine(t *testing.T, r result, want ...string) {
	t.Helper()
	assert.Check(t, is.Equal(r.code, 1), "exit code")
	assert.Check(t, !strings.Contains(strings.TrimSpace(r.stderr), "\n"), "stderr has more than one line:\n%s", r.stderr)
	for _, w := range want {
		assert.Check(t, is.Contains(r.stderr, w), "stderr")
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "x.test")
	os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644)
	emptyCache := t.TempDir()

	t.Run("not executable", func(t *testing.T) {
		oneLine(t, runRunner(t, dir, nil, notExec), "not an executable file")
	})
	t.Run("qemu missing", func(t *testing.T) {
		oneLine(t, runRunner(t, dir, []string{"CGVM_QEMU=/nonexistent/qemu-system-x86_64"}, guestBin(t)),
			"qemu not found", "apt-get install --no-install-recommends qemu-system-x86")
	})
	t.Run("no kernel", func(t *testing.T) {
		oneLine(t, runRunner(t, dir, []string{"CGVM_KERNEL=", "XDG_CACHE_HOME=" + emptyCache, "CGVM_QEMU=/bin/true"}, guestBin(t)),
			"no kernel image found", "scripts/vm-setup.sh")
	})
	t.Run("kernel version not cached", func(t *testing.T) {
		cache := t.TempDir()
		os.MkdirAll(filepath.Join(cache, "cgguard"), 0o755)
		os.WriteFile(filepath.Join(cache, "cgguard", "vmlinuz-6.1.0-56-amd64"), nil, 0o644)
		oneLine(t, runRunner(t, dir, []string{"CGVM_KERNEL=5.4", "XDG_CACHE_HOME=" + cache, "CGVM_QEMU=/bin/true"}, guestBin(t)),
			`no cached kernel has version "5.4"`, "6.1 (6.1.0-56-amd64)")
	})
	t.Run("unknown init", func(t *testing.T) {
		oneLine(t, runRunner(t, dir, []string{"CGVM_INIT=openrc", "CGVM_QEMU=/bin/true"}, guestBin(t)),
			`CGVM_INIT="openrc" is not an init cgvm boots`, "set it to systemd")
	})
	t.Run("unknown accelerator", func(t *testing.T) {
		oneLine(t, runRunner(t, dir, []string{"CGVM_ACCEL=hvf", "CGVM_QEMU=/bin/true"}, guestBin(t)),
			`accelerator "hvf" is not tcg, tcg-single or kvm`)
	})
	t.Run("bad timeout", func(t *testing.T) {
		oneLine(t, runRunner(t, dir, []string{"CGVM_TIMEOUT=soon"}, guestBin(t)), "CGVM_TIMEOUT")
	})
	t.Run("dynamic runner", func(t *testing.T) {
		if _, err := exec.LookPath("gcc"); err != nil {
			t.Skip("building a dynamically linked runner needs gcc")
		}
		dyn := build(t, "cgvm-dynamic", []string{"CGO_ENABLED=1"}, "build", "-ldflags=-linkmode=external", ".")
		tmp := t.TempDir()
		cmd := exec.Command(dyn, guestBin(t))
		cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		oneLine(t, result{code: cmd.ProcessState.ExitCode(), stderr: stderr.String()}, "dynamically linked", "CGO_ENABLED=0")
		_ = err
	})
}

// TestFallsBackToBzImageWithoutPVH uses a fake qemu that refuses the
// decompressed kernel the way qemu refuses a kernel built without PVH, and
// reports success when given the bzImage: the runner must retry with it.
func TestFallsBackToBzImageWithoutPVH(t *testing.T) {
	dir := t.TempDir()
	kernel := filepath.Join(dir, "vmlinuz-nopvh")
	assert.NilError(t, os.WriteFile(kernel, fakeBzImage(t, []byte("\x7fELF-without-pvh")), 0o644))
	fakeQemu := filepath.Join(dir, "qemu")
	script := `#!/bin/sh
while [ $# -gt 0 ]; do [ "$1" = -kernel ] && k=$2; shift; done
case "$k" in
*/vmlinux-*) echo "qemu-system-x86_64: Error loading uncompressed kernel without PVH ELF Note" >&2; exit 1;;
esac
echo "booted $k" >/dev/fd/3
echo "CGVM-EXIT 0" >/dev/fd/4
`
	assert.NilError(t, os.WriteFile(fakeQemu, []byte(script), 0o755))
	r := runRunner(t, dir, []string{"CGVM_QEMU=" + fakeQemu, "CGVM_KERNEL=" + kernel, "XDG_CACHE_HOME=" + t.TempDir()}, guestBin(t))
	if r.code != 0 || r.stdout != "booted "+kernel+"\n" {
		t.Errorf("exit %d, stdout %q, want 0 and a boot of the bzImage %s\nstderr:\n%s", r.code, r.stdout, kernel, r.stderr)
	}
}
