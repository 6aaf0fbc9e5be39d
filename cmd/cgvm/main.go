package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cgguard/cgguard/internal/vmkernel"
	"github.com/cgguard/cgguard/vmtest"
)

func init() {
	// qemu is started with Pdeathsig, which fires when the *thread* that
	// forked it exits. Pinning main to the main thread (which lives as long
	// as the process) makes it fire exactly when the runner dies.
	runtime.LockOSThread()
}

func main() {
	if isGuest() {
		guestMain()
		return
	}
	os.Exit(hostMain(os.Args[1:]))
}

// settings are the runner's knobs, from flags or else the environment.
type settings struct {
	kernel  string
	topo    topology
	accel   string
	timeout time.Duration // 0: none
	qemu    string
}

const usage = `usage: cgvm [flags] test-binary [test flags]

cgvm runs a Go test binary inside a throwaway qemu VM whose kernel has the
full cgroup v2 hierarchy. It is meant for go test -exec:

	go test -exec "$(go env GOPATH)/bin/cgvm" ./pkg

go test puts its own flags after the binary, so under -exec the runner is
configured by the environment (a flag, when given, wins):

`

func hostMain(args []string) int {
	fset := flag.NewFlagSet("cgvm", flag.ContinueOnError)
	fset.Usage = func() {
		fmt.Fprint(fset.Output(), usage)
		fset.PrintDefaults()
	}
	var s settings
	fset.StringVar(&s.kernel, "kernel", os.Getenv("CGVM_KERNEL"), "kernel to boot: a cached kernel's version (6.1, 6.12) or a bzImage's path (env CGVM_KERNEL; default: the cached "+vmkernel.DefaultVersion+", see -kernels)")
	fset.String("cpus", "", "guest CPUs (env CGVM_CPUS; default 2, or the product of the topology below)")
	fset.String("mem", "", "guest memory in MiB, 512M or 2G (env CGVM_MEM; default 512M)")
	fset.String("sockets", "", "CPU sockets, each with its own last-level cache (env CGVM_SOCKETS)")
	fset.String("cores", "", "cores per socket (env CGVM_CORES)")
	fset.String("threads", "", "threads per core (env CGVM_THREADS)")
	fset.String("numa", "", "NUMA nodes, each of whole sockets and an equal share of memory (env CGVM_NUMA)")
	fset.StringVar(&s.accel, "accel", envOr("CGVM_ACCEL", tcgSingle), "qemu accelerator: "+tcgSingle+" (one host thread for all vCPUs), tcg (one per vCPU), or kvm where it works (env CGVM_ACCEL)")
	timeoutDefault := "" // decided below, from -test.timeout
	fset.StringVar(&timeoutDefault, "timeout", os.Getenv("CGVM_TIMEOUT"), "kill the VM after this long; 0 for never (env CGVM_TIMEOUT; default: the test's -test.timeout plus 30s, else 10m)")
	fset.StringVar(&s.qemu, "qemu", envOr("CGVM_QEMU", "qemu-system-x86_64"), "qemu binary (env CGVM_QEMU)")
	listKernels := fset.Bool("kernels", false, "list the cached kernels, one a line: version, release, path; and exit")
	if err := fset.Parse(args); err != nil {
		return 2
	}
	if *listKernels {
		return printKernels(os.Stdout)
	}
	if fset.NArg() == 0 {
		fset.Usage()
		return 2
	}
	var err error
	if s.topo, err = parseTopology(flagOrEnv(fset)); err != nil {
		return fail("%v", err)
	}
	bin, testArgs := fset.Arg(0), fset.Args()[1:]
	if s.timeout, err = pickTimeout(timeoutDefault, testArgs); err != nil {
		return fail("%v", err)
	}

	r, err := prepare(s, bin, testArgs)
	if err != nil {
		return fail("%v", err)
	}
	defer os.RemoveAll(r.tmp)
	code := r.run()
	if keep := os.Getenv("CGVM_LOG"); keep != "" {
		if b, err := os.ReadFile(r.log); err == nil {
			if err := os.WriteFile(keep, b, 0o644); err != nil {
				fmt.Fprintf(os.Stderr, "cgvm: keeping the kernel log as CGVM_LOG asked: %v\n", err)
			}
		}
	}
	return code
}

