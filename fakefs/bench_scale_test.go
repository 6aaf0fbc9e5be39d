package fakefs_test

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgroupfs/cgroupfstest"
	"github.com/cgguard/cgguard/fakefs"
	"golang.org/x/sys/unix"
)

// scaleShape is the tree a scale benchmark runs its operations in: dir
// is the cgroup that holds the two cgroups a and b the operations work
// on, built before the timer starts.
type scaleShape struct {
	name  string
	build func(b *testing.B, fsys cgroupfs.FS) (dir string)
}

// siblings puts n cgroups in one directory p: a and b among them, so
// that an operation on p/a, or a mkdir in p, has n siblings.
func siblings(n int) scaleShape {
	return scaleShape{fmt.Sprintf("siblings=%d", n), func(b *testing.B, fsys cgroupfs.FS) string {
		mkdirs(b, fsys, "p")
		for i := range n - 2 {
			mkdirs(b, fsys, fmt.Sprintf("p/s%05d", i))
		}
		return "p"
	}}
}

// chain makes a chain d cgroups deep; a and b are at depth d+1.
func chain(d int) scaleShape {
	return scaleShape{fmt.Sprintf("depth=%d", d), func(b *testing.B, fsys cgroupfs.FS) string {
		dir := "c"
		mkdirs(b, fsys, dir)
		for range d - 1 {
			dir += "/c"
			mkdirs(b, fsys, dir)
		}
		return dir
	}}
}

// tree makes n cgroups in all, a complete tree of fanout 10 filled
// breadth first (node i's parent is node i/10-1), and works in its last
// node, a leaf as deep as the tree (5 levels for 100000).
func tree(n int) scaleShape {
	return scaleShape{fmt.Sprintf("tree=%d", n), func(b *testing.B, fsys cgroupfs.FS) string {
		paths := make([]string, n-2)
		for i := range paths {
			name := "t" + strconv.Itoa(i)
			if i >= 10 {
				name = paths[i/10-1] + "/" + name
			}
			paths[i] = name
			mkdirs(b, fsys, name)
		}
		return paths[len(paths)-1]
	}}
}

func mkdirs(b *testing.B, fsys cgroupfs.FS, names ...string) {
	b.Helper()
	for _, n := range names {
		if err := fsys.Mkdir(n); err != nil {
			b.Fatal(err)
		}
	}
}

// scaleEnv is a built shape with a live task in dir/a.
type scaleEnv struct {
	fs    cgroupfs.FS
	tasks cgroupfstest.Tasks
	dir   string
	pid   int
}

// scaleOps are the operations of BenchmarkScale, each one per iteration
// (mkdirRmdir: the pair). readdirParent lists dir, whose size grows with
// the shape, and also reports its cost per listed entry (ns/entry).
var scaleOps = []struct {
	name string
	run  func(b *testing.B, e scaleEnv)
}{
	{"mkdirRmdir", func(b *testing.B, e scaleEnv) {
		x := e.dir + "/x"
		for b.Loop() {
			if err := e.fs.Mkdir(x); err != nil {
				b.Fatal(err)
			}
			if err := e.fs.Rmdir(x); err != nil {
				b.Fatal(err)
			}
		}
	}},
	{"readEvents", func(b *testing.B, e scaleEnv) {
		name := e.dir + "/a/cgroup.events"
		for b.Loop() {
			if _, err := e.fs.ReadFile(name); err != nil {
				b.Fatal(err)
			}
		}
	}},
	{"readProcs", func(b *testing.B, e scaleEnv) {
		name := e.dir + "/a/cgroup.procs"
		for b.Loop() {
			if _, err := e.fs.ReadFile(name); err != nil {
				b.Fatal(err)
			}
		}
	}},
	{"write", func(b *testing.B, e scaleEnv) {
		name, data := e.dir+"/b/cgroup.max.descendants", []byte("max")
		for b.Loop() {
			if err := e.fs.WriteFile(name, data); err != nil {
				b.Fatal(err)
			}
		}
	}},
	{"readdirLeaf", func(b *testing.B, e scaleEnv) {
		name := e.dir + "/b"
		for b.Loop() {
			if _, err := e.fs.ReadDir(name); err != nil {
				b.Fatal(err)
			}
		}
	}},
	{"readdirParent", func(b *testing.B, e scaleEnv) {
		entries := 0
		for b.Loop() {
			list, err := e.fs.ReadDir(e.dir)
			if err != nil {
				b.Fatal(err)
			}
			entries = len(list)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(entries), "ns/entry")
	}},
	{"spawnKill", func(b *testing.B, e scaleEnv) {
		name := e.dir + "/b"
		for b.Loop() {
			pid, err := e.tasks.Spawn(name)
			if err != nil {
				b.Fatal(err)
			}
			if err := e.tasks.Kill(pid); err != nil {
				b.Fatal(err)
			}
		}
	}},
	{"move", func(b *testing.B, e scaleEnv) {
		data := []byte(strconv.Itoa(e.pid))
		files := [2]string{e.dir + "/b/cgroup.procs", e.dir + "/a/cgroup.procs"}
		i := 0
		for b.Loop() {
			if err := e.fs.WriteFile(files[i&1], data); err != nil {
				b.Fatal(err)
			}
			i++
		}
	}},
}

