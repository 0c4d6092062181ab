package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/gateway"
)

// checkReport is the JSON of `llmgw check --json`.
type checkReport struct {
	OK       bool             `json:"ok"`
	Policy   string           `json:"policy,omitempty"`
	Findings []engine.Finding `json:"findings"`
	// Error is a failure that is not a list of findings: a load error
	// with its file:line, the smoke gate's, or the failed tests.
	Error       string   `json:"error,omitempty"`
	FailedTests []string `json:"failed_tests,omitempty"`
}

// runCheck implements 'llmgw check': everything `llmgw start` and every
// reload do before a policy serves (load, the static and load-time
// checks, the smoke gate, the policy's tests), reported without serving.
func runCheck(ctx context.Context, args []string, e env) error {
	fs := flagSet("check", e)
	policy := policyFlag(fs, e)
	requireTests := fs.Bool("require-tests", false, "a policy without *_test.star tests is an error, not a warning")
	asJSON := fs.Bool("json", false, "print the findings as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkPolicyPath("check", *policy); err != nil {
		return err
	}
	rep := checkReport{Findings: []engine.Finding{}}
	eng, err := engine.New(ctx, engine.Config{Kinds: gateway.ProviderKinds(), Path: *policy, Getenv: e.getenv, RequireTests: *requireTests})
	if err == nil {
		p := eng.Policy()
		rep.OK, rep.Policy = true, p.Hash
		rep.Findings = append(rep.Findings, p.Findings...)
	} else {
		var ce *engine.CheckError
		if errors.As(err, &ce) {
			rep.Findings = append(rep.Findings, ce.Findings...)
		} else {
			rep.Error = err.Error()
		}
		var te *engine.TestsFailedError
		if errors.As(err, &te) {
			rep.FailedTests = te.Names
		}
	}
	if *asJSON {
		if err := printJSON(e.stdout, rep); err != nil {
			return err
		}
	} else {
		printCheck(e.stdout, rep)
	}
	if !rep.OK {
		return exitError{code: 1}
	}
	return nil
}

func printCheck(w io.Writer, rep checkReport) {
	for _, f := range rep.Findings {
		fmt.Fprintln(w, f.String())
	}
	if rep.Error != "" {
		fmt.Fprintln(w, "error: "+rep.Error)
	}
	if rep.OK {
		fmt.Fprintf(w, "ok: policy %s passes its checks, the smoke gate and its tests\n", rep.Policy)
	} else {
		fmt.Fprintln(w, "FAIL: the policy would be refused")
	}
}

// printFindings writes a policy's warnings, one a line, for the commands
// that load a policy to do something else (test, eval).
func printFindings(w io.Writer, p *engine.Policy) {
	for _, f := range p.Findings {
		fmt.Fprintln(w, "llmgw: "+f.String())
	}
}
