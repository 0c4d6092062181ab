package main

import (
	"flag"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// readDoc returns a file of the repository's docs, found from this
// package's directory (go test runs in it).
func readDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", name))
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return string(b)
}

var (
	// identifier is a name or a dotted name ("req.model", "re.match").
	identifier = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*`)
	// notNames are the words of capability names that are values or
	// placeholders, not names a user must find documented.
	notNames = map[string]bool{"None": true, "True": true, "False": true, "NAME": true, "x": true, "star": true}
)

// TestPolicyDocCoversCapabilities fails when a name `llmgw test
// --capabilities --json` lists is missing from docs/policy.md: every
// identifier of an entry such as "provider(name, kind, base_url=None, ...)"
// must appear there as a word, and a dotted one such as "req.model"
// literally.
func TestPolicyDocCoversCapabilities(t *testing.T) {
	doc := readDoc(t, "docs/policy.md")
	seen := map[string]bool{}
	for _, c := range listed(t) {
		for _, id := range identifier.FindAllString(c.Name, -1) {
			if notNames[id] || seen[id] {
				continue
			}
			seen[id] = true
			var found bool
			if strings.Contains(id, ".") {
				found = strings.Contains(doc, id)
			} else {
				found = regexp.MustCompile(`\b` + id + `\b`).MatchString(doc)
			}
			if !found {
				t.Errorf("docs/policy.md does not mention %q (from the %s capability %q)", id, c.Group, c.Name)
			}
		}
	}
	if len(seen) < 50 {
		t.Errorf("only %d names checked: the capability list or its parsing is broken", len(seen))
	}
}

// flagLine is a flag in the usage the flag package prints for -h:
// "  -name type" or "  -name".
var flagLine = regexp.MustCompile(`(?m)^  -([A-Za-z0-9][A-Za-z0-9-]*)\b`)

// llmgwVar is an LLMGW_* variable named in a flag's usage.
var llmgwVar = regexp.MustCompile(`LLMGW_[A-Z0-9_]+`)

// TestOperationsDocCoversFlags fails when a flag of a command, or an
// LLMGW_* variable named in the flags' usage, is missing from
// docs/operations.md. The flags come from each command's own FlagSet, as
// `llmgw CMD -h` prints them for every command `llmgw help` knows (and
// start's straight from startFlags), not from a list kept by hand.
func TestOperationsDocCoversFlags(t *testing.T) {
	doc := readDoc(t, "docs/operations.md")
	documented := func(flagName string) bool {
		return strings.Contains(doc, "--"+flagName) || len(flagName) == 1 && strings.Contains(doc, "`-"+flagName+"`")
	}
	total := 0
	for _, c := range commands {
		out, errOut, _ := runCmd(t, "", nil, append(strings.Fields(c.name), "-h")...)
		usage := out + errOut
		flags := flagLine.FindAllStringSubmatch(usage, -1)
		total += len(flags)
		for _, f := range flags {
			if !documented(f[1]) {
				t.Errorf("docs/operations.md does not document llmgw %s --%s", c.name, f[1])
			}
		}
		for _, v := range llmgwVar.FindAllString(usage, -1) {
			if !strings.Contains(doc, v) {
				t.Errorf("docs/operations.md does not document %s (llmgw %s)", v, c.name)
			}
		}
	}
	if total < 30 {
		t.Errorf("found only %d flags in the commands' help: the help format or its parsing changed", total)
	}
	fs, _ := startFlags(env{getenv: func(string) string { return "" }, stderr: io.Discard})
	fs.VisitAll(func(f *flag.Flag) {
		if !documented(f.Name) {
			t.Errorf("docs/operations.md does not document llmgw start --%s", f.Name)
		}
	})
	for _, v := range sourceEnvNames(t) {
		if !strings.Contains(doc, v) {
			t.Errorf("docs/operations.md does not document %s, which the code reads", v)
		}
	}
}

// sourceEnvNames returns the LLMGW_* names in the Go sources the llmgw
// binary is built from (its own packages, as `go list -deps` names them):
// variables read outside flag defaults, such as LLMGW_SECRET_KEY, are
// found too, and test helpers' variables are not.
func sourceEnvNames(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f",
		`{{if not .Standard}}{{.ImportPath}} {{.Dir}} {{join .GoFiles " "}}{{end}}`, ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	names := map[string]bool{}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) < 3 || !strings.HasPrefix(f[0], "github.com/llmgw/llmgw") {
			continue
		}
		for _, file := range f[2:] {
			b, err := os.ReadFile(filepath.Join(f[1], file))
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range llmgwVar.FindAllString(string(b), -1) {
				names[v] = true
			}
		}
	}
	if !names["LLMGW_SECRET_KEY"] {
		t.Errorf("found no LLMGW_SECRET_KEY in the sources (%v): the scan is broken", names)
	}
	return slices.Sorted(maps.Keys(names))
}
