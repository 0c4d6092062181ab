package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/bazelbuild/buildtools/build"
)

// runFmt implements 'llmgw fmt [--check] PATH...': format Starlark policy
// files (a directory means every *.star file under it) with buildifier's
// formatter. --check writes nothing, lists the files that need formatting
// and exits 1 when there is any.
func runFmt(_ context.Context, args []string, e env) error {
	fset := flagSet("fmt", e)
	check := fset.Bool("check", false, "list files that need formatting and exit 1 if any; write nothing")
	if err := parseFlags(fset, args); err != nil {
		return err
	}
	paths := fset.Args()
	if len(paths) == 0 {
		paths = []string{"."}
	}
	var files []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("fmt: %w", err)
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && path != p && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			if !d.IsDir() && strings.HasSuffix(d.Name(), ".star") {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("fmt: %w", err)
		}
	}
	unformatted := 0
	for _, f := range files {
		changed, err := formatFile(f, !*check)
		if err != nil {
			return err
		}
		if changed {
			unformatted++
			fmt.Fprintln(e.stdout, f)
		}
	}
	if *check && unformatted > 0 {
		return exitError{code: 1}
	}
	return nil
}

// formatFile formats one file, writing it back when write is set. It
// reports whether the file was (or would be) changed.
func formatFile(name string, write bool) (bool, error) {
	src, err := os.ReadFile(name)
	if err != nil {
		return false, fmt.Errorf("fmt: %w", err)
	}
	f, err := build.ParseDefault(name, src)
	if err != nil {
		return false, fmt.Errorf("fmt: %w", oneLine(err))
	}
	out := build.Format(f)
	if bytes.Equal(src, out) {
		return false, nil
	}
	if write {
		fi, err := os.Stat(name)
		if err != nil {
			return false, fmt.Errorf("fmt: %w", err)
		}
		if err := os.WriteFile(name, out, fi.Mode().Perm()); err != nil {
			return false, fmt.Errorf("fmt: %w", err)
		}
	}
	return true, nil
}

// oneLine keeps the first line of a multi-line error.
func oneLine(err error) error {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return errors.New(s)
}
