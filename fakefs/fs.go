package fakefs

import (
	"io/fs"
	"slices"
	"strings"
	"sync"

	"github.com/cgguard/cgguard/cgroupfs"
	"golang.org/x/sys/unix"
)

// FS is an in-memory cgroup v2 hierarchy that answers like the kernel.
// It implements cgroupfs.FS; its root "." is the hierarchy root, which,
// like the kernel's, lacks cgroup.events, cgroup.type, cgroup.freeze and
// cgroup.kill and is exempt from the no-internal-process rule.
//
// Fake tasks (Spawn, Exit, Kill, SetLinger) populate cgroups; faults
// (Fail, Hang) make chosen operations fail or block; Snapshot and Log
// show what happened. All methods are safe for concurrent use.
type FS struct {
	mu        sync.Mutex
	cpus      cgroupfs.CPUSet
	mems      cgroupfs.CPUSet
	cpuBits   int // nr_cpu_ids: CPU ids at or above it give ERANGE
	rootCtrls ctrlMask
	root      *cgroup
	byPath    map[string]*cgroup // every cgroup but the root, by path
	// 6.12's cpuset bookkeeping (partition612.go): the CPUs of the
	// hierarchy root's child and remote partitions, those of isolated
	// partitions, and the remote partitions.
	subparts, isolated cgroupfs.CPUSet
	remotes            []*cgroup
	// tmpNew is the scratch mask one cpuset change passes through all
	// the functions it calls (tmpmasks.new_cpus), whose reuse the
	// kernel's answers show.
	tmpNew    cgroupfs.CPUSet
	tasks     map[int]*task
	lingering map[int]*task // exited tasks that still linger
	// nThreaded counts threaded cgroups, nTaskRoots cgroups with tasks
	// and a threaded controller enabled below them: while both are zero
	// there is no thread root, and every domain is valid.
	nThreaded, nTaskRoots int
	// nLimited counts the cgroups with a cgroup.max.depth or
	// cgroup.max.descendants other than max: only while there are some
	// do mkdir and rmdir walk the ancestors (to check the limits and
	// count the limited cgroups' descendants).
	nLimited  int
	nextPid   int
	nextID    uint64 // the identity of the next cgroup made (see Identity)
	faults    []*fault
	log       []LogEntry
	logLimit  int // 0: keep every entry
	kernel    kernelVersion
	hugePages []hugePage
	table     fileTable // the files of kernel on this machine

	noCapSysResource bool // the caller lacks CAP_SYS_RESOURCE
	// fileLists caches the listing entries of the interface files of a
	// cgroup, sorted: they depend only on whether it is the root, on its
	// cgroup.pressure and on the controllers enabled in it (see files).
	fileLists map[fileListKey][]dirEntry
}

type fileListKey struct {
	root     bool
	pressure bool // cgroup.pressure 0 hides the *.pressure files
	enabled  ctrlMask
}

// FirstPid is the pid of the first fake task. It is above the kernel's
// largest pid (PID_MAX_LIMIT, 4194304), so a fake pid never names a real
// process, and code that refuses to touch its own pid never mistakes one.
const FirstPid = 4194305

// nodeBits is MAX_NUMNODES of a Debian x86-64 kernel (NODES_SHIFT 10):
// memory-node ids at or above it give ERANGE, those below it that the
// machine lacks give EINVAL.
const nodeBits = 1024

// Option configures the machine New emulates.
type Option func(*config)

type config struct {
	cpus, mems cgroupfs.CPUSet
	ctrls      []string
	logLimit   int

	kernel      kernelVersion
	kernelErr   error
	hugePages   []hugePage
	hugePageErr error

	noCapSysResource bool
}

// WithCPUs sets the machine's online CPUs (default 0-3). CPU ids at or
// above the largest plus one are beyond the machine (ERANGE on write);
// gaps below it are offline CPUs (EINVAL on write). An empty set keeps
// the default.
func WithCPUs(cpus cgroupfs.CPUSet) Option {
	return func(c *config) {
		if !cpus.IsEmpty() {
			c.cpus = cpus
		}
	}
}

