package engine

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

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
	// "connect" or "stream". The walk then calls classify for each.
	SimulateErrors map[string]string `json:"simulate_errors,omitempty"`
	// MaxAttempts caps the walk's attempts as the gateway's
	// Config.MaxAttempts does; 0 (the default of both) walks the whole
	// failover chain.
	MaxAttempts int `json:"max_attempts,omitempty"`
}

// EvalResult is a dry-run decision, the JSON of `llmgw eval --json` and
// POST /api/eval.
type EvalResult struct {
	Policy string `json:"policy"`
	// Candidates are in failover order (route.Order applied with the
	// simulated health and sticky binding, weights picked
	// deterministically: highest first).
	Candidates []route.Candidate `json:"candidates"`
	// Returned are the candidates as route returned them.
	Returned  []route.Candidate `json:"returned"`
	StickyKey *string           `json:"sticky_key"`
	Sticky    string            `json:"sticky,omitempty"`
	Notes     []string          `json:"notes"`
	// Explain says why the core reordered or removed candidates.
	Explain  []string  `json:"explain"`
	Attempts []Attempt `json:"attempts"`
	Outcome  Outcome   `json:"outcome"`
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
}

// Outcome is how a simulated walk ends.
type Outcome struct {
	// Result is "served", "failed" (an error returned to the client),
	// "exhausted" (every candidate failed) or "no_candidates".
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
	}
	d, err := p.Decide(ctx, &r, env)
	if err != nil {
		return nil, err
	}
	available := func(name string) bool { return env.Health(name).State != StateCooldown }
	order, explain := route.Order(d.Candidates, route.Options{Sticky: d.Sticky, Available: available})
	res := &EvalResult{
		Policy:     p.Hash,
		Candidates: nonNil(order),
		Returned:   nonNil(d.Candidates),
		Sticky:     d.Sticky,
		Notes:      nonNil(d.Notes),
		Explain:    nonNil(explain),
	}
	if d.StickyKey != "" {
		res.StickyKey = &d.StickyKey
		if d.Sticky != "" {
			res.Explain = append(res.Explain, fmt.Sprintf("sticky key %q is bound to %s", d.StickyKey, d.Sticky))
		}
	}
	if err := p.walk(ctx, &r, env, res, opts); err != nil {
		return nil, err
	}
	return res, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// walk runs the gateway's failover walk (route.Walk) over res.Candidates
// with simulated outcomes: a provider in sim fails with its simulated
// error, which classify classes; any other provider serves. A fault of the
// classify hook ends the walk and is returned (the gateway would log it
// and use the default class; a dry run shows it instead).
func (p *Policy) walk(ctx context.Context, req *Request, env Env, res *EvalResult, opts EvalOptions) error {
	res.Attempts = []Attempt{}
	sw := &simWalk{p: p, req: req, env: env, sim: opts.SimulateErrors, res: res}
	w := route.Walk(ctx, res.Candidates, opts.MaxAttempts, sw)
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

func (s *simWalk) Classify(ctx context.Context, _ route.Candidate, _ int) Class {
	class, err := s.p.Classify(ctx, s.ei, s.env)
	if err != nil {
		s.err = err
		return Class{Action: ActionFail}
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

// simulatedError parses one --simulate-errors value.
func simulatedError(spec string) (ErrorInfo, error) {
	switch spec {
	case "timeout", "connect", "stream":
		return ErrorInfo{Kind: spec, Message: "simulated " + spec}, nil
	}
	status, after, _ := strings.Cut(spec, ":")
	code, err := strconv.Atoi(status)
	if err != nil || code < 400 || code > 599 {
		return ErrorInfo{}, fmt.Errorf("engine: simulated error %q: want an HTTP status 400-599 (optionally :retry-after seconds), timeout, connect or stream", spec)
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
