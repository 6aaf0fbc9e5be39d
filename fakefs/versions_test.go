package fakefs_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/cgguard/cgguard/fakefs"
	"golang.org/x/sys/unix"
)

// versionRow is one row of the package documentation's table of what
// differs between kernel versions: probe answers the row's question on
// a fake of one version (a child cgroup "c" with every default
// controller enabled).
type versionRow struct {
	what  string
	probe func(f *fakefs.FS) string
}

func present(f *fakefs.FS, names ...string) string {
	for _, n := range names {
		if _, err := f.ReadFile(n); err != nil {
			return "absent"
		}
	}
	return "present"
}

// errnoWord names an errno as C does ("EINVAL"), or "ok".
func errnoWord(err error) string {
	if err == nil {
		return "ok"
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		return unix.ErrnoName(e)
	}
	return err.Error()
}

func firstLine(f *fakefs.FS, name string) string {
	data, err := f.ReadFile(name)
	if err != nil {
		return errnoWord(err)
	}
	return strings.TrimSuffix(string(data), "\n")
}

var versionRows = []versionRow{
	{"cgroup.stat lists nr_subsys_*, nr_dying_subsys_*", func(f *fakefs.FS) string {
		return map[bool]string{true: "yes", false: "no"}[strings.Contains(firstLine(f, "c/cgroup.stat"), "nr_subsys_cpu ")]
	}},
	{"cgroup.stat.local", func(f *fakefs.FS) string { return present(f, "c/cgroup.stat.local") }},
	{"cpu.stat has nice_usec", func(f *fakefs.FS) string {
		return map[bool]string{true: "yes", false: "no"}[strings.Contains(firstLine(f, "c/cpu.stat"), "nice_usec")]
	}},
	{"cpu.stat.local", func(f *fakefs.FS) string { return present(f, "c/cpu.stat.local") }},
	{"cpu.weight while cpu.idle is 1", func(f *fakefs.FS) string {
		_ = f.WriteFile("c/cpu.idle", []byte("1"))
		defer f.WriteFile("c/cpu.idle", []byte("0"))
		return firstLine(f, "c/cpu.weight")
	}},
	{"cpuset.cpus.exclusive(.effective), root's cpuset.cpus.isolated", func(f *fakefs.FS) string {
		return present(f, "c/cpuset.cpus.exclusive", "c/cpuset.cpus.exclusive.effective", "cpuset.cpus.isolated")
	}},
	{"partition \"root\" with no CPUs reads", func(f *fakefs.FS) string {
		_ = f.WriteFile("c/cpuset.cpus.partition", []byte("root"))
		defer f.WriteFile("c/cpuset.cpus.partition", []byte("member"))
		return firstLine(f, "c/cpuset.cpus.partition")
	}},
	{"partition \"root\" under a member parent reads", func(f *fakefs.FS) string {
		_ = f.WriteFile("c/cgroup.subtree_control", []byte("+cpuset"))
		_ = f.Mkdir("c/d")
		_ = f.WriteFile("c/d/cpuset.cpus", []byte("1"))
		_ = f.WriteFile("c/d/cpuset.cpus.partition", []byte("root"))
		defer func() { _ = f.Rmdir("c/d"); _ = f.WriteFile("c/cgroup.subtree_control", []byte("-cpuset")) }()
		return firstLine(f, "c/d/cpuset.cpus.partition")
	}},
	{"memory.peak mode", func(f *fakefs.FS) string {
		entries, _ := f.ReadDir("c")
		for _, e := range entries {
			if e.Name() == "memory.peak" {
				info, _ := e.Info()
				return fmt.Sprintf("%#o", info.Mode().Perm())
			}
		}
		return "absent"
	}},
	{"memory.swap.peak, memory.zswap.writeback", func(f *fakefs.FS) string {
		return present(f, "c/memory.swap.peak", "c/memory.zswap.writeback")
	}},
	{"memory.reclaim \"\\n\" (empty cgroup)", func(f *fakefs.FS) string { return errnoWord(f.WriteFile("c/memory.reclaim", []byte("\n"))) }},
	{"memory.reclaim \"0 swappiness=10\"", func(f *fakefs.FS) string {
		return errnoWord(f.WriteFile("c/memory.reclaim", []byte("0 swappiness=10")))
	}},
	{"PSI trigger with a 100 ms window", func(f *fakefs.FS) string {
		return errnoWord(f.WriteFile("c/cpu.pressure", []byte("some 1000 100000")))
	}},
	{"pids.events.local, misc.events.local, misc.peak", func(f *fakefs.FS) string {
		return present(f, "c/pids.events.local", "c/misc.events.local", "c/misc.peak")
	}},
	{"misc.current, misc.peak on the root", func(f *fakefs.FS) string { return present(f, "misc.current", "misc.peak") }},
	{"memory.stat counters", func(f *fakefs.FS) string {
		return fmt.Sprint(strings.Count(firstLine(f, "c/memory.stat")+"\n", "\n"))
	}},
}

// versionTable renders versionRows as the package documentation shows
// them.
func versionTable() string {
	var b strings.Builder
	cols := fakefs.Kernels()
	cells := make([][]string, len(versionRows))
	for i, row := range versionRows {
		for _, v := range cols {
			f := fakefs.New(fakefs.WithKernel(v), fakefs.WithControllers("cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"))
			if err := f.WriteFile("cgroup.subtree_control", []byte("+cpuset +cpu +io +memory +hugetlb +pids +rdma +misc")); err != nil {
				panic(err)
			}
			if err := f.Mkdir("c"); err != nil {
				panic(err)
			}
			cells[i] = append(cells[i], row.probe(f))
		}
	}
	for i, row := range versionRows {
		fmt.Fprintf(&b, "//\t%s\n", row.what)
		for j, v := range cols {
			fmt.Fprintf(&b, "//\t    %-5s %s\n", v+":", cells[i][j])
		}
	}
	return b.String()
}

// TestVersionTable checks the documentation's table of what differs
// between kernel versions against the fake's profiles, row by row (the
// differential tests check the profiles against the kernels).
func TestVersionTable(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	want := versionTable()
	if !strings.Contains(string(doc), want) {
		t.Errorf("doc.go lacks the version table as the profiles answer it; it should read:\n%s", want)
	}
}
