package main

import (
	"path/filepath"
	"strings"
)

// outputFlags are the test binary flags naming a file it writes; dirFlags
// name a directory it writes into. go test passes absolute paths in its
// build directory (-test.gocoverdir=/tmp/go-build.../b001/gocoverdir).
var (
	outputFlags = []string{"coverprofile", "cpuprofile", "memprofile", "blockprofile", "mutexprofile", "trace", "testlogfile"}
	dirFlags    = []string{"gocoverdir", "outputdir"}
)

// findOutputs returns the paths the test binary will write, from its
// arguments and GOCOVERDIR. Relative file paths resolve as the testing
// package resolves them: against -test.outputdir, else the working dir.
func findOutputs(args []string, cwd, gocoverdir string) []output {
	values := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || a == "-args" {
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || !strings.HasPrefix(name, "test.") {
			continue
		}
		name = strings.TrimPrefix(name, "test.")
		if !hasVal && i+1 < len(args) && isPathFlag(name) {
			i++
			val = args[i]
		}
		values[name] = val
	}
	base := cwd
	if d := values["outputdir"]; d != "" {
		base = abs(cwd, d)
	}
	var outs []output
	for _, f := range outputFlags {
		if v := values[f]; v != "" {
			outs = append(outs, output{Path: abs(base, v)})
		}
	}
	for _, f := range dirFlags {
		if v := values[f]; v != "" {
			outs = append(outs, output{Path: abs(cwd, v), Dir: true})
		}
	}
	if gocoverdir != "" {
		outs = append(outs, output{Path: abs(cwd, gocoverdir), Dir: true})
	}
	return outs
}

func isPathFlag(name string) bool {
	for _, f := range append(outputFlags[:len(outputFlags):len(outputFlags)], dirFlags...) {
		if f == name {
			return true
		}
	}
	return false
}

func abs(base, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, p)
}

// allowed reports whether the guest may write host path p: only the
// declared outputs, so a confused guest cannot write anywhere else.
func allowed(outs []output, p string) bool {
	if !filepath.IsAbs(p) || filepath.Clean(p) != p {
		return false
	}
	for _, o := range outs {
		if o.Path == p || o.Dir && strings.HasPrefix(p, o.Path+"/") {
			return true
		}
	}
	return false
}
