package cgroupfs

import (
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// memFS is a small in-memory cgroup v2 for the Manager's unit tests: just
// enough of the kernel's rules (controllers, the no-internal-process
// rule for domain controllers, EBUSY for children and tasks,
// cgroup.events, cgroup.kill) to drive every branch, plus a log of
// operations and a hook to inject errors. Threaded mode (thread roots,
// "domain invalid") is not modelled. The full fake is package fakefs; cgroupfs tests stay
// independent of it.
//
// Pids are plain numbers. Tests use pids above the kernel's PID_MAX_LIMIT
// (4194304), so that a signal the Manager sends to one (the fallback of
// KillTasks) can never reach a real process; see fakePid.
type memFS struct {
	mu       sync.Mutex
	cgroups  map[string]*memCgroup // "." is the root
	rootCtl  []string              // the root's cgroup.controllers
	log      []string              // "op name" or "write name data"
	fail     func(op, name string) error
	dead     map[int]bool // writing these pids answers ESRCH
	noKill   bool         // no cgroup.kill file (kernels before 5.14)
	livePids bool         // list only pids of processes that exist (real children)
	watchers map[string][]*memWatcher
}

type memCgroup struct {
	subtree []string
	procs   []int
	files   map[string]string // cpuset.cpus, cpuset.mems as written
}

// fakePid returns a pid no real process can have.
func fakePid(n int) int { return 5_000_000 + n }

func newMemFS(rootControllers ...string) *memFS {
	return &memFS{
		cgroups:  map[string]*memCgroup{".": {files: map[string]string{}}},
		rootCtl:  rootControllers,
		dead:     map[int]bool{},
		watchers: map[string][]*memWatcher{},
	}
}

func memErr(op, name string, errno unix.Errno) error {
	return &fs.PathError{Op: op, Path: name, Err: errno}
}

// enter logs the operation and runs the fault hook; it returns with mu
// held when err is nil.
func (m *memFS) enter(op, name, data string) error {
	m.mu.Lock()
	entry := op + " " + name
	if op == "write" {
		entry += " " + strconv.Quote(data)
	}
	m.log = append(m.log, entry)
	fail := m.fail
	if fail != nil {
		m.mu.Unlock()
		if err := fail(op, name); err != nil {
			return err
		}
		m.mu.Lock()
	}
	return nil
}

// ops returns and resets the log.
func (m *memFS) ops() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.log
	m.log = nil
	return out
}

func splitFile(name string) (dir, base string) {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[:i], name[i+1:]
	}
	return ".", name
}

func (m *memFS) children(p string) []string {
	var kids []string
	for k := range m.cgroups {
		if k != "." && parentOf(k) == p {
			kids = append(kids, k)
		}
	}
	slices.Sort(kids)
	return kids
}

func (m *memFS) populated(p string) bool {
	if len(m.cgroups[p].procs) > 0 {
		return true
	}
	for _, k := range m.children(p) {
		if m.populated(k) {
			return true
		}
	}
	return false
}

func (m *memFS) controllers(p string) []string {
	if p == "." {
		return m.rootCtl
	}
	return m.cgroups[parentOf(p)].subtree
}

// memThreaded are the threaded controllers, exempt from the
// no-internal-process rule (measured in the VM: a task may be moved into
// a cgroup enabling cpuset and cpu for its children).
var memThreaded = map[string]bool{"cpuset": true, "cpu": true, "perf_event": true, "pids": true}

var memInterfaceFiles = []string{"cgroup.controllers", "cgroup.events", "cgroup.kill", "cgroup.procs", "cgroup.subtree_control"}

func (m *memFS) files(p string) []string {
	files := slices.Clone(memInterfaceFiles)
	if p == "." {
		files = slices.DeleteFunc(files, func(f string) bool { return f == "cgroup.events" || f == "cgroup.kill" })
	}
	if m.noKill {
		files = slices.DeleteFunc(files, func(f string) bool { return f == "cgroup.kill" })
	}
	if slices.Contains(m.controllers(p), "cpuset") {
		files = append(files, "cpuset.cpus", "cpuset.mems")
	}
	return files
}

