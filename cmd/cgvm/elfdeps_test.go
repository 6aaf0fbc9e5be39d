package main

import (
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestRuntimeDepsOfDynamicBinary(t *testing.T) {
	bin, err := exec.LookPath("true")
	if err != nil {
		t.Skip("needs a true(1) binary on PATH (coreutils)")
	}
	interp, err := interpreter(bin)
	assert.NilError(t, err)
	if interp == "" {
		t.Skipf("%s is statically linked here; need a dynamically linked one", bin)
	}
	deps, err := runtimeDeps(bin)
	assert.NilError(t, err)
	assert.Check(t, is.Contains(deps, interp), "runtimeDeps(%s): its interpreter", bin)
	assert.Check(t, slices.ContainsFunc(deps, func(p string) bool { return filepath.Base(p) == "libc.so.6" }), "runtimeDeps(%s) = %q, missing libc.so.6", bin, deps)
}

func TestRuntimeDepsOfStaticBinary(t *testing.T) {
	deps, err := runtimeDeps(runnerBin(t))
	assert.Check(t, err)
	assert.Check(t, is.Len(deps, 0), "runtimeDeps(static cgvm)")
}
