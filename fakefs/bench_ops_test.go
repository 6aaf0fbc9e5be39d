package fakefs_test

import (
	"strconv"
	"testing"
)

// BenchmarkFakeVsKernel times single cgroupfs operations on the kernel
// (the baseline, listed first) and on the fake, under names that pair up
// for `benchstat -col /impl`: mkdir+rmdir of an empty cgroup, one
// cgroup.procs write moving a live task between two cgroups, and reads
// of cgroup.events and cgroup.procs.
func BenchmarkFakeVsKernel(b *testing.B) {
	ops := []struct {
		name  string
		setup func(b *testing.B, env benchOpsEnv) func() error
	}{
		{"mkdirRmdir", func(b *testing.B, env benchOpsEnv) func() error {
			return func() error {
				if err := env.fs.Mkdir("x"); err != nil {
					return err
				}
				return env.fs.Rmdir("x")
			}
		}},
		{"procsWrite", func(b *testing.B, env benchOpsEnv) func() error {
			data := []byte(strconv.Itoa(env.pid))
			files := [2]string{"b/cgroup.procs", "a/cgroup.procs"}
			i := 0
			return func() error {
				i++
				return env.fs.WriteFile(files[i&1], data)
			}
		}},
		{"readEvents", func(b *testing.B, env benchOpsEnv) func() error {
			return func() error { _, err := env.fs.ReadFile("a/cgroup.events"); return err }
		}},
		{"readProcs", func(b *testing.B, env benchOpsEnv) func() error {
			return func() error { _, err := env.fs.ReadFile("a/cgroup.procs"); return err }
		}},
	}
	for _, op := range ops {
		b.Run("op="+op.name, func(b *testing.B) {
			for _, impl := range []string{"kernel", "fake"} {
				b.Run("impl="+impl, func(b *testing.B) {
					env := newBenchOpsEnv(b, impl == "kernel")
					do := op.setup(b, env)
					b.ReportAllocs()
					for b.Loop() {
						if err := do(); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// benchOpsEnv is a fresh FS with cgroups a and b, and a live task in a.
type benchOpsEnv struct {
	fs interface {
		Mkdir(string) error
		Rmdir(string) error
		ReadFile(string) ([]byte, error)
		WriteFile(string, []byte) error
	}
	pid int
}

func newBenchOpsEnv(b *testing.B, kernel bool) benchOpsEnv {
	b.Helper()
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
	// Registered after benchFS's cleanups, so it runs first: the task
	// dies before its cgroups are removed.
	b.Cleanup(func() { _ = tasks.Kill(pid) })
	return benchOpsEnv{fs: fsys, pid: pid}
}
