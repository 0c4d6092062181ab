package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	starlarktime "go.starlark.net/lib/time"
	"go.starlark.net/starlark"

	"github.com/llmgw/llmgw/builtins"
)

// TestEpoch is the clock of policy tests (2026-01-05T12:00:00Z, a Monday)
// unless TestOptions.Now or a helper's now= says otherwise: tests never
// depend on the real time.
func TestEpoch() time.Time { return time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC) }

// TestOptions configure a policy test run. The zero value runs every test.
type TestOptions struct {
	// Run, when set, is a regular expression selecting tests by name.
	Run string
	// FailOnEmpty fails the run when no test ran.
	FailOnEmpty bool
	// Now is the tests' clock; the zero value means TestEpoch.
	Now time.Time
	// Timeout caps each test's wall time; 0 means DefaultTestTimeout.
	Timeout time.Duration
}

// TestResult is the result of one test function (or of a test file that
// failed to load, named after the file).
type TestResult struct {
	Name     string        `json:"name"`
	File     string        `json:"file"`
	Pos      string        `json:"pos,omitempty"` // where it failed
	Failed   bool          `json:"failed"`
	Skipped  bool          `json:"skipped,omitempty"`
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// TestReport is the result of a policy test run.
type TestReport struct {
	Policy  string       `json:"policy"`
	Files   []string     `json:"files"`
	Tests   []TestResult `json:"tests"`
	Passed  int          `json:"passed"`
	Failed  int          `json:"failed"`
	Skipped int          `json:"skipped"`
	// Empty is set when FailOnEmpty was asked and no test ran.
	Empty bool `json:"empty,omitempty"`
}

// OK reports whether the run passed.
func (r *TestReport) OK() bool { return r.Failed == 0 && !r.Empty }

// RunTests builds the policy cfg describes and runs its tests (`llmgw
// test`). An error means the policy itself did not load.
func RunTests(ctx context.Context, cfg Config, opts TestOptions) (*TestReport, error) {
	p, err := build(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	return p.RunTests(ctx, opts)
}

// RunTests runs the policy's *_test.star tests: every function named
// test_* without parameters, in file order; todo_* functions are reported
// as skipped. Tests see the policy's names plus decide, walk and the
// assertions (see builtins.Assertions).
func (p *Policy) RunTests(ctx context.Context, opts TestOptions) (*TestReport, error) {
	var sel *regexp.Regexp
	if opts.Run != "" {
		var err error
		if sel, err = regexp.Compile(opts.Run); err != nil {
			return nil, fmt.Errorf("engine: test -run: %w", err)
		}
	}
	if opts.Now.IsZero() {
		opts.Now = TestEpoch()
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTestTimeout
	}
	files, err := p.src.testFiles()
	if err != nil {
		return nil, fmt.Errorf("engine: list tests: %w", err)
	}
	rep := &TestReport{Policy: p.Hash, Files: files, Tests: []TestResult{}}
	for _, f := range files {
		p.runTestFile(ctx, f, sel, opts, rep)
	}
	ran := 0
	for _, t := range rep.Tests {
		if t.Name != t.File && !t.Skipped {
			ran++
		}
	}
	rep.Empty = opts.FailOnEmpty && ran == 0
	return rep, nil
}

// testLoader is a loader for test files: it sees the policy's modules as
// loaded (a test loading the entry gets the live globals, no second set of
// declarations) and refuses declarations.
func (p *Policy) testLoader(ctx context.Context, opts TestOptions) *loader {
	src := *p.src
	src.files = maps.Clone(p.src.files)
	predeclared := maps.Clone(p.predeclared)
	maps.Copy(predeclared, builtins.Assertions())
	maps.Copy(predeclared, p.testHelpers(ctx, opts))
	l := &loader{
		src:         &src,
		predeclared: predeclared,
		now:         func() time.Time { return opts.Now },
		modules:     make(map[string]*module, len(p.modules)),
		ctx:         ctx,
		deadline:    time.Now().Add(opts.Timeout),
		steps:       10 * p.limits.maxSteps,
	}
	for name, g := range p.modules {
		l.modules[name] = &module{globals: g}
	}
	return l
}

func (p *Policy) runTestFile(ctx context.Context, file string, sel *regexp.Regexp, opts TestOptions, rep *TestReport) {
	l := p.testLoader(ctx, opts)
	globals, err := l.exec(file)
	if err != nil {
		pos, msg := fault(err)
		rep.Tests = append(rep.Tests, TestResult{Name: file, File: file, Pos: pos, Failed: true, Error: msg})
		rep.Failed++
		return
	}
	type test struct {
		name string
		fn   *starlark.Function
	}
	var tests []test
	for name, v := range globals {
		fn, ok := v.(*starlark.Function)
		if !ok || !(strings.HasPrefix(name, "test_") || strings.HasPrefix(name, "todo_")) || fn.Position().Filename() != l.src.filename(file) {
			continue
		}
		if sel != nil && !sel.MatchString(name) {
			continue
		}
		tests = append(tests, test{name, fn})
	}
	sort.Slice(tests, func(i, j int) bool { return tests[i].fn.Position().Line < tests[j].fn.Position().Line })
	for _, t := range tests {
		r := TestResult{Name: t.name, File: file}
		switch {
		case strings.HasPrefix(t.name, "todo_"):
			r.Skipped = true
			rep.Skipped++
		case t.fn.NumParams() != 0:
			r.Failed, r.Pos, r.Error = true, t.fn.Position().String(), "a test takes no parameters"
			rep.Failed++
		default:
			start := time.Now()
			err := p.runTest(ctx, t.fn, opts)
			r.Duration = time.Since(start)
			if err != nil {
				r.Failed = true
				var he *HookError
				if errors.As(err, &he) {
					r.Pos, r.Error = he.Pos, he.Err.Error()
				} else {
					r.Error = err.Error()
				}
				rep.Failed++
			} else {
				rep.Passed++
			}
		}
		rep.Tests = append(rep.Tests, r)
	}
}

// runTest calls one test function on its own thread.
func (p *Policy) runTest(ctx context.Context, fn *starlark.Function, opts TestOptions) error {
	thread := &starlark.Thread{Name: fn.Name()}
	builtins.SetNow(thread, func() time.Time { return opts.Now })
	defer limit(ctx, thread, 10*p.limits.maxSteps, opts.Timeout)()
	if _, err := starlark.Call(thread, fn, nil, nil); err != nil {
		return hookError(fn.Name(), err, ctx)
	}
	return nil
}

// testHelpers returns decide and walk, bound to this policy.
func (p *Policy) testHelpers(ctx context.Context, opts TestOptions) starlark.StringDict {
	run := func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var reqArg, health, sticky, now, errs, seed, usage starlark.Value = nil, starlark.None, starlark.None, starlark.None, starlark.None, starlark.None, starlark.None
		pairs := []any{"request", &reqArg, "health?", &health, "sticky?", &sticky, "now?", &now, "seed?", &seed, "usage?", &usage}
		if b.Name() == "walk" {
			pairs = append(pairs, "errors?", &errs)
		}
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, pairs...); err != nil {
			return nil, err
		}
		req, err := requestFromStarlark(reqArg)
		if err != nil {
			return nil, fmt.Errorf("%s: request: %w", b.Name(), err)
		}
		eo := EvalOptions{Now: opts.Now}
		if eo.Health, err = healthFromStarlark(health); err != nil {
			return nil, fmt.Errorf("%s: health: %w", b.Name(), err)
		}
		if sticky != starlark.None {
			s, ok := starlark.AsString(sticky)
			if !ok {
				return nil, fmt.Errorf("%s: sticky must be a provider name", b.Name())
			}
			eo.Sticky = s
		}
		if now != starlark.None {
			if eo.Now, err = timeFromStarlark(now); err != nil {
				return nil, fmt.Errorf("%s: now: %w", b.Name(), err)
			}
		}
		if seed != starlark.None {
			var n int64
			if err := starlark.AsInt(seed, &n); err != nil || n < 0 {
				return nil, fmt.Errorf("%s: seed must be a non-negative int, got %s", b.Name(), seed)
			}
			u := uint64(n)
			eo.Seed = &u
		}
		if eo.Usage, err = p.usageFromStarlark(usage); err != nil {
			return nil, fmt.Errorf("%s: usage: %w", b.Name(), err)
		}
		if errs != starlark.None {
			if eo.SimulateErrors, err = errorsFromStarlark(errs); err != nil {
				return nil, fmt.Errorf("%s: errors: %w", b.Name(), err)
			}
		}
		res, err := p.Eval(ctx, req, eo)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		return evalResultValue(res)
	}
	return starlark.StringDict{
		"decide": starlark.NewBuiltin("decide", run),
		"walk":   starlark.NewBuiltin("walk", run),
	}
}