// WithMems sets the machine's memory nodes (default 0). An empty set
// keeps the default.
func WithMems(mems cgroupfs.CPUSet) Option {
	return func(c *config) {
		if !mems.IsEmpty() {
			c.mems = mems
		}
	}
}

// WithControllers sets the controllers the root offers in
// cgroup.controllers (default cpuset cpu io memory hugetlb pids). Names
// the kernel does not know on cgroup v2 are ignored, so that the fake
// never offers what a kernel could not; perf_event is always implicit.
func WithControllers(names ...string) Option {
	return func(c *config) { c.ctrls = append([]string(nil), names...) }
}

// WithLogLimit keeps only the newest n entries of the operation log
// (default: all of them), for long-running uses such as benchmarks and
// fuzzing, where an unbounded log would only grow. n <= 0 keeps all.
func WithLogLimit(n int) Option {
	return func(c *config) { c.logLimit = max(n, 0) }
}

// New returns an FS holding only the root cgroup, on the machine the
// options describe, answering as the kernel WithKernel names (default
// 6.18). It panics when an option is invalid (an unknown kernel version,
// a malformed huge page size), with an error that says what is accepted.
func New(opts ...Option) *FS {
	c := config{
		cpus:      cgroupfs.NewCPUSet(0, 1, 2, 3),
		mems:      cgroupfs.NewCPUSet(0),
		ctrls:     []string{"cpuset", "cpu", "io", "memory", "hugetlb", "pids"},
		kernel:    defaultKernel,
		hugePages: []hugePage{{"2MB", 2 << 20}, {"1GB", 1 << 30}},
	}
	for _, o := range opts {
		o(&c)
	}
	if c.kernelErr != nil {
		panic(c.kernelErr)
	}
	if c.hugePageErr != nil {
		panic(c.hugePageErr)
	}
	f := &FS{
		cpus:      c.cpus,
		mems:      c.mems,
		byPath:    make(map[string]*cgroup),
		tasks:     make(map[int]*task),
		lingering: make(map[int]*task),
		nextPid:   FirstPid,
		logLimit:  c.logLimit,
		kernel:    c.kernel,
		hugePages: c.hugePages,

		noCapSysResource: c.noCapSysResource,
	}
	ids := c.cpus.IDs()
	f.cpuBits = ids[len(ids)-1] + 1
	for _, n := range c.ctrls {
		if i := controllerIndex(n); i >= 0 && !knownControllers[i].implicit {
			f.rootCtrls |= 1 << i
		}
	}
	f.buildFiles()
	f.root = newCgroup("", "", nil)
	return f
}

// cgroup is one directory of the hierarchy.
//
// Every operation costs the same however many cgroups the tree holds:
// paths resolve through FS.byPath, and what the kernel keeps as counters
// (nr_descendants, the populated counts of cgroup_update_populated, the
// freezer's e_freeze) is kept here the same way, updated along the
// ancestors only when it changes, instead of being recomputed from the
// whole tree.
type cgroup struct {
	id       uint64 // see FS.Identity; the root's is 0
	name     string
	pathName string // FS-relative path ("." for the root)
	level    int    // depth below the root (the root is 0)
	parent   *cgroup
	children map[string]*cgroup // nil until the first child
	// order holds the children for listings: order[:sorted] sorted by
	// name, then the newer ones in creation order; removed children stay
	// until the next listing or compaction (dead counts them).
	order        []*cgroup
	sorted, dead int
	// nrDesc counts the live descendants while the cgroup has a limit
	// (limited): only cgroup_check_hierarchy_limits needs it on every
	// mkdir; cgroup.stat counts them when it is read.
	nrDesc  int
	limited bool
	// nrThreadedChildren counts the threaded children; nrPopDomain and
	// nrPopThreaded the populated domain and threaded children.
	nrThreadedChildren         int
	nrPopDomain, nrPopThreaded int
	frozenBy                   int   // this cgroup and its ancestors with cgroup.freeze 1
	taskRoot                   bool  // counted in FS.nTaskRoots
	procs                      []int // live tasks in join order
	exiting                    []int // exited tasks still lingering (see SetLinger)
	subtree                    ctrlMask
	cpus                       cgroupfs.CPUSet
	mems                       cgroupfs.CPUSet
	cs                         *cpusetState // cpuset bookkeeping (partition61.go)
	freeze                     bool
	threaded                   bool // made threaded through cgroup.type (one way)
	maxDepth                   int  // -1: max
	maxDesc                    int  // -1: max
	pressure                   bool
	values                     map[string]string     // stored controller knobs (memory.max, ...)
	watchers                   map[*watcher]struct{} // nil until the first watch
	removed                    bool
	ent                        dirEntry // its entry in its parent's listing
}

