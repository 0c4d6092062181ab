package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// flagSet returns a FlagSet for the command name (a name in commands)
// whose errors go to the command's stderr and which does not exit the
// process. Its usage text, which -h prints, is the command's synopsis,
// what it does, and every flag with its default and, for the flags that
// read one, its environment variable.
func flagSet(name string, e env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { writeHelp(fs) }
	return fs
}

// writeHelp writes the help of the command fs parses flags for to the
// FlagSet's output.
func writeHelp(fs *flag.FlagSet) {
	w := fs.Output()
	c, _ := lookupCommand(fs.Name())
	fmt.Fprintln(w, strings.TrimSpace("usage: llmgw "+fs.Name()+" "+c.synopsis))
	if c.about != "" {
		fmt.Fprintf(w, "\n%s\n", c.about)
	}
	n, env := 0, false
	fs.VisitAll(func(f *flag.Flag) {
		n++
		env = env || strings.Contains(f.Usage, "(env LLMGW_")
	})
	if n == 0 {
		return
	}
	fmt.Fprintln(w, "\nflags:")
	fs.PrintDefaults()
	if env {
		fmt.Fprintln(w, "\nA flag marked (env NAME) defaults to that environment variable when it is\nset; the flag given on the command line overrides it.")
	}
}

// helpRequested is what parsing returns for -h or --help: run prints text
// on stdout and exits 0, since asking for help is not a failure.
type helpRequested struct{ text string }

func (h helpRequested) Error() string { return "help requested" }

// parseFlags parses args. -h or --help returns helpRequested with the
// command's help; a bad flag prints the error on stderr and exits 2.
func parseFlags(fs *flag.FlagSet, args []string) error {
	out := fs.Output()
	var buf bytes.Buffer
	fs.SetOutput(&buf)
	err := fs.Parse(args)
	fs.SetOutput(out)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		return helpRequested{text: buf.String()}
	}
	// The whole help would bury the one line that matters.
	fmt.Fprintf(out, "llmgw %s: %v\nRun 'llmgw %s -h' for its flags.\n", fs.Name(), err, fs.Name())
	return exitError{code: 2}
}

// envString defines a string flag whose default is the environment
// variable envName when it is set, and def otherwise. The usage names the
// variable, which is how -h and the docs test find it.
func envString(fs *flag.FlagSet, e env, name, envName, def, usage string) *string {
	return fs.String(name, envDefault(e, envName, def), usage+" (env "+envName+")")
}

// defaultPolicy is the policy a command loads without --policy or
// LLMGW_POLICY.
const defaultPolicy = "./policies.star"

// checkPolicyPath fails, saying how to start from the starter policy, when
// path does not exist; other problems are left to the engine, which
// reports them with file:line. cmd prefixes the error.
func checkPolicyPath(cmd, path string) error {
	_, err := os.Stat(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	hint := "write one (see docs/policy.md), or start from policies.star.example in the llmgw repository"
	if _, err := os.Stat(filepath.Join(filepath.Dir(path), "policies.star.example")); err == nil {
		hint = "to start from the example: cp policies.star.example policies.star (and policies_test.star.example policies_test.star), or pass --policy policies.star.example"
	}
	return fmt.Errorf("%s: no policy: %w (--policy PATH or LLMGW_POLICY names it); %s", cmd, err, hint)
}

// envDefault returns the environment variable's value, or def when it is
// unset.
func envDefault(e env, name, def string) string {
	if v := e.getenv(name); v != "" {
		return v
	}
	return def
}

// parseDays parses a duration that may use a "d" (days) suffix.
func parseDays(v string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(v, "d"); ok {
		var d int
		if _, err := fmt.Sscanf(n, "%d", &d); err != nil || d < 0 {
			return 0, fmt.Errorf("bad duration %q", v)
		}
		return time.Duration(d) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q", v)
	}
	return d, nil
}

// printJSON writes v to w as indented JSON: every command's --json output.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