// evalResultValue converts an EvalResult to the dict tests see: its JSON
// shape plus "providers" (candidate names in failover order) and, for a
// walk, "served_by" (the provider that served, or None; a stream that
// broke after it started was served by its provider).
func evalResultValue(res *EvalResult) (starlark.Value, error) {
	b, err := json.Marshal(res)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	names := make([]any, len(res.Candidates))
	for i, c := range res.Candidates {
		names[i] = c.Provider
	}
	m["providers"] = names
	m["served_by"] = nil
	if res.Outcome.Result == "served" || res.Outcome.Result == "stream_failed" {
		m["served_by"] = res.Outcome.Provider
	}
	tried := make([]any, len(res.Attempts))
	for i, a := range res.Attempts {
		tried[i] = a.Provider + ":" + a.Class
	}
	m["tried"] = tried
	return toStarlark(m), nil
}

// toStarlark converts decoded JSON to Starlark values.
func toStarlark(v any) starlark.Value {
	switch v := v.(type) {
	case nil:
		return starlark.None
	case bool:
		return starlark.Bool(v)
	case string:
		return starlark.String(v)
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return starlark.MakeInt64(int64(v))
		}
		return starlark.Float(v)
	case []any:
		l := make([]starlark.Value, len(v))
		for i, x := range v {
			l[i] = toStarlark(x)
		}
		return starlark.NewList(l)
	case map[string]any:
		d := starlark.NewDict(len(v))
		for _, k := range sortedKeys(v) {
			_ = d.SetKey(starlark.String(k), toStarlark(v[k]))
		}
		return d
	}
	return starlark.String(fmt.Sprint(v))
}