// newCgroup returns the cgroup name below parent; path is its path when
// the caller has it at hand (a canonical name given to Mkdir), "" to
// build it.
func newCgroup(name, path string, parent *cgroup) *cgroup {
	c := &cgroup{
		name:     name,
		pathName: ".",
		parent:   parent,
		maxDepth: -1,
		maxDesc:  -1,
		pressure: true,
		values:   make(map[string]string),
	}
	if parent != nil {
		c.ent = dirEntry{name: name, mode: fs.ModeDir | 0o755}
		c.level = parent.level + 1
		c.frozenBy = parent.frozenBy
		switch {
		case path != "":
			c.pathName = path
		case parent.isRoot():
			c.pathName = name
		default:
			c.pathName = parent.pathName + "/" + name
		}
	}
	return c
}

func (c *cgroup) isRoot() bool { return c.parent == nil }

// path returns the FS-relative path of c ("." for the root).
func (c *cgroup) path() string { return c.pathName }

// sortedChildren returns the live children ordered by name, for
// listings and deterministic walks. It sorts only the children created
// since the last call and merges them in, so a listing costs the same
// per entry whatever the number of children. The result is c's own
// slice: read it, do not keep it across changes of c.
func (c *cgroup) sortedChildren() []*cgroup {
	if c.sorted == len(c.order) && c.dead == 0 {
		return c.order
	}
	head := c.order[:c.sorted]
	tail := slices.DeleteFunc(c.order[c.sorted:], (*cgroup).isRemoved)
	slices.SortFunc(tail, byName)
	out := make([]*cgroup, 0, len(head)+len(tail))
	for _, g := range head {
		if g.removed {
			continue
		}
		for len(tail) > 0 && tail[0].name < g.name {
			out = append(out, tail[0])
			tail = tail[1:]
		}
		out = append(out, g)
	}
	out = append(out, tail...)
	c.order, c.sorted, c.dead = out, len(out), 0
	return out
}

func (c *cgroup) isRemoved() bool { return c.removed }

func byName(a, b *cgroup) int { return strings.Compare(a.name, b.name) }

// addChild links the new cgroup ch below c; limits tells whether any
// cgroup has a limit, whose descendant count must follow.
func (c *cgroup) addChild(ch *cgroup, limits bool) {
	if c.children == nil {
		c.children = make(map[string]*cgroup)
	}
	c.children[ch.name] = ch
	c.order = append(c.order, ch)
	if limits {
		for g := c; g != nil; g = g.parent {
			g.nrDesc++
		}
	}
}

// removeChild unlinks the removed, empty cgroup ch from c. Its entry in
// c.order goes at the next listing, or here once the removed ones are
// the majority, so that mkdir and rmdir stay amortized O(1).
func (c *cgroup) removeChild(ch *cgroup, limits bool) {
	delete(c.children, ch.name)
	ch.removed = true
	c.dead++
	if c.dead > 16 && 2*c.dead > len(c.order) {
		sorted := 0
		for _, g := range c.order[:c.sorted] {
			if !g.removed {
				sorted++
			}
		}
		c.order = slices.DeleteFunc(c.order, (*cgroup).isRemoved)
		c.sorted, c.dead = sorted, 0
	}
	if limits {
		for g := c; g != nil; g = g.parent {
			g.nrDesc--
		}
	}
}

