// Package guest is the test binary the cgvm runner's own tests boot: each
// test checks one thing the runner promises about the guest.
package guest

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cgguard/cgguard/cgtest"
)

var exitCode = flag.Int("exit", 0, "exit with this code after the tests, to check exit-code passing")

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if *exitCode != 0 {
		code = *exitCode
	}
	os.Exit(code)
}

// TestEcho prints what the runner passed in, for the host to check, and
// fails on anything the guest environment promises but lacks.
func TestEcho(t *testing.T) {
	fmt.Printf("ARGS %q\n", flag.Args())
	fmt.Printf("ENV TEST_GUEST_VALUE=%s HOME=%s\n", os.Getenv("TEST_GUEST_VALUE"), os.Getenv("HOME"))
	if os.Getenv("CGGUARD_VM") != "1" {
		t.Errorf("CGGUARD_VM = %q, want 1", os.Getenv("CGGUARD_VM"))
	}
	b, err := os.ReadFile("testdata/fixture.txt")
	if err != nil {
		t.Errorf("the package's testdata/ was not packed: %v", err)
	} else {
		fmt.Printf("FIXTURE %s", b)
	}
	c, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers")
	if err != nil || !strings.Contains(string(c), "cpuset") {
		t.Errorf("cgroup.controllers = %q, %v; want cpuset in it", c, err)
	}
	fmt.Println("LINE1\nLINE2")
	if os.Getenv("TEST_GUEST_TOOLS") == "1" {
		// The runner packs a shell and a few tools by default.
		out, err := exec.Command("sh", "-c", "sleep 0 && true && cat testdata/fixture.txt").CombinedOutput()
		if err != nil {
			t.Errorf("running sh in the guest: %v: %s", err, out)
		}
		fmt.Printf("TOOLS %s", out)
		checkOrphanReaped(t)
	}
	if p := os.Getenv("TEST_GUEST_EXEC"); p != "" {
		// Packed by CGVM_FILES with its shared libraries.
		if out, err := exec.Command(p, "packed").CombinedOutput(); err != nil {
			t.Errorf("running %s in the guest: %v: %s", p, err, out)
		} else {
			fmt.Printf("EXEC %s", out)
		}
	}
}

// TestFail fails, for the host to see the failure come out.
func TestFail(t *testing.T) {
	t.Error("failing on purpose")
}

// checkOrphanReaped starts a background sleep whose shell exits at once, so
// the sleep is reparented to the guest's init; init must reap it when it
// exits, or it stays a zombie.
func checkOrphanReaped(t *testing.T) {
	out, err := exec.Command("sh", "-c", "sleep 0.1 & echo $!").Output()
	if err != nil {
		t.Fatalf("starting an orphan: %v", err)
	}
	pid := strings.TrimSpace(string(out))
	deadline := time.Now().Add(30 * time.Second)
	for {
		stat, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil {
			fmt.Println("ORPHAN reaped")
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("orphan %s not reaped by init within 30s: %s", pid, stat)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTopology prints the CPU layout the guest sees, for the host to
// compare with the topology it asked for.
func TestTopology(t *testing.T) {
	llcs, err := cgtest.LLCs()
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := os.ReadFile("/sys/devices/system/node/online")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("TOPOLOGY llcs=%v nodes=%s\n", llcs, strings.TrimSpace(string(nodes)))
}

// TestBusybox runs common tools nobody listed in CGVM_FILES: busybox's
// applets, by name and at their usual paths.
func TestBusybox(t *testing.T) {
	for _, args := range [][]string{
		{"dd", "if=/dev/zero", "of=/dev/null", "bs=1k", "count=4"},
		{"ps"},
		{"/bin/grep", "-q", "cgroup2", "/proc/filesystems"},
		{"awk", "BEGIN { exit 0 }"},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Errorf("%v: %v: %s", args, err, out)
		}
	}
	fmt.Println("BUSYBOX ran")
}

// TestSystemd checks, under CGVM_INIT=systemd, that systemd is PID 1 and
// its private socket (what container runtimes' systemd drivers use as
// root) is there.
func TestSystemd(t *testing.T) {
	comm, err := os.ReadFile("/proc/1/comm")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/run/systemd/private"); err != nil {
		t.Errorf("systemd's private socket: %v", err)
	}
	if os.Getuid() != 0 {
		t.Errorf("uid %d, want root", os.Getuid())
	}
	fmt.Printf("SYSTEMD pid1=%s\n", strings.TrimSpace(string(comm)))
}
