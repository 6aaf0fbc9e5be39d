package main

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// The guest reports on its third serial port (ttyS2) in lines, so the test's
// own output on ttyS1 can be anything. Files come first, then the exit line;
// a missing exit line means the guest crashed or hung.
//
//	CGVM-FILE <base64 path> <base64 content>
//	CGVM-EXIT <code>
const (
	fileTag = "CGVM-FILE"
	exitTag = "CGVM-EXIT"
)

// guestConfig is what the host tells /init, packed as /cgvm/config.json.
type guestConfig struct {
	Binary  string   // the test binary, at the same path as on the host
	Args    []string // its arguments, unchanged
	Dir     string   // its working directory, mirrored from the host
	Env     []string // its environment
	Outputs []output // files the test may write that go back to the host
	Hook    string   // "panic" or "hang": misbehave on purpose, for the runner's tests
	Init    string   // initDefault or initSystemd
}

// output is a host path the test binary writes (a -test.coverprofile file,
// a -test.gocoverdir directory). The guest mirrors the path so the test's
// arguments need no rewriting, then sends back what the test wrote there.
type output struct {
	Path string
	Dir  bool
}

func encodeFile(path string, data []byte) string {
	return fmt.Sprintf("%s %s %s\n", fileTag,
		base64.StdEncoding.EncodeToString([]byte(path)), base64.StdEncoding.EncodeToString(data))
}

func encodeExit(code int) string {
	return fmt.Sprintf("%s %d\n", exitTag, code)
}

// report is one parsed control line.
type report struct {
	exit      bool
	code      int
	path      string
	data      []byte
	malformed bool
}

func parseReport(line string) report {
	line = strings.TrimRight(line, "\r\n")
	fields := strings.Fields(line)
	switch {
	case len(fields) == 2 && fields[0] == exitTag:
		code, err := strconv.Atoi(fields[1])
		if err != nil {
			return report{malformed: true}
		}
		return report{exit: true, code: code}
	case len(fields) >= 2 && len(fields) <= 3 && fields[0] == fileTag:
		p, err1 := base64.StdEncoding.DecodeString(fields[1])
		var data []byte
		var err2 error
		if len(fields) == 3 {
			data, err2 = base64.StdEncoding.DecodeString(fields[2])
		}
		if err1 != nil || err2 != nil {
			return report{malformed: true}
		}
		return report{path: string(p), data: data}
	}
	return report{malformed: true}
}
