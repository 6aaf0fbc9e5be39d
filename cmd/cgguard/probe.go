package main

import (
	"fmt"
	"io"
	"os"

	"github.com/cgguard/cgguard/cgroupfs"
)

// probeCmd is what doctor runs inside a cgroup: it prints the cgroup it
// finds itself in, and with -hold waits until stdin closes (or it is
// killed), so that the demonstration has a process to tear down.
func probeCmd(args []string, stdout, stderr io.Writer) int {
	cg, err := cgroupfs.SelfCgroup()
	if err != nil {
		fmt.Fprintf(stderr, "cgguard probe: %v\n", err)
		return exitProblem
	}
	fmt.Fprintln(stdout, cg)
	if len(args) > 0 && args[0] == "-hold" {
		_, _ = io.Copy(io.Discard, os.Stdin)
	}
	return exitOK
}
