package fakefs_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/fakefs"
	"github.com/cgguard/cgguard/internal/kerneltest"
)

// partitionTree is the small tree the random partition sequences work
// on, relative to the test cgroup ("."), whose parent is the hierarchy
// root; parents come before their children.
var partitionTree = []string{".", "a", "b", "a/c", "a/d"}

// partitionSeeds seed the random partition sequences; each gives
// partitionSteps steps.
var partitionSeeds = []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}

const partitionSteps = 150

// partitionStepper draws random steps on partitionTree: mkdir (with
// cpuset offered to the new cgroup's children) and rmdir, and writes of
// cpuset.cpus, cpuset.cpus.exclusive (when exclusive: 6.12 and later)
// and cpuset.cpus.partition, with CPU lists drawn from cpus. Steps are
// "mkdir <cgroup>", "rmdir <cgroup>" or "w <file> <data>".
type partitionStepper struct {
	r         *rand.Rand
	cpus      []int
	exclusive bool
}

func newPartitionStepper(seed uint64, cpus cgroupfs.CPUSet, exclusive bool) *partitionStepper {
	return &partitionStepper{r: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)), cpus: cpus.IDs(), exclusive: exclusive}
}

func (s *partitionStepper) cpuList() string {
	var pick []int
	for _, id := range s.cpus {
		if s.r.IntN(2) == 0 {
			pick = append(pick, id)
		}
	}
	if len(pick) == 0 {
		return "\n" // the empty list: an empty write is not one
	}
	return cgroupfs.NewCPUSet(pick...).String()
}

// next returns the next step. avoid reports whether the cpuset.cpus of
// a cgroup must not be emptied (see TestPartitionSequencesMatchKernel):
// such a write is drawn again.
func (s *partitionStepper) next(avoid func(dir string) bool) string {
	for {
		dir := partitionTree[s.r.IntN(len(partitionTree))]
		switch k := s.r.IntN(10); {
		case k == 0 && dir != ".":
			return "mkdir " + dir
		case k == 1 && dir != ".":
			return "rmdir " + dir
		case k < 5:
			if l := s.cpuList(); l != "\n" || !avoid(dir) {
				return "w " + join(dir, "cpuset.cpus") + " " + l
			}
		case k < 7 && s.exclusive:
			return "w " + join(dir, "cpuset.cpus.exclusive") + " " + s.cpuList()
		case k >= 7:
			return "w " + join(dir, "cpuset.cpus.partition") + " " + []string{"root", "isolated", "member"}[s.r.IntN(3)]
		}
	}
}

// runPartitionStep runs one step on fsys. A mkdir also offers cpuset
// to the new cgroup's children, so the tree has cpuset all the way down.
func runPartitionStep(fsys cgroupfs.FS, step string) error {
	op, arg, _ := strings.Cut(step, " ")
	switch op {
	case "mkdir":
		if err := fsys.Mkdir(arg); err != nil {
			return err
		}
		return fsys.WriteFile(join(arg, "cgroup.subtree_control"), []byte("+cpuset"))
	case "rmdir":
		return fsys.Rmdir(arg)
	}
	file, data, _ := strings.Cut(arg, " ")
	return fsys.WriteFile(file, []byte(data))
}

// partitionFiles are the cpuset files read after every step.
var partitionFiles = []string{"cpuset.cpus", "cpuset.cpus.effective", "cpuset.cpus.partition", "cpuset.cpus.exclusive", "cpuset.cpus.exclusive.effective"}

// partitionState reads the cpuset files of every cgroup of
// partitionTree in fsys, and the hierarchy root's effective and
// isolated CPUs through readRoot.
func partitionState(fsys cgroupfs.FS, readRoot func(string) ([]byte, error)) string {
	var b strings.Builder
	for _, f := range []string{"cpuset.cpus.effective", "cpuset.cpus.isolated"} {
		if data, err := readRoot(f); err == nil {
			fmt.Fprintf(&b, "/%s=%s ", f, strings.TrimSpace(string(data)))
		}
	}
	for _, dir := range partitionTree {
		for _, f := range partitionFiles {
			if data, err := fsys.ReadFile(join(dir, f)); err == nil {
				fmt.Fprintf(&b, "%s=%s ", join(dir, f), strings.TrimSpace(string(data)))
			}
		}
	}
	return strings.TrimSpace(b.String())
}

