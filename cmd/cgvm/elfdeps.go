package main

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// libDirs are where the dynamic loader looks when there is no ld.so.cache
// (the guest has none), in the order glibc's multiarch build searches them.
var libDirs = []string{
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
	"/lib64", "/usr/lib64", "/lib", "/usr/lib",
}

// interpreter returns the ELF interpreter (PT_INTERP) of the executable at
// path, or "" for a statically linked one.
func interpreter(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return interpOf(f)
}

func interpOf(f *elf.File) (string, error) {
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b := make([]byte, p.Filesz)
		if _, err := p.ReadAt(b, 0); err != nil {
			return "", fmt.Errorf("reading PT_INTERP: %w", err)
		}
		return strings.TrimRight(string(b), "\x00"), nil
	}
	return "", nil
}

// runtimeDeps lists the files a dynamically linked ELF needs at run time:
// its interpreter and the transitive closure of its DT_NEEDED libraries, each
// at the path where the loader will look for it. A statically linked file
// needs nothing. A library that cannot be found is an error naming it, since
// the binary would fail to start in the guest with a far vaguer message.
func runtimeDeps(path string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	var walk func(file string) error
	walk = func(file string) error {
		f, err := elf.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		interp, err := interpOf(f)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		if interp != "" && !seen[interp] {
			seen[interp] = true
			out = append(out, interp)
		}
		needed, err := f.ImportedLibraries()
		if err != nil {
			// A static binary has no dynamic section to read.
			if errors.Is(err, elf.ErrNoSymbols) {
				return nil
			}
			return fmt.Errorf("reading DT_NEEDED of %s: %w", file, err)
		}
		var search []string
		for _, tag := range []elf.DynTag{elf.DT_RUNPATH, elf.DT_RPATH} {
			vals, _ := f.DynString(tag)
			for _, v := range vals {
				for _, d := range strings.Split(v, ":") {
					search = append(search, strings.ReplaceAll(d, "$ORIGIN", filepath.Dir(file)))
				}
			}
		}
		search = append(search, libDirs...)
		for _, lib := range needed {
			found := ""
			if strings.Contains(lib, "/") {
				found = lib
			} else {
				for _, d := range search {
					if p := filepath.Join(d, lib); isFile(p) {
						found = p
						break
					}
				}
			}
			if found == "" {
				return fmt.Errorf("%s needs %s, which is in none of %s", file, lib, strings.Join(search, " "))
			}
			if seen[found] {
				continue
			}
			seen[found] = true
			out = append(out, found)
			if err := walk(found); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(path); err != nil {
		return nil, err
	}
	return out, nil
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// isELF reports whether p starts like an ELF file; other files (scripts,
// data) have no libraries to pack.
func isELF(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	magic := make([]byte, 4)
	_, err = io.ReadFull(f, magic)
	return err == nil && string(magic) == "\x7fELF"
}