// descendants counts the live cgroups below c, walking them (for
// cgroup.stat, which walks c's subtree anyway).
func (c *cgroup) descendants() int {
	n := 0
	for _, ch := range c.children {
		n += 1 + ch.descendants()
	}
	return n
}

// setLimited keeps c.limited, FS.nLimited and c's descendant count right
// after c's limits may have changed.
func (f *FS) setLimited(c *cgroup) {
	is := c.maxDepth >= 0 || c.maxDesc >= 0
	if is == c.limited {
		return
	}
	c.limited = is
	if is {
		f.nLimited++
		// Counted from now on by every mkdir and rmdir below it.
		c.nrDesc = c.descendants()
	} else {
		f.nLimited--
	}
}

// enabled returns the controllers whose files c carries: the root's
// available ones for the root, the parent's subtree_control otherwise,
// of which a threaded cgroup gets only the threaded controllers
// (cgroup_control).
func (f *FS) enabled(c *cgroup) ctrlMask {
	if c.isRoot() {
		return f.rootCtrls
	}
	if c.threaded {
		return c.parent.subtree & threadedMask
	}
	return c.parent.subtree
}

// available returns what c's cgroup.controllers lists.
func (f *FS) available(c *cgroup) ctrlMask { return f.enabled(c) }

// pathErr builds the error every FS method returns.
func pathErr(op Op, name string, err error) error {
	return &fs.PathError{Op: string(op), Path: name, Err: err}
}

// split checks name and returns its elements ("." gives none). Like the
// kernel, it takes any byte in a name but '/' and NUL (UTF-8 or not);
// unlike a path for the kernel, a name may not be absolute, empty, or
// hold "." or ".." elements or "//": those fail with EINVAL, as OSFS
// refuses or cleans them before any system call.
func split(name string) ([]string, error) {
	if name == "." {
		return nil, nil
	}
	if len(name) >= pathMax {
		return nil, unix.ENAMETOOLONG
	}
	if name == "" || strings.IndexByte(name, 0) >= 0 {
		return nil, unix.EINVAL
	}
	elems := strings.Split(name, "/")
	for _, e := range elems {
		if e == "" || e == "." || e == ".." {
			return nil, unix.EINVAL
		}
	}
	return elems, nil
}

// pathMax is the kernel's PATH_MAX: a path of that many bytes (with its
// terminating NUL it no longer fits) fails with ENAMETOOLONG. cgroupfs
// has no shorter limit on one name: 4095-byte names are fine.
const pathMax = 4096

// dir resolves name to a cgroup: through the path index when name is a
// cgroup's path, else by split and walk, which give the errors.
func (f *FS) dir(name string) (*cgroup, error) {
	if name == "." {
		return f.root, nil
	}
	if c, ok := f.byPath[name]; ok {
		return c, nil
	}
	elems, err := split(name)
	if err != nil {
		return nil, err
	}
	return f.walk(elems)
}

// locate resolves all but the last element of name (not "."): it returns
// the cgroup that holds the last element, and that element. It answers
// as split and walk do, through the path index when the parent's path
// is a cgroup's path (a valid path, which split would accept).
func (f *FS) locate(name string) (*cgroup, string, error) {
	if len(name) < pathMax {
		parent, base := f.root, name
		ok := true
		if i := strings.LastIndexByte(name, '/'); i >= 0 {
			base = name[i+1:]
			parent, ok = f.byPath[name[:i]]
		}
		if ok && base != "" && base != "." && base != ".." && strings.IndexByte(base, 0) < 0 {
			return parent, base, nil
		}
	}
	elems, err := split(name)
	if err != nil {
		return nil, "", err
	}
	parent, err := f.walk(elems[:len(elems)-1])
	if err != nil {
		return nil, "", err
	}
	return parent, elems[len(elems)-1], nil
}

