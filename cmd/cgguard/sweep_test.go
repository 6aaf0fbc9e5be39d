package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
	"github.com/cgguard/cgguard/fakefs"
	"github.com/cgguard/cgguard/internal/kerneltest"
	"golang.org/x/sys/unix"
)

// deadOwner is above the kernel's PID_MAX_LIMIT: no process has it.
var deadOwner = cgtest.Owner{PID: fakefs.FirstPid, StartTime: 42}

func selfOwner(t *testing.T) cgtest.Owner {
	t.Helper()
	o, err := cgtest.Self()
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// sweepJSON decodes what sweep -json prints: cgtest.SweepReport's JSON.
type sweepJSON struct {
	Root    string `json:"root"`
	DryRun  bool   `json:"dry_run"`
	Cgroups []struct {
		Name  string `json:"name"`
		Owner *struct {
			PID int `json:"pid"`
		} `json:"owner"`
		Pids    []int `json:"pids"`
		Removed bool  `json:"removed"`
	} `json:"cgroups"`
	Counts map[string]int `json:"counts"`
	Error  string         `json:"error"`
}

func TestSweepFSOnFakefs(t *testing.T) {
	fsys := fakefs.New()
	stale := cgtest.RootName(deadOwner, "TestGone", 1)
	live := cgtest.RootName(selfOwner(t), "TestHere", 1)
	for _, d := range []string{stale, stale + "/w", live, "user.slice"} {
		if err := fsys.Mkdir(d); err != nil {
			t.Fatal(err)
		}
	}
	pid, err := fsys.Spawn(stale + "/w")
	if err != nil {
		t.Fatal(err)
	}

	var out, errb bytes.Buffer
	if code := sweepFS(fsys, "/fake", true, false, &out, &errb); code != exitProblem {
		t.Errorf("sweep -n with a stale root: exit %d, want %d (stale roots found)", code, exitProblem)
	}
	for _, want := range []string{"stale   " + stale, "would remove 2 cgroup(s) and kill 1 task(s)", "live    " + live, "1 stale per-test root(s) would be removed", "1 foreign"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("sweep -n output lacks %q:\n%s", want, out.String())
		}
	}

	out.Reset()
	if code := sweepFS(fsys, "/fake", false, true, &out, &errb); code != exitOK {
		t.Errorf("sweep -json: exit %d, want 0; stderr %s", code, errb.String())
	}
	var got sweepJSON
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("sweep -json printed invalid JSON: %v\n%s", err, out.String())
	}
	if got.Root != "/fake" || got.DryRun || len(got.Cgroups) != 3 || got.Counts["stale"] != 1 || got.Counts["live"] != 1 || got.Counts["foreign"] != 1 {
		t.Errorf("sweep -json = %+v", got)
	}
	for _, c := range got.Cgroups {
		if c.Name == stale && (!c.Removed || c.Owner == nil || c.Owner.PID != deadOwner.PID || len(c.Pids) != 1 || c.Pids[0] != pid) {
			t.Errorf("stale entry = %+v, want removed, owner %d, pid %d", c, deadOwner.PID, pid)
		}
		if c.Name == "user.slice" && c.Owner != nil {
			t.Errorf("foreign entry has an owner: %+v", c)
		}
	}
	if fsys.Pids(stale+"/w") != nil {
		t.Errorf("the stale root survived the sweep")
	}

	// A failure: exit 1 and the error on stderr, the JSON still valid.
	stale2 := cgtest.RootName(deadOwner, "TestGone", 2)
	if err := fsys.Mkdir(stale2); err != nil {
		t.Fatal(err)
	}
	fsys.Fail(fakefs.OpRmdir, stale2, unix.EACCES, -1)
	out.Reset()
	errb.Reset()
	if code := sweepFS(fsys, "/fake", false, true, &out, &errb); code != exitProblem {
		t.Errorf("sweep with a failing rmdir: exit %d, want %d", code, exitProblem)
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil || !strings.Contains(got.Error, "permission denied") {
		t.Errorf("JSON after a failure: %v, error field %q", err, got.Error)
	}
}

// kernelBase makes this test's own cgroup under the cgroup2 mount
// (kerneltest.Base), and removes it at the end, failing the test for
// anything left inside.
func kernelBase(t *testing.T) string {
	t.Helper()
	return kerneltest.Base(t, kerneltest.CheckLeaks())
}

// sleepIn starts this test binary as "cgguard probe -hold" inside dir,
// killed and reaped at the end of the test if still running.
func sleepIn(t *testing.T, dir string) *exec.Cmd {
	t.Helper()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(os.Args[0], "probe", "-hold")
	if _, err := cmd.StdinPipe(); err != nil { // held open: the probe waits on it
		t.Fatal(err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(f.Fd())}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

func TestSweepCommandKernel(t *testing.T) {
	base := kernelBase(t)
	stale := filepath.Join(base, cgtest.RootName(deadOwner, "TestGone", 1))
	live := filepath.Join(base, cgtest.RootName(selfOwner(t), "TestHere", 1))
	foreign := filepath.Join(base, "foreign")
	for _, d := range []string{stale, stale + "/a", stale + "/a/b", live, live + "/x", foreign} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, d := range []string{live + "/x", live, foreign} {
			if err := unix.Rmdir(d); err != nil {
				t.Errorf("remove %s: %v", d, err)
			}
		}
	})
	victim := sleepIn(t, stale+"/a/b")
	bystander := sleepIn(t, foreign)

	// -n -json, with the root from $CGGUARD_CGROUP_PARENT.
	t.Setenv(cgtest.ParentEnv, base)
	var out, errb bytes.Buffer
	if code := run([]string{"sweep", "-n", "-json"}, &out, &errb); code != exitProblem {
		t.Errorf("sweep -n -json: exit %d, want %d (a stale root found); stderr %s", code, exitProblem, errb.String())
	}
	var got sweepJSON
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, out.String())
	}
	if got.Root != base || !got.DryRun || got.Counts["stale"] != 1 || got.Counts["live"] != 1 || got.Counts["foreign"] != 1 {
		t.Errorf("sweep -n -json = %+v, want root %s, 1 stale, 1 live, 1 foreign", got, base)
	}
	if _, err := os.Stat(stale); err != nil {
		t.Fatalf("sweep -n removed the stale root: %v", err)
	}

	out.Reset()
	errb.Reset()
	if code := run([]string{"sweep", base}, &out, &errb); code != exitOK {
		t.Errorf("sweep: exit %d, want 0; stderr %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "1 of 1 stale per-test root(s) removed") {
		t.Errorf("sweep output:\n%s", out.String())
	}
	t.Logf("cgguard sweep %s:\n%s", base, out.String())
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the stale root survived: %v", err)
	}
	// The sweep waited for "populated 0": the victim is dead already.
	done := make(chan error, 1)
	go func() { done <- victim.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != unix.SIGKILL {
			t.Errorf("the process in the stale root ended with %v, want SIGKILL", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the process in the stale root is still running after the sweep")
	}
	if err := bystander.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("the process in the foreign cgroup was touched: %v", err)
	}
	for _, d := range []string{live + "/x", foreign} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("kept cgroup %s is gone: %v", d, err)
		}
	}
	_ = bystander.Process.Kill()
	_ = bystander.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fsys, err := cgroupfs.Open(base)
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	if err := cgroupfs.NewManager(fsys, ".").WaitEmpty(ctx, "foreign"); err != nil {
		t.Fatal(err)
	}
}
