package cgtest_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/fakefs"
	"github.com/cgguard/cgguard/internal/kerneltest"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
)

// parallelSubtests is how many subtests run side by side. Run with
// -parallel 32 (or more) to have them all at once; the default
// (GOMAXPROCS) runs them a few at a time.
const parallelSubtests = 32

// peak tracks how many subtests run at once. Its rendezvous holds the
// first subtests until as many as may run at once (-parallel, at most
// parallelSubtests) have arrived, so that they do overlap, however fast
// each one is; later ones pass straight through.
type peak struct {
	now, max, arrived atomic.Int64
	once              sync.Once
	all               chan struct{}
}

func newPeak() *peak { return &peak{all: make(chan struct{})} }

// target is how many subtests the rendezvous waits for.
func target() int64 {
	n := int64(parallelSubtests)
	if f := flag.Lookup("test.parallel"); f != nil {
		if p, err := strconv.ParseInt(f.Value.String(), 10, 64); err == nil && p < n {
			n = p
		}
	}
	return n
}

// rendezvous blocks until target subtests have called it.
func (p *peak) rendezvous() {
	if p.arrived.Add(1) >= target() {
		p.once.Do(func() { close(p.all) })
	}
	<-p.all
}

// check fails the test unless the rendezvous saw target subtests at once.
func (p *peak) check(t *testing.T) {
	t.Helper()
	if got, want := p.max.Load(), target(); got < want {
		t.Errorf("at most %d subtests ran at once, want %d", got, want)
	}
}

func (p *peak) enter() {
	n := p.now.Add(1)
	for {
		m := p.max.Load()
		if n <= m || p.max.CompareAndSwap(m, n) {
			return
		}
	}
}

func (p *peak) leave() { p.now.Add(-1) }

// parallelLayout is what each subtest makes: nested cgroups, a cpuset
// (where the cpuset controller is there), a name shared by every
// subtest (so that only the root keeps them apart).
func parallelLayout(i int, cpuset bool) cgtest.Layout {
	var cpus cgroupfs.CPUSet
	if cpuset {
		cpus = cgroupfs.NewCPUSet(i % 2)
	}
	return cgtest.Layout{
		{Name: "work/a", CPUs: cpus},
		{Name: "work/b"},
		{Name: "same"},
		{Name: fmt.Sprintf("own-%d/deep/er", i)},
	}
}

// Many subtests share one fakefs, each with its own root (made by a
// guard of its own, like cgtest.Root) and its own group with tasks in
// it: no collision, no warning, and nothing left when they are done.
func TestParallelFakefs(t *testing.T) {
	fsys := fakefs.New()
	top := cgroupfs.NewManager(fsys, ".")
	p := newPeak()
	t.Run("group", func(t *testing.T) {
		for i := range parallelSubtests {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				p.enter()
				defer p.leave()
				// Deferred, so that a subtest that fails early still
				// arrives; the others meet with their cgroups made and
				// processes running.
				defer p.rendezvous()
				root := fmt.Sprintf("root-%d", i)
				guard := cgtest.NewGroup(t, top, cgtest.Strict())
				if err := guard.AddCgroupNoCpuset(root); err != nil {
					t.Fatal(err)
				}
				mgr := cgroupfs.NewManager(fsys, root)
				opts := []cgtest.Option{cgtest.Strict()}
				if i%3 == 0 {
					// Tasks drained to the root of the fake instead.
					opts = append(opts, cgtest.WithPolicy(cgtest.Drain))
				}
				g := cgtest.NewGroup(t, mgr, opts...)
				if err := g.Apply(parallelLayout(i, true)); err != nil {
					t.Fatal(err)
				}
				for _, c := range []string{"work/a", "work/b", "same"} {
					pid, err := fsys.Spawn(root + "/" + c)
					assert.NilError(t, err)
					// Some tasks take a while to exit after the kill.
					if i%2 == 0 {
						if err := fsys.SetLinger(pid, 2); err != nil {
							t.Fatal(err)
						}
					}
				}
				got, err := mgr.Children("work")
				assert.NilError(t, err)
				if diff := cmp.Diff([]string{"work/a", "work/b"}, got); diff != "" {
					t.Errorf("children of %s/work (-want +got):\n%s", root, diff)
				}
				if cpus, err := fsys.ReadFile(root + "/work/a/cpuset.cpus"); err != nil || strings.TrimSpace(string(cpus)) != fmt.Sprint(i%2) {
					t.Errorf("%s/work/a/cpuset.cpus = %q, %v; want %d: another subtest wrote it", root, cpus, err, i%2)
				}
			})
		}
	})
	if left := fsys.Snapshot().Paths(); len(left) != 0 {
		t.Errorf("left behind on the fake after %d parallel subtests: %q", parallelSubtests, left)
	}
	p.check(t)
	t.Logf("parallel fakefs: %d subtests, at most %d at once, nothing left", parallelSubtests, p.max.Load())
}

