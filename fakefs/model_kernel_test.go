package fakefs_test

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgroupfs/cgroupfstest"
	"github.com/cgguard/cgguard/fakefs"
)

// side is one of the two systems a random run drives: the kernel or the
// fake, each with its tasks. slots[i] is the pid of the i-th spawned
// task on this side (0 once killed).
type side struct {
	name  string
	fsys  cgroupfs.FS
	tasks cgroupfstest.Tasks
	slots []int
}

func errnoName(err error) string {
	if err == nil {
		return "ok"
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		return e.Error()
	}
	return err.Error()
}

// join names file in the cgroup p ("." is the root).
func join(p, file string) string {
	if p == "." {
		return file
	}
	return p + "/" + file
}

// subFS is the fake seen from its cgroup dir, as cgroupfs.Open(dir)
// sees the kernel: every name is taken relative to dir.
type subFS struct {
	*fakefs.FS
	dir string
}

func (s subFS) path(name string) string {
	if name == "." {
		return s.dir
	}
	return s.dir + "/" + name
}

func (s subFS) Mkdir(name string) error { return s.FS.Mkdir(s.path(name)) }
func (s subFS) Rmdir(name string) error { return s.FS.Rmdir(s.path(name)) }
func (s subFS) ReadFile(name string) ([]byte, error) {
	return s.FS.ReadFile(s.path(name))
}
func (s subFS) WriteFile(name string, data []byte) error {
	return s.FS.WriteFile(s.path(name), data)
}
func (s subFS) ReadDir(name string) ([]fs.DirEntry, error) { return s.FS.ReadDir(s.path(name)) }
func (s subFS) Watch(name string) (cgroupfs.Watcher, error) {
	return s.FS.Watch(s.path(name))
}
func (s subFS) Spawn(name string) (int, error) { return s.FS.Spawn(s.path(name)) }

// modelPaths are the cgroups random operations act on.
var modelPaths = []string{"a", "b", "a/x", "a/y", "a/x/z", "b/w"}

// TestRandomOpsMatchKernel drives the kernel and a fake offering the same
// controllers through the same random sequences of operations (mkdir,
// rmdir, subtree_control, cgroup.type, limits, freeze, cpusets,
// cgroup.kill, tasks spawned, moved and killed) and compares every errno
// and, after every operation, the state of every cgroup. It never spawns
// into a cgroup written cgroup.kill (on 6.18 such a task dies at once: a
// kernel bug the fake does not copy) or a frozen one (the child would
// freeze before exec), and leaves out cgroup.threads moves (a real
// process has several threads).
func TestRandomOpsMatchKernel(t *testing.T) {
	kfs, ctrls, opts := kernelTwin(t)
	ktasks := cgroupfstest.NewProcessTasks(kfs)
	t.Cleanup(func() { _ = ktasks.Close() })
	seeds := []uint64{1, 2, 3, 4, 5}
	steps := 150
	if testing.Short() {
		seeds, steps = seeds[:1], 50
	}
	for _, seed := range seeds {
		// The fake side is a child cgroup of the fake's root, as the
		// kernel side is a child of the kernel's: the root is exempt
		// from rules a child obeys.
		sub := fakeBase(t, opts, ctrls)
		// Cgroups written cgroup.kill (and their descendants then): on
		// 6.18 a task spawned into them later dies at once, a kernel bug
		// the fake does not copy, so the run spawns elsewhere.
		poisoned := map[string]bool{}
		k := &side{name: "kernel", fsys: kfs, tasks: ktasks}
		f := &side{name: "fake", fsys: sub, tasks: sub}
		rng := rand.New(rand.NewPCG(seed, 0))
		var trace []string
		for step := range steps {
			op, run := randomOp(rng, ctrls, f, poisoned)
			kerr, ferr := run(k), run(f)
			trace = append(trace, fmt.Sprintf("%s: kernel %s, fake %s", op, errnoName(kerr), errnoName(ferr)))
			if errnoName(kerr) != errnoName(ferr) {
				t.Errorf("seed %d step %d: %s: kernel %v, fake %v\n%s", seed, step, op, kerr, ferr, strings.Join(trace, "\n"))
				break
			}
			if diff := compareState(k, f); diff != "" {
				t.Errorf("seed %d step %d: after %s the state differs:\n%s\ntrace:\n%s", seed, step, op, diff, strings.Join(trace, "\n"))
				break
			}
		}
		ok := 0
		for _, line := range trace {
			if strings.HasSuffix(line, "kernel ok, fake ok") {
				ok++
			}
		}
		t.Logf("seed %d: %d operations (%d succeeded on both), %d tasks spawned, state equal after each", seed, len(trace), ok, len(k.slots))
		resetSide(t, k)
	}
}