// partitionAnswer is what a kernel answered to one step of a sequence:
// the errno of the step and the state after it.
type partitionAnswer struct {
	step, errno, state string
}

// partitionSequence is a recorded run of one seed's sequence.
type partitionSequence struct {
	seed    uint64
	answers []partitionAnswer
}

// comparePartitions replays seq's steps on ffs (a fake of the
// recording's kernel and machine, with cpuset offered to the test
// cgroup's children) and returns how many steps the fake answers
// differently. It reports the first difference with the steps before it.
func comparePartitions(t *testing.T, ffs subFS, seq partitionSequence) int {
	t.Helper()
	differ := 0
	for i, a := range seq.answers {
		ferr := runPartitionStep(ffs, a.step)
		fstate := partitionState(ffs, ffs.FS.ReadFile)
		if errnoName(ferr) == a.errno && fstate == a.state {
			continue
		}
		differ++
		if differ == 1 {
			var hist strings.Builder
			for _, p := range seq.answers[max(0, i-12):i] {
				fmt.Fprintf(&hist, "\t%q => %s\n", p.step, p.errno)
			}
			t.Errorf("seed %d, step %d %q after (the last steps)\n%skernel %s: %s\nfake   %s: %s", seq.seed, i, a.step, hist.String(), a.errno, a.state, errnoName(ferr), fstate)
		}
	}
	return differ
}

