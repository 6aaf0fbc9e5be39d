package fakefs

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Snapshot is the state of a whole FS at one moment: every cgroup, parents
// before children and siblings by name, with its files and tasks. It is a
// plain value: compare two with cmp.Diff, or keep String's output in a
// golden file.
type Snapshot struct {
	Cgroups []Cgroup
}

// Cgroup is one cgroup of a Snapshot.
type Cgroup struct {
	// Path is FS-relative ("." for the root).
	Path string
	// Procs lists the live tasks in join order, as cgroup.procs does.
	Procs []int
	// Exiting lists exited tasks that still linger (see SetLinger).
	Exiting []int
	// Files holds every interface file, by name.
	Files []File
}

// File is one interface file of a Cgroup.
type File struct {
	Name string
	Mode fs.FileMode
	// Content is what a read returns; empty where a read fails
	// (write-only files, cgroup.procs of a threaded cgroup).
	Content string
}

// Snapshot returns the current state of the hierarchy. Taking it is not
// an operation: it is not logged, faults do not apply, and it does not
// count as an observation for lingering tasks.
func (f *FS) Snapshot() Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	var s Snapshot
	var walk func(c *cgroup)
	walk = func(c *cgroup) {
		cg := Cgroup{Path: c.path(), Procs: slices.Clone(c.procs), Exiting: slices.Clone(c.exiting)}
		specs := f.files(c)
		slices.SortFunc(specs, func(a, b fileSpec) int { return strings.Compare(a.name, b.name) })
		for _, spec := range specs {
			file := File{Name: spec.name, Mode: spec.mode}
			if readable(c, spec) == nil {
				file.Content = spec.read(f, c)
			}
			cg.Files = append(cg.Files, file)
		}
		s.Cgroups = append(s.Cgroups, cg)
		for _, ch := range c.sortedChildren() {
			walk(ch)
		}
	}
	walk(f.root)
	return s
}

// String renders the snapshot as stable text, one cgroup per block and
// one file per line with its content quoted, for golden files.
func (s Snapshot) String() string {
	var b strings.Builder
	for _, c := range s.Cgroups {
		fmt.Fprintf(&b, "cgroup %s\n", c.Path)
		fmt.Fprintf(&b, "\tprocs %v\n", c.Procs)
		if len(c.Exiting) > 0 {
			fmt.Fprintf(&b, "\texiting %v\n", c.Exiting)
		}
		for _, file := range c.Files {
			fmt.Fprintf(&b, "\t%s %v %q\n", file.Name, file.Mode, file.Content)
		}
	}
	return b.String()
}

// MarshalText returns String's text; it never fails.
func (s Snapshot) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Cgroup returns the cgroup at path in the snapshot and whether it is
// there.
func (s Snapshot) Cgroup(path string) (Cgroup, bool) {
	for _, c := range s.Cgroups {
		if c.Path == path {
			return c, true
		}
	}
	return Cgroup{}, false
}

// File returns the content of the file name of the cgroup and whether
// the file exists.
func (c Cgroup) File(name string) (string, bool) {
	for _, f := range c.Files {
		if f.Name == name {
			return f.Content, true
		}
	}
	return "", false
}

// LogEntry is one operation in the log of an FS.
type LogEntry struct {
	Op Op
	// Path is the FS-relative path the operation named (for exits and
	// kills, the task's cgroup; empty when the pid was unknown).
	Path string
	// Data is what was written (OpWrite) or the pid (OpExit, OpKill).
	Data string
	// Err is what the caller got; nil on success.
	Err error
	// Injected is true when Err came from Fail, not from the emulation.
	Injected bool
}

// String renders the entry as one line: op, path, data quoted when
// present, and "ok" or the errno name (with "injected" for faults).
func (e LogEntry) String() string {
	var b strings.Builder
	b.WriteString(string(e.Op))
	if e.Path != "" {
		b.WriteString(" " + e.Path)
	}
	if e.Data != "" || e.Op == OpWrite {
		fmt.Fprintf(&b, " %q", e.Data)
	}
	switch {
	case e.Err == nil:
		b.WriteString(": ok")
	default:
		b.WriteString(": " + errName(e.Err))
		if e.Injected {
			b.WriteString(" (injected)")
		}
	}
	return b.String()
}

// errName names the errno inside err ("EBUSY"), or gives err's text.
func errName(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if n := unix.ErrnoName(errno); n != "" {
			return n
		}
	}
	return err.Error()
}

// record appends e to the log, dropping the oldest entries beyond the
// limit (WithLogLimit).
func (f *FS) record(e LogEntry) {
	f.log = append(f.log, e)
	if f.logLimit > 0 && len(f.log) > 2*f.logLimit {
		// Trim in batches so that appending stays amortized O(1).
		f.log = append(f.log[:0], f.log[len(f.log)-f.logLimit:]...)
	}
}

// Log returns a copy of every operation so far, oldest first: FS
// methods, Spawn, Exit, Kill, and the kills cgroup.kill caused. With
// WithLogLimit only the newest entries are kept.
func (f *FS) Log() []LogEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	log := f.log
	if f.logLimit > 0 && len(log) > f.logLimit {
		log = log[len(log)-f.logLimit:]
	}
	return slices.Clone(log)
}
