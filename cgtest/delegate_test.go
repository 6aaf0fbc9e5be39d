package cgtest_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/internal/kerneltest"
	"github.com/cgguard/cgguard/vmtest"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// delegatedChildEnv, set to "1", makes TestVMDelegatedUser run the
// README's test itself: it is then the test binary re-executed as an
// unprivileged user inside a delegated cgroup.
const delegatedChildEnv = "CGGUARD_TEST_DELEGATED_CHILD"

// delegatedUID is the user the delegated cgroups belong to, the first
// user of a Debian machine.
const delegatedUID = 1000

// delegatedControllers are what the parent of the simulated scope
// enables: what systemd gives a user's scope once user@.service is
// delegated cpuset too.
var delegatedControllers = []string{"cpuset", "cpu", "memory", "pids"}

// In the VM, a user without root in a cgroup delegated to it, as after
// systemd-run --user --scope -p Delegate=yes, runs the README's test for
// real: cpuset on CPU 0, a worker started inside, teardown clean. The
// test process is never moved when it does not have the cgroup to
// itself, and a half-delegated cgroup is refused with the reason.
func TestVMDelegatedUser(t *testing.T) {
	if os.Getenv(delegatedChildEnv) == "1" {
		readmeTest(t)
		return
	}
	vmtest.SkipUnlessVM(t)
	// The VM is throwaway: its root offers the controllers (and stops
	// when the test ends), and the base enables them, as the scope's
	// parent would.
	kerneltest.EnableAtRoot(t, vmtest.InVM(), delegatedControllers...)
	base := kerneltest.Base(t)
	for _, c := range delegatedControllers {
		assert.NilError(t, os.WriteFile(filepath.Join(base, "cgroup.subtree_control"), []byte("+"+c), 0), "enable %s in %s", c, base)
	}
	mnt, err := cgroupfs.Mountpoint()
	assert.NilError(t, err)

	t.Run("alone in the scope: every controller", func(t *testing.T) {
		scope := kerneltest.Delegate(t, base, "alone.scope", delegatedUID, kerneltest.DelegatedFiles)
		out, pid, err := runDelegatedChild(t, scope)
		if err != nil || !strings.Contains(out, "--- PASS: TestVMDelegatedUser") || strings.Contains(out, "SKIP") {
			t.Fatalf("the README's test as uid %d in %s did not pass (%v):\n%s", delegatedUID, scope, err, out)
		}
		if got := readFields(t, filepath.Join(scope, "cgroup.subtree_control")); !sameSet(got, delegatedControllers) {
			t.Errorf("%s/cgroup.subtree_control = %q, want %q", scope, got, delegatedControllers)
		}
		// All that is left is the dead test process's empty leaf.
		if ev, _ := os.ReadFile(filepath.Join(scope, "cgroup.events")); !strings.Contains(string(ev), "populated 0\n") {
			t.Errorf("%s is still populated after the test: cgroup.events %q", scope, ev)
		}
		left := childDirs(t, scope)
		assert.Assert(t, is.Len(left, 1), "%s holds %q after the test, want only the test process's leaf", scope, left)
		owner, ok := cgtest.ParseRootName(left[0])
		if !ok || owner.PID != pid || cgtest.LeafName(owner) != left[0] {
			t.Fatalf("%s holds %q, want the leaf of pid %d (cgtest.LeafName)", scope, left[0], pid)
		}
		fsys, err := cgroupfs.Open(scope)
		assert.NilError(t, err)
		defer fsys.Close()
		rep, err := cgtest.Sweep(fsys, ".")
		if err != nil || rep.Counts().Stale != 1 || !cgtest.SweptCgroups(rep)[0].Removed {
			t.Errorf("a later sweep of %s did not reclaim the leaf (%v):\n%s", scope, err, rep)
		}
		if left := childDirs(t, scope); len(left) != 0 {
			t.Errorf("%s holds %q after the sweep, want nothing", scope, left)
		}
		assert.Check(t, is.Contains(out, "moved this test process"), "the child did not log its move into the leaf:\n%s", out)
	})

	t.Run("another process in the scope: never moved", func(t *testing.T) {
		scope := kerneltest.Delegate(t, base, "shared.scope", delegatedUID, kerneltest.DelegatedFiles)
		other := exec.Command("sleep", "1000")
		assert.NilError(t, kerneltest.StartAs(other, scope, delegatedUID))
		t.Cleanup(func() { _ = other.Process.Kill(); _ = other.Wait() })
		out, _, err := runDelegatedChild(t, scope)
		for _, want := range []string{"--- SKIP: TestVMDelegatedUser", "pid " + itoa(other.Process.Pid) + " (sleep", cgroupfs.DelegateCommand} {
			assert.Check(t, is.Contains(out, want), "the child's output lacks %q (exit: %v):\n%s", want, err, out)
		}
		if got, want := kerneltest.CgroupOf(t, other.Process.Pid), strings.TrimPrefix(scope, mnt); got != want {
			t.Errorf("the other process was moved to %s, want it left in %s", got, want)
		}
		if left := childDirs(t, scope); len(left) != 0 {
			t.Errorf("%s holds %q after the test, want nothing (no leaf: the test process did not move)", scope, left)
		}
		if got := readFields(t, filepath.Join(scope, "cgroup.subtree_control")); len(got) != 0 {
			t.Errorf("%s/cgroup.subtree_control = %q, want it untouched (empty)", scope, got)
		}
	})

	t.Run("half delegated: refused with the reason", func(t *testing.T) {
		scope := kerneltest.Delegate(t, base, "half.scope", delegatedUID, []string{"cgroup.procs", "cgroup.threads"})
		out, _, err := runDelegatedChild(t, scope)
		for _, want := range []string{"--- SKIP: TestVMDelegatedUser", scope + "/cgroup.subtree_control", "owned by uid 0", cgroupfs.DelegateCommand} {
			assert.Check(t, is.Contains(out, want), "the child's output lacks %q (exit: %v):\n%s", want, err, out)
		}
		if left := childDirs(t, scope); len(left) != 0 {
			t.Errorf("%s holds %q after the test, want nothing", scope, left)
		}
	})
}