// TestPartitionSequencesMatchKernel runs random sequences of cpuset
// partition changes (randomPartitionSteps: CPUs, exclusive CPUs and
// partition types on a small tree, cgroups made and removed) on the
// kernel and on the fake of the same kernel and machine, and compares
// after every step the errno and every cpuset file of the tree and of
// the hierarchy root. With CGGUARD_RECORD=1 it prints the kernel's
// answers in the format of testdata/kernel/partitions/*.txt, which
// TestRecordedPartitionSequences replays on any host:
//
//	CGGUARD_RECORD=1 CGVM_PASSENV=CGGUARD_RECORD CGVM_KERNEL=<version> \
//	  go test -count=1 -v -run TestPartitionSequencesMatchKernel -exec "$(go env GOPATH)/bin/cgvm" ./fakefs |
//	  grep -E '^(PKERNEL|PMACHINE|PSEED|P) ' > fakefs/testdata/kernel/partitions/<version>.txt
//
// It needs the cpuset controller with at least two CPUs (the VM).
func TestPartitionSequencesMatchKernel(t *testing.T) {
	kfs, ctrls, opts := kernelTwin(t)
	if !slices.Contains(ctrls, "cpuset") {
		t.Skip("needs the cpuset controller on cgroup v2 (run in the VM: go test -exec cgvm)")
	}
	mnt, err := kerneltest.Mountpoint()
	if err != nil {
		t.Fatal(err)
	}
	readRoot := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(mnt, name)) }
	data, err := readRoot("cpuset.cpus.effective")
	if err != nil {
		t.Fatal(err)
	}
	cpus, err := cgroupfs.ParseCPUSet(string(data))
	if err != nil || len(cpus.IDs()) < 2 {
		t.Skipf("needs at least two CPUs; this machine has %q", data)
	}
	if err := kfs.WriteFile("cgroup.subtree_control", []byte("+cpuset")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, dir := range slices.Backward(partitionTree) {
			_ = kfs.WriteFile(join(dir, "cpuset.cpus.partition"), []byte("member"))
			if dir != "." {
				_ = kfs.Rmdir(dir)
			}
		}
		_ = kfs.WriteFile("cgroup.subtree_control", []byte("-cpuset"))
	})
	_, exErr := kfs.ReadFile("cpuset.cpus.exclusive")
	exclusive := exErr == nil
	release := kerneltest.ThisMachine(t).Release
	// The sequences never empty the cpuset.cpus of a cgroup that may be
	// CPU-exclusive. 6.1 loses CPUs for good when a valid partition's
	// cpuset.cpus is emptied: the partition stays valid with no CPUs,
	// and the CPUs its parent lent it come back neither then nor when
	// it ends (the hierarchy root read 1 instead of 0-1 for the rest of
	// the boot, so the VM's later tests would not see all its CPUs).
	// 6.12 answers EBUSY or not depending on the deadline bandwidth its
	// sched domain rebuilds left in a root domain (dl_cpuset_cpumask_can_shrink),
	// which the fake does not follow.
	avoid := func(dir string) bool {
		data, err := kfs.ReadFile(join(dir, "cpuset.cpus.partition"))
		p := strings.TrimSpace(string(data))
		if err != nil || p == "member" {
			if ex, err := kfs.ReadFile(join(dir, "cpuset.cpus.exclusive")); err == nil && strings.TrimSpace(string(ex)) != "" {
				return true
			}
			return false
		}
		return exclusive || p == "root" || p == "isolated"
	}
	record := os.Getenv(recordEnv) != ""
	if record {
		fmt.Printf("PKERNEL %s\nPMACHINE cpus=%s\n", release, cpus)
	}
	total, differ := 0, 0
	for _, seed := range partitionSeeds {
		rootCPUs := func(fsys cgroupfs.FS) string {
			data, _ := readRoot("cpuset.cpus.effective")
			return strings.TrimSpace(string(data))
		}
		if got := settle(kfs, rootCPUs, cpus.String()); got != cpus.String() {
			t.Fatalf("the hierarchy root's effective CPUs are %q, not %s: the kernel lost CPUs to an earlier sequence", got, cpus)
		}
		seq := partitionSequence{seed: seed}
		steps := newPartitionStepper(seed, cpus, exclusive)
		oracle := partitionFake(t, opts, ctrls)
		for range partitionSteps {
			step := steps.next(avoid)
			err := runPartitionStep(kfs, step)
			if err == nil && strings.HasPrefix(step, "rmdir ") {
				waitReleased(t, kfs)
			}
			state := partitionState(kfs, readRoot)
			_ = runPartitionStep(oracle, step)
			if err == nil && strings.HasPrefix(step, "rmdir ") {
				// The kernel ends a removed cgroup's cpuset after rmdir
				// returns (cpuset_css_offline runs from a workqueue on
				// 6.1): its partition changes show a moment later.
				state = settle(kfs, func(fsys cgroupfs.FS) string { return partitionState(fsys, readRoot) }, partitionState(oracle, oracle.FS.ReadFile))
			}
			seq.answers = append(seq.answers, partitionAnswer{step, errnoName(err), state})
		}
		if record {
			fmt.Printf("PSEED %d\n", seed)
			for _, a := range seq.answers {
				fmt.Printf("P %q => %s | %s\n", a.step, a.errno, a.state)
			}
		}
		// Back to an empty tree for the next seed.
		for _, dir := range slices.Backward(partitionTree) {
			_ = kfs.WriteFile(join(dir, "cpuset.cpus.partition"), []byte("member"))
			if dir != "." {
				_ = kfs.Rmdir(dir)
			}
		}
		waitReleased(t, kfs)
		for _, f := range []string{"cpuset.cpus.exclusive", "cpuset.cpus"} {
			_ = kfs.WriteFile(f, []byte("\n"))
		}
		total += len(seq.answers)
		differ += comparePartitions(t, partitionFake(t, opts, ctrls), seq)
	}
	t.Logf("kernel %s: %d of %d steps differ", release, differ, total)
}