func (m *memFS) Mkdir(name string) error {
	if err := m.enter("mkdir", name, ""); err != nil {
		return err
	}
	defer m.mu.Unlock()
	dir, base := splitFile(name)
	if _, ok := m.cgroups[name]; ok {
		return memErr("mkdir", name, unix.EEXIST)
	}
	if _, ok := m.cgroups[dir]; !ok {
		return memErr("mkdir", name, unix.ENOENT)
	}
	if slices.Contains(m.files(dir), base) {
		return memErr("mkdir", name, unix.EEXIST)
	}
	m.cgroups[name] = &memCgroup{files: map[string]string{}}
	return nil
}

func (m *memFS) Rmdir(name string) error {
	if err := m.enter("rmdir", name, ""); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.cgroups[name]; !ok || name == "." {
		dir, base := splitFile(name)
		if _, ok := m.cgroups[dir]; ok && slices.Contains(m.files(dir), base) {
			return memErr("rmdir", name, unix.ENOTDIR)
		}
		return memErr("rmdir", name, unix.ENOENT)
	}
	if len(m.children(name)) > 0 || m.populated(name) {
		return memErr("rmdir", name, unix.EBUSY)
	}
	delete(m.cgroups, name)
	for _, w := range m.watchers[name] {
		w.closeLocked()
	}
	delete(m.watchers, name)
	return nil
}

func (m *memFS) ReadFile(name string) ([]byte, error) {
	if err := m.enter("read", name, ""); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	dir, base := splitFile(name)
	cg, ok := m.cgroups[dir]
	if !ok || !slices.Contains(m.files(dir), base) {
		if _, isDir := m.cgroups[name]; isDir {
			return nil, memErr("read", name, unix.EISDIR)
		}
		return nil, memErr("read", name, unix.ENOENT)
	}
	switch base {
	case "cgroup.controllers":
		return listBytes(m.controllers(dir)), nil
	case "cgroup.subtree_control":
		return listBytes(cg.subtree), nil
	case "cgroup.procs":
		var b strings.Builder
		if m.livePids {
			cg.procs = slices.DeleteFunc(cg.procs, func(pid int) bool {
				return unix.Kill(pid, 0) == unix.ESRCH
			})
		}
		for _, pid := range cg.procs {
			fmt.Fprintf(&b, "%d\n", pid)
		}
		return []byte(b.String()), nil
	case "cgroup.events":
		pop := 0
		if m.populated(dir) {
			pop = 1
		}
		return fmt.Appendf(nil, "populated %d\nfrozen 0\n", pop), nil
	case "cgroup.kill":
		return nil, memErr("read", name, unix.EINVAL)
	}
	return []byte(cg.files[base] + "\n"), nil
}

func listBytes(l []string) []byte {
	if len(l) == 0 {
		return nil
	}
	return []byte(strings.Join(l, " ") + "\n")
}

func (m *memFS) WriteFile(name string, data []byte) error {
	if err := m.enter("write", name, string(data)); err != nil {
		return err
	}
	defer m.mu.Unlock()
	dir, base := splitFile(name)
	cg, ok := m.cgroups[dir]
	if !ok || !slices.Contains(m.files(dir), base) {
		return memErr("write", name, unix.ENOENT)
	}
	if len(data) == 0 {
		return nil // the kernel ignores a zero-length write
	}
	s := strings.TrimSpace(string(data))
	switch base {
	case "cgroup.subtree_control":
		sign, c := s[0], s[1:]
		switch {
		case sign == '+' && !slices.Contains(m.controllers(dir), c):
			return memErr("write", name, unix.ENOENT)
		case sign == '+' && dir != "." && len(cg.procs) > 0 && !memThreaded[c]:
			return memErr("write", name, unix.EBUSY)
		case sign == '+':
			if !slices.Contains(cg.subtree, c) {
				cg.subtree = append(cg.subtree, c)
			}
		case sign == '-':
			for _, k := range m.children(dir) {
				if slices.Contains(m.cgroups[k].subtree, c) {
					return memErr("write", name, unix.EBUSY)
				}
			}
			cg.subtree = slices.DeleteFunc(cg.subtree, func(x string) bool { return x == c })
		default:
			return memErr("write", name, unix.EINVAL)
		}
	case "cgroup.procs":
		pid, err := strconv.Atoi(s)
		if err != nil || pid <= 0 {
			return memErr("write", name, unix.EINVAL)
		}
		if m.dead[pid] {
			return memErr("write", name, unix.ESRCH)
		}
		if dir != "." && slices.ContainsFunc(cg.subtree, func(c string) bool { return !memThreaded[c] }) {
			return memErr("write", name, unix.EBUSY)
		}
		for _, other := range m.cgroups {
			other.procs = slices.DeleteFunc(other.procs, func(p int) bool { return p == pid })
		}
		cg.procs = append(cg.procs, pid)
		m.notifyLocked()
	case "cgroup.kill":
		if s != "1" {
			return memErr("write", name, unix.ERANGE)
		}
		for k, c := range m.cgroups {
			if isBeneath(k, dir) {
				c.procs = nil
			}
		}
		m.notifyLocked()
	case "cgroup.controllers", "cgroup.events":
		return memErr("write", name, unix.EINVAL)
	default:
		if s == "" {
			delete(cg.files, base)
		} else {
			cg.files[base] = s
		}
	}
	return nil
}

