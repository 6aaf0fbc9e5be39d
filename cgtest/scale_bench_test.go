package cgtest_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cgguard/cgguard/cgtest"
)

// BenchmarkScale is the guard's side of fakefs's BenchmarkScale: the
// cost of one cgroup's life (created, then torn down) through cgtest
// (AddCgroupNoCpuset and the group's cleanups) and with a raw mkdir and
// rmdir, in a directory that already holds n siblings, or at the bottom
// of a chain depth cgroups deep, on the kernel and on fakefs. The
// siblings or the chain are made once per size, untimed, and removed
// at the end; so is each iteration's group (NewGroup, as in
// BenchmarkEmpty). Names pair up for `benchstat -col /impl`.
func BenchmarkScale(b *testing.B) {
	type size struct {
		name  string
		dirs  []string // made before, parents first
		under string   // where the timed cgroup goes
	}
	var sizes []size
	for _, n := range []int{10, 100, 1000, 10000} {
		s := size{name: fmt.Sprintf("siblings=%d", n), under: "p"}
		s.dirs = append(s.dirs, "p")
		for i := range n {
			s.dirs = append(s.dirs, fmt.Sprintf("p/s%05d", i))
		}
		sizes = append(sizes, s)
	}
	for _, d := range []int{10, 100, 500} {
		s := size{name: fmt.Sprintf("depth=%d", d)}
		for i := range d {
			s.dirs = append(s.dirs, strings.Repeat("c/", i)+"c")
		}
		s.under = s.dirs[d-1]
		sizes = append(sizes, s)
	}
	for _, fsName := range []string{"kernel", "fake"} {
		b.Run("fs="+fsName, func(b *testing.B) {
			for _, s := range sizes {
				b.Run(s.name, func(b *testing.B) {
					x := s.under + "/x"
					b.Run("impl=raw", func(b *testing.B) {
						env := newScaleBenchEnv(b, fsName, s.dirs)
						b.ReportAllocs()
						for b.Loop() {
							if err := env.mkdir(x); err != nil {
								b.Fatal(err)
							}
							if err := env.rmdir(x); err != nil {
								b.Fatal(err)
							}
						}
					})
					b.Run("impl=cgtest", func(b *testing.B) {
						env := newScaleBenchEnv(b, fsName, s.dirs)
						t := &benchT{b: b}
						b.ReportAllocs()
						for b.Loop() {
							b.StopTimer()
							grp := cgtest.NewGroup(t, env.m)
							b.StartTimer()
							if err := grp.AddCgroupNoCpuset(x); err != nil {
								b.Fatal(err)
							}
							t.runCleanups()
						}
					})
				})
			}
		})
	}
}

// newScaleBenchEnv is newBenchEnv with dirs made in it (raw, untimed),
// removed again when the benchmark ends, before the base is checked
// for leaks.
func newScaleBenchEnv(b *testing.B, fsName string, dirs []string) benchEnv {
	b.Helper()
	env := newBenchEnv(b, fsName)
	made := 0
	b.Cleanup(func() {
		for _, d := range slices.Backward(dirs[:made]) {
			if err := env.rmdir(d); err != nil {
				b.Errorf("remove the benchmark's cgroup: %v", err)
			}
		}
	})
	for _, d := range dirs {
		if err := env.mkdir(d); err != nil {
			b.Fatal(err)
		}
		made++
	}
	return env
}
