package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit statuses; see the package documentation.
const (
	exitOK      = 0
	exitProblem = 1
	exitUsage   = 2
)

const usage = `usage:
  cgguard doctor [-json]            can cgroup tests run here? then a live demonstration
  cgguard sweep [-n] [-json] [root] remove cgroups left by dead test runs (-n: list only)
`

// run is the command without the process around it: the tests call it.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "doctor":
		return doctorCmd(args[1:], stdout, stderr)
	case "sweep":
		return sweepCmd(args[1:], stdout, stderr)
	case "probe":
		return probeCmd(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "cgguard: unknown command %q\n%s", args[0], usage)
	return exitUsage
}

// writeJSON prints v indented, for -json.
func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
