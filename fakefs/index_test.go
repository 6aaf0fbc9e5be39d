package fakefs

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// TestIndexMatchesTree drives an FS with random operations (mkdir,
// rmdir, spawn, move, exit with and without lingering, observations,
// cgroup.kill, freeze, threaded, subtree_control, limits) and after
// each one checks every index the FS keeps so that an operation costs
// the same at any size (path index, listing order, descendant,
// populated, frozen and threaded counts, lingering tasks) against the
// same facts recomputed from the tree itself.
func TestIndexMatchesTree(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 15))
			f := New()
			pick := func(list []string) string { return list[rng.IntN(len(list))] }
			for step := range 1500 {
				dirs := f.allPaths()
				dir := pick(dirs)
				file := func(n string) string {
					if dir == "." {
						return n
					}
					return dir + "/" + n
				}
				var op string
				switch rng.IntN(16) {
				case 0, 1, 2, 3:
					op = "mkdir"
					_ = f.Mkdir(file("g" + strconv.Itoa(rng.IntN(6))))
				case 4, 5:
					op = "rmdir"
					_ = f.Rmdir(dir)
				case 6, 7:
					op = "spawn"
					if pid, err := f.Spawn(dir); err == nil && rng.IntN(2) == 0 {
						_ = f.SetLinger(pid, rng.IntN(4)-1)
					}
				case 8:
					op = "move"
					if pids := f.livePids(); len(pids) > 0 {
						_ = f.WriteFile(file("cgroup.procs"), []byte(strconv.Itoa(pids[rng.IntN(len(pids))])))
					}
				case 9:
					op = "exit"
					if pids := f.livePids(); len(pids) > 0 {
						_ = f.Exit(pids[rng.IntN(len(pids))])
					}
				case 10:
					op = "observe"
					_, _ = f.ReadFile(file("cgroup.events"))
				case 11:
					op = "kill"
					_ = f.WriteFile(file("cgroup.kill"), []byte("1"))
				case 12:
					op = "freeze"
					_ = f.WriteFile(file("cgroup.freeze"), []byte(strconv.Itoa(rng.IntN(2))))
				case 13:
					op = "threaded"
					_ = f.WriteFile(file("cgroup.type"), []byte("threaded"))
				case 14:
					op = "subtree"
					_ = f.WriteFile(file("cgroup.subtree_control"), []byte(pick([]string{"+cpu", "-cpu", "+pids", "-pids", "+memory", "-memory"})))
				case 15:
					op = "limit"
					_ = f.WriteFile(file(pick([]string{"cgroup.max.depth", "cgroup.max.descendants"})), []byte(pick([]string{"max", "1", "3"})))
				}
				if err := f.checkIndex(); err != nil {
					t.Fatalf("step %d, %s on %s: %v", step, op, dir, err)
				}
			}
		})
	}
}

func (f *FS) allPaths() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []string{"."}
	for p := range f.byPath {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

func (f *FS) livePids() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []int
	for pid, t := range f.tasks {
		if !t.exited {
			out = append(out, pid)
		}
	}
	slices.Sort(out)
	return out
}

// checkIndex recomputes from the tree what the FS keeps incrementally.
func (f *FS) checkIndex() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := 0
	threaded, taskRoots, nLimited := 0, 0, 0
	var walk func(c *cgroup, frozen bool) (desc int, populated bool, err error)
	walk = func(c *cgroup, frozen bool) (int, bool, error) {
		frozen = (frozen || c.freeze) && !c.isRoot()
		if !c.isRoot() {
			seen++
			if f.byPath[c.pathName] != c {
				return 0, false, fmt.Errorf("%s: not in the path index", c.pathName)
			}
			want := c.name
			if !c.parent.isRoot() {
				want = c.parent.pathName + "/" + c.name
			}
			if c.pathName != want || c.level != c.parent.level+1 {
				return 0, false, fmt.Errorf("%s: path or level wrong (want %s)", c.pathName, want)
			}
		}
		if c.threaded {
			threaded++
		}
		if c.taskRoot {
			taskRoots++
		}
		if c.taskRoot != (hasTasks(c) && c.subtree&threadedMask != 0) {
			return 0, false, fmt.Errorf("%s: task root %v is stale", c.pathName, c.taskRoot)
		}
		var names []string
		for n := range c.children {
			names = append(names, n)
		}
		slices.Sort(names)
		var listed []string
		for _, ch := range c.sortedChildren() {
			listed = append(listed, ch.name)
		}
		if !slices.Equal(names, listed) {
			return 0, false, fmt.Errorf("%s: listing %v, children %v", c.pathName, listed, names)
		}
		desc, popDom, popThr, thr := 0, 0, 0, 0
		for _, ch := range c.children {
			d, p, err := walk(ch, frozen)
			if err != nil {
				return 0, false, err
			}
			desc += 1 + d
			if ch.threaded {
				thr++
			}
			if p && ch.threaded {
				popThr++
			} else if p {
				popDom++
			}
		}
		if c.limited && c.nrDesc != desc || c.limited != (c.maxDepth >= 0 || c.maxDesc >= 0) {
			return 0, false, fmt.Errorf("%s: limited %v with %d descendants, want %d", c.pathName, c.limited, c.nrDesc, desc)
		}
		if c.limited {
			nLimited++
		}
		if c.nrPopDomain != popDom || c.nrPopThreaded != popThr || c.nrThreadedChildren != thr {
			return 0, false, fmt.Errorf("%s: counts popDomain %d popThreaded %d threaded %d, want %d %d %d",
				c.pathName, c.nrPopDomain, c.nrPopThreaded, c.nrThreadedChildren, popDom, popThr, thr)
		}
		if frozenEff(c) != frozen {
			return 0, false, fmt.Errorf("%s: frozen %v, want %v", c.pathName, frozenEff(c), frozen)
		}
		populated := hasTasks(c) || popDom+popThr > 0
		return desc, populated, nil
	}
	if _, _, err := walk(f.root, false); err != nil {
		return err
	}
	if seen != len(f.byPath) {
		return fmt.Errorf("path index holds %d cgroups, the tree %d", len(f.byPath), seen)
	}
	if threaded != f.nThreaded || taskRoots != f.nTaskRoots || nLimited != f.nLimited {
		return fmt.Errorf("FS counts %d threaded, %d task roots, %d limited; tree %d, %d, %d",
			f.nThreaded, f.nTaskRoots, f.nLimited, threaded, taskRoots, nLimited)
	}
	for pid, t := range f.tasks {
		if t.exited != (f.lingering[pid] == t) {
			return fmt.Errorf("pid %d: exited %v, lingering %v", pid, t.exited, f.lingering[pid] != nil)
		}
	}
	if len(f.lingering) > len(f.tasks) {
		return fmt.Errorf("%d lingering tasks, %d tasks", len(f.lingering), len(f.tasks))
	}
	return nil
}
