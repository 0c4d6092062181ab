package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/pricing"
	"github.com/llmgw/llmgw/requestlog"
)

// replayReport is the result of 'llmgw replay' (its --json output).
type replayReport struct {
	Policy    string `json:"policy"`
	Since     string `json:"since"`
	Requests  int    `json:"requests"`
	Changed   int    `json:"changed"`
	Unchanged int    `json:"unchanged"`
	// Errors counts requests the candidate policy failed to decide (a
	// hook error): each is a request the new policy would have rejected.
	Errors     int            `json:"errors"`
	Before     map[string]int `json:"by_provider_before"`
	After      map[string]int `json:"by_provider_after"`
	CostBefore float64        `json:"cost_before_usd"`
	CostAfter  float64        `json:"cost_after_usd"`
	CostDelta  float64        `json:"cost_delta_usd"`
	// Unpriced counts changed requests whose cost could not be projected
	// (no price for the old or the new model); they are left out of the
	// cost figures.
	Unpriced int             `json:"unpriced"`
	Examples []replayExample `json:"examples"`
}

type replayExample struct {
	RequestID string `json:"request_id"`
	Model     string `json:"model"`
	Before    string `json:"before"`
	After     string `json:"after"`
	Error     string `json:"error,omitempty"`
}

// runReplay implements 'llmgw replay': re-decide the requests recorded in
// the log (their routing features, never their content) with a candidate
// policy, and report how many decisions change and what that does to cost.
func runReplay(ctx context.Context, args []string, e env) error {
	flags := flagSet("replay", e)
	policyPath := envString(flags, e, "policy", "LLMGW_POLICY", defaultPolicy, "candidate policy `file` or directory")
	dbPath := envString(flags, e, "db", "LLMGW_DB", "./llmgw.db", "request log `file` that llmgw start wrote")
	sinceFlag := flags.String("since", "24h", "replay requests logged this long ago and later (`duration`, e.g. 90m, 24h, 7d)")
	asJSON := flags.Bool("json", false, "print the report as JSON")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("replay: unexpected argument %q", flags.Arg(0))
	}
	since, err := parseDays(*sinceFlag)
	if err != nil {
		return fmt.Errorf("replay: --since: %w", err)
	}
	if err := checkPolicyPath("replay", *policyPath); err != nil {
		return err
	}
	// Opening a missing log would create an empty one and report nothing
	// to replay; say where the log comes from instead.
	if _, err := os.Stat(*dbPath); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("replay: no request log at %s: llmgw start writes one there (--db, env LLMGW_DB) as it serves", *dbPath)
	}
	eng, err := engine.New(ctx, engine.Config{Path: *policyPath, Getenv: e.getenv, Offline: true})
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	db, err := requestlog.Open(ctx, *dbPath)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	defer db.Close()
	logged, err := db.Features(ctx, time.Now().Add(-since))
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	rep := replay(ctx, eng.Policy(), logged)
	rep.Since = *sinceFlag
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printReplay(e, rep)
	return nil
}

// replay re-decides each logged request with pol.
func replay(ctx context.Context, pol *engine.Policy, logged []requestlog.LoggedDecision) *replayReport {
	prices := pol.PriceTable()
	rep := &replayReport{Policy: pol.Hash, Before: map[string]int{}, After: map[string]int{}, Examples: []replayExample{}}
	var before, after pricing.Micros
	for _, d := range logged {
		var req engine.Request
		if err := json.Unmarshal(d.Features, &req); err != nil || d.Provider == "" {
			continue
		}
		rep.Requests++
		rep.Before[d.Provider]++
		res, err := pol.Eval(ctx, &req, engine.EvalOptions{Now: d.Time})
		if err != nil || len(res.Candidates) == 0 {
			rep.Errors++
			msg := "no candidates"
			if err != nil {
				msg = err.Error()
			}
			rep.After["(rejected)"]++
			addExample(rep, replayExample{RequestID: d.RequestID, Model: req.Model, Before: d.Provider, Error: msg})
			continue
		}
		c := res.Candidates[0]
		model := c.Model
		if model == "" {
			model = req.Model
			if p, ok := pol.Provider(c.Provider); ok && p.Models[req.Model] != "" {
				model = p.Models[req.Model]
			}
		}
		rep.After[c.Provider]++
		if c.Provider == d.Provider && model == d.UpstreamModel {
			rep.Unchanged++
			if d.CostMicros != nil {
				before += pricing.Micros(*d.CostMicros)
				after += pricing.Micros(*d.CostMicros)
			}
			continue
		}
		rep.Changed++
		addExample(rep, replayExample{RequestID: d.RequestID, Model: req.Model, Before: d.Provider + "/" + d.UpstreamModel, After: c.Provider + "/" + model})
		newCost, _, ok := prices.Cost(model, d.Usage)
		if d.CostMicros == nil || !ok {
			rep.Unpriced++
			continue
		}
		before += pricing.Micros(*d.CostMicros)
		after += newCost
	}
	rep.CostBefore, rep.CostAfter = before.USD(), after.USD()
	rep.CostDelta = (after - before).USD()
	return rep
}

func addExample(rep *replayReport, ex replayExample) {
	if len(rep.Examples) < 20 {
		rep.Examples = append(rep.Examples, ex)
	}
}

func printReplay(e env, rep *replayReport) {
	fmt.Fprintf(e.stdout, "policy %s, requests since %s: %d\n", rep.Policy, rep.Since, rep.Requests)
	fmt.Fprintf(e.stdout, "decisions changed: %d, unchanged: %d, rejected: %d\n\n", rep.Changed, rep.Unchanged, rep.Errors)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROVIDER\tBEFORE\tAFTER")
	names := map[string]bool{}
	for n := range rep.Before {
		names[n] = true
	}
	for n := range rep.After {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", n, rep.Before[n], rep.After[n])
	}
	tw.Flush()
	fmt.Fprintf(e.stdout, "\nprojected cost: $%.6f -> $%.6f (%+.6f)", rep.CostBefore, rep.CostAfter, rep.CostDelta)
	if rep.Unpriced > 0 {
		fmt.Fprintf(e.stdout, "; %d changed requests unpriced", rep.Unpriced)
	}
	fmt.Fprintln(e.stdout)
	for _, ex := range rep.Examples {
		if ex.Error != "" {
			fmt.Fprintf(e.stdout, "  %s %s: %s -> rejected: %s\n", ex.RequestID, ex.Model, ex.Before, ex.Error)
			continue
		}
		fmt.Fprintf(e.stdout, "  %s %s: %s -> %s\n", ex.RequestID, ex.Model, ex.Before, ex.After)
	}
}