// walk resolves the directory elems. A missing element gives ENOENT, an
// interface file in the middle ENOTDIR.
func (f *FS) walk(elems []string) (*cgroup, error) {
	c := f.root
	for _, e := range elems {
		ch, ok := c.children[e]
		if !ok {
			if _, isFile := f.fileSpec(c, e); isFile {
				return nil, unix.ENOTDIR
			}
			return nil, unix.ENOENT
		}
		c = ch
	}
	return c, nil
}

// Mkdir creates the cgroup name, as mkdir(2) on cgroupfs: EEXIST when
// name exists (a cgroup or an interface file), ENOENT when the parent is
// missing, ENOTDIR when a parent is a file, EINVAL for a name holding a
// newline (the kernel refuses those) or an invalid path, and EAGAIN when
// an ancestor's cgroup.max.depth or cgroup.max.descendants forbids it.
func (f *FS) Mkdir(name string) error {
	return f.do(OpMkdir, name, "", func() error {
		if name == "." {
			return unix.EEXIST
		}
		parent, base, err := f.locate(name)
		if err != nil {
			return err
		}
		if _, ok := parent.children[base]; ok {
			return unix.EEXIST
		}
		if _, ok := f.fileSpec(parent, base); ok {
			return unix.EEXIST
		}
		if strings.Contains(base, "\n") {
			return unix.EINVAL
		}
		// cgroup_check_hierarchy_limits: every ancestor's limits, when
		// there are any.
		level := parent.level + 1
		for g := parent; g != nil && f.nLimited > 0; g = g.parent {
			if g.maxDesc >= 0 && g.nrDesc >= g.maxDesc {
				return unix.EAGAIN
			}
			if g.maxDepth >= 0 && level-g.level > g.maxDepth {
				return unix.EAGAIN
			}
		}
		// name is c's path unless it was resolved the slow way.
		path := name
		if len(path) != len(base) && len(path) != len(parent.pathName)+1+len(base) {
			path = ""
		}
		c := newCgroup(base, path, parent)
		f.nextID++
		c.id = f.nextID
		parent.addChild(c, f.nLimited > 0)
		f.byPath[c.pathName] = c
		if f.enabled(c).has(controllerIndex("cpuset")) {
			f.cpusetOnline(c)
		}
		return nil
	})
}

// Identity returns the identity of the cgroup name: a number no other
// cgroup made by this FS shares, as the kernel's cgroup id (the inode
// number on cgroupfs), so a cgroup removed and made again under the same
// name has another. It implements cgroupfs.Identifier. A missing cgroup
// fails with ENOENT, an interface file with ENOTDIR.
func (f *FS) Identity(name string) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	elems, err := split(name)
	if err != nil {
		return 0, pathErr(Op("stat"), name, err)
	}
	c, err := f.walk(elems)
	if err != nil {
		return 0, pathErr(Op("stat"), name, err)
	}
	return c.id, nil
}

// Rmdir removes the cgroup name, as rmdir(2) on cgroupfs: EBUSY while it
// or a descendant holds a task (including an exiting, lingering one) or
// while it has child cgroups (never ENOTEMPTY), EBUSY for the root,
// ENOENT when missing, ENOTDIR for an interface file. Every Rmdir call
// counts as one observation for lingering tasks (see SetLinger).
// Watchers of the removed cgroup's files have their channels closed.
func (f *FS) Rmdir(name string) error {
	return f.do(OpRmdir, name, "", func() error {
		defer f.observe()
		if name == "." {
			return unix.EBUSY
		}
		parent, base, err := f.locate(name)
		if err != nil {
			return err
		}
		c, ok := parent.children[base]
		if !ok {
			if _, isFile := f.fileSpec(parent, base); isFile {
				return unix.ENOTDIR
			}
			return unix.ENOENT
		}
		if f.populated(c) || len(c.children) > 0 {
			return unix.EBUSY
		}
		if c.threaded {
			parent.nrThreadedChildren--
			f.nThreaded--
		}
		if c.limited {
			f.nLimited--
		}
		f.cpusetOffline(c)
		parent.removeChild(c, f.nLimited > 0)
		delete(f.byPath, c.pathName)
		for w := range c.watchers {
			w.closeLocked()
		}
		return nil
	})
}