// printKernels lists the cached kernels for -kernels.
func printKernels(w io.Writer) int {
	ks, err := vmkernel.List()
	if err != nil {
		return fail("listing the cached kernels: %v", err)
	}
	for _, k := range ks {
		fmt.Fprintf(w, "%s\t%s\t%s\n", k.Version(), k.Release, k.Path)
	}
	return 0
}

func fail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "cgvm: "+format+"\n", args...)
	return 1
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// flagOrEnv returns a getenv for parseTopology in which a flag given on
// the command line wins over its variable: -cpus over CGVM_CPUS, and so on.
func flagOrEnv(fset *flag.FlagSet) func(string) string {
	set := map[string]string{}
	fset.Visit(func(f *flag.Flag) {
		set["CGVM_"+strings.ToUpper(f.Name)] = f.Value.String()
	})
	return func(name string) string {
		if v, ok := set[name]; ok {
			return v
		}
		return os.Getenv(name)
	}
}

// pickTimeout returns the VM's deadline. By default it is the test's own
// -test.timeout plus room for booting and copying results out, so the test
// binary's timeout panic (with its goroutine dump) fires first.
func pickTimeout(v string, testArgs []string) (time.Duration, error) {
	if v != "" {
		d, err := time.ParseDuration(v)
		if v == "0" {
			d, err = 0, nil
		}
		if err != nil || d < 0 {
			return 0, fmt.Errorf("timeout %q is not a duration like 90s or 10m (set CGVM_TIMEOUT or -timeout)", v)
		}
		return d, nil
	}
	for _, a := range testArgs {
		if t, ok := strings.CutPrefix(a, "-test.timeout="); ok {
			if d, err := time.ParseDuration(t); err == nil && d > 0 {
				return d + 30*time.Second, nil
			}
		}
	}
	return 10 * time.Minute, nil
}

// runner is one prepared VM run.
type runner struct {
	s       settings
	qemu    string
	kernel  string // what qemu boots: bzImage or its decompressed vmlinux
	bzImage string
	tmp     string
	initrd  string
	log     string
	init    string // the guest's init: initDefault or initSystemd
	outputs []output
}

// prepare checks every input, each failure a line saying how to fix it,
// and packs the initramfs.
func prepare(s settings, bin string, testArgs []string) (*runner, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot find my own executable to pack as the VM's /init: %v", err)
	}
	if interp, err := interpreter(self); err != nil {
		return nil, fmt.Errorf("reading my own executable %s: %v", self, err)
	} else if interp != "" {
		return nil, fmt.Errorf("%s is dynamically linked (interpreter %s) but runs as the VM's /init, where there is no libc: reinstall it static with CGO_ENABLED=0 go install github.com/cgguard/cgguard/cmd/cgvm@latest", self, interp)
	}
	if bin, err = filepath.Abs(bin); err != nil {
		return nil, err
	}
	if err := checkBinary(bin); err != nil {
		return nil, err
	}
	qemu, err := exec.LookPath(s.qemu)
	if err != nil {
		return nil, fmt.Errorf("qemu not found (%s): install it with apt-get install --no-install-recommends qemu-system-x86 (scripts/vm-setup.sh does), or set CGVM_QEMU", s.qemu)
	}
	kernel, err := vmkernel.Find(s.kernel)
	if err != nil {
		return nil, err
	}
	switch s.accel {
	case "tcg", "kvm", tcgSingle:
	default:
		return nil, fmt.Errorf("accelerator %q is not tcg, %s or kvm (set CGVM_ACCEL)", s.accel, tcgSingle)
	}
	cwd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "cgvm-")
	if err != nil {
		return nil, fmt.Errorf("creating a temporary directory for the initramfs: %v (check TMPDIR)", err)
	}
	r := &runner{s: s, qemu: qemu, tmp: tmp, init: os.Getenv("CGVM_INIT"),
		initrd: filepath.Join(tmp, "initramfs.cpio"), log: filepath.Join(tmp, "kernel.log")}
	r.outputs = findOutputs(testArgs, cwd, os.Getenv("GOCOVERDIR"))
	p := plan{
		self:    self,
		workdir: cwd,
		cfg: guestConfig{
			Binary:  bin,
			Args:    testArgs,
			Dir:     cwd,
			Env:     guestEnv(os.Environ()),
			Outputs: r.outputs,
			Hook:    os.Getenv("CGVM_GUEST_HOOK"),
			Init:    os.Getenv("CGVM_INIT"),
		},
	}
	cacheDir, _ := vmkernel.CacheDir()
	if p.systemd, err = checkInit(p.cfg.Init, cacheDir); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	if isFile(filepath.Join(cacheDir, "busybox")) {
		p.busybox = filepath.Join(cacheDir, "busybox")
	}
	if p.extra, err = extraFiles(os.Getenv("CGVM_FILES")); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	if err := writeInitramfs(r.initrd, p); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("packing the initramfs: %v", err)
	}
	r.bzImage, r.kernel = kernel, bootImage(kernel)
	return r, nil
}