// randomOp picks an operation; it returns its description and a function
// applying it to one side.
func randomOp(rng *rand.Rand, ctrls []string, f *side, poisoned map[string]bool) (string, func(*side) error) {
	p := modelPaths[rng.IntN(len(modelPaths))]
	write := func(file, data string) (string, func(*side) error) {
		file = strings.TrimPrefix(file, "./")
		return fmt.Sprintf("write %q to %s", data, file), func(s *side) error { return s.fsys.WriteFile(file, []byte(data)) }
	}
	pick := func(list ...string) string { return list[rng.IntN(len(list))] }
	ctrl := pick(append([]string{"cpuset", "memory"}, ctrls...)...)
	switch rng.IntN(14) {
	case 12, 13:
		// Any knob the fake lists for p, with any input: the list comes
		// from the fake, so a knob it adds is driven too.
		entries, err := f.fsys.ReadDir(p)
		var knobs []string
		for _, e := range entries {
			info, ierr := e.Info()
			if err == nil && ierr == nil && info.Mode().Perm()&0o200 != 0 && !slices.Contains(driven, e.Name()) {
				knobs = append(knobs, e.Name())
			}
		}
		if len(knobs) == 0 {
			return "mkdir " + p, func(s *side) error { return s.fsys.Mkdir(p) }
		}
		inputs := append(slices.Clone(trickyInputs), knobInputs...)
		return write(p+"/"+pick(knobs...), pick(inputs...))
	case 0, 1:
		return "mkdir " + p, func(s *side) error { return s.fsys.Mkdir(p) }
	case 2:
		return "rmdir " + p, func(s *side) error {
			err := s.fsys.Rmdir(p)
			if err == nil && s == f {
				delete(poisoned, p) // made again, it is a new cgroup
			}
			return err
		}
	case 3:
		return write(pick(p, ".")+"/cgroup.subtree_control", pick("+", "-")+ctrl)
	case 4:
		return write(p+"/cgroup.type", "threaded")
	case 5:
		return write(p+"/"+pick("cgroup.max.depth", "cgroup.max.descendants"), pick("0", "1", "max"))
	case 6:
		return write(p+"/cgroup.freeze", pick("0", "1"))
	case 7:
		return write(p+"/"+pick("cpuset.cpus", "cpuset.mems"), pick("0", "1", "0-1", "\n", "5"))
	case 8, 9:
		if events, err := f.fsys.ReadFile(p + "/cgroup.events"); err == nil && strings.Contains(string(events), "frozen 1") {
			return write(p+"/cgroup.freeze", "0")
		}
		if poisoned[p] {
			return killOp(p, f, poisoned)
		}
		return "spawn into " + p, func(s *side) error {
			pid, err := s.tasks.Spawn(p)
			if err == nil {
				s.slots = append(s.slots, pid)
			}
			return err
		}
	case 10:
		if rng.IntN(4) == 0 {
			return killOp(p, f, poisoned)
		}
		slot := rng.IntN(len(f.slots) + 1)
		return fmt.Sprintf("move task %d to %s", slot, p), func(s *side) error {
			pid := 2147483647 // no such task
			if slot < len(s.slots) && s.slots[slot] != 0 {
				pid = s.slots[slot]
			}
			return s.fsys.WriteFile(p+"/cgroup.procs", []byte(strconv.Itoa(pid)))
		}
	default:
		slot := rng.IntN(len(f.slots) + 1)
		return fmt.Sprintf("kill task %d", slot), func(s *side) error {
			if slot >= len(s.slots) || s.slots[slot] == 0 {
				return nil
			}
			pid := s.slots[slot]
			s.slots[slot] = 0
			return s.tasks.Kill(pid)
		}
	}
}

// driven are the files randomOp writes by their own rules: pids of the
// run's tasks, cgroup.kill, which it follows with reaping.
var driven = []string{"cgroup.procs", "cgroup.threads", "cgroup.kill"}

// killOp writes "1" to p's cgroup.kill. The killed tasks are then
// reaped on the kernel (a zombie's pid can still be written to
// cgroup.procs there, the fake's is gone) and forgotten on both sides.
func killOp(p string, f *side, poisoned map[string]bool) (string, func(*side) error) {
	return "write \"1\" to " + p + "/cgroup.kill", func(s *side) error {
		victims := slotsUnder(s, p)
		err := s.fsys.WriteFile(p+"/cgroup.kill", []byte("1"))
		if err != nil {
			return err
		}
		for _, slot := range victims {
			if s != f {
				_ = s.tasks.Kill(s.slots[slot]) // reap; it is dead already
			}
			s.slots[slot] = 0
		}
		if s == f {
			for _, q := range modelPaths {
				if q == p || strings.HasPrefix(q, p+"/") {
					if _, err := f.fsys.ReadDir(q); err == nil {
						poisoned[q] = true
					}
				}
			}
		}
		return nil
	}
}

