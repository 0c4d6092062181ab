package engine

import (
	"context"
	"testing"

	"go.starlark.net/starlark"
)

// BenchmarkDecide runs a realistic policy (testdata/basic: a stock module,
// model families, health checks, targets) for one request.
func BenchmarkDecide(b *testing.B) {
	e, err := New(context.Background(), Config{Kinds: testKinds(), Path: "testdata/basic", SkipTests: true})
	if err != nil {
		b.Fatal(err)
	}
	p := e.Policy()
	req := &Request{Model: "gpt-4.1", Protocol: "openai", Key: "team-a", Session: "s1", InputTokensEstimate: 1200,
		Headers: map[string]string{"user-agent": "bench"}}
	env := Env{Health: func(string) Health { return Health{State: StateHealthy} }, Sticky: func(string) string { return "" }}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Decide(ctx, req, env); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecideContract runs the contract's example policy (three hooks
// defined, sticky_key included) for a Claude request.
func BenchmarkDecideContract(b *testing.B) {
	e, err := New(context.Background(), Config{Kinds: testKinds(), Path: "testdata/contract", SkipTests: true, Offline: true})
	if err != nil {
		b.Fatal(err)
	}
	p := e.Policy()
	req := &Request{Model: "claude-sonnet-4-5", Protocol: "anthropic", Key: "team-a", Session: "s1"}
	env := Env{Sticky: func(string) string { return "" }}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Decide(context.Background(), req, env); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecideParallel(b *testing.B) {
	e, err := New(context.Background(), Config{Kinds: testKinds(), Path: "testdata/basic", SkipTests: true})
	if err != nil {
		b.Fatal(err)
	}
	p := e.Policy()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := &Request{Model: "claude-sonnet-4-5", Protocol: "anthropic", Key: "team-a"}
		for pb.Next() {
			if _, err := p.Decide(context.Background(), req, Env{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkClassify(b *testing.B) {
	e, err := New(context.Background(), Config{Kinds: testKinds(), Path: "testdata/basic", SkipTests: true})
	if err != nil {
		b.Fatal(err)
	}
	p := e.Policy()
	ei := ErrorInfo{Status: 429, Kind: "http", Provider: "openai-main"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Classify(context.Background(), ei, Env{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoad reads, compiles and executes the policy (what a reload
// costs before its tests).
func BenchmarkLoad(b *testing.B) {
	cfg := Config{Kinds: testKinds(), Path: "testdata/basic"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := build(context.Background(), &cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReloadGated is a full gated reload: build plus the policy's
// tests.
func BenchmarkReloadGated(b *testing.B) {
	cfg := Config{Kinds: testKinds(), Path: "testdata/basic"}
	e := &Engine{cfg: cfg}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.buildAndTest(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzCandidates feeds arbitrary route results through the Starlark →
// Decision conversion: it must never panic, and what it accepts must name
// declared providers with non-negative weights.
func FuzzCandidates(f *testing.F) {
	for _, s := range []string{
		`[a, b]`, `a`, `None`, `[]`, `(a, target(b, model="x", priority=-3, weight=0))`, `"a"`, `[a, [b]]`,
		`{"a": 1}`, `[target(a)] * 70`, `[1, 2]`, `target(target(a, weight=5), model="m")`,
	} {
		f.Add(s)
	}
	e, err := New(context.Background(), Config{Kinds: testKinds(), Path: "testdata/basic", SkipTests: true})
	if err != nil {
		f.Fatal(err)
	}
	p := e.Policy()
	globals := starlark.StringDict{
		"a":      p.modules["policies.star"]["oai"],
		"b":      p.modules["policies.star"]["claude"],
		"target": p.predeclared["target"],
	}
	f.Fuzz(func(t *testing.T, expr string) {
		thread := &starlark.Thread{}
		thread.SetMaxExecutionSteps(10000)
		v, err := starlark.EvalOptions(fileOptions, thread, "fuzz", expr, globals)
		if err != nil {
			return
		}
		cs, err := p.candidates(v)
		if err != nil {
			return
		}
		for _, c := range cs {
			if _, ok := p.Provider(c.Provider); !ok || c.Weight < 0 {
				t.Errorf("candidates(%s) accepted %+v", expr, c)
			}
		}
	})
}