// defaultTools are packed when the host has them: cgroup tests often start
// a sleep or a shell to have a task to move between cgroups.
var defaultTools = []string{"sh", "sleep", "true", "false", "cat"}

// extraFiles resolves the host files to pack besides the test binary: the
// default tools found on PATH, and CGVM_FILES's comma-separated paths or
// command names. A name in CGVM_FILES that is not found is an error.
func extraFiles(list string) ([]string, error) {
	var out []string
	for _, t := range defaultTools {
		if p, err := exec.LookPath(t); err == nil && filepath.IsAbs(p) {
			out = append(out, p)
		}
	}
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := exec.LookPath(f)
		if err != nil && strings.Contains(f, "/") && isFile(f) {
			p, err = f, nil // a data file, not an executable
		}
		if err != nil {
			return nil, fmt.Errorf("CGVM_FILES names %s, which is not a file here (%v): give host paths or commands on PATH, comma-separated", f, err)
		}
		if p, err = filepath.Abs(p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// checkBinary rejects what the guest could not run, before booting a VM.
func checkBinary(bin string) error {
	fi, err := os.Stat(bin)
	if err != nil {
		return fmt.Errorf("test binary %s: %v", bin, err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("test binary %s is not an executable file (mode %v): build it with go test -c, or let go test -exec pass it", bin, fi.Mode())
	}
	f, err := elf.Open(bin)
	if err != nil {
		return fmt.Errorf("test binary %s is not an ELF executable (%v): the VM runs linux/amd64 binaries only", bin, err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 {
		return fmt.Errorf("test binary %s is for %v, but the VM is x86-64: build with GOARCH=amd64", bin, f.Machine)
	}
	return nil
}

// guestEnv is the test binary's environment in the guest: the settings a
// Go test reads (GO*, TEST_*, CGGUARD_*, and names listed in CGVM_PASSENV),
// and paths that exist there. Host paths like PATH and HOME do not.
func guestEnv(host []string) []string {
	pass := map[string]bool{}
	for _, n := range strings.Split(os.Getenv("CGVM_PASSENV"), ",") {
		pass[strings.TrimSpace(n)] = true
	}
	env := []string{vmtest.EnvVar + "=1", "HOME=/tmp", "TMPDIR=/tmp", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	for _, kv := range host {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == vmtest.EnvVar, name == "GOROOT", name == "GOPATH", name == "GOCACHE", name == "GOMODCACHE":
		case strings.HasPrefix(name, "GO"), strings.HasPrefix(name, "TEST_"), strings.HasPrefix(name, "CGGUARD_"), pass[name]:
			env = append(env, kv)
		}
	}
	return env
}

// tcgSingle is TCG with one host thread for every vCPU. Under
// multi-threaded TCG (qemu 7.2) a guest that rewrites its kernel text
// while other vCPUs run it (static keys flipped through int3 patching:
// attaching a sched_ext scheduler, and a 6.12 guest's cgroupfs suite)
// was seen to die of "Oops: int3" now and then
// (examples/schedext/README.md); with one thread for all vCPUs it did
// not, at the cost of running them on one host CPU. It is the default:
// a guest that dies now and then makes a flaky CI, which costs more than
// the speed (cgroupfs's suite on 6.1, quiet 2-CPU host, 2 vCPUs: 25.2 s
// against 17.3 s with CGVM_ACCEL=tcg).
const tcgSingle = "tcg-single"

// qemuArgs builds the command line to boot image. Measured choices:
// -machine pc, since microvm hung about 1 boot in 15 under TCG; no
// default devices; panic=-1 with -no-reboot so a guest panic ends qemu;
// no_timer_check, since on a loaded host TCG's timer can miss the
// kernel's IO-APIC timer check, which then panics at boot ("IO-APIC +
// timer doesn't work"), as CI saw with other work running; three serial
// ports: kernel log, test output, report.
func (r *runner) qemuArgs(image string) []string {
	accel := r.s.accel
	if accel == tcgSingle {
		accel = "tcg,thread=single"
	}
	args := []string{
		"-machine", "pc", "-accel", accel,
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-kernel", image, "-initrd", r.initrd,
		"-append", strings.TrimSpace("console=ttyS0 quiet panic=-1 no_timer_check " + r.cmdline() + os.Getenv("CGVM_APPEND")),
		"-chardev", "file,id=log,path=" + r.log, "-serial", "chardev:log",
		// fds 3 and 4 are pipes to this process (cmd.ExtraFiles).
		"-chardev", "file,id=out,path=/dev/fd/3", "-serial", "chardev:out",
		"-chardev", "file,id=ctl,path=/dev/fd/4", "-serial", "chardev:ctl",
	}
	args = append(args, r.s.topo.qemuArgs()...)
	if r.s.accel == "kvm" {
		args = append(args, "-cpu", "host")
	}
	return args
}

// cmdline is what the init needs on the kernel command line.
func (r *runner) cmdline() string {
	if r.init == initSystemd {
		return systemdCmdline + " "
	}
	return ""
}

// run boots the VM and returns the test's exit code, or 1 when the guest
// never reported one. It boots the decompressed kernel first; a kernel
// built without CONFIG_PVH cannot boot that way, and since its guest never
// started, booting the bzImage instead is safe.
func (r *runner) run() int {
	b := r.boot(r.kernel)
	if b.pvhRefused() && r.kernel != r.bzImage {
		b = r.boot(r.bzImage)
	}
	return r.conclude(b)
}

// boot is what one qemu run produced.
type boot struct {
	code      int    // the exit line's code; -1 when none came
	stopped   string // why the runner stopped the VM (timeout, signal); "" if it did not
	qemuErr   error  // how qemu exited
	qemuOut   string // qemu's stderr
	writeErrs []string
	startErr  error // qemu did not start
}

func (b boot) pvhRefused() bool {
	return b.code < 0 && b.stopped == "" && b.qemuErr != nil && strings.Contains(b.qemuOut, "PVH")
}

// boot runs qemu on image until the guest reports, qemu exits, the
// timeout passes or a signal comes. qemu is killed on every path out.
func (r *runner) boot(image string) boot {
	res := boot{code: -1}
	outR, outW, err := os.Pipe()
	if err != nil {
		res.startErr = err
		return res
	}
	defer outR.Close()
	ctlR, ctlW, err := os.Pipe()
	if err != nil {
		outW.Close()
		res.startErr = err
		return res
	}
	defer ctlR.Close()
	var qerr bytes.Buffer
	cmd := exec.Command(r.qemu, r.qemuArgs(image)...)
	cmd.ExtraFiles = []*os.File{outW, ctlW}
	cmd.Stderr = &limitedBuffer{buf: &qerr, max: 64 << 10}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(sigs)

	err = cmd.Start()
	// Only qemu holds the write ends now, so the readers see EOF when it
	// exits.
	outW.Close()
	ctlW.Close()
	if err != nil {
		res.startErr = fmt.Errorf("starting %s: %w", r.qemu, err)
		return res
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		io.Copy(os.Stdout, outR)
	}()
	exitCh := make(chan int, 1)
	go func() {
		defer wg.Done()
		res.writeErrs = r.readReports(ctlR, exitCh)
	}()

	res.code, res.stopped, res.qemuErr = r.await(exitCh, done, sigs, func() { cmd.Process.Kill() })
	wg.Wait()
	if res.code < 0 {
		// The reader may have seen the exit line after qemu exited.
		select {
		case res.code = <-exitCh:
		default:
		}
	}
	res.qemuOut = strings.TrimSpace(qerr.String())
	return res
}

// readReports reads the guest's report lines until EOF: it sends the first
// exit code on exitCh and writes the files back, returning what failed.
func (r *runner) readReports(ctl io.Reader, exitCh chan<- int) []string {
	var errs []string
	br := bufio.NewReader(ctl)
	for {
		line, err := br.ReadString('\n')
		if strings.HasSuffix(line, "\n") {
			switch rep := parseReport(line); {
			case rep.exit:
				select {
				case exitCh <- rep.code:
				default: // only the first exit line counts; never block the reader
				}
			case rep.path != "":
				if err := r.writeBack(rep.path, rep.data); err != nil {
					errs = append(errs, err.Error())
				}
			}
		}
		if err != nil {
			return errs
		}
	}
}

// await waits for the guest's exit code, qemu's exit, the timeout or a
// signal, and returns the code (-1 if none), why the VM was stopped, and
// qemu's exit error. kill stops qemu; done then delivers its exit.
func (r *runner) await(exitCh <-chan int, done <-chan error, sigs <-chan os.Signal, kill func()) (code int, stopped string, qemuErr error) {
	var deadline <-chan time.Time
	if r.s.timeout > 0 {
		t := time.NewTimer(r.s.timeout)
		defer t.Stop()
		deadline = t.C
	}
	select {
	case code = <-exitCh:
		// The guest powers off right after reporting; a qemu that
		// lingers is stopped rather than waited for.
		select {
		case qemuErr = <-done:
		case <-time.After(10 * time.Second):
			kill()
			<-done
		}
		return code, "", qemuErr
	case qemuErr = <-done:
		return -1, "", qemuErr
	case <-deadline:
		kill()
		<-done
		return -1, fmt.Sprintf("the VM did not finish within %v and was killed (raise CGVM_TIMEOUT, or look for a hung test)", r.s.timeout), nil
	case sig := <-sigs:
		kill()
		<-done
		return -1, fmt.Sprintf("got %v, stopped the VM", sig), nil
	}
}

// conclude reports what went wrong, if anything, and returns cgvm's exit
// code: the test's, or 1.
func (r *runner) conclude(b boot) int {
	if b.startErr != nil {
		return fail("%v", b.startErr)
	}
	if b.stopped != "" {
		fmt.Fprintf(os.Stderr, "cgvm: %s; kernel log tail:\n", b.stopped)
		r.printLog()
		return 1
	}
	for _, e := range b.writeErrs {
		fmt.Fprintf(os.Stderr, "cgvm: %s\n", e)
	}
	if b.code >= 0 {
		if len(b.writeErrs) > 0 && b.code == 0 {
			return 1
		}
		return b.code
	}
	if b.qemuErr != nil {
		hint := ""
		if r.s.accel == "kvm" {
			// Measured: a nested hypervisor's /dev/kvm can exist and still
			// fail to run the kernel (qemu aborts setting an MSR).
			hint = " (KVM does not work here: use CGVM_ACCEL=tcg)"
		}
		fmt.Fprintf(os.Stderr, "cgvm: qemu failed (%v)%s: %s\n", b.qemuErr, hint, b.qemuOut)
		r.printLog()
		return 1
	}
	what := "the guest never reported an exit code (it crashed or powered off early)"
	if log, _ := os.ReadFile(r.log); bytes.Contains(log, []byte(panicMark)) {
		what = "the guest kernel panicked before the test reported an exit code"
	}
	fmt.Fprintf(os.Stderr, "cgvm: %s; kernel log tail:\n", what)
	r.printLog()
	return 1
}

// writeBack stores a file the guest sent at its host path.
func (r *runner) writeBack(p string, data []byte) error {
	if !allowed(r.outputs, p) {
		return fmt.Errorf("ignored a file the guest sent for %s: not one of the test's output paths", p)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("copying %s back from the VM: %v", p, err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return fmt.Errorf("copying %s back from the VM: %v", p, err)
	}
	return nil
}

// panicMark starts the kernel's panic line ("Kernel panic - not syncing:
// ...").
const panicMark = "Kernel panic"

// printLog prints the tail of the guest's kernel log to stderr.
func (r *runner) printLog() {
	b, err := os.ReadFile(r.log)
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		fmt.Fprintln(os.Stderr, "\t(the kernel log is empty: qemu may not have started the kernel)")
		return
	}
	lines := strings.Split(strings.TrimRight(strings.ReplaceAll(string(b), "\r", ""), "\n"), "\n")
	for _, l := range logTail(lines, 60) {
		fmt.Fprintf(os.Stderr, "\t%s\n", l)
	}
}

// logTail returns the last n lines, and always the kernel's panic line:
// the call trace and register dump after it can be longer than n lines,
// and the panic's reason is what the reader needs.
func logTail(lines []string, n int) []string {
	if len(lines) <= n {
		return lines
	}
	tail := lines[len(lines)-n:]
	for i, l := range lines[:len(lines)-n] {
		if strings.Contains(l, panicMark) {
			return append(append(lines[i:i+1:i+1], "[...]"), tail...)
		}
	}
	return tail
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	buf *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
