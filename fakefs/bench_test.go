package fakefs_test

import (
	"strconv"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgroupfs/cgroupfstest"
	"github.com/cgguard/cgguard/fakefs"
)

// benchFS returns the FS a benchmark half runs on: a fresh fake, or a
// fresh test cgroup on the kernel (skipped, saying why, where the
// benchmark cannot create one), and a Tasks for it.
func benchFS(b *testing.B, kernel bool) (cgroupfs.FS, cgroupfstest.Tasks) {
	b.Helper()
	if !kernel {
		fsys := fakefs.New(fakefs.WithLogLimit(1000))
		return fsys, fsys
	}
	dir := kernelCgroup(b)
	fsys, err := cgroupfs.Open(dir)
	if err != nil {
		b.Fatalf("open %s: %v", dir, err)
	}
	b.Cleanup(func() { fsys.Close() })
	tasks := cgroupfstest.NewProcessTasks(fsys)
	b.Cleanup(func() { _ = tasks.Close() })
	return fsys, tasks
}

// BenchmarkMkdirRmdir creates and removes one empty cgroup per
// iteration, on the fake and on the kernel.
func BenchmarkMkdirRmdir(b *testing.B) {
	for _, kernel := range []bool{false, true} {
		b.Run(map[bool]string{false: "fake", true: "kernel"}[kernel], func(b *testing.B) {
			fsys, _ := benchFS(b, kernel)
			for b.Loop() {
				if err := fsys.Mkdir("x"); err != nil {
					b.Fatal(err)
				}
				if err := fsys.Rmdir("x"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkProcsWrite moves one task between two cgroups, one
// cgroup.procs write per iteration, on the fake and on the kernel.
func BenchmarkProcsWrite(b *testing.B) {
	for _, kernel := range []bool{false, true} {
		b.Run(map[bool]string{false: "fake", true: "kernel"}[kernel], func(b *testing.B) {
			fsys, tasks := benchFS(b, kernel)
			for _, d := range []string{"a", "b"} {
				if err := fsys.Mkdir(d); err != nil {
					b.Fatal(err)
				}
			}
			pid, err := tasks.Spawn("a")
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = tasks.Kill(pid) })
			data := []byte(strconv.Itoa(pid))
			files := [2]string{"b/cgroup.procs", "a/cgroup.procs"}
			i := 0
			for b.Loop() {
				if err := fsys.WriteFile(files[i&1], data); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
