// Package othermodule is a module of its own that uses cgguard the way a
// user's module does: it imports only cgguard's public packages, and its
// test is the README's, verbatim. cmd/cgvm's tests run it through the
// runner, where it must pass, not skip.
package othermodule

import (
	"os/exec"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/vmtest"
)

func TestScheduler(t *testing.T) {
	// This test's own parent cgroup, removed when the test ends; the test
	// skips with the exact reason where it cannot be made (no cgroup2, no
	// delegation, no cpuset on v2: use the VM runner below).
	ops := cgtest.Root(t, cgtest.RequireControllers("cpuset"))
	g := cgtest.NewGroup(t, ops)
	if err := g.AddCgroup("cg_0", cgroupfs.NewCPUSet(0)); err != nil {
		t.Fatal(err)
	}
	worker := exec.Command("sleep", "60")
	if err := g.Start("cg_0", worker); err != nil { // inside cg_0 from its first instruction
		t.Fatal(err)
	}
	// ... check what the scheduler does with the worker ...
}

// TestInGuest is the public check another module uses to know it runs in
// the runner's guest.
func TestInGuest(t *testing.T) {
	vmtest.SkipUnlessVM(t)
	if !vmtest.InVM() {
		t.Fatal("SkipUnlessVM did not skip, yet InVM is false")
	}
}
