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

// sweepJSON is the output of sweep -json.
type sweepJSON struct {
	Root    string         `json:"root"`
	DryRun  bool           `json:"dry_run"`
	Cgroups []sweptJSON    `json:"cgroups"`
	Counts  map[string]int `json:"counts"` // by verdict
	Error   string         `json:"error,omitempty"`
	Took    time.Duration  `json:"took_ns"`
}

// sweptJSON is one cgroup of sweepJSON.
type sweptJSON struct {
	Name    string `json:"name"`
	Verdict string `json:"verdict"` // live, stale, foreign or unknown
	// Owner is set for per-test roots.
	Owner *ownerJSON `json:"owner,omitempty"`
	// Cgroups and Pids are set for stale roots: what was (or, with -n,
	// would be) removed and killed.
	Cgroups []string      `json:"cgroups,omitempty"`
	Pids    []int         `json:"pids,omitempty"`
	Removed bool          `json:"removed"`
	Error   string        `json:"error,omitempty"`
	Took    time.Duration `json:"took_ns,omitempty"`
}

type ownerJSON struct {
	PID       int    `json:"pid"`
	StartTime uint64 `json:"start_time"`
}

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

func sweepFailed(stdout, stderr io.Writer, asJSON bool, root string, dry bool, err error) int {
	if asJSON {
		writeJSON(stdout, sweepJSON{Root: root, DryRun: dry, Cgroups: []sweptJSON{}, Error: err.Error()})
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
	code := exitOK
	if rep.Err() != nil || (dry && rep.Count(cgtest.SweepStale) > 0) {
		code = exitProblem
	}
	if asJSON {
		out := sweepJSON{Root: root, DryRun: dry, Cgroups: []sweptJSON{}, Counts: map[string]int{}, Took: took}
		for _, c := range rep.Cgroups {
			j := sweptJSON{Name: c.Name, Verdict: string(c.Verdict), Cgroups: c.Cgroups, Pids: c.Pids, Removed: c.Removed, Took: c.Took}
			if c.Verdict != cgtest.SweepForeign {
				j.Owner = &ownerJSON{PID: c.Owner.PID, StartTime: c.Owner.StartTime}
			}
			if c.Err != nil {
				j.Error = c.Err.Error()
			}
			out.Counts[string(c.Verdict)]++
			out.Cgroups = append(out.Cgroups, j)
		}
		if err := rep.Err(); err != nil {
			out.Error = err.Error()
		}
		writeJSON(stdout, out)
		return code
	}
	fmt.Fprint(stdout, rep)
	stale := rep.Count(cgtest.SweepStale)
	removed := 0
	for _, c := range rep.Cgroups {
		if c.Removed {
			removed++
		}
	}
	switch {
	case dry:
		fmt.Fprintf(stdout, "%s: %d stale per-test root(s) would be removed (run without -n to remove them), %d live kept, %d unknown, %d foreign\n",
			root, stale, rep.Count(cgtest.SweepLive), rep.Count(cgtest.SweepUnknown), rep.Count(cgtest.SweepForeign))
	default:
		fmt.Fprintf(stdout, "%s: %d of %d stale per-test root(s) removed in %v, %d live kept, %d unknown, %d foreign\n",
			root, removed, stale, took.Round(time.Microsecond), rep.Count(cgtest.SweepLive), rep.Count(cgtest.SweepUnknown), rep.Count(cgtest.SweepForeign))
	}
	if err := rep.Err(); err != nil {
		fmt.Fprintf(stderr, "cgguard sweep: %v\n", err)
	}
	return code
}
