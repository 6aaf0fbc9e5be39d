package fakefs_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/internal/kerneltest"
	"gotest.tools/v3/assert"
)

// RecordEnv names the environment variable that makes
// TestRecordKernelAnswers print what the running kernel answers, in the
// format of testdata/kernel/*.txt. Record a kernel in the VM with
//
//	CGGUARD_RECORD=1 CGVM_PASSENV=CGGUARD_RECORD CGVM_KERNEL=<vmlinuz> \
//	  go test -count=1 -v -run TestRecordKernelAnswers -exec "$(go env GOPATH)/bin/cgvm" ./fakefs |
//	  grep -E '^(KERNEL|MACHINE|CHILD|W) ' > fakefs/testdata/kernel/<version>.txt
const recordEnv = "CGGUARD_RECORD"

// TestRecordKernelAnswers prints, for a fresh child cgroup of the
// kernel test cgroup with every offered controller enabled, every file
// with its mode and content, then for every writable file (the kernel's
// own list: the recording must not depend on the fake) each input of
// TestParsersMatchKernel written in a fresh cgroup, one after another,
// with the errno and what the file reads after it.
func TestRecordKernelAnswers(t *testing.T) {
	if os.Getenv(recordEnv) == "" {
		t.Skipf("records the running kernel's answers only with %s=1", recordEnv)
	}
	kfs, ctrls, _ := kernelTwin(t)
	enableAll(t, kfs, ctrls)
	m := kerneltest.ThisMachine(t)
	cpus, _ := kfs.ReadFile("cpuset.cpus.effective")
	fmt.Printf("KERNEL %s\n", m.Release)
	fmt.Printf("MACHINE cpus=%s ctrls=%s rootctrls=%s huge=%s capsysresource=%v\n", strings.TrimSpace(string(cpus)), strings.Join(ctrls, ","),
		strings.Join(m.RootCtrls, ","), strings.Join(m.Huge, ","), m.CapSysResource)
	files, err := kerneltest.WritableFiles(kfs, "probe")
	assert.NilError(t, err)
	if err := kfs.Mkdir("c"); err != nil {
		t.Fatal(err)
	}
	entries, err := kfs.ReadDir("c")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		data, err := kfs.ReadFile("c/" + e.Name())
		fmt.Printf("CHILD %s %v %q %s\n", e.Name(), info.Mode().Perm(), comparable(e.Name(), data), errnoName(err))
	}
	if err := kfs.Rmdir("c"); err != nil {
		t.Fatal(err)
	}
	inputs := append(slices.Clone(trickyInputs), knobInputs...)
	for i, file := range files {
		dir := fmt.Sprintf("w%d", i)
		if err := kfs.Mkdir(dir); err != nil {
			t.Fatal(err)
		}
		for _, in := range inputs {
			err := kfs.WriteFile(dir+"/"+file, []byte(in))
			data, rerr := kfs.ReadFile(dir + "/" + file)
			fmt.Printf("W %s %q => %s | %q %s\n", file, in, errnoName(err), comparable(file, data), errnoName(rerr))
		}
		_ = kfs.WriteFile(dir+"/cgroup.freeze", []byte("0"))
		_ = kfs.WriteFile(dir+"/cgroup.pressure", []byte("1"))
		for _, c := range slices.Backward(ctrls) {
			_ = kfs.WriteFile(dir+"/cgroup.subtree_control", []byte("-"+c))
		}
		if err := kfs.Rmdir(dir); err != nil {
			t.Errorf("rmdir %s: %v", dir, err)
		}
	}
}

var (
	recordedChild = regexp.MustCompile(`^CHILD (\S+) (\S+) (".*") (\S.*)$`)
	recordedWrite = regexp.MustCompile(`^W (\S+) (".*?[^\\]"|"") => (.*?) \| (".*") (\S.*)$`)
)

// TestRecordedKernelAnswers replays the kernels' recorded answers
// (testdata/kernel/*.txt, made by TestRecordKernelAnswers in the VM) on
// the fake of the same version and machine, so every profile is checked
// against its kernel on any host, without a VM.
func TestRecordedKernelAnswers(t *testing.T) {
	paths, err := filepath.Glob("testdata/kernel/*.txt")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no recordings in testdata/kernel: %v", err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) { replayRecording(t, path) })
	}
}

