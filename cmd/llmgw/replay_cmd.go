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
	"github.com/llmgw/llmgw/limits"
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
	// Limited counts the requests the candidate routes but one of its
	// limit() declarations refuses when the logged traffic goes through
	// them in time order (the back-test); they are neither changed nor
	// unchanged, and cost nothing after.
	Limited int `json:"limited"`
	// Limits is, for every limit the candidate declares, the requests it
	// refuses in the back-test (a shadow limit: would refuse).
	Limits map[string]int `json:"limits"`
	// LimitRefusals groups those refusals by limit and client key: when
	// they start and stop, and how many.
	LimitRefusals []limits.RefusalRun `json:"limit_refusals"`
	// LimitTZ is the time zone of the back-tested usd periods.
	LimitTZ string `json:"limit_tz"`
	// RefusedBefore counts the requests a limit refused in the log (never
	// served, so not among Requests): they go through the candidate's
	// limits too, with their estimated tokens. AdmittedAfter counts those
	// the candidate would route and its limits admit: what it would serve
	// that the logged policy did not, at a cost the log cannot tell.
	RefusedBefore int `json:"refused_before"`
	AdmittedAfter int `json:"admitted_after"`
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
	// Limited is the message of the candidate's limit that refused the
	// request in the back-test.
	Limited string `json:"limited,omitempty"`
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
	tz := envString(flags, e, "limit-tz", "LLMGW_LIMIT_TZ", "UTC", "time `zone` of the limits' usd days and months (an IANA name), as llmgw start counts them")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	loc, err := time.LoadLocation(*tz)
	if err != nil {
		return fmt.Errorf("replay: --limit-tz: unknown time zone %q (want an IANA name such as UTC or Europe/Paris)", *tz)
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
	db, err := requestlog.OpenReadOnly(ctx, *dbPath)
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
	rep := replay(ctx, eng.Policy(), logged, versions.get, shown, loc)
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
//
// It back-tests pol's limits on the same pass: each request the candidate
// routes goes through its limit() declarations in time order (usd periods
// in loc), with the tokens it used and the cost the candidate's routing
// projects. Both policies' ctx.usage read counters replayed the same way
// (the logged version's count every request served, as the gateway's
// did), so that a route() that reads usage decides as it would have.
func replay(ctx context.Context, pol *engine.Policy, logged []requestlog.LoggedDecision,
	version func(context.Context, string) *engine.Policy, limit int, loc *time.Location) *replayReport {
	prices := pol.PriceTable()
	rep := &replayReport{Policy: pol.Hash, Before: map[string]int{}, After: map[string]int{},
		ServedElsewhere: map[string]int{}, ByKey: map[string]int{}, ByModel: map[string]int{}, ByNote: map[string]int{},
		Warnings: []string{}, Examples: []replayExample{}, Limits: map[string]int{}, LimitRefusals: []limits.RefusalRun{}, LimitTZ: loc.String()}
	for _, d := range pol.Limits() {
		rep.Limits[d.Name] = 0
	}
	backtest := limits.NewBacktest(pol.Limits(), loc)
	baselines := map[*engine.Policy]*limits.Backtest{}
	var refusals []limits.Replayed
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
		if err := json.Unmarshal(d.Features, &in); err != nil {
			continue
		}
		if d.Provider == "" {
			if d.Limit != "" {
				// Refused by a limit in the log: the candidate's limits
				// see the attempt all the same.
				rep.RefusedBefore++
				if replayRefused(ctx, pol, backtest, &in.Request, d, &refusals) {
					rep.AdmittedAfter++
				}
			}
			continue
		}
		req := in.Request
		if !in.Complete {
			incomplete++
		}
		rep.Requests++
		rep.Before[d.Provider]++
		seed := requestSeed(d.RequestID)
		opts := engine.EvalOptions{Now: d.Time, Seed: &seed, Usage: usageAt(pol, backtest, &req, d.Time)}
		ev := limits.Event{Time: d.Time, Subject: req.LimitSubject(), EstimatedTokens: int64(req.InputTokensEstimate),
			Tokens: d.Usage.InputTokens + d.Usage.CacheReadTokens + d.Usage.CacheWriteTokens + d.Usage.OutputTokens}
		if d.Latency > 0 {
			// In flight until it ended, as logged: concurrency bounds
			// are back-tested on the logged overlap.
			ev.End = d.Time.Add(d.Latency)
		}
		if d.CostMicros != nil {
			ev.USDMicros = *d.CostMicros
		}
		var old *engine.EvalResult
		if v := version(ctx, d.PolicyHash); v != nil {
			bt := baselines[v]
			if bt == nil {
				bt = limits.NewBacktest(v.Limits(), loc)
				baselines[v] = bt
			}
			oreq := in.Request
			oopts := opts
			oopts.Usage = usageAt(v, bt, &oreq, d.Time)
			if r, err := v.Eval(ctx, &oreq, oopts); err == nil {
				old = r
			}
			bt.Add(&ev)
		}
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
		// limited reports whether the candidate's limits refuse the request
		// (ev as it stands), counting it so: its logged cost stays in the
		// "before" column and none goes to "after".
		limited := func() bool {
			if !limitedBy(backtest, &ev, &refusals) {
				return false
			}
			rep.Limited++
			rep.After["(limited)"]++
			example(replayExample{RequestID: d.RequestID, Model: req.Model, Before: d.Provider, Limited: limitNote(refusals)})
			if d.CostMicros != nil {
				before += pricing.Micros(*d.CostMicros)
			}
			return true
		}
		var changed bool
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
			if limited() {
				continue
			}
			rep.Unchanged++
			rep.After[d.Provider]++
			if d.CostMicros != nil {
				before += pricing.Micros(*d.CostMicros)
				after += pricing.Micros(*d.CostMicros)
			}
			continue
		}
		newCost, _, ok := prices.Cost(model, d.Usage)
		if np, found := pol.Provider(c.Provider); found && pricing.FreeKind(np.Kind) {
			// The gateway logs a free kind's answers at no cost whatever
			// the model; the projection must too.
			newCost, ok = 0, true
		}
		if ok {
			// The candidate's budgets count what its routing spends.
			ev.USDMicros = int64(newCost)
		}
		if limited() {
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
		if d.CostMicros == nil || !ok {
			rep.Unpriced++
			continue
		}
		before += pricing.Micros(*d.CostMicros)
		after += newCost
	}
	for name, n := range limits.Counts(refusals) {
		rep.Limits[name] = n
	}
	if runs := limits.Runs(refusals); runs != nil {
		rep.LimitRefusals = runs
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

// replayRefused back-tests a request a limit refused in the log: when the
// candidate routes it, it goes through the candidate's limits with its
// estimated input as its tokens and no cost (it was never served). It
// reports whether the candidate would have served it.
func replayRefused(ctx context.Context, pol *engine.Policy, bt *limits.Backtest, req *engine.Request, d requestlog.LoggedDecision, refusals *[]limits.Replayed) bool {
	seed := requestSeed(d.RequestID)
	res, err := pol.Eval(ctx, req, engine.EvalOptions{Now: d.Time, Seed: &seed, Usage: usageAt(pol, bt, req, d.Time)})
	if err != nil || len(res.Candidates) == 0 {
		return false
	}
	est := int64(req.InputTokensEstimate)
	ev := limits.Event{Time: d.Time, Subject: req.LimitSubject(), EstimatedTokens: est, Tokens: est}
	return !limitedBy(bt, &ev, refusals)
}

// usageAt is what ctx.usage reads for req at now under pol: its counters
// in bt, by limit name; nil when pol counts req in no limit.
func usageAt(pol *engine.Policy, bt *limits.Backtest, req *engine.Request, now time.Time) map[string]limits.Usage {
	charges := pol.Charges(nil, req)
	if len(charges) == 0 {
		return nil
	}
	out := make(map[string]limits.Usage, len(charges))
	for _, c := range charges {
		out[c.Limit] = bt.Usage(now, c)
	}
	return out
}

// limitedBy sends ev through the candidate's limits, appending what they
// refused to refusals, and reports whether an enforced one refused it.
func limitedBy(bt *limits.Backtest, ev *limits.Event, refusals *[]limits.Replayed) bool {
	rs, admitted := bt.Step(ev)
	*refusals = append(*refusals, rs...)
	return !admitted
}

// limitNote is the replay example's reason for the last refusal added:
// the message the client would have got.
func limitNote(refusals []limits.Replayed) string {
	r := refusals[len(refusals)-1].Refusal
	return engine.LimitMessage(&r)
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
	fmt.Fprintf(e.stdout, "decisions changed: %d, unchanged: %d, rejected: %d", rep.Changed, rep.Unchanged, rep.Errors)
	if len(rep.Limits) > 0 {
		fmt.Fprintf(e.stdout, ", refused by a limit: %d", rep.Limited)
	}
	fmt.Fprintln(e.stdout)
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
	printLimitBacktest(e, rep)
	for _, ex := range rep.Examples {
		if ex.Limited != "" {
			fmt.Fprintf(e.stdout, "  %s %s: %s -> refused: %s\n", ex.RequestID, ex.Model, ex.Before, ex.Limited)
			continue
		}
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

// printLimitBacktest writes the back-test of the candidate's limits: the
// refusals of each, then who they would have refused and when.
func printLimitBacktest(e env, rep *replayReport) {
	if len(rep.Limits) == 0 {
		return
	}
	names := make([]string, 0, len(rep.Limits))
	for n := range rep.Limits {
		names = append(names, n)
	}
	sort.Strings(names)
	shadow := map[string]bool{}
	for _, r := range rep.LimitRefusals {
		shadow[r.Limit] = r.Shadow
	}
	fmt.Fprintf(e.stdout, "\nlimits back-tested on the logged traffic (usd periods in %s):", rep.LimitTZ)
	for _, n := range names {
		verb := "refused"
		if shadow[n] {
			verb = "would refuse"
		}
		fmt.Fprintf(e.stdout, " %s %d %s;", n, rep.Limits[n], verb)
	}
	fmt.Fprintln(e.stdout)
	if rep.RefusedBefore > 0 {
		fmt.Fprintf(e.stdout, "requests a limit refused in the log: %d; the candidate would serve %d of them (their cost is not in the projection)\n", rep.RefusedBefore, rep.AdmittedAfter)
	}
	if len(rep.LimitRefusals) == 0 {
		return
	}
	loc, err := time.LoadLocation(rep.LimitTZ)
	if err != nil {
		loc = time.UTC
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tLIMIT\tBOUND\tFIRST\tLAST\tREQUESTS")
	for _, r := range rep.LimitRefusals {
		limit := r.Limit
		if r.Shadow {
			limit += " (shadow: would refuse)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", orNone(r.Key), limit, strings.Join(r.Bounds, ","),
			r.First.In(loc).Format(time.DateTime), r.Last.In(loc).Format(time.DateTime), r.Count)
	}
	tw.Flush()
	fmt.Fprintf(e.stdout, "(times in %s)\n", loc)
}
