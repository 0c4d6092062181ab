package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/gateway"
	"github.com/llmgw/llmgw/pricing"
	"github.com/llmgw/llmgw/requestlog"
	"github.com/llmgw/llmgw/route"
)

// replayReport is the result of 'llmgw replay' (its --json output).
type replayReport struct {
	Policy   string `json:"policy"`
	Since    string `json:"since"`
	Requests int    `json:"requests"`
	// Changed counts requests the candidate decides differently from the
	// policy version that decided them (candidates returned, with their
	// models, priorities and weights, or the sticky key), both deciding
	// the same logged inputs. Where that version's source is not in the
	// log (BaselineUnknown), the candidate's first pick is compared with
	// the provider that served instead.
	Changed   int `json:"changed"`
	Unchanged int `json:"unchanged"`
	// Errors counts requests the candidate policy failed to decide (a
	// hook error) or refused: each is a request it would have rejected.
	Errors int `json:"errors"`
	// ServedElsewhere counts requests the logged decision did not send to
	// the provider that served them: a failover or cooling provider
	// ("failover") or a sticky binding ("sticky"). They are not changes.
	ServedElsewhere map[string]int `json:"served_elsewhere"`
	// BaselineUnknown counts requests whose policy version's source is
	// not in the log.
	BaselineUnknown int            `json:"baseline_unknown"`
	Before          map[string]int `json:"by_provider_before"`
	After           map[string]int `json:"by_provider_after"`
	// ByKey, ByModel and ByNote break the changed requests down by client
	// key ("(open)" without one), requested model and the candidate
	// decision's notes.
	ByKey      map[string]int `json:"changed_by_key"`
	ByModel    map[string]int `json:"changed_by_model"`
	ByNote     map[string]int `json:"changed_by_note"`
	CostBefore float64        `json:"cost_before_usd"`
	CostAfter  float64        `json:"cost_after_usd"`
	CostDelta  float64        `json:"cost_delta_usd"`
	// Unpriced counts changed requests whose cost could not be projected
	// (no price for the old or the new model); they are left out of the
	// cost figures.
	Unpriced int `json:"unpriced"`
	// Warnings say what the replay cannot see: inputs the candidate reads
	// that the log did not keep, versions whose source is missing.
	Warnings []string        `json:"warnings"`
	Examples []replayExample `json:"examples"`
	// More counts the changed or rejected requests not in Examples
	// (--limit; --all lists every one).
	More int `json:"more"`
}

type replayExample struct {
	RequestID string `json:"request_id"`
	Model     string `json:"model"`
	Before    string `json:"before"`
	After     string `json:"after"`
	Error     string `json:"error,omitempty"`
}

// runReplay implements 'llmgw replay': re-decide the requests recorded in
// the log (their decision inputs, never their content) with a candidate
// policy and with the version that decided them, and report the
// decisions that change and what that does to cost.
func runReplay(ctx context.Context, args []string, e env) error {
	flags := flagSet("replay", e)
	policyPath := envString(flags, e, "policy", "LLMGW_POLICY", defaultPolicy, "candidate policy `file` or directory")
	dbPath := envString(flags, e, "db", "LLMGW_DB", "./llmgw.db", "request log `file` (or postgres:// URL) that llmgw start wrote")
	sinceFlag := flags.String("since", "24h", "replay requests logged this long ago and later (`duration`, e.g. 90m, 24h, 7d)")
	asJSON := flags.Bool("json", false, "print the report as JSON")
	limit := flags.Int("limit", 20, "list at most this many changed or rejected requests")
	all := flags.Bool("all", false, "list every changed or rejected request")
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
	if _, err := os.Stat(*dbPath); !requestlog.IsURL(*dbPath) && errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("replay: no request log at %s: llmgw start writes one there (--db, env LLMGW_DB) as it serves", *dbPath)
	}
	eng, err := engine.New(ctx, engine.Config{Kinds: gateway.ProviderKinds(), Path: *policyPath, Getenv: e.getenv, Offline: true})
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
	versions := &loggedVersions{db: db, getenv: e.getenv, built: map[string]*engine.Policy{}}
	defer versions.close()
	shown := *limit
	if *all {
		shown = -1
	}
	rep := replay(ctx, eng.Policy(), logged, versions.get, shown)
	rep.Since = *sinceFlag
	if *asJSON {
		return printJSON(e.stdout, rep)
	}
	printReplay(e, rep)
	return nil
}

// loggedVersions builds the policy versions the log's requests were
// decided by, from their stored sources, once each.
type loggedVersions struct {
	db     *requestlog.DB
	getenv func(string) string
	built  map[string]*engine.Policy // nil: not available
	dirs   []string
}