func replayRecording(t *testing.T, path string) {
	sc := scanRecording(t, path)
	var f subFS
	dirs := map[string]string{}
	var release string
	writes, children := 0, 0
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "KERNEL "):
			release = strings.TrimPrefix(line, "KERNEL ")
		case strings.HasPrefix(line, "MACHINE "):
			m := kerneltest.Machine{Release: release, Huge: []string{"2MB"}, CapSysResource: true} // the first recordings' VM
			var ctrls string
			rootSet := false
			split := func(s string) []string { return strings.FieldsFunc(s, func(r rune) bool { return r == ',' }) }
			for _, field := range strings.Fields(strings.TrimPrefix(line, "MACHINE ")) {
				k, v, _ := strings.Cut(field, "=")
				switch k {
				case "cpus":
					if v == "" {
						continue
					}
					set, err := cgroupfs.ParseCPUSet(v)
					if err != nil {
						t.Fatalf("%s: %v", line, err)
					}
					m.CPUs = set
				case "ctrls":
					ctrls = v
				case "rootctrls":
					m.RootCtrls, rootSet = split(v), true
				case "huge":
					m.Huge = split(v)
				case "capsysresource":
					m.CapSysResource = v != "false"
				}
			}
			names := split(ctrls)
			if !rootSet { // the first recordings: the VM's root offers what the base has
				m.RootCtrls = names
			}
			f = fakeBase(t, m.FakeOptions(), names)
			for _, c := range names {
				if err := f.WriteFile("cgroup.subtree_control", []byte("+"+c)); err != nil {
					t.Fatal(err)
				}
			}
			if err := f.Mkdir("c"); err != nil {
				t.Fatal(err)
			}
		case recordedChild.MatchString(line):
			m := recordedChild.FindStringSubmatch(line)
			want, err := strconv.Unquote(m[3])
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			children++
			var mode string
			entries, _ := f.ReadDir("c")
			for _, e := range entries {
				if e.Name() == m[1] {
					info, _ := e.Info()
					mode = info.Mode().Perm().String()
				}
			}
			data, err := f.ReadFile("c/" + m[1])
			if mode != m[2] || errnoName(err) != m[4] || comparable(m[1], data) != want {
				t.Errorf("file %s: kernel %s %q (%s), fake %s %q (%s)", m[1], m[2], want, m[4], mode, comparable(m[1], data), errnoName(err))
			}
		case recordedWrite.MatchString(line):
			m := recordedWrite.FindStringSubmatch(line)
			in, err1 := strconv.Unquote(m[2])
			want, err2 := strconv.Unquote(m[4])
			if err1 != nil || err2 != nil {
				t.Fatalf("%s: %v %v", line, err1, err2)
			}
			file := m[1]
			dir, ok := dirs[file]
			if !ok {
				dir = fmt.Sprintf("w%d", len(dirs))
				dirs[file] = dir
				if err := f.Mkdir(dir); err != nil {
					t.Fatal(err)
				}
			}
			werr := f.WriteFile(dir+"/"+file, []byte(in))
			data, rerr := f.ReadFile(dir + "/" + file)
			writes++
			if errnoName(werr) != m[3] || comparable(file, data) != want || errnoName(rerr) != m[5] {
				t.Errorf("write %q to %s: kernel %s, reads %q (%s); fake %s, reads %q (%s)", in, file, m[3], want, m[5], errnoName(werr), comparable(file, data), errnoName(rerr))
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if children == 0 || writes == 0 {
		t.Fatalf("%s holds no files or writes", path)
	}
	t.Logf("kernel %s: %d files and %d writes agree", release, children, writes)
}

// scanRecording returns a scanner of the recording at path, line by line
// (a line may hold up to 1 MiB); the file is closed when the test ends.
func scanRecording(t *testing.T, path string) *bufio.Scanner {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fh.Close() })
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	return sc
}