// scaleShapes are the sizes of BenchmarkScale: siblings, depth, and
// trees of up to 100000 cgroups.
var scaleShapes = []scaleShape{
	siblings(10), siblings(100), siblings(1000), siblings(10000),
	chain(10), chain(100), chain(500),
	tree(1000), tree(10000), tree(100000),
}

// BenchmarkScale times each fakefs operation (scaleOps) in trees of
// growing size (scaleShapes), next to the same operation on the kernel:
// per operation, the cost should not depend on the shape. The shape is
// built once per implementation and size, untimed, and shared by the
// operations, which leave it as they found it. Names pair up for
// `benchstat -col /impl` (the kernel first, as the baseline); select
// one implementation or size with -bench, e.g.
// 'Scale/siblings=10000/.*/impl=fake'.
func BenchmarkScale(b *testing.B) {
	for _, s := range scaleShapes {
		b.Run(s.name, func(sb *testing.B) {
			envs := map[string]*scaleEnv{}
			for _, op := range scaleOps {
				sb.Run("op="+op.name, func(b *testing.B) {
					for _, impl := range []string{"kernel", "fake"} {
						b.Run("impl="+impl, func(b *testing.B) {
							e := envs[impl]
							if e == nil {
								e = newScaleEnv(shapeLived{b, sb}, s, impl == "kernel")
								envs[impl] = e
							}
							b.ReportAllocs()
							cpu := cpuTime(b)
							op.run(b, *e)
							// The process's CPU time (user and system, all
							// threads) per operation: on a busy machine it
							// varies less than the wall time, which
							// includes the time spent waiting for a CPU.
							b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N), "cpu-ns/op")
						})
					}
				})
			}
		})
	}
}

// cpuTime returns the CPU time the process has used so far, in ns.
func cpuTime(b *testing.B) int64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return unix.TimevalToNsec(ru.Utime) + unix.TimevalToNsec(ru.Stime)
}

// shapeLived is the b of one operation's benchmark, whose cleanups run
// when the benchmark of the whole shape (parent) ends instead: the
// shape is built once and shared by the operations.
type shapeLived struct {
	*testing.B
	parent *testing.B
}

func (s shapeLived) Cleanup(f func()) { s.parent.Cleanup(f) }

// newScaleEnv builds s on a fresh fake or kernel test cgroup (skipping,
// saying why, where there is none).
func newScaleEnv(b shapeLived, s scaleShape, kernel bool) *scaleEnv {
	b.Helper()
	var fsys cgroupfs.FS
	var tasks cgroupfstest.Tasks
	if kernel {
		dir := kernelCgroup(b)
		osfs, err := cgroupfs.Open(dir)
		if err != nil {
			b.Fatalf("open %s: %v", dir, err)
		}
		b.Cleanup(func() { osfs.Close() })
		pt := cgroupfstest.NewProcessTasks(osfs)
		b.Cleanup(func() { _ = pt.Close() })
		fsys, tasks = osfs, pt
	} else {
		fake := fakefs.New(fakefs.WithLogLimit(1000))
		fsys, tasks = fake, fake
	}
	dir := s.build(b.B, fsys)
	mkdirs(b.B, fsys, dir+"/a", dir+"/b")
	pid, err := tasks.Spawn(dir + "/a")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tasks.Kill(pid) })
	return &scaleEnv{fs: fsys, tasks: tasks, dir: dir, pid: pid}
}
