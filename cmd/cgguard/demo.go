package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/fakefs"
	"golang.org/x/sys/unix"
)

// demoJSON is the demonstration part of doctor -json.
type demoJSON struct {
	// Backend is "kernel" or "fakefs".
	Backend string     `json:"backend"`
	Steps   []stepJSON `json:"steps"`
	// LeftBehind lists cgroups and processes still there after the
	// teardown: empty unless something went wrong.
	LeftBehind []string `json:"left_behind"`
	// Messages are what cgtest logged (warnings, skips).
	Messages []string `json:"messages,omitempty"`
	Error    string   `json:"error,omitempty"`
}

type stepJSON struct {
	Step   string        `json:"step"`
	Took   time.Duration `json:"took_ns"`
	Detail string        `json:"detail"`
}

// newDemoT returns the cgtest.T of a demonstration: what cgtest says is
// printed, indented under the steps, and the cleanups run at Finish.
func newDemoT(out io.Writer) *cgtest.Recorder {
	return &cgtest.Recorder{TestName: "doctor", Out: indent{out}}
}

// indent writes each message (one Write each) indented under the steps.
type indent struct{ w io.Writer }

func (i indent) Write(p []byte) (int, error) {
	if _, err := io.WriteString(i.w, "          "); err != nil {
		return 0, err
	}
	return i.w.Write(p)
}

// reported returns what t recorded, kind first, and whether any of it
// was an error or a skip.
func reported(t *cgtest.Recorder) (msgs []string, failed bool) {
	for _, m := range t.Logs() {
		msgs = append(msgs, "log: "+m)
	}
	for _, m := range t.Errors() {
		msgs = append(msgs, "error: "+m)
	}
	for _, m := range t.Skips() {
		msgs = append(msgs, "skip: "+m)
	}
	return msgs, len(t.Errors())+len(t.Skips()) > 0
}

// demo records and prints the steps of a demonstration.
type demo struct {
	out io.Writer
	res demoJSON
}

func (d *demo) step(name string, took time.Duration, format string, args ...any) {
	detail := fmt.Sprintf(format, args...)
	d.res.Steps = append(d.res.Steps, stepJSON{Step: name, Took: took, Detail: detail})
	fmt.Fprintf(d.out, "  %9v %-15s %s\n", took.Round(time.Microsecond), name, detail)
}

func (d *demo) fail(t *cgtest.Recorder, err error) demoJSON {
	t.Finish()
	d.res.Error = err.Error()
	d.res.Messages, _ = reported(t)
	fmt.Fprintf(d.out, "  FAILED: %v\n", err)
	return d.res
}

