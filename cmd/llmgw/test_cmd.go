package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/llmgw/llmgw/builtins"
	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/gateway"
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
	requireTests := fs.Bool("require-tests", false, "a policy without *_test.star tests is an error, not a warning")
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
	// The same checks as start and every reload (static, load-time, the
	// smoke gate) come first: a policy they refuse fails here too.
	// Offline: tests never call an upstream, so CI needs no production
	// keys (a missing api_key is a warning here, an error when serving).
	pol, err := engine.Check(ctx, engine.Config{Kinds: gateway.ProviderKinds(), Path: *policy, Getenv: e.getenv, RequireTests: *requireTests, Offline: true})
	if err != nil {
		return err
	}
	printFindings(e.stderr, pol)
	rep, err := pol.RunTests(ctx, engine.TestOptions{Run: *run, FailOnEmpty: *failOnEmpty})
	if err != nil {
		return err
	}
	if *asJSON {
		if err := printJSON(e.stdout, rep); err != nil {
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

// capNameWidth is the longest capability name printed in the text
// listing's first column; a longer one (provider's full signature) gets a
// line of its own with its doc below, so that one name does not push every
// doc of its group off the screen.
const capNameWidth = 36

// printCapabilities prints builtins.Capabilities as text, grouped, or as a
// JSON array of {group, name, doc}.
func printCapabilities(w io.Writer, asJSON bool) error {
	caps := builtins.Capabilities()
	if asJSON {
		return printJSON(w, caps)
	}
	width := map[string]int{} // of each group's first column
	for _, c := range caps {
		if len(c.Name) <= capNameWidth {
			width[c.Group] = max(width[c.Group], len(c.Name))
		}
	}
	bw := bufio.NewWriter(w)
	group := ""
	for _, c := range caps {
		if c.Group != group {
			group = c.Group
			fmt.Fprintf(bw, "\n[%s]\n", group)
		}
		if len(c.Name) > capNameWidth {
			fmt.Fprintf(bw, "  %s\n  %*s  %s\n", c.Name, width[c.Group], "", c.Doc)
			continue
		}
		fmt.Fprintf(bw, "  %-*s  %s\n", width[c.Group], c.Name, c.Doc)
	}
	return bw.Flush()
}