// readmeTest is the README's "A test using it", with its outcome checked;
// TestVMDelegatedUser runs it as an unprivileged user.
func readmeTest(t *testing.T) {
	// Registered first, so it runs after every teardown of the test.
	var root string
	var pid int
	t.Cleanup(func() {
		if root == "" {
			return
		}
		if _, err := os.Stat(root); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the per-test root %s is left after teardown: %v", root, err)
		}
		assert.Check(t, is.ErrorIs(unix.Kill(pid, 0), unix.ESRCH), "the worker (pid %d) survived teardown", pid)
	})
	ops := cgtest.Root(t, cgtest.RequireControllers("cpuset"))
	g := cgtest.NewGroup(t, ops, cgtest.Strict())
	assert.NilError(t, g.AddCgroup("cg_0", cgroupfs.NewCPUSet(0)))
	worker := exec.Command("sleep", "60")
	assert.NilError(t, g.Start("cg_0", worker))
	status, err := os.ReadFile("/proc/" + itoa(worker.Process.Pid) + "/status")
	assert.NilError(t, err)
	assert.Check(t, is.Contains(string(status), "Cpus_allowed_list:\t0\n"), "the worker may run beyond CPU 0:\n%s", status)
	mnt, _ := cgroupfs.Mountpoint()
	if got, want := kerneltest.CgroupOf(t, worker.Process.Pid), strings.TrimPrefix(filepath.Join(ops.ParentPath(), "cg_0"), mnt); got != want {
		t.Errorf("the worker is in %s, want %s", got, want)
	}
	self, err := cgtest.Self()
	assert.NilError(t, err)
	if got := filepath.Base(kerneltest.CgroupOf(t, os.Getpid())); got != cgtest.LeafName(self) {
		t.Errorf("the test process is in %s, want its leaf %s", got, cgtest.LeafName(self))
	}
	root, pid = ops.ParentPath(), worker.Process.Pid
}

// runDelegatedChild runs this test binary's TestVMDelegatedUser as
// delegatedUID inside scope, and returns its output and pid.
func runDelegatedChild(t *testing.T, scope string) (out string, pid int, err error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestVMDelegatedUser$", "-test.v", "-test.count=1")
	// The child's skips are what two of the cases check for: the strict
	// switch, which CI sets, would make them failures.
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, cgtest.NoSkipEnv+"=") })
	cmd.Env = append(env, delegatedChildEnv+"=1")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	assert.NilError(t, kerneltest.StartAs(cmd, scope, delegatedUID))
	err = cmd.Wait()
	t.Logf("the test as uid %d in %s (%v):\n%s", delegatedUID, scope, err, buf.String())
	return buf.String(), cmd.Process.Pid, err
}

// readFields returns the whitespace-separated fields of file.
func readFields(t *testing.T, file string) []string {
	t.Helper()
	data, err := os.ReadFile(file)
	assert.NilError(t, err)
	return strings.Fields(string(data))
}

// childDirs returns the names of the child cgroups of dir.
func childDirs(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	assert.NilError(t, err)
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	a, b = slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b))
	return slices.Equal(a, b)
}

// The leaf that holds the test process in a delegated cgroup carries its
// owner like a per-test root, so a sweep tells a live run's from a dead
// one's.
func ExampleLeafName() {
	leaf := cgtest.LeafName(cgtest.Owner{PID: 4242, StartTime: 987654})
	owner, ok := cgtest.ParseRootName(leaf)
	fmt.Println(leaf)
	fmt.Println(owner.PID, owner.StartTime, ok)
	// Output:
	// cgguard-4242-987654-leaf-0
	// 4242 987654 true
}
