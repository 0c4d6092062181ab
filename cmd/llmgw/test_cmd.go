package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/llmgw/llmgw/builtins"
	"github.com/llmgw/llmgw/engine"
)

// policyFlag adds --policy, defaulting to $LLMGW_POLICY or ./policies.star.
func policyFlag(fs *flag.FlagSet, e env) *string {
	return envString(fs, e, "policy", "LLMGW_POLICY", defaultPolicy, "policy `file` or directory (a directory's entry file is main.star or policies.star)")
}

// runTest implements 'llmgw test': load the policy, run its *_test.star
// tests, print a report, exit 1 on any failure.
func runTest(ctx context.Context, args []string, e env) error {
	fs := flagSet("test", e)
	policy := policyFlag(fs, e)
	run := fs.String("run", "", "run only tests whose name matches this regular expression")
	verbose := fs.Bool("v", false, "print every test, not only failures")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	failOnEmpty := fs.Bool("fail-on-empty", false, "fail when no test ran")
	caps := fs.Bool("capabilities", false, "list the hooks, builtins, fields and test helpers a policy can use, then exit (with --json: a JSON array of {group, name, doc})")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *caps {
		return printCapabilities(e.stdout, *asJSON)
	}
	if err := checkPolicyPath("test", *policy); err != nil {
		return err
	}
	rep, err := engine.RunTests(ctx, engine.Config{Path: *policy, Getenv: e.getenv},
		engine.TestOptions{Run: *run, FailOnEmpty: *failOnEmpty})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printReport(e.stdout, rep, *verbose)
	}
	if !rep.OK() {
		return exitError{code: 1}
	}
	return nil
}

func printReport(w io.Writer, rep *engine.TestReport, verbose bool) {
	for _, t := range rep.Tests {
		switch {
		case t.Failed:
			where := t.Pos
			if where == "" {
				where = t.File
			}
			fmt.Fprintf(w, "FAIL %s  %s: %s\n", t.Name, where, t.Error)
		case t.Skipped && verbose:
			fmt.Fprintf(w, "SKIP %s\n", t.Name)
		case verbose:
			fmt.Fprintf(w, "ok   %s (%s)\n", t.Name, t.Duration.Round(time.Microsecond))
		}
	}
	verdict := "PASS"
	if !rep.OK() {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "%s: %d passed, %d failed, %d skipped (policy %s)\n", verdict, rep.Passed, rep.Failed, rep.Skipped, rep.Policy)
	if rep.Empty {
		fmt.Fprintln(w, "no tests ran (--fail-on-empty)")
	}
}

func printCapabilities(w io.Writer, asJSON bool) error {
	caps := builtins.Capabilities()
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(caps)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	group := ""
	for _, c := range caps {
		if c.Group != group {
			group = c.Group
			fmt.Fprintf(tw, "\n[%s]\n", group)
		}
		fmt.Fprintf(tw, "  %s\t%s\n", c.Name, c.Doc)
	}
	return tw.Flush()
}
