package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	quota "github.com/llmgw/llmgw/limits"
	"github.com/llmgw/llmgw/route"
)

// EvalOptions are the simulated conditions of a dry run.
type EvalOptions struct {
	// Protocol, when set, overrides the request's protocol.
	Protocol string `json:"protocol,omitempty"`
	// Health is the simulated health by provider name; missing providers
	// are healthy.
	Health map[string]Health `json:"health,omitempty"`
	// Sticky is the provider the request's sticky key is bound to, ""
	// when none.
	Sticky string `json:"sticky,omitempty"`
	// Now is the clock; the zero value means the engine's clock.
	Now time.Time `json:"now,omitzero"`
	// SimulateErrors makes providers fail, by name: an HTTP status
	// ("429", or "429:30" with a Retry-After of 30 s), or "timeout",
	// "connect" or "stream" (before the first byte). The walk then calls
	// classify for each. "cut" (a stream that breaks after its first
	// byte) and "stall" (a stream that goes idle after its first byte)
	// are faults of a started stream: the client already has part of the
	// answer, so there is no failover and no classify; the client gets
	// its protocol's error event (Attempt.StreamError). They need a
	// streaming request.
	SimulateErrors map[string]string `json:"simulate_errors,omitempty"`
	// MaxAttempts caps the walk's attempts as the gateway's
	// Config.MaxAttempts does; 0 (the default of both) walks the whole
	// failover chain.
	MaxAttempts int `json:"max_attempts,omitempty"`
	// Seed, when set, draws the weighted picks within each tier at
	// random as the gateway does, from this seed: the same seed gives the
	// same order, and over many seeds each candidate comes first about as
	// often as its Share says. Nil orders each tier highest weight first
	// (one of the orders live traffic takes, deterministic for tests).
	Seed *uint64 `json:"seed,omitempty"`
	// Usage fakes limit counters, by limit name: what ctx.usage(name)
	// reads and what the request is checked against before the walk. A
	// limit missing from it is at zero.
	Usage map[string]quota.Usage `json:"usage,omitempty"`
}

// EvalCandidate is a candidate in failover order with its share.
type EvalCandidate struct {
	route.Candidate
	// Share is the candidate's chance to be tried first for this
	// request under the simulated conditions, 0..1: its weight's share
	// of the first available tier (live picks within a tier are
	// weighted-random), 1 for a provider a sticky binding puts first.
	Share float64 `json:"share"`
}

// EvalResult is a dry-run decision, the JSON of `llmgw eval --json` and
// POST /api/eval.
type EvalResult struct {
	Policy string `json:"policy"`
	// Candidates are in failover order (route.Order applied with the
	// simulated health and sticky binding; within a tier highest weight
	// first, or drawn from EvalOptions.Seed), each with its Share.
	Candidates []EvalCandidate `json:"candidates"`
	// Returned are the candidates as route returned them.
	Returned  []route.Candidate `json:"returned"`
	StickyKey *string           `json:"sticky_key"`
	Sticky    string            `json:"sticky,omitempty"`
	Notes     []string          `json:"notes"`
	// Explain says why the core reordered or removed candidates.
	Explain  []string  `json:"explain"`
	Attempts []Attempt `json:"attempts"`
	Outcome  Outcome   `json:"outcome"`
	// Refusal is route()'s refuse(...), when it returned one: the status
	// and message the client gets; null otherwise.
	Refusal *Refusal `json:"refusal"`
	// Limited is the limit that refused the request (Outcome.Result
	// "limited", status 429), null when none did; WouldRefuse are the
	// shadow limits the request went over (it was served).
	Limited     *quota.Refusal  `json:"limited"`
	WouldRefuse []quota.Refusal `json:"would_refuse"`
}

// Attempt is one step of a simulated failover walk.
type Attempt struct {
	Provider   string  `json:"provider"`
	Model      string  `json:"model"`
	Status     int     `json:"status"`          // 200 when served, else the simulated status (0 for timeout…)
	Error      string  `json:"error,omitempty"` // the simulated error ("429", "timeout"…)
	Class      string  `json:"class"`           // "ok", or the classify action
	CooldownS  float64 `json:"cooldown_s,omitempty"`
	MarkFailed bool    `json:"mark_failed,omitempty"`
	// StreamError is the error event the client got after the stream
	// started (a simulated "cut" or "stall"); "" otherwise.
	StreamError string `json:"stream_error,omitempty"`
}

