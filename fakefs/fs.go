package fakefs

import (
	"io/fs"
	"slices"
	"sort"
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
	tasks     map[int]*task
	nextPid   int
	nextID    uint64 // the identity of the next cgroup made (see Identity)
	faults    []*fault
	log       []LogEntry
	logLimit  int // 0: keep every entry
	kernel    kernelVersion
	hugePages []hugePage
	table     fileTable // the files of kernel on this machine

	noCapSysResource bool // the caller lacks CAP_SYS_RESOURCE
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
		tasks:     make(map[int]*task),
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
	f.root = newCgroup("", nil)
	return f
}

// cgroup is one directory of the hierarchy.
type cgroup struct {
	id       uint64 // see FS.Identity; the root's is 0
	name     string
	parent   *cgroup
	children map[string]*cgroup
	procs    []int // live tasks in join order
	exiting  []int // exited tasks still lingering (see SetLinger)
	subtree  ctrlMask
	cpus     cgroupfs.CPUSet
	mems     cgroupfs.CPUSet
	freeze   bool
	threaded bool // made threaded through cgroup.type (one way)
	maxDepth int  // -1: max
	maxDesc  int  // -1: max
	pressure bool
	values   map[string]string // stored controller knobs (memory.max, ...)
	watchers map[*watcher]struct{}
	removed  bool

	// Last state reported through cgroup.events, to notify watchers of
	// changes only, as the kernel does.
	populated, frozen bool
}

func newCgroup(name string, parent *cgroup) *cgroup {
	return &cgroup{
		name:     name,
		parent:   parent,
		children: make(map[string]*cgroup),
		maxDepth: -1,
		maxDesc:  -1,
		pressure: true,
		values:   make(map[string]string),
		watchers: make(map[*watcher]struct{}),
	}
}

func (c *cgroup) isRoot() bool { return c.parent == nil }

// path returns the FS-relative path of c ("." for the root).
func (c *cgroup) path() string {
	if c.isRoot() {
		return "."
	}
	var elems []string
	for g := c; !g.isRoot(); g = g.parent {
		elems = append(elems, g.name)
	}
	slices.Reverse(elems)
	return strings.Join(elems, "/")
}

// level is the depth below the root (the root is 0).
func (c *cgroup) level() int {
	n := 0
	for g := c; !g.isRoot(); g = g.parent {
		n++
	}
	return n
}

// sortedChildren returns the children ordered by name, for deterministic
// walks.
func (c *cgroup) sortedChildren() []*cgroup {
	names := make([]string, 0, len(c.children))
	for n := range c.children {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]*cgroup, len(names))
	for i, n := range names {
		out[i] = c.children[n]
	}
	return out
}

// descendants counts the live cgroups below c.
func (c *cgroup) descendants() int {
	n := 0
	for _, ch := range c.children {
		n += 1 + ch.descendants()
	}
	return n
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
		elems, err := split(name)
		if err != nil {
			return err
		}
		if len(elems) == 0 {
			return unix.EEXIST
		}
		parent, err := f.walk(elems[:len(elems)-1])
		if err != nil {
			return err
		}
		base := elems[len(elems)-1]
		if _, ok := parent.children[base]; ok {
			return unix.EEXIST
		}
		if _, ok := f.fileSpec(parent, base); ok {
			return unix.EEXIST
		}
		if strings.Contains(base, "\n") {
			return unix.EINVAL
		}
		// cgroup_check_hierarchy_limits: every ancestor's limits.
		level := parent.level() + 1
		for g := parent; g != nil; g = g.parent {
			if g.maxDesc >= 0 && g.descendants() >= g.maxDesc {
				return unix.EAGAIN
			}
			if g.maxDepth >= 0 && level-g.level() > g.maxDepth {
				return unix.EAGAIN
			}
		}
		c := newCgroup(base, parent)
		f.nextID++
		c.id = f.nextID
		parent.children[base] = c
		f.refresh()
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
		elems, err := split(name)
		if err != nil {
			return err
		}
		if len(elems) == 0 {
			return unix.EBUSY
		}
		parent, err := f.walk(elems[:len(elems)-1])
		if err != nil {
			return err
		}
		base := elems[len(elems)-1]
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
		delete(parent.children, base)
		c.removed = true
		for w := range c.watchers {
			w.closeLocked()
		}
		f.refresh()
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
		if err := spec.write(f, c, cString(data)); err != nil {
			return err
		}
		// A successful write(2) raises IN_MODIFY on the file itself.
		c.notifyFile(spec.name)
		f.refresh()
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
	elems, err := split(name)
	if err != nil {
		return nil, fileSpec{}, err
	}
	if len(elems) == 0 {
		return nil, fileSpec{}, unix.EISDIR
	}
	c, err := f.walk(elems[:len(elems)-1])
	if err != nil {
		return nil, fileSpec{}, err
	}
	base := elems[len(elems)-1]
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
		elems, err := split(name)
		if err != nil {
			return err
		}
		c, err := f.walk(elems)
		if err != nil {
			return err
		}
		for _, spec := range f.files(c) {
			out = append(out, dirEntry{name: spec.name, mode: spec.mode})
		}
		for n := range c.children {
			out = append(out, dirEntry{name: n, mode: fs.ModeDir | 0o755})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
		return nil
	})
	return out, err
}

// populated reports whether c or a descendant holds a task, live or
// lingering.
func (f *FS) populated(c *cgroup) bool {
	if len(c.procs) > 0 || len(c.exiting) > 0 {
		return true
	}
	for _, ch := range c.children {
		if f.populated(ch) {
			return true
		}
	}
	return false
}

// frozenEff reports whether c is frozen: its own cgroup.freeze or an
// ancestor's is 1. Fake tasks freeze at once, so the kernel's "frozen"
// (every task of the subtree stopped) follows the setting directly.
func frozenEff(c *cgroup) bool {
	for g := c; g != nil; g = g.parent {
		if g.freeze {
			return true
		}
	}
	return false
}

// refresh recomputes populated and frozen for every cgroup, in one walk,
// and notifies the watchers of cgroup.events where either changed, as the
// kernel notifies on every change of the subtree's state.
func (f *FS) refresh() {
	var walk func(c *cgroup, parentFrozen bool) bool
	walk = func(c *cgroup, parentFrozen bool) bool {
		fr := (parentFrozen || c.freeze) && !c.isRoot() // the root cannot be frozen
		p := len(c.procs) > 0 || len(c.exiting) > 0
		for _, ch := range c.children {
			if walk(ch, fr) {
				p = true
			}
		}
		if p != c.populated || fr != c.frozen {
			c.populated, c.frozen = p, fr
			c.notifyFile("cgroup.events")
		}
		return p
	}
	walk(f.root, false)
}