// Many subtests on the real kernel, each with its own per-test root
// (cgtest.Root) and group, real processes started in some: no
// collision, no leak (nothing left under the test's base cgroup, the
// base itself removed, every process reaped), no deadlock.
func TestParallelKernel(t *testing.T) {
	var baseDir string
	t.Cleanup(func() {
		// Registered before kernelBase's own cleanup, so it runs after
		// it: the base must be gone from the cgroup2 mount.
		if baseDir == "" {
			return
		}
		if _, err := os.Stat(baseDir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the test's base cgroup %s is still there: %v", baseDir, err)
		}
	})
	baseDir = kernelBase(t)
	mnt, err := cgroupfs.Mountpoint()
	assert.NilError(t, err)
	var (
		p     = newPeak()
		roots sync.Map // root path -> subtest
		mu    sync.Mutex
		cmds  []*exec.Cmd
	)
	t.Run("group", func(t *testing.T) {
		for i := range parallelSubtests {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				p.enter()
				defer p.leave()
				// Deferred, so that a subtest that fails early still
				// arrives; the others meet with their cgroups made and
				// processes running.
				defer p.rendezvous()
				mgr := cgtest.Root(t, cgtest.Under(baseDir))
				if prev, dup := roots.LoadOrStore(mgr.ParentPath(), i); dup {
					t.Errorf("subtests %v and %d got the same root %s", prev, i, mgr.ParentPath())
				}
				// A per-test root offers cpuset only if its base enables
				// it, which the host's hybrid cgroup v2 cannot and a VM
				// guest's root may not: ask the root itself.
				ctrls, err := os.ReadFile(filepath.Join(mgr.ParentPath(), "cgroup.controllers"))
				assert.NilError(t, err)
				cpusetHere := slices.Contains(strings.Fields(string(ctrls)), "cpuset")
				g := cgtest.NewGroup(t, mgr, cgtest.Strict())
				if err := g.Apply(parallelLayout(i, cpusetHere)); err != nil {
					t.Fatal(err)
				}
				var args []string
				switch i % 4 {
				case 0:
					args = []string{"sleep", "1000"}
				case 1:
					// A shell whose children outlive its own kill.
					args = []string{"sh", "-c", "sleep 1000 & sleep 1000 & wait"}
				}
				if args == nil {
					return
				}
				cmd := exec.Command(args[0], args[1:]...)
				if err := g.Start("work/a", cmd); err != nil {
					t.Fatal(err)
				}
				mu.Lock()
				cmds = append(cmds, cmd)
				mu.Unlock()
				want := strings.TrimPrefix(filepath.Join(mgr.ParentPath(), "work/a"), mnt)
				if got := kerneltest.CgroupOf(t, cmd.Process.Pid); got != want {
					t.Errorf("pid %d is in %s, want %s", cmd.Process.Pid, got, want)
				}
			})
		}
	})
	entries, err := os.ReadDir(baseDir)
	assert.NilError(t, err)
	for _, e := range entries {
		if e.IsDir() {
			t.Errorf("leak: %s/%s after the parallel subtests", baseDir, e.Name())
		}
	}
	n := 0
	roots.Range(func(any, any) bool { n++; return true })
	if n != parallelSubtests {
		t.Errorf("%d distinct per-test roots, want %d", n, parallelSubtests)
	}
	for _, cmd := range cmds {
		if cmd.ProcessState == nil {
			t.Errorf("pid %d (%v) was not reaped", cmd.Process.Pid, cmd.Args)
		} else if err := unix.Kill(cmd.Process.Pid, 0); !errors.Is(err, unix.ESRCH) {
			t.Errorf("pid %d (%v) survived: kill(0) = %v", cmd.Process.Pid, cmd.Args, err)
		}
	}
	p.check(t)
	t.Logf("parallel kernel: %d subtests, %d with real processes, at most %d at once, nothing left under %s",
		parallelSubtests, len(cmds), p.max.Load(), baseDir)
}