// Outcome is how a simulated walk ends.
type Outcome struct {
	// Result is "served", "refused" (route returned refuse(...); Status
	// is its status), "stream_failed" (served, but the stream broke
	// after its first byte: the client got an error event), "failed" (an
	// error returned to the client), "exhausted" (every candidate
	// failed), "no_candidates" or "limited" (a limit refused it before
	// any upstream: Status 429, EvalResult.Limited names it).
	Result   string `json:"result"`
	Provider string `json:"provider,omitempty"`
	Status   int    `json:"status,omitempty"`
}

// Eval dry-runs the policy for one request under simulated conditions:
// Decide, the core's ordering, and the failover walk with classify called
// for every simulated failure. The walk is the gateway's own (route.Walk),
// so that attempts, classes and the outcome are what a live request under
// the same failures gets. It never touches the network.
func (p *Policy) Eval(ctx context.Context, req *Request, opts EvalOptions) (*EvalResult, error) {
	r := *req
	if opts.Protocol != "" {
		r.Protocol = opts.Protocol
	}
	for name := range opts.SimulateErrors {
		if _, ok := p.byName[name]; !ok {
			return nil, fmt.Errorf("engine: simulated error for unknown provider %q", name)
		}
	}
	env := Env{
		Health: func(name string) Health {
			if h, ok := opts.Health[name]; ok {
				return h
			}
			return Health{State: StateHealthy}
		},
		Sticky: func(string) string { return opts.Sticky },
		Now:    opts.Now,
		Usage:  func(c quota.Charge) quota.Usage { return opts.Usage[c.Limit] },
	}
	d, err := p.Decide(ctx, &r, env)
	if err != nil {
		return nil, err
	}
	available := func(name string) bool { return env.Health(name).State != StateCooldown }
	ro := route.Options{Sticky: d.Sticky, Available: available}
	if opts.Seed != nil {
		ro.Intn = rand.New(rand.NewPCG(*opts.Seed, *opts.Seed^0x9e3779b97f4a7c15)).IntN
	}
	order, explain := route.Order(d.Candidates, ro)
	shares := Shares(d.Candidates, d.Sticky, available)
	res := &EvalResult{
		Policy:     p.Hash,
		Candidates: make([]EvalCandidate, len(order)),
		Returned:   nonNil(d.Candidates),
		Sticky:     d.Sticky,
		Notes:      nonNil(d.Notes),
		Explain:    nonNil(explain),
	}
	for i, c := range order {
		res.Candidates[i] = EvalCandidate{Candidate: c, Share: shares[c.Provider]}
	}
	if line := splitLine(order, shares, opts.Seed != nil); line != "" {
		res.Explain = append(res.Explain, line)
	}
	if d.StickyKey != "" {
		res.StickyKey = &d.StickyKey
		if d.Sticky != "" {
			res.Explain = append(res.Explain, fmt.Sprintf("sticky key %q is bound to %s", d.StickyKey, d.Sticky))
			if d.StickyDefault {
				res.Explain = append(res.Explain, fmt.Sprintf("the sticky key is the default (the session, else the client key): %s decides the pick; define sticky_key(req, ctx) to change it", d.Sticky))
			}
		}
	}
	if d.Refusal != nil {
		res.Refusal = d.Refusal
		res.Attempts = []Attempt{}
		res.Outcome = Outcome{Result: "refused", Status: d.Refusal.Status}
		return res, nil
	}
	if refused, would := p.evalLimits(&r, opts.Usage); refused != nil || would != nil {
		res.WouldRefuse = would
		if refused != nil {
			res.Limited = refused
			res.Attempts = []Attempt{}
			res.Outcome = Outcome{Result: "limited", Status: 429}
			res.Explain = append(res.Explain, LimitMessage(refused))
			return res, nil
		}
	}
	if err := p.walk(ctx, &r, env, res, opts); err != nil {
		return nil, err
	}
	return res, nil
}