// get returns the version with this hash, nil when its source is not in
// the log or no longer loads.
func (v *loggedVersions) get(ctx context.Context, hash string) *engine.Policy {
	if p, ok := v.built[hash]; ok {
		return p
	}
	v.built[hash] = nil
	src, err := v.db.PolicySource(ctx, hash)
	if err != nil || src.Entry == "" {
		return nil
	}
	dir, err := os.MkdirTemp("", "llmgw-replay-")
	if err != nil {
		return nil
	}
	v.dirs = append(v.dirs, dir)
	for name, body := range src.Files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if !filepath.IsLocal(filepath.FromSlash(name)) || os.MkdirAll(filepath.Dir(p), 0o755) != nil || os.WriteFile(p, []byte(body), 0o600) != nil {
			return nil
		}
	}
	p, err := engine.Check(ctx, engine.Config{Kinds: gateway.ProviderKinds(), Path: filepath.Join(dir, src.Entry), Getenv: v.getenv, Offline: true})
	if err != nil {
		return nil
	}
	v.built[hash] = p
	return p
}

func (v *loggedVersions) close() {
	for _, d := range v.dirs {
		os.RemoveAll(d)
	}
}

// replay re-decides each logged request with pol and, where version
// returns it, with the policy version that decided it. Both decide with
// the same seed (from the request id), so a weighted pick is the same
// draw under both. limit bounds Examples (-1: no bound).
func replay(ctx context.Context, pol *engine.Policy, logged []requestlog.LoggedDecision,
	version func(context.Context, string) *engine.Policy, limit int) *replayReport {
	prices := pol.PriceTable()
	rep := &replayReport{Policy: pol.Hash, Before: map[string]int{}, After: map[string]int{},
		ServedElsewhere: map[string]int{}, ByKey: map[string]int{}, ByModel: map[string]int{}, ByNote: map[string]int{},
		Warnings: []string{}, Examples: []replayExample{}}
	example := func(ex replayExample) {
		if limit < 0 || len(rep.Examples) < limit {
			rep.Examples = append(rep.Examples, ex)
		} else {
			rep.More++
		}
	}
	incomplete := 0
	var before, after pricing.Micros
	for _, d := range logged {
		var in engine.LoggedInputs
		if err := json.Unmarshal(d.Features, &in); err != nil || d.Provider == "" {
			continue
		}
		req := in.Request
		if !in.Complete {
			incomplete++
		}
		rep.Requests++
		rep.Before[d.Provider]++
		seed := requestSeed(d.RequestID)
		opts := engine.EvalOptions{Now: d.Time, Seed: &seed}
		res, err := pol.Eval(ctx, &req, opts)
		if err != nil || len(res.Candidates) == 0 {
			rep.Errors++
			msg := "no candidates"
			if err != nil {
				msg = err.Error()
			}
			rep.After["(rejected)"]++
			example(replayExample{RequestID: d.RequestID, Model: req.Model, Before: d.Provider, Error: msg})
			continue
		}
		c := res.Candidates[0]
		model := upstreamModel(pol, c.Candidate, req.Model)
		var changed bool
		var old *engine.EvalResult
		if v := version(ctx, d.PolicyHash); v != nil {
			oreq := in.Request
			old, err = v.Eval(ctx, &oreq, opts)
			if err != nil {
				old = nil
			}
		}
		if old != nil {
			changed = decisionKey(old) != decisionKey(res)
			if !servedAsDecided(old, d.Provider) {
				switch {
				case d.Sticky == "hit":
					rep.ServedElsewhere["sticky"]++
				default:
					rep.ServedElsewhere["failover"]++
				}
			}
		} else {
			rep.BaselineUnknown++
			changed = c.Provider != d.Provider || model != d.UpstreamModel
		}
		if !changed {
			rep.Unchanged++
			rep.After[d.Provider]++
			if d.CostMicros != nil {
				before += pricing.Micros(*d.CostMicros)
				after += pricing.Micros(*d.CostMicros)
			}
			continue
		}
		rep.Changed++
		rep.After[c.Provider]++
		key := d.Key
		if key == "" {
			key = "(open)"
		}
		rep.ByKey[key]++
		rep.ByModel[req.Model]++
		for _, n := range res.Notes {
			rep.ByNote[n]++
		}
		example(replayExample{RequestID: d.RequestID, Model: req.Model, Before: d.Provider + "/" + d.UpstreamModel, After: c.Provider + "/" + model})
		newCost, _, ok := prices.Cost(model, d.Usage)
		if np, found := pol.Provider(c.Provider); found && pricing.FreeKind(np.Kind) {
			// The gateway logs a free kind's answers at no cost whatever
			// the model; the projection must too.
			newCost, ok = 0, true
		}
		if d.CostMicros == nil || !ok {
			rep.Unpriced++
			continue
		}
		before += pricing.Micros(*d.CostMicros)
		after += newCost
	}
	rep.CostBefore, rep.CostAfter = before.USD(), after.USD()
	rep.CostDelta = (after - before).USD()
	if incomplete > 0 && slices.Contains(pol.ReqFields(), "headers") {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d of %d requests were logged before the log kept request headers: the policy reads req.headers, which replays as empty for them", incomplete, rep.Requests))
	}
	if rep.BaselineUnknown > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d requests were decided by a policy version whose source is not in the log: they are compared with the provider that served them, so a failover or a sticky binding counts as a change", rep.BaselineUnknown))
	}
	return rep
}

