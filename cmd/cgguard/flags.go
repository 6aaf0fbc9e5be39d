package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// parseFlags parses args with fs, allowing flags after the positional
// arguments too ("sweep /dir -n"), which package flag alone stops at.
// It returns the positional arguments, and the exit status to return
// at once (-1 to carry on): 0 for -h, exitUsage for a bad flag.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) ([]string, int) {
	fs.SetOutput(stderr)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitOK
			}
			return nil, exitUsage
		}
		if fs.NArg() == 0 {
			return pos, -1
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// tooMany reports extra positional arguments.
func tooMany(stderr io.Writer, cmd string, extra []string) int {
	fmt.Fprintf(stderr, "cgguard %s: unexpected arguments %q\n%s", cmd, extra, usage)
	return exitUsage
}