// ReadFile returns the contents of the interface file name in the
// kernel's format. It fails with ENOENT for a missing file (including a
// controller file whose controller the parent does not enable), EISDIR
// for a cgroup, ENOTDIR when a parent is a file, and EINVAL for a
// write-only file (cgroup.kill). Reading cgroup.events counts as one
// observation for lingering tasks (see SetLinger).
func (f *FS) ReadFile(name string) ([]byte, error) {
	var out []byte
	err := f.do(OpRead, name, "", func() error {
		c, spec, err := f.resolveFile(name)
		if err != nil {
			return err
		}
		if err := readable(c, spec); err != nil {
			return err
		}
		out = []byte(spec.read(f, c))
		if spec.name == "cgroup.events" {
			f.observe()
		}
		return nil
	})
	return out, err
}

// WriteFile writes data to the interface file name as one write(2) and
// answers as the kernel would: a zero-length write is ignored; writes
// longer than the file accepts fail with E2BIG; a read-only file fails
// with EINVAL; a missing file with ENOENT (the FS opens without O_CREAT);
// a cgroup with EISDIR. Each file then parses data as its kernel handler
// does and fails with the same errno (the package documentation lists
// them).
func (f *FS) WriteFile(name string, data []byte) error {
	return f.do(OpWrite, name, string(data), func() error {
		c, spec, err := f.resolveFile(name)
		if err != nil {
			return err
		}
		if len(data) == 0 {
			return nil
		}
		limit := spec.maxWrite
		if limit == 0 {
			limit = pageSize
		}
		if len(data) > limit {
			return unix.E2BIG
		}
		if spec.write == nil {
			return unix.EINVAL
		}
		threaded, freeze := c.threaded, c.freeze
		err = spec.write(f, c, cString(data))
		f.written(c, threaded, freeze)
		if err != nil {
			return err
		}
		// A successful write(2) raises IN_MODIFY on the file itself.
		c.notifyFile(spec.name)
		return nil
	})
}

// readable says why spec cannot be read in c, if it cannot: EINVAL for a
// write-only file, EOPNOTSUPP for cgroup.procs of a threaded cgroup
// (its processes belong to the thread root, cgroup_procs_start).
func readable(c *cgroup, spec fileSpec) error {
	if spec.read == nil {
		return unix.EINVAL
	}
	if spec.name == "cgroup.procs" && c.threaded {
		return unix.EOPNOTSUPP
	}
	return nil
}

// resolveFile finds the cgroup and interface file name names.
func (f *FS) resolveFile(name string) (*cgroup, fileSpec, error) {
	if name == "." {
		return nil, fileSpec{}, unix.EISDIR
	}
	c, base, err := f.locate(name)
	if err != nil {
		return nil, fileSpec{}, err
	}
	if _, ok := c.children[base]; ok {
		return nil, fileSpec{}, unix.EISDIR
	}
	spec, ok := f.fileSpec(c, base)
	if !ok {
		return nil, fileSpec{}, unix.ENOENT
	}
	return c, spec, nil
}

// ReadDir lists the cgroup name: its interface files and child cgroups,
// sorted by name (the kernel's order is unspecified). It fails with
// ENOENT when name is missing and ENOTDIR for a file.
func (f *FS) ReadDir(name string) ([]fs.DirEntry, error) {
	var out []fs.DirEntry
	err := f.do(OpReadDir, name, "", func() error {
		c, err := f.dir(name)
		if err != nil {
			return err
		}
		// Both lists are sorted: merge them, files first on a tie. The
		// entries are immutable and shared (the files' from the cache,
		// each child's its own): only the slice is allocated.
		files := f.fileEntries(c)
		children := c.sortedChildren()
		out = make([]fs.DirEntry, 0, len(files)+len(children))
		i := 0
		for _, g := range children {
			for ; i < len(files) && files[i].name <= g.name; i++ {
				out = append(out, &files[i])
			}
			out = append(out, &g.ent)
		}
		for ; i < len(files); i++ {
			out = append(out, &files[i])
		}
		return nil
	})
	return out, err
}

