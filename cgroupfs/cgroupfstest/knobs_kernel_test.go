package cgroupfstest_test

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/fakefs"
	"github.com/cgguard/cgguard/internal/kerneltest"
	"github.com/cgguard/cgguard/vmtest"
	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
)

// knobInputs are written to every writable knob: beside these, the
// value the knob reads in a fresh cgroup (writing it back).
var knobInputs = []string{"0", "1", "max", "-1", "junk", "1 2", "\n"}

// TestKernelKnobsMatchFake writes every writable interface file of a
// fresh child cgroup with every offered controller enabled, the list
// taken from the fake of the running kernel's version and machine (so a
// knob the fake gains is written too), to the kernel and to that fake,
// and compares the errno of each write and what the file reads after
// it. A knob the fake has and the kernel lacks is an error.
// cgroup.procs and cgroup.threads are left out: the conformance
// scenarios move their own tasks.
func TestKernelKnobsMatchFake(t *testing.T) {
	dir := kerneltest.Base(t, kerneltest.OfferAllControllers(vmtest.InVM()))
	kfs, err := cgroupfs.Open(dir)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	t.Cleanup(func() { kfs.Close() })
	data, err := kfs.ReadFile("cgroup.controllers")
	if err != nil {
		t.Fatal(err)
	}
	ctrls := strings.Fields(string(data))
	ffs := fakeTwin(t, ctrls)
	for _, fsys := range []cgroupfs.FS{kfs, ffs} {
		for _, c := range ctrls {
			if err := fsys.WriteFile(knobJoin(fsys, "cgroup.subtree_control"), []byte("+"+c)); err != nil {
				t.Fatalf("enable %s: %v", c, err)
			}
		}
	}
	t.Cleanup(func() {
		for _, c := range slices.Backward(ctrls) {
			_ = kfs.WriteFile("cgroup.subtree_control", []byte("-"+c))
		}
	})
	files, err := kerneltest.WritableFiles(ffs, "t/probe")
	assert.NilError(t, err)
	if len(files) == 0 {
		t.Fatal("the fake lists no writable file in a fresh cgroup")
	}
	writes := 0
	for i, file := range files {
		dir := fmt.Sprintf("knob%d", i)
		for _, fsys := range []cgroupfs.FS{kfs, ffs} {
			if err := fsys.Mkdir(knobJoin(fsys, dir)); err != nil {
				t.Fatal(err)
			}
		}
		name := dir + "/" + file
		fresh, ferr := ffs.ReadFile(knobJoin(ffs, name))
		if _, kerr := kfs.ReadFile(name); errors.Is(kerr, unix.ENOENT) {
			t.Errorf("%s: the fake has it, the kernel does not", file)
		}
		inputs := knobInputs
		if ferr == nil {
			inputs = append([]string{string(fresh)}, inputs...)
		}
		for _, in := range inputs {
			kw := kfs.WriteFile(name, []byte(in))
			fw := ffs.WriteFile(knobJoin(ffs, name), []byte(in))
			kd, kr := kfs.ReadFile(name)
			fd, fr := ffs.ReadFile(knobJoin(ffs, name))
			writes++
			if errnoOf(kw) != errnoOf(fw) || errnoOf(kr) != errnoOf(fr) || comparableKnob(file, kd) != comparableKnob(file, fd) {
				t.Errorf("write %q to %s: kernel %s, reads %q (%s); fake %s, reads %q (%s)",
					in, file, errnoOf(kw), kd, errnoOf(kr), errnoOf(fw), fd, errnoOf(fr))
			}
		}
		for _, fsys := range []cgroupfs.FS{kfs, ffs} {
			_ = fsys.WriteFile(knobJoin(fsys, dir+"/cgroup.freeze"), []byte("0"))
			for _, c := range slices.Backward(ctrls) {
				_ = fsys.WriteFile(knobJoin(fsys, dir+"/cgroup.subtree_control"), []byte("-"+c))
			}
			if err := fsys.Rmdir(knobJoin(fsys, dir)); err != nil {
				t.Errorf("rmdir %s: %v", dir, err)
			}
		}
	}
	t.Logf("%d writes to %d knobs compared (controllers %q)", writes, len(files), ctrls)
}

// fakeTwin returns a fake of the running kernel's version and machine
// whose cgroup "t" is the counterpart of the kernel test cgroup,
// offered ctrls. It skips the test on a kernel without a fake profile.
func fakeTwin(t *testing.T, ctrls []string) *fakefs.FS {
	t.Helper()
	return kerneltest.FakeTwin(t, kerneltest.ThisMachine(t).FakeOptions(), ctrls)
}

// knobJoin names file in the test cgroup of fsys: the kernel's FS is
// opened at it, the fake's is its child "t".
func knobJoin(fsys cgroupfs.FS, name string) string {
	if _, ok := fsys.(*fakefs.FS); ok {
		return "t/" + name
	}
	return name
}

func errnoOf(err error) string {
	var e syscall.Errno
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &e):
		return e.Error()
	}
	return err.Error()
}

var knobDigits = regexp.MustCompile(`[0-9]+(\.[0-9]+)?`)

// comparableKnob is what is compared of a file's content: its numbers
// too, but for the files whose numbers follow the machine's activity.
func comparableKnob(name string, data []byte) string {
	for _, suf := range []string{".stat", ".pressure", ".current", ".peak", ".events", ".events.local"} {
		if strings.HasSuffix(name, suf) {
			return knobDigits.ReplaceAllString(string(data), "N")
		}
	}
	return string(data)
}