// Shares returns each candidate's chance to be tried first, by provider:
// the sticky provider's, when it is a candidate and available, is 1;
// otherwise the first available tier's candidates share by weight (in
// policy order when their weights are all 0), and if no candidate is
// available the first of the lowest tier is tried first. It mirrors
// route.Order with a random Intn, which the gateway uses.
func Shares(cands []route.Candidate, sticky string, available func(string) bool) map[string]float64 {
	out := make(map[string]float64, len(cands))
	var uniq []route.Candidate
	for _, c := range cands {
		if _, dup := out[c.Provider]; !dup {
			out[c.Provider] = 0
			uniq = append(uniq, c)
		}
	}
	if len(uniq) == 0 {
		return out
	}
	avail := func(name string) bool { return available == nil || available(name) }
	if sticky != "" {
		if _, ok := out[sticky]; ok && avail(sticky) {
			out[sticky] = 1
			return out
		}
	}
	var tier []route.Candidate
	for _, want := range []bool{true, false} {
		best := 0
		for _, c := range uniq {
			if avail(c.Provider) != want {
				continue
			}
			switch {
			case tier == nil || c.Priority < best:
				tier, best = []route.Candidate{c}, c.Priority
			case c.Priority == best:
				tier = append(tier, c)
			}
		}
		if tier != nil {
			break
		}
	}
	total := 0
	for _, c := range tier {
		total += min(max(c.Weight, 0), route.MaxWeight)
	}
	if total == 0 || !avail(tier[0].Provider) {
		out[tier[0].Provider] = 1
		return out
	}
	for _, c := range tier {
		out[c.Provider] = float64(min(max(c.Weight, 0), route.MaxWeight)) / float64(total)
	}
	return out
}

