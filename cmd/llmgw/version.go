package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// runVersion implements 'llmgw version'.
func runVersion(args []string, e env) error {
	fs := flagSet("version", e)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("version: unexpected argument %q", fs.Arg(0))
	}
	bi, _ := debug.ReadBuildInfo() // nil when the binary has none
	fmt.Fprintln(e.stdout, versionLine(bi))
	return nil
}

// versionLine is what 'llmgw version' prints, one line to paste into a
// bug report: the module version ("devel" for a build from a work tree),
// the VCS revision with its commit time and "modified" when the work tree
// had uncommitted changes, then the Go version and platform, e.g.
//
//	llmgw devel rev 0123456789ab (2026-12-06T14:45:16Z, modified) go1.26.8 linux/amd64
//
// A binary built without VCS information (go run, go test, -buildvcs=false)
// says "rev unknown". bi may be nil.
func versionLine(bi *debug.BuildInfo) string {
	ver, rev, at, modified, goVer := "devel", "unknown", "", false, runtime.Version()
	if bi != nil {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			ver = v
		}
		if bi.GoVersion != "" {
			goVer = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
				if len(rev) > 12 {
					rev = rev[:12]
				}
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	var detail []string
	if at != "" {
		detail = append(detail, at)
	}
	if modified {
		detail = append(detail, "modified")
	}
	line := "llmgw " + ver + " rev " + rev
	if len(detail) > 0 {
		line += " (" + strings.Join(detail, ", ") + ")"
	}
	return line + " " + goVer + " " + runtime.GOOS + "/" + runtime.GOARCH
}
