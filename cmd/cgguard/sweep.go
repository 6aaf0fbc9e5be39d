package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/cgguard/cgguard/cgroupfs"
	"github.com/cgguard/cgguard/cgtest"
)

func sweepCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cgguard sweep", flag.ContinueOnError)
	dry := fs.Bool("n", false, "list only: remove nothing")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, code := parseFlags(fs, args, stderr)
	if code >= 0 {
		return code
	}
	if len(pos) > 1 {
		return tooMany(stderr, "sweep", pos[1:])
	}
	var root string
	if len(pos) == 1 {
		root = pos[0]
	} else {
		var err error
		if root, err = defaultSweepRoot(); err != nil {
			return sweepFailed(stdout, stderr, *asJSON, "", *dry, err)
		}
	}
	fsys, err := cgroupfs.Open(root)
	if err != nil {
		return sweepFailed(stdout, stderr, *asJSON, root, *dry, fmt.Errorf("cannot sweep %s: %w", root, err))
	}
	defer fsys.Close()
	return sweepFS(fsys, root, *dry, *asJSON, stdout, stderr)
}

// defaultSweepRoot is where cgtest.Root puts per-test roots when given
// no Under option: $CGGUARD_CGROUP_PARENT, else cgroupfs.Discover's
// Parent (the mount for root, the own cgroup for other users).
func defaultSweepRoot() (string, error) {
	if env := os.Getenv(cgtest.ParentEnv); env != "" {
		return env, nil
	}
	c, err := cgroupfs.Discover()
	if err != nil {
		return "", fmt.Errorf("cannot find where per-test roots are: %w; name the directory to sweep", err)
	}
	return sweepRootOutsideLeaf(c.Parent), nil // delegate.go
}

// sweepFailed reports a sweep that could not list root; with -json in
// the shape of cgtest.SweepReport's JSON, with no cgroups.
func sweepFailed(stdout, stderr io.Writer, asJSON bool, root string, dry bool, err error) int {
	if asJSON {
		writeJSON(stdout, struct {
			Root    string         `json:"root"`
			DryRun  bool           `json:"dry_run"`
			Cgroups []struct{}     `json:"cgroups"`
			Counts  map[string]int `json:"counts"`
			Error   string         `json:"error"`
			Took    time.Duration  `json:"took_ns"`
		}{Root: root, DryRun: dry, Cgroups: []struct{}{}, Error: err.Error()})
	}
	fmt.Fprintf(stderr, "cgguard sweep: %v\n", err)
	return exitProblem
}

// sweepFS sweeps the root of fsys, shown as root, and reports.
func sweepFS(fsys cgroupfs.FS, root string, dry, asJSON bool, stdout, stderr io.Writer) int {
	start := time.Now()
	var (
		rep cgtest.SweepReport
		err error
	)
	if dry {
		rep, err = cgtest.SweepDryRun(fsys, ".")
	} else {
		rep, err = cgtest.Sweep(fsys, ".")
	}
	took := time.Since(start)
	if err != nil {
		return sweepFailed(stdout, stderr, asJSON, root, dry, err)
	}
	rep.Dir = root // for people: the path opened, not "."
	n := rep.Counts()
	code := exitOK
	if rep.Err() != nil || (dry && n.Stale > 0) {
		code = exitProblem
	}
	if asJSON {
		writeJSON(stdout, rep)
		return code
	}
	fmt.Fprint(stdout, rep)
	switch {
	case dry:
		fmt.Fprintf(stdout, "%s: %d stale per-test root(s) would be removed (run without -n to remove them), %d live kept, %d unknown, %d foreign\n",
			root, n.Stale, n.Live, n.Unknown, n.Foreign)
	default:
		fmt.Fprintf(stdout, "%s: %d of %d stale per-test root(s) removed in %v, %d live kept, %d unknown, %d foreign\n",
			root, n.Removed, n.Stale, took.Round(time.Microsecond), n.Live, n.Unknown, n.Foreign)
	}
	if err := rep.Err(); err != nil {
		fmt.Fprintf(stderr, "cgguard sweep: %v\n", err)
	}
	return code
}
