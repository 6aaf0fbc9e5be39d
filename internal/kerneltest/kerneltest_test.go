package kerneltest_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/cgguard/cgguard/internal/kerneltest"
	"github.com/cgguard/cgguard/vmtest"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// recorder stands in for a *testing.T: it keeps the cleanups for the
// test to run when it wants, and records errors and logs. Skipf and
// Fatalf only record, and Base then returns "".
type recorder struct {
	cleanups      []func()
	errs, logs    []string
	skips, fatals []string
}

func (r *recorder) Helper()                      {}
func (r *recorder) Cleanup(f func())             { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Errorf(f string, args ...any) { r.errs = append(r.errs, fmt.Sprintf(f, args...)) }
func (r *recorder) Logf(f string, args ...any)   { r.logs = append(r.logs, fmt.Sprintf(f, args...)) }
func (r *recorder) Skipf(f string, args ...any)  { r.skips = append(r.skips, fmt.Sprintf(f, args...)) }
func (r *recorder) Fatalf(f string, args ...any) {
	r.fatals = append(r.fatals, fmt.Sprintf(f, args...))
}
func (r *recorder) runCleanups() {
	for _, f := range slices.Backward(r.cleanups) {
		f()
	}
	r.cleanups = nil
}

// base runs Base on a recorder, passing a skip on to t.
func base(t *testing.T, opts ...kerneltest.Option) (*recorder, string) {
	t.Helper()
	r := &recorder{}
	dir := kerneltest.Base(r, opts...)
	if len(r.skips) > 0 {
		t.Skip(r.skips[0])
	}
	if len(r.fatals) > 0 {
		t.Fatal(r.fatals[0])
	}
	t.Cleanup(r.runCleanups) // should the test stop early
	return r, dir
}

// startIn starts a sleeper inside the cgroup dir; the cleanup under
// test kills it first, StartSleeper's own cleanup in case it did not.
func startIn(t *testing.T, dir string) *exec.Cmd {
	t.Helper()
	f, err := os.Open(dir)
	assert.NilError(t, err)
	defer f.Close()
	return kerneltest.StartSleeper(t, &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(f.Fd())}, 0)
}

// Base's cleanup kills the task left deep inside, removes every cgroup
// and the base, and, asked to, reports each left cgroup as a leak.
func TestBaseCleanupKillsAndRemoves(t *testing.T) {
	for _, check := range []bool{false, true} {
		t.Run(fmt.Sprintf("CheckLeaks=%v", check), func(t *testing.T) {
			var opts []kerneltest.Option
			if check {
				opts = append(opts, kerneltest.CheckLeaks())
			}
			r, dir := base(t, opts...)
			got := filepath.Base(dir)
			assert.Check(t, strings.HasPrefix(got, fmt.Sprintf("%s%d-", kerneltest.Prefix, os.Getpid())), "base named %q, want %s<pid>-<random>", got, kerneltest.Prefix)
			assert.NilError(t, os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755))
			cmd := startIn(t, filepath.Join(dir, "a", "b"))
			r.runCleanups()

			_, err := os.Stat(dir)
			assert.Check(t, is.ErrorIs(err, os.ErrNotExist), "the base %s after the cleanup", dir)
			err = cmd.Wait()
			var exit *exec.ExitError
			assert.Check(t, errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL,
				"the sleeper left inside ended with %v, want killed by SIGKILL", err)
			var want []string
			if check {
				want = []string{
					"leak: cgroup a is left in the test's base " + dir,
					"leak: cgroup a/b is left in the test's base " + dir,
				}
			}
			assert.Check(t, is.DeepEqual(r.errs, want), "cleanup errors")
		})
	}
}

// TEST_NOCLEANUP=true keeps the base and says how to remove it.
func TestBaseNoCleanupKeeps(t *testing.T) {
	r, dir := base(t)
	t.Setenv(kerneltest.NoCleanupEnv, "true")
	r.runCleanups()
	_, err := os.Stat(dir)
	assert.NilError(t, err, "the base %s is gone despite TEST_NOCLEANUP=true", dir)
	assert.Check(t, unix.Rmdir(dir), "remove the kept base %s", dir)
	assert.Check(t, len(r.logs) == 1 && strings.Contains(r.logs[0], "find "+dir+" -depth -type d -exec rmdir {} +"),
		"logs %q, want one saying how to remove %s", r.logs, dir)
	assert.Check(t, is.Len(r.errs, 0), "unexpected errors")
}

// Mountpoint finds a cgroup2 filesystem, and $CGGUARD_CGROUP2 overrides it.
func TestMountpoint(t *testing.T) {
	mnt, err := kerneltest.Mountpoint()
	if err != nil {
		t.Skipf("kernel test needs a cgroup2 mount: %v", err)
	}
	var st unix.Statfs_t
	assert.Check(t, unix.Statfs(mnt, &st), "statfs %s", mnt)
	assert.Check(t, is.Equal(int64(st.Type), int64(unix.CGROUP2_SUPER_MAGIC)), "Mountpoint() = %s, which is not cgroup2", mnt)
	t.Setenv(kerneltest.MountEnv, "/elsewhere")
	got, err := kerneltest.Mountpoint()
	assert.Check(t, err)
	assert.Check(t, is.Equal(got, "/elsewhere"), "with %s=/elsewhere, Mountpoint()", kerneltest.MountEnv)
}

// In the VM, OfferAllControllers(true) offers the base every controller
// the root has; OfferAllControllers(false) writes nothing (the host case).
func TestOfferAllControllersInVM(t *testing.T) {
	vmtest.SkipUnlessVM(t)
	_, dir := base(t, kerneltest.OfferAllControllers(true))
	root, err := os.ReadFile(filepath.Join(filepath.Dir(dir), "cgroup.controllers"))
	assert.NilError(t, err)
	got, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(strings.Fields(string(got)), strings.Fields(string(root))), "the base is offered every controller of the root")
}