// splitLine explains a weighted split of the first pick, which the order
// shown cannot: "weighted-random first pick live: a 50%, b 50% (...)".
func splitLine(order []route.Candidate, shares map[string]float64, seeded bool) string {
	var parts []string
	for _, c := range order {
		if s := shares[c.Provider]; s > 0 && s < 1 {
			parts = append(parts, fmt.Sprintf("%s %.4g%%", c.Provider, 100*s))
		}
	}
	if len(parts) < 2 {
		return ""
	}
	how := "this order puts the highest weight first; a seed draws one live order"
	if seeded {
		how = "this order is the one the seed draws"
	}
	return "weighted-random first pick live: " + strings.Join(parts, ", ") + " (" + how + ")"
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// walk runs the gateway's failover walk (route.Walk) over res.Candidates
// with simulated outcomes: a provider in sim fails with its simulated
// error, which classify classes; any other provider serves.
func (p *Policy) walk(ctx context.Context, req *Request, env Env, res *EvalResult, opts EvalOptions) error {
	res.Attempts = []Attempt{}
	sw := &simWalk{p: p, req: req, env: env, sim: opts.SimulateErrors, res: res}
	order := make([]route.Candidate, len(res.Candidates))
	for i, c := range res.Candidates {
		order[i] = c.Candidate
	}
	w := route.Walk(ctx, order, opts.MaxAttempts, sw)
	if sw.err != nil {
		return sw.err
	}
	if w.End == route.EndStopped {
		return fmt.Errorf("engine: eval: %w", context.Cause(ctx))
	}
	var last Attempt
	if len(res.Attempts) > 0 {
		last = res.Attempts[len(res.Attempts)-1]
	}
	switch w.End {
	case route.EndNoCandidates:
		res.Outcome = Outcome{Result: "no_candidates"}
	case route.EndServed:
		res.Outcome = Outcome{Result: "served", Provider: last.Provider, Status: last.Status}
		if last.StreamError != "" {
			res.Outcome.Result = "stream_failed"
		}
	case route.EndFailed:
		res.Outcome = Outcome{Result: "failed", Provider: last.Provider, Status: last.Status}
	default:
		res.Outcome = Outcome{Result: "exhausted", Provider: last.Provider, Status: last.Status}
	}
	return nil
}

// simWalk is the route.Driver of a dry run.
type simWalk struct {
	p   *Policy
	req *Request
	env Env
	sim map[string]string
	res *EvalResult
	ei  ErrorInfo // the last simulated failure
	err error     // the first fault: a bad simulated error, a classify hook error
}

func (s *simWalk) Attempt(_ context.Context, c route.Candidate, n int) route.Outcome {
	model := upstreamModel(c, s.p, s.req.Model)
	spec, failing := s.sim[c.Provider]
	if !failing {
		s.res.Attempts = append(s.res.Attempts, Attempt{Provider: c.Provider, Model: model, Status: 200, Class: "ok"})
		return route.Served
	}
	if msg, ok := streamFaults[spec]; ok {
		// As live: a stream that started is relayed, whatever happens to
		// it later; the broken end is the client's error event, the
		// provider's health learns of it, nothing fails over.
		if !s.req.Stream {
			s.err = fmt.Errorf("engine: simulated %q for %s: the request does not stream (cut and stall are faults of a started stream)", spec, c.Provider)
			return route.Stopped
		}
		s.res.Attempts = append(s.res.Attempts, Attempt{Provider: c.Provider, Model: model, Status: 200, Error: spec, Class: "ok", StreamError: msg})
		return route.Served
	}
	ei, err := simulatedError(spec)
	if err != nil {
		s.err = err
		return route.Stopped
	}
	ei.Provider, ei.Model, ei.Attempt = c.Provider, model, n
	s.ei = ei
	s.res.Attempts = append(s.res.Attempts, Attempt{Provider: c.Provider, Model: model, Status: ei.Status, Error: spec})
	return route.Failed
}

// Classify classes a simulated failure as the gateway does: a fault of
// the classify hook is reported in Explain and the default class applies
// (the gateway logs it and does the same), so the walk goes on as live.
func (s *simWalk) Classify(ctx context.Context, _ route.Candidate, _ int) Class {
	class, err := s.p.Classify(ctx, s.ei, s.env)
	if err != nil {
		if ctx.Err() != nil {
			s.err = err
			return Class{Action: ActionFail}
		}
		s.res.Explain = append(s.res.Explain, fmt.Sprintf("classify failed on %s's %s (%v): the default class applies, as in the gateway", s.ei.Provider, describeError(s.ei), err))
		return DefaultClass(s.ei)
	}
	return class
}

func (s *simWalk) Settled(_ route.Candidate, _ int, class Class) {
	a := &s.res.Attempts[len(s.res.Attempts)-1]
	a.Class, a.CooldownS, a.MarkFailed = string(class.Action), class.Cooldown.Seconds(), class.MarkFailed
}

// Wait does not wait: a dry run's clock is simulated.
func (s *simWalk) Wait(context.Context, time.Duration) bool { return true }

// upstreamModel is the model an attempt sends: the candidate's override,
// else the provider's models mapping, else the requested model.
func upstreamModel(c route.Candidate, p *Policy, requested string) string {
	if c.Model != "" {
		return c.Model
	}
	if prov, ok := p.Provider(c.Provider); ok {
		if m := prov.Models[requested]; m != "" {
			return m
		}
	}
	return requested
}

// streamFaults are the simulated faults of a started stream and the error
// event's message the client gets (the gateway's wording; the idle
// timeout is Config.StreamIdleTimeout, 5 minutes by default).
var streamFaults = map[string]string{
	"cut":   "upstream stream failed: the upstream closed the stream after its first event",
	"stall": "upstream stream stalled: no event for the stream idle timeout",
}

// simulatedError parses one --simulate-errors value.
func simulatedError(spec string) (ErrorInfo, error) {
	if _, ok := streamFaults[spec]; ok {
		return ErrorInfo{Kind: "stream", FirstByteSent: true, Message: streamFaults[spec]}, nil
	}
	switch spec {
	case "timeout", "connect", "stream":
		return ErrorInfo{Kind: spec, Message: "simulated " + spec}, nil
	}
	status, after, _ := strings.Cut(spec, ":")
	code, err := strconv.Atoi(status)
	if err != nil || code < 400 || code > 599 {
		return ErrorInfo{}, fmt.Errorf("engine: simulated error %q: want an HTTP status 400-599 (optionally :retry-after seconds), timeout, connect, stream, cut or stall", spec)
	}
	ei := ErrorInfo{Status: code, Kind: "http", Type: statusType(code), Message: "simulated " + status}
	if after != "" {
		s, err := strconv.ParseFloat(after, 64)
		if err != nil || s < 0 {
			return ErrorInfo{}, fmt.Errorf("engine: simulated error %q: bad retry-after %q", spec, after)
		}
		ei.RetryAfter = time.Duration(s * float64(time.Second))
	}
	return ei, nil
}

// statusType is a plausible provider error type for a status.
func statusType(code int) string {
	switch code {
	case 400:
		return "invalid_request_error"
	case 401:
		return "authentication_error"
	case 403:
		return "permission_error"
	case 404:
		return "not_found_error"
	case 429:
		return "rate_limit_error"
	case 529:
		return "overloaded_error"
	}
	if code >= 500 {
		return "api_error"
	}
	return "invalid_request_error"
}

// ParseSimulateErrors parses a --simulate-errors list such as
// "anthropic-main=429,openai-main=timeout".
func ParseSimulateErrors(list string) (map[string]string, error) {
	out := make(map[string]string)
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, spec, ok := strings.Cut(item, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("engine: simulate errors: %q is not provider=error", item)
		}
		if _, err := simulatedError(spec); err != nil {
			return nil, err
		}
		out[name] = spec
	}
	return out, nil
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