// partitionFake returns a fake of the kernel and machine of opts whose
// test cgroup offers cpuset to its children, as the sequences start.
func partitionFake(t *testing.T, opts []fakefs.Option, ctrls []string) subFS {
	t.Helper()
	ffs := fakeBase(t, opts, ctrls)
	if err := ffs.WriteFile("cgroup.subtree_control", []byte("+cpuset")); err != nil {
		t.Fatal(err)
	}
	return ffs
}

// waitReleased waits until fsys's root has no dying descendants
// (cgroup.stat's nr_dying_descendants is 0). A cgroup is released only
// after every controller's state of it went offline, so the cpuset
// changes of a removal are all in by then: on 6.1 cpuset_css_offline
// runs from a workqueue after rmdir returned, and one that landed after
// the next step's write made a run differ from the fake (10 of 1800
// steps, .ci/run with two CPU hogs), where settle alone saw nothing
// left to wait for.
func waitReleased(t *testing.T, fsys cgroupfs.FS) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		data, err := fsys.ReadFile("cgroup.stat")
		if err != nil {
			t.Fatal(err)
		}
		dying := ""
		for line := range strings.Lines(string(data)) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "nr_dying_descendants "); ok {
				dying = v
			}
		}
		if dying == "0" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("removed cgroups still dying after 30 s (cgroup.stat: %q)", data)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// settle reads read(fsys) again until it gives want, for at most 30s
// (the kernel finishes some changes after the call that made them
// returns), and returns the last read: the caller compares it.
func settle(fsys cgroupfs.FS, read func(cgroupfs.FS) string, want string) string {
	got := read(fsys)
	for deadline := time.Now().Add(30 * time.Second); got != want && time.Now().Before(deadline); got = read(fsys) {
		time.Sleep(10 * time.Millisecond)
	}
	return got
}

// TestRecordedPartitionSequences replays the kernels' recorded answers
// to the random partition sequences (testdata/kernel/partitions/*.txt,
// printed by TestPartitionSequencesMatchKernel with CGGUARD_RECORD=1 in
// the VM) on the fake of the same version and machine.
func TestRecordedPartitionSequences(t *testing.T) {
	paths, err := filepath.Glob("testdata/kernel/partitions/*.txt")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no recordings in testdata/kernel/partitions: %v", err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			release, cpus, seqs := readPartitionRecording(t, path)
			total, differ := 0, 0
			for _, seq := range seqs {
				total += len(seq.answers)
				differ += comparePartitions(t, partitionFake(t, []fakefs.Option{fakefs.WithKernel(release), fakefs.WithCPUs(cpus)}, []string{"cpuset"}), seq)
			}
			if total == 0 {
				t.Fatalf("%s holds no steps", path)
			}
			t.Logf("kernel %s: %d of %d steps differ", release, differ, total)
		})
	}
}

// readPartitionRecording parses a recording of
// TestPartitionSequencesMatchKernel.
func readPartitionRecording(t *testing.T, path string) (release string, cpus cgroupfs.CPUSet, seqs []partitionSequence) {
	t.Helper()
	sc := scanRecording(t, path)
	for sc.Scan() {
		line := sc.Text()
		switch key, rest, _ := strings.Cut(line, " "); key {
		case "PKERNEL":
			release = rest
		case "PMACHINE":
			var err error
			if cpus, err = cgroupfs.ParseCPUSet(strings.TrimPrefix(rest, "cpus=")); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
		case "PSEED":
			seed, err := strconv.ParseUint(rest, 10, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			seqs = append(seqs, partitionSequence{seed: seed})
		case "P":
			quoted, err := strconv.QuotedPrefix(rest)
			if err != nil || len(seqs) == 0 {
				t.Fatalf("%s: not a step of a sequence: %v", line, err)
			}
			step, _ := strconv.Unquote(quoted)
			errno, state, ok := strings.Cut(strings.TrimPrefix(rest[len(quoted):], " => "), " | ")
			if !ok {
				t.Fatalf("%s: no state", line)
			}
			s := &seqs[len(seqs)-1]
			s.answers = append(s.answers, partitionAnswer{step, errno, state})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return release, cpus, seqs
}