// requestSeed derives the seed of a request's weighted picks from its id,
// the same under both policies and on every run.
func requestSeed(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}

// decisionKey is what a decision comes to: the sticky key and the
// candidates route returned, in policy order with their overrides.
func decisionKey(r *engine.EvalResult) string {
	var b strings.Builder
	if r.StickyKey != nil {
		b.WriteString(*r.StickyKey)
	}
	for _, c := range r.Returned {
		fmt.Fprintf(&b, "|%s/%s/%d/%d", c.Provider, c.Model, c.Priority, c.Weight)
	}
	return b.String()
}

// servedAsDecided reports whether provider could have been the logged
// decision's first pick (a share above 0 with every provider healthy and
// no binding); otherwise a failover, a cooling provider or a sticky
// binding sent the request there.
func servedAsDecided(r *engine.EvalResult, provider string) bool {
	for _, c := range r.Candidates {
		if c.Provider == provider {
			return c.Share > 0
		}
	}
	return false
}

// upstreamModel is the model a candidate sends: its override, else its
// provider's mapping, else the requested model.
func upstreamModel(pol *engine.Policy, c route.Candidate, requested string) string {
	if c.Model != "" {
		return c.Model
	}
	if p, ok := pol.Provider(c.Provider); ok && p.Models[requested] != "" {
		return p.Models[requested]
	}
	return requested
}

func printReplay(e env, rep *replayReport) {
	fmt.Fprintf(e.stdout, "policy %s, requests since %s: %d\n", rep.Policy, rep.Since, rep.Requests)
	fmt.Fprintf(e.stdout, "decisions changed: %d, unchanged: %d, rejected: %d\n", rep.Changed, rep.Unchanged, rep.Errors)
	if n := rep.ServedElsewhere["failover"] + rep.ServedElsewhere["sticky"]; n > 0 {
		fmt.Fprintf(e.stdout, "served elsewhere than decided (not changes): %d by failover or cooldown, %d by a sticky binding\n", rep.ServedElsewhere["failover"], rep.ServedElsewhere["sticky"])
	}
	for _, w := range rep.Warnings {
		fmt.Fprintln(e.stdout, "warning: "+w)
	}
	fmt.Fprintln(e.stdout)
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
	for _, b := range []struct {
		title string
		m     map[string]int
	}{{"changed by key", rep.ByKey}, {"changed by model", rep.ByModel}, {"changed by note", rep.ByNote}} {
		if len(b.m) == 0 {
			continue
		}
		names := make([]string, 0, len(b.m))
		for n := range b.m {
			names = append(names, n)
		}
		sort.Slice(names, func(i, j int) bool {
			if b.m[names[i]] != b.m[names[j]] {
				return b.m[names[i]] > b.m[names[j]]
			}
			return names[i] < names[j]
		})
		fmt.Fprintf(e.stdout, "%s:", b.title)
		for _, n := range names {
			fmt.Fprintf(e.stdout, " %s %d;", n, b.m[n])
		}
		fmt.Fprintln(e.stdout)
	}
	for _, ex := range rep.Examples {
		if ex.Error != "" {
			fmt.Fprintf(e.stdout, "  %s %s: %s -> rejected: %s\n", ex.RequestID, ex.Model, ex.Before, ex.Error)
			continue
		}
		fmt.Fprintf(e.stdout, "  %s %s: %s -> %s\n", ex.RequestID, ex.Model, ex.Before, ex.After)
	}
	if rep.More > 0 {
		fmt.Fprintf(e.stdout, "  ... %d more (--limit N, or --all)\n", rep.More)
	}
}
