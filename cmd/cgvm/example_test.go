package main

import "fmt"

// The runner mirrors the paths go test passes for coverage and profiles
// into the VM, and copies back only what the test wrote there.
func Example_findOutputs() {
	args := []string{"-test.paniconexit0", "-test.gocoverdir=/tmp/go-build1/b001/gocoverdir",
		"-test.timeout=10m0s", "-test.coverprofile=/tmp/go-build1/b001/_cover_.out", "-test.v=test2json"}
	for _, o := range findOutputs(args, "/src/pkg", "") {
		fmt.Println(o.Path, o.Dir)
	}
	// Output:
	// /tmp/go-build1/b001/_cover_.out false
	// /tmp/go-build1/b001/gocoverdir true
}
