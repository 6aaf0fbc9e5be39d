package fakefs

import "github.com/cgguard/cgguard/cgroupfs"

// watcher is the fake's cgroupfs.Watcher for one interface file.
type watcher struct {
	fs     *FS
	c      *cgroup
	file   string
	ch     chan struct{}
	closed bool
}

// Watch reports modifications of the interface file name as the kernel's
// inotify IN_MODIFY does: cgroup.events on every change of its populated
// or frozen value (changes below the cgroup included, as they change the
// cgroup's own state), and any file after a successful write to it.
// Events coalesce (the channel holds one pending value). The channel is
// closed by Close and when the cgroup is removed. Watch fails with
// ENOENT for a missing file (the root has no cgroup.events) and EISDIR
// for a cgroup.
func (f *FS) Watch(name string) (cgroupfs.Watcher, error) {
	var w *watcher
	err := f.do(OpWatch, name, "", func() error {
		c, spec, err := f.resolveFile(name)
		if err != nil {
			return err
		}
		w = &watcher{fs: f, c: c, file: spec.name, ch: make(chan struct{}, 1)}
		if c.watchers == nil {
			c.watchers = make(map[*watcher]struct{})
		}
		c.watchers[w] = struct{}{}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// Events returns the channel that receives a value after a change.
func (w *watcher) Events() <-chan struct{} { return w.ch }

// Close stops the watcher and closes its channel. Closing twice, or
// after the cgroup was removed, does nothing and returns nil.
func (w *watcher) Close() error {
	w.fs.mu.Lock()
	defer w.fs.mu.Unlock()
	w.closeLocked()
	return nil
}

func (w *watcher) closeLocked() {
	if w.closed {
		return
	}
	w.closed = true
	delete(w.c.watchers, w)
	close(w.ch)
}

// notifyFile wakes the watchers of c's file name without blocking: a
// pending value already stands for this change.
func (c *cgroup) notifyFile(name string) {
	for w := range c.watchers {
		if w.file != name {
			continue
		}
		select {
		case w.ch <- struct{}{}:
		default:
		}
	}
}