// place puts pids into the cgroup p directly, as if they had been
// forked there.
func (m *memFS) place(p string, pids ...int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cgroups[p].procs = append(m.cgroups[p].procs, pids...)
	m.notifyLocked()
}

// exit removes pid from wherever it is, as if it had exited.
func (m *memFS) exit(pid int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.cgroups {
		c.procs = slices.DeleteFunc(c.procs, func(p int) bool { return p == pid })
	}
	m.dead[pid] = true
	m.notifyLocked()
}

// paths returns every cgroup path, sorted.
func (m *memFS) paths() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.cgroups))
}

func (m *memFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if err := m.enter("readdir", name, ""); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	if _, ok := m.cgroups[name]; !ok {
		dir, base := splitFile(name)
		if _, ok := m.cgroups[dir]; ok && slices.Contains(m.files(dir), base) {
			return nil, memErr("readdir", name, unix.ENOTDIR)
		}
		return nil, memErr("readdir", name, unix.ENOENT)
	}
	var out []fs.DirEntry
	for _, f := range m.files(name) {
		out = append(out, memEntry{name: f})
	}
	for _, k := range m.children(name) {
		_, base := splitFile(k)
		out = append(out, memEntry{name: base, dir: true})
	}
	return out, nil
}

type memEntry struct {
	name string
	dir  bool
}

func (e memEntry) Name() string { return e.name }
func (e memEntry) IsDir() bool  { return e.dir }
func (e memEntry) Type() fs.FileMode {
	if e.dir {
		return fs.ModeDir
	}
	return 0
}
func (e memEntry) Info() (fs.FileInfo, error) { return nil, fs.ErrInvalid }

func (m *memFS) Watch(name string) (Watcher, error) {
	if err := m.enter("watch", name, ""); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	dir, base := splitFile(name)
	if _, ok := m.cgroups[dir]; !ok || base != "cgroup.events" || dir == "." {
		return nil, memErr("watch", name, unix.ENOENT)
	}
	w := &memWatcher{fsys: m, dir: dir, ch: make(chan struct{}, 1)}
	m.watchers[dir] = append(m.watchers[dir], w)
	return w, nil
}

// notifyLocked wakes every watcher: a change of populated anywhere may
// change it above, and a spurious event only costs a re-read.
func (m *memFS) notifyLocked() {
	for _, ws := range m.watchers {
		for _, w := range ws {
			select {
			case w.ch <- struct{}{}:
			default:
			}
		}
	}
}

type memWatcher struct {
	fsys   *memFS
	dir    string
	ch     chan struct{}
	closed bool
}

func (w *memWatcher) Events() <-chan struct{} { return w.ch }

func (w *memWatcher) Close() error {
	w.fsys.mu.Lock()
	defer w.fsys.mu.Unlock()
	w.closeLocked()
	w.fsys.watchers[w.dir] = slices.DeleteFunc(w.fsys.watchers[w.dir], func(x *memWatcher) bool { return x == w })
	return nil
}

func (w *memWatcher) closeLocked() {
	if !w.closed {
		w.closed = true
		close(w.ch)
	}
}

// exitAfter makes pid exit after d, from another goroutine, as a killed
// task does a moment after the kill.
func (m *memFS) exitAfter(pid int, d time.Duration) {
	time.AfterFunc(d, func() { m.exit(pid) })
}