// requestFromStarlark builds a Request from a test's dict (or a
// string, taken as the model).
func requestFromStarlark(v starlark.Value) (*Request, error) {
	if s, ok := starlark.AsString(v); ok {
		return &Request{Model: s, Protocol: "openai"}, nil
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, fmt.Errorf("want a dict, got %s", v.Type())
	}
	r := &Request{Protocol: "openai"}
	for _, it := range d.Items() {
		k, _ := starlark.AsString(it[0])
		val := it[1]
		var err error
		switch k {
		case "model":
			r.Model, err = str(val)
		case "protocol":
			r.Protocol, err = str(val)
		case "key":
			r.Key, err = str(val)
		case "session":
			r.Session, err = str(val)
		case "user":
			r.User, err = str(val)
		case "stream":
			r.Stream = bool(val.Truth())
		case "has_tools":
			r.HasTools = bool(val.Truth())
		case "has_images":
			r.HasImages = bool(val.Truth())
		case "has_thinking":
			r.HasThinking = bool(val.Truth())
		case "input_tokens_estimate":
			err = starlark.AsInt(val, &r.InputTokensEstimate)
		case "max_output_tokens":
			err = starlark.AsInt(val, &r.MaxOutputTokens)
		case "headers":
			r.Headers, err = stringMap(val)
			r.Headers = lowerKeys(r.Headers)
		case "metadata":
			r.Metadata, err = stringMap(val)
		default:
			return nil, fmt.Errorf("unknown field %q (want one of %s)", k, strings.Join(requestFields, ", "))
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
	}
	return r, nil
}

func lowerKeys(m map[string]string) map[string]string {
	for k, v := range m {
		if lk := strings.ToLower(k); lk != k {
			delete(m, k)
			m[lk] = v
		}
	}
	return m
}

func str(v starlark.Value) (string, error) {
	s, ok := starlark.AsString(v)
	if !ok {
		return "", fmt.Errorf("want a string, got %s", v.Type())
	}
	return s, nil
}

// healthFromStarlark reads {"name": "cooldown"} or {"name": {"state": …,
// "error_rate": …, "latency_ms": …, "in_flight": …, "cooldown_left": s}};
// "down" is short for cooldown, "up" for healthy.
func healthFromStarlark(v starlark.Value) (map[string]Health, error) {
	if v == starlark.None {
		return nil, nil
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, fmt.Errorf("want a dict, got %s", v.Type())
	}
	out := make(map[string]Health, d.Len())
	for _, it := range d.Items() {
		name, _ := starlark.AsString(it[0])
		var h Health
		switch x := it[1].(type) {
		case starlark.String:
			h.State = string(x)
		case *starlark.Dict:
			for _, f := range x.Items() {
				k, _ := starlark.AsString(f[0])
				var err error
				switch k {
				case "state":
					h.State, err = str(f[1])
				case "error_rate":
					h.ErrorRate, _ = starlark.AsFloat(f[1])
				case "latency_ms":
					h.LatencyMS, _ = starlark.AsFloat(f[1])
				case "in_flight":
					err = starlark.AsInt(f[1], &h.InFlight)
				case "cooldown_left":
					h.CooldownLeft, err = seconds(f[1])
				default:
					err = fmt.Errorf("unknown field")
				}
				if err != nil {
					return nil, fmt.Errorf("%s: %s: %w", name, k, err)
				}
			}
		default:
			return nil, fmt.Errorf("%s: want a state or a dict, got %s", name, it[1].Type())
		}
		switch h.State {
		case "", "up":
			h.State = StateHealthy
		case "down":
			h.State = StateCooldown
		case StateHealthy, StateCooldown, StateHalfOpen:
		default:
			return nil, fmt.Errorf("%s: unknown state %q (want healthy, half_open, cooldown, up or down)", name, h.State)
		}
		if h.State == StateCooldown && h.CooldownLeft == 0 {
			h.CooldownLeft = DefaultCooldown
		}
		out[name] = h
	}
	return out, nil
}

// errorsFromStarlark reads {"name": 429} or {"name": "timeout"}.
func errorsFromStarlark(v starlark.Value) (map[string]string, error) {
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, fmt.Errorf("want a dict, got %s", v.Type())
	}
	out := make(map[string]string, d.Len())
	for _, it := range d.Items() {
		name, _ := starlark.AsString(it[0])
		spec, ok := starlark.AsString(it[1])
		if !ok {
			spec = it[1].String()
		}
		if _, err := simulatedError(spec); err != nil {
			return nil, err
		}
		out[name] = spec
	}
	return out, nil
}

func timeFromStarlark(v starlark.Value) (time.Time, error) {
	switch v := v.(type) {
	case starlarktime.Time:
		return time.Time(v), nil
	case starlark.String:
		return time.Parse(time.RFC3339, string(v))
	}
	return time.Time{}, fmt.Errorf("want a time or an RFC 3339 string, got %s", v.Type())
}
