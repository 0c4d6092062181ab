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
// files (a directory means every *.star file under it, no PATH the working
// directory) with buildifier's formatter. It lists the files it changed;
// --check writes nothing, lists the files that need formatting and exits 1
// when there is any. Without a PATH it also prints a summary on stderr, so
// that a run that found nothing to do does not look like one that did
// nothing.
func runFmt(_ context.Context, args []string, e env) error {
	fset := flagSet("fmt", e)
	check := fset.Bool("check", false, "list files that need formatting and exit 1 if any; write nothing")
	diff := fset.Bool("diff", false, "print a unified diff of what formatting would change and exit 1 if any; write nothing")
	if err := parseFlags(fset, args); err != nil {
		return err
	}
	paths := fset.Args()
	implicit := len(paths) == 0
	if implicit {
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
	dry := *check || *diff
	for _, f := range files {
		src, out, err := formatted(f)
		if err != nil {
			return err
		}
		if bytes.Equal(src, out) {
			continue
		}
		unformatted++
		switch {
		case *diff:
			fmt.Fprint(e.stdout, unifiedDiff(f, string(src), string(out)))
		default:
			fmt.Fprintln(e.stdout, f)
		}
		if !dry {
			if err := writeFormatted(f, out); err != nil {
				return err
			}
		}
	}
	if implicit {
		// With no argument the files were found, not named: say which
		// directory and what came of it, even when nothing changed.
		fmt.Fprintf(e.stderr, "llmgw fmt: %s under the working directory\n", fmtSummary(len(files), unformatted, dry))
	}
	if dry && unformatted > 0 {
		return exitError{code: 1}
	}
	return nil
}

// fmtSummary says what fmt did to n .star files of which changed needed
// formatting.
func fmtSummary(n, changed int, check bool) string {
	switch {
	case n == 0:
		return "no .star files"
	case check:
		return fmt.Sprintf("%d of %d .star files need formatting", changed, n)
	}
	return fmt.Sprintf("formatted %d of %d .star files", changed, n)
}

// formatted reads one file and returns it and its formatted form.
func formatted(name string) (src, out []byte, err error) {
	src, err = os.ReadFile(name)
	if err != nil {
		return nil, nil, fmt.Errorf("fmt: %w", err)
	}
	f, err := build.ParseDefault(name, src)
	if err != nil {
		return nil, nil, fmt.Errorf("fmt: %w", oneLine(err))
	}
	return src, build.Format(f), nil
}

// writeFormatted writes a file's formatted form back, keeping its mode.
func writeFormatted(name string, out []byte) error {
	fi, err := os.Stat(name)
	if err != nil {
		return fmt.Errorf("fmt: %w", err)
	}
	if err := os.WriteFile(name, out, fi.Mode().Perm()); err != nil {
		return fmt.Errorf("fmt: %w", err)
	}
	return nil
}

// oneLine keeps the first line of a multi-line error.
func oneLine(err error) error {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return errors.New(s)
}