// fileEntries returns the listing entries of c's interface files,
// sorted by name, from the cache (read them, do not change them).
func (f *FS) fileEntries(c *cgroup) []dirEntry {
	key := fileListKey{c.isRoot(), c.pressure, f.enabled(c)}
	if list, ok := f.fileLists[key]; ok {
		return list
	}
	var list []dirEntry
	for _, spec := range f.files(c) {
		list = append(list, dirEntry{name: spec.name, mode: spec.mode})
	}
	slices.SortFunc(list, func(a, b dirEntry) int { return strings.Compare(a.name, b.name) })
	if f.fileLists == nil {
		f.fileLists = make(map[fileListKey][]dirEntry)
	}
	f.fileLists[key] = list
	return list
}

// populated reports whether c or a descendant holds a task, live or
// lingering (cgroup_is_populated).
func (f *FS) populated(c *cgroup) bool { return isPopulated(c) }

func isPopulated(c *cgroup) bool {
	return hasTasks(c) || c.nrPopDomain+c.nrPopThreaded > 0
}

// frozenEff reports whether c is frozen: its own cgroup.freeze or an
// ancestor's is 1. Fake tasks freeze at once, so the kernel's "frozen"
// (every task of the subtree stopped) follows the setting directly.
func frozenEff(c *cgroup) bool { return c.frozenBy > 0 }

// tasksChanged follows cgroup_update_populated after c's own tasks (live
// or lingering) changed, had telling whether it held any before: the
// populated counts change along the ancestors as far as their populated
// state flips, and the watchers of cgroup.events of each cgroup that
// flips are notified.
func (f *FS) tasksChanged(c *cgroup, had bool) {
	has := hasTasks(c)
	f.vetTaskRoot(c)
	if has == had {
		return
	}
	adj := 1
	if !has {
		adj = -1
	}
	// c itself: populated before if it had tasks or populated children.
	was := had || c.nrPopDomain+c.nrPopThreaded > 0
	if was == isPopulated(c) {
		return
	}
	c.notifyFile("cgroup.events")
	for child, g := c, c.parent; g != nil; child, g = g, g.parent {
		was := isPopulated(g)
		if child.threaded {
			g.nrPopThreaded += adj
		} else {
			g.nrPopDomain += adj
		}
		if was == isPopulated(g) {
			return
		}
		g.notifyFile("cgroup.events")
	}
}

// vetTaskRoot keeps c's count in FS.nTaskRoots right (see there).
func (f *FS) vetTaskRoot(c *cgroup) {
	is := hasTasks(c) && c.subtree&threadedMask != 0
	if is != c.taskRoot {
		c.taskRoot = is
		if is {
			f.nTaskRoots++
		} else {
			f.nTaskRoots--
		}
	}
}

// written updates what a write to one of c's files may have changed,
// threaded and freeze telling c's state before: the counts of threaded
// cgroups, task roots and limited cgroups, and, for cgroup.freeze, the frozen state of
// c's subtree (cgroup_freeze: the kernel walks the descendants too),
// notifying the watchers of cgroup.events where it flips.
func (f *FS) written(c *cgroup, threaded, freeze bool) {
	f.vetTaskRoot(c)
	f.setLimited(c)
	if c.threaded && !threaded {
		c.parent.nrThreadedChildren++
		f.nThreaded++
	}
	if c.freeze == freeze {
		return
	}
	adj := 1
	if !c.freeze {
		adj = -1
	}
	var walk func(g *cgroup)
	walk = func(g *cgroup) {
		was := g.frozenBy > 0
		g.frozenBy += adj
		if was != (g.frozenBy > 0) {
			g.notifyFile("cgroup.events")
		}
		for _, ch := range g.children {
			walk(ch)
		}
	}
	walk(c)
}