// demoKernel runs the demonstration on the real kernel, under
// caps.Parent, in a per-test root that Root names after this process
// (so that a sweep reclaims it should doctor be killed half way).
func demoKernel(out io.Writer, caps cgroupfs.Capabilities) demoJSON {
	fmt.Fprintf(out, "Demonstration on the real kernel, under %s\n", caps.Parent)
	d := &demo{out: out, res: demoJSON{Backend: "kernel", LeftBehind: []string{}}}
	t := newDemoT(out)
	defer t.Finish() // whatever happens, nothing is left

	start := time.Now()
	mgr := cgtest.Root(t, cgtest.Under(caps.Parent))
	if mgr == nil {
		return d.fail(t, errors.New("cgtest.Root could not make a per-test root (see above)"))
	}
	rootDir := mgr.ParentPath()
	d.step("per-test root", time.Since(start), "%s (cgtest.Root)", rootDir)

	g := cgtest.NewGroup(t, mgr, cgtest.Strict())
	start = time.Now()
	names := []string{"workers/w0", "workers/w1", "idle"}
	cpus := cpusetsFor(mgr)
	for _, n := range names {
		var err error
		if set, ok := cpus[n]; ok {
			err = g.AddCgroup(n, set)
		} else {
			err = g.AddCgroupNoCpuset(n)
		}
		if err != nil {
			return d.fail(t, err)
		}
	}
	how := "no cpusets: the per-test root does not get the cpuset controller here (see the cpuset line above)"
	if len(cpus) > 0 {
		how = fmt.Sprintf("cpusets workers/w0=%s workers/w1=%s", cpus["workers/w0"], cpus["workers/w1"])
	}
	d.step("nested cgroups", time.Since(start), "%s; %s", strings.Join(g.Names(), ", "), how)

	self, err := os.Executable()
	if err != nil {
		self = "/proc/self/exe"
	}
	cmd := exec.Command(self, "probe", "-hold")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return d.fail(t, err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return d.fail(t, err)
	}
	start = time.Now()
	if err := g.Start("workers/w0", cmd); err != nil {
		return d.fail(t, err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	took := time.Since(start)
	if err != nil {
		return d.fail(t, fmt.Errorf("the spawned process said nothing: %w", err))
	}
	pid := cmd.Process.Pid
	way := "clone3 CLONE_INTO_CGROUP"
	if !cmd.SysProcAttr.UseCgroupFD {
		way = "a start, then a move (clone3 is refused here)"
	}
	d.step("spawn", took, "pid %d in workers/w0 by %s; it reports its cgroup as %s", pid, way, strings.TrimSpace(line))

	start = time.Now()
	t.Finish()
	d.step("teardown", time.Since(start), "process killed and reaped, %d cgroups and the root removed, deepest first", len(g.Names()))

	if _, err := os.Stat(rootDir); !errors.Is(err, os.ErrNotExist) {
		d.res.LeftBehind = append(d.res.LeftBehind, rootDir)
	}
	if err := unix.Kill(pid, 0); !errors.Is(err, unix.ESRCH) {
		d.res.LeftBehind = append(d.res.LeftBehind, fmt.Sprintf("pid %d", pid))
	}
	msgs, failed := reported(t)
	d.res.Messages = msgs
	if failed {
		d.res.Error = "cgtest reported a failure (see above)"
	}
	leftLine(out, d.res.LeftBehind)
	return d.res
}

// cpusetsFor returns the cpusets of the demonstration's workers: one CPU
// each, the first and the last the root may use, when the per-test root
// enables cpuset for its children; none otherwise.
func cpusetsFor(mgr *cgroupfs.Manager) map[string]cgroupfs.CPUSet {
	on, err := mgr.FS().ReadFile("cgroup.subtree_control")
	if err != nil || !strings.Contains(string(on), "cpuset") {
		return nil
	}
	data, err := mgr.FS().ReadFile("cpuset.cpus.effective")
	if err != nil {
		return nil
	}
	set, err := cgroupfs.ParseCPUSet(strings.TrimSpace(string(data)))
	if err != nil || set.IsEmpty() {
		return nil
	}
	cpus := set.IDs()
	return map[string]cgroupfs.CPUSet{
		"workers/w0": cgroupfs.NewCPUSet(cpus[0]),
		"workers/w1": cgroupfs.NewCPUSet(cpus[len(cpus)-1]),
	}
}

func leftLine(out io.Writer, left []string) {
	if len(left) == 0 {
		fmt.Fprintf(out, "  %9s %-15s %s\n", "", "left behind", "nothing")
		return
	}
	fmt.Fprintf(out, "  %9s %-15s %s\n", "", "left behind", strings.Join(left, ", "))
}

// demoFake runs the demonstration on fakefs: the same cgtest calls, with
// a fake task instead of a process.
func demoFake(out io.Writer) demoJSON {
	d := &demo{out: out, res: demoJSON{Backend: "fakefs", LeftBehind: []string{}}}
	t := newDemoT(out)
	defer t.Finish()
	fsys := fakefs.New()
	start := time.Now()
	mgr := cgroupfs.NewManager(fsys, "cgguard-demo")
	if err := mgr.Setup(false); err != nil {
		return d.fail(t, err)
	}
	d.step("parent cgroup", time.Since(start), "cgguard-demo with cpuset enabled (Manager.Setup; a real test uses cgtest.Root)")
	g := cgtest.NewGroup(t, mgr, cgtest.Strict())
	start = time.Now()
	for n, set := range map[string]cgroupfs.CPUSet{"workers/w0": cgroupfs.NewCPUSet(0, 1), "workers/w1": cgroupfs.NewCPUSet(2, 3)} {
		if err := g.AddCgroup(n, set); err != nil {
			return d.fail(t, err)
		}
	}
	d.step("nested cgroups", time.Since(start), "%s; cpusets workers/w0=0-1 workers/w1=2-3", strings.Join(g.Names(), ", "))
	start = time.Now()
	pid, err := fsys.Spawn("cgguard-demo/workers/w0")
	if err != nil {
		return d.fail(t, err)
	}
	d.step("spawn", time.Since(start), "fake task %d in workers/w0", pid)
	start = time.Now()
	t.Finish()
	if err := fsys.Rmdir("cgguard-demo"); err != nil {
		return d.fail(t, err)
	}
	d.step("teardown", time.Since(start), "task killed (cgroup.kill), %d cgroups and the parent removed, deepest first", len(g.Names()))
	d.res.LeftBehind = append(d.res.LeftBehind, fsys.Snapshot().Paths()...)
	msgs, failed := reported(t)
	d.res.Messages = msgs
	if failed {
		d.res.Error = "cgtest reported a failure (see above)"
	}
	leftLine(out, d.res.LeftBehind)
	return d.res
}