// slotsUnder returns the live slots whose main thread is in p or below.
func slotsUnder(s *side, p string) []int {
	var out []int
	for _, q := range modelPaths {
		if q != p && !strings.HasPrefix(q, p+"/") {
			continue
		}
		data, err := s.fsys.ReadFile(q + "/cgroup.threads")
		if err != nil {
			continue
		}
		for _, field := range strings.Fields(string(data)) {
			pid, _ := strconv.Atoi(field)
			if i := slices.Index(s.slots, pid); i >= 0 && pid != 0 && !slices.Contains(out, i) {
				out = append(out, i)
			}
		}
	}
	return out
}

// compareState compares every modelled cgroup on both sides; it returns
// "" when they agree. cgroup.events may lag on the kernel (tasks freeze
// asynchronously), so it is awaited.
func compareState(k, f *side) string {
	var diffs []string
	for _, p := range append([]string{"."}, modelPaths...) {
		kn, kerr := fileNames(k.fsys, p)
		fn, ferr := fileNames(f.fsys, p)
		if errnoName(kerr) != errnoName(ferr) {
			diffs = append(diffs, fmt.Sprintf("readdir %s: kernel %v, fake %v", p, kerr, ferr))
			continue
		}
		if kerr != nil {
			continue
		}
		if !slices.Equal(kn, fn) {
			diffs = append(diffs, fmt.Sprintf("files of %s: kernel %v, fake %v", p, kn, fn))
		}
		for _, file := range fn {
			if statLike(file) || file == "cgroup.procs" || file == "cgroup.threads" || file == "cgroup.events" {
				continue // compared below, or activity
			}
			kd, kerr := k.fsys.ReadFile(join(p, file))
			fd, ferr := f.fsys.ReadFile(join(p, file))
			if comparable(file, kd) != comparable(file, fd) || errnoName(kerr) != errnoName(ferr) {
				diffs = append(diffs, fmt.Sprintf("%s/%s: kernel %q (%s), fake %q (%s)", p, file, kd, errnoName(kerr), fd, errnoName(ferr)))
			}
		}
		{
			want, _ := f.fsys.ReadFile(join(p, "cgroup.events"))
			if got := awaitContent(k.fsys, join(p, "cgroup.events"), string(want)); got != string(want) {
				diffs = append(diffs, fmt.Sprintf("%s/cgroup.events: kernel %q, fake %q", p, got, want))
			}
		}
		ks, kerr := slotsIn(k, p)
		fs, ferr := slotsIn(f, p)
		if !slices.Equal(ks, fs) || errnoName(kerr) != errnoName(ferr) {
			diffs = append(diffs, fmt.Sprintf("tasks of %s: kernel %v (%s), fake %v (%s)", p, ks, errnoName(kerr), fs, errnoName(ferr)))
		}
	}
	return strings.Join(diffs, "\n")
}

func fileNames(fsys cgroupfs.FS, dir string) ([]string, error) {
	entries, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out, nil
}

// slotsIn returns the slots whose processes cgroup.procs of p lists,
// sorted (the listing order of a thread root is the kernel's business).
func slotsIn(s *side, p string) ([]int, error) {
	data, err := s.fsys.ReadFile(join(p, "cgroup.procs"))
	if err != nil {
		return nil, err
	}
	var out []int
	for _, field := range strings.Fields(string(data)) {
		pid, _ := strconv.Atoi(field)
		if i := slices.Index(s.slots, pid); i >= 0 && pid != 0 {
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return out, nil
}

// awaitContent reads name until it holds want, watching it, for at most
// five seconds; it returns the last content read.
func awaitContent(fsys cgroupfs.FS, name, want string) string {
	w, err := fsys.Watch(name)
	if err != nil {
		data, _ := fsys.ReadFile(name)
		return string(data)
	}
	defer w.Close()
	deadline := time.After(5 * time.Second)
	for {
		data, err := fsys.ReadFile(name)
		if err != nil || string(data) == want {
			return string(data)
		}
		select {
		case <-w.Events():
		case <-deadline:
			return string(data)
		}
	}
}

// resetSide kills every task and removes every modelled cgroup, so the
// next seed starts from an empty test cgroup.
func resetSide(t *testing.T, s *side) {
	t.Helper()
	for i, pid := range s.slots {
		if pid != 0 {
			_ = s.tasks.Kill(pid)
			s.slots[i] = 0
		}
	}
	for _, p := range slices.Backward(modelPaths) {
		_ = s.fsys.WriteFile(p+"/cgroup.freeze", []byte("0"))
		if err := s.fsys.Rmdir(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("reset: rmdir %s: %v", p, err)
		}
	}
	data, _ := s.fsys.ReadFile("cgroup.subtree_control")
	for _, c := range slices.Backward(strings.Fields(string(data))) {
		_ = s.fsys.WriteFile("cgroup.subtree_control", []byte("-"+c))
	}
}
