package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/metrics"
	"github.com/llmgw/llmgw/pricing"
	"github.com/llmgw/llmgw/providers/providertest"
)

// TestAdminAccess checks who may reach the admin surface (the JSON API,
// /metrics and Go's profiler): loopback clients when the policy declares
// no admin key; with a key, whoever sends it, and nobody else.
func TestAdminAccess(t *testing.T) {
	const demoPolicy = "d = provider(\"d\", kind = \"demo\")\ndef route(req, ctx):\n    return [d]\n"
	paths := []string{"/api/policy", "/api/providers", "/metrics", "/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/cmdline"}
	tests := []struct {
		name   string
		policy string
		remote string
		auth   string
		want   int
	}{
		{"loopback, no admin key", demoPolicy, "127.0.0.1:5000", "", http.StatusOK},
		{"loopback v6, no admin key", demoPolicy, "[::1]:5000", "", http.StatusOK},
		{"remote, no admin key", demoPolicy, "203.0.113.7:5000", "", http.StatusForbidden},
		{"remote, right admin key", "admin_key(\"adm-secret\")\n" + demoPolicy, "203.0.113.7:5000", "Bearer adm-secret", http.StatusOK},
		{"remote, wrong admin key", "admin_key(\"adm-secret\")\n" + demoPolicy, "203.0.113.7:5000", "Bearer nope", http.StatusUnauthorized},
		{"loopback, admin key declared but not sent", "admin_key(\"adm-secret\")\n" + demoPolicy, "127.0.0.1:5000", "", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.policy, func(c *Config) { c.Metrics = metrics.New() })
			for _, p := range paths {
				req := httptest.NewRequest(http.MethodGet, p, nil)
				req.Host = "localhost" // httptest.NewRequest says example.com; the admin surface answers loopback names
				req.RemoteAddr = tt.remote
				if tt.auth != "" {
					req.Header.Set("Authorization", tt.auth)
				}
				rec := httptest.NewRecorder()
				h.gw.ServeHTTP(rec, req)
				if rec.Code != tt.want {
					t.Errorf("GET %s from %s = %d, want %d (%.80s)", p, tt.remote, rec.Code, tt.want, rec.Body.String())
				}
			}
		})
	}
}

// TestRefusedBeforeUpstreamIsNoProviders: a request the gateway refuses
// before calling any upstream (one no candidate's protocol can carry) is
// logged without a provider and leaves the provider's live health alone:
// neither its request count, its error rate nor its latency moves.
func TestRefusedBeforeUpstreamIsNoProviders(t *testing.T) {
	c := providertest.New(t, providertest.Reply{})
	h := newHarness(t, providerDecl("c", "anthropic", c.URL, "")+"def route(req, ctx):\n    return [c]\n")
	resp, out := h.post("/v1/responses", `{"model":"gpt-4.1","previous_response_id":"resp_123","input":"and then?"}`)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status = %d (%s), want 400", resp.StatusCode, out)
	}
	if c.Count() != 0 {
		t.Fatalf("the upstream received %d requests", c.Count())
	}
	rec := h.rec.last(t)
	if rec.Provider != "" || rec.UpstreamModel != "" || len(rec.Attempts) != 1 || rec.Attempts[0].Class != "skip" || rec.Attempts[0].Provider != "c" {
		t.Errorf("record provider %q, upstream model %q, attempts %+v; want none, with c's attempt skipped", rec.Provider, rec.UpstreamModel, rec.Attempts)
	}
	if st := h.gw.health.Snapshot("c"); st.Requests != 0 || st.Failures != 0 || st.LatencyMS != 0 || st.InFlight != 0 {
		t.Errorf("c's health = %+v, want untouched", st)
	}
	req := httptest.NewRequest(http.MethodGet, "/api/providers", nil)
	req.Host = "localhost" // httptest.NewRequest says example.com; the admin surface answers loopback names
	req.RemoteAddr = "127.0.0.1:5000"
	w := httptest.NewRecorder()
	h.gw.ServeHTTP(w, req)
	var got struct {
		Providers []providerView `json:"providers"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || len(got.Providers) != 1 {
		t.Fatalf("/api/providers = %s (%v)", w.Body, err)
	}
	if p := got.Providers[0]; p.Requests != 0 || p.Failures != 0 || p.ErrorRate != 0 {
		t.Errorf("/api/providers c = %+v, want no requests or failures", p)
	}
}

// TestDemoCostsNothing: the in-process demo provider is free whatever
// model the client names; a model the price table knows is not billed.
func TestDemoCostsNothing(t *testing.T) {
	h := newHarness(t, "d = provider(\"d\", kind = \"demo\")\ndef route(req, ctx):\n    return [d]\n")
	resp, out := h.post("/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d (%s), want 200", resp.StatusCode, out)
	}
	rec := h.rec.last(t)
	if rec.CostMicros == nil || *rec.CostMicros != 0 || rec.PriceSource != pricing.SourceFree {
		t.Errorf("demo request cost %v, source %q; want 0 from %q", rec.CostMicros, rec.PriceSource, pricing.SourceFree)
	}
	if rec.Usage.InputTokens+rec.Usage.OutputTokens == 0 {
		t.Errorf("demo request usage = %+v, want tokens (free, not unused)", rec.Usage)
	}
}

// TestAPIPolicySources: /api/policy carries the live version's files as
// they were loaded, modules included, with any credential the code holds
// as a literal redacted (a policy reads them with env(); one pasted in
// must not leave through the dashboard).
func TestAPIPolicySources(t *testing.T) {
	dir := t.TempDir()
	main := "load(\"lib/route.star\", \"pick\")\nadmin_key(\"adm-secret-literal\")\n" +
		"d = provider(\"d\", kind = \"demo\", api_key = \"sk-provider-literal\")\ndef route(req, ctx):\n    return pick(d)\n"
	lib := "def pick(p):\n    # the route module\n    return [p]\n"
	os.MkdirAll(filepath.Join(dir, "lib"), 0o755)
	os.WriteFile(filepath.Join(dir, "main.star"), []byte(main), 0o644)
	os.WriteFile(filepath.Join(dir, "lib", "route.star"), []byte(lib), 0o644)
	eng, err := engine.New(context.Background(), engine.Config{Path: dir, Kinds: ProviderKinds()})
	if err != nil {
		t.Fatal(err)
	}
	gw := New(Config{Policies: eng})
	req := httptest.NewRequest(http.MethodGet, "/api/policy", nil)
	req.Host = "localhost" // httptest.NewRequest says example.com; the admin surface answers loopback names
	req.RemoteAddr = "127.0.0.1:5000"
	req.Header.Set("Authorization", "Bearer adm-secret-literal")
	rec := httptest.NewRecorder()
	gw.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /api/policy = %d %s", rec.Code, rec.Body)
	}
	var got struct {
		Hash    string
		Files   []string
		Sources []struct{ File, Source string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Hash != eng.Policy().Hash || len(got.Files) != 2 {
		t.Errorf("/api/policy hash %q, files %q; want the live %q with 2 files", got.Hash, got.Files, eng.Policy().Hash)
	}
	sources := map[string]string{}
	for _, s := range got.Sources {
		sources[s.File] = s.Source
	}
	if sources["lib/route.star"] != lib {
		t.Errorf("source of lib/route.star = %q, want %q", sources["lib/route.star"], lib)
	}
	m := sources["main.star"]
	if !strings.Contains(m, "def route(req, ctx):") || !strings.Contains(m, `admin_key("[REDACTED]")`) || !strings.Contains(m, `api_key = "[REDACTED]"`) {
		t.Errorf("source of main.star = %q, want the code with its literal credentials redacted", m)
	}
	if b := rec.Body.String(); strings.Contains(b, "adm-secret-literal") || strings.Contains(b, "sk-provider-literal") {
		t.Errorf("/api/policy leaks a credential: %s", b)
	}
	// The live version is what is shown: an edit on disk that fails to
	// reload does not change it.
	os.WriteFile(filepath.Join(dir, "lib", "route.star"), []byte("def pick(p) syntax error\n"), 0o644)
	if err := eng.Reload(context.Background()); err == nil {
		t.Fatal("Reload of a broken module succeeded")
	}
	rec = httptest.NewRecorder()
	gw.ServeHTTP(rec, req)
	if !strings.Contains(rec.Body.String(), "the route module") || !strings.Contains(rec.Body.String(), `"last_error"`) {
		t.Errorf("after a failed reload /api/policy = %s, want the live source and the error", rec.Body)
	}
}

// TestAPIEvalSimulateErrors: POST /api/eval takes the same list as llmgw
// eval --simulate-errors, and the dashboard's placeholder for it is one.
func TestAPIEvalSimulateErrors(t *testing.T) {
	ts, err := os.ReadFile("../dashboard/web/src/lib/eval.ts")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`SIMULATE_ERRORS_EXAMPLE = '([^']+)'`).FindSubmatch(ts)
	if m == nil {
		t.Fatal("dashboard/web/src/lib/eval.ts declares no SIMULATE_ERRORS_EXAMPLE")
	}
	example := string(m[1])
	h := newHarness(t, "openai = provider(\"openai\", kind = \"demo\")\nanthropic = provider(\"anthropic\", kind = \"demo\")\n"+
		"def route(req, ctx):\n    return [openai, anthropic]\n")
	body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello!"}]}`
	for _, tt := range []struct {
		list string
		want int
	}{
		{example, http.StatusOK},
		{"openai=429:30, anthropic=stream", http.StatusOK},
		{"openai:rate_limit,anthropic", http.StatusBadRequest}, // the old placeholder's syntax
		{"openai=teapot", http.StatusBadRequest},
		{"nobody=500", http.StatusBadRequest},
	} {
		req := httptest.NewRequest(http.MethodPost, "/api/eval?simulate_errors="+url.QueryEscape(tt.list), strings.NewReader(body))
		req.Host = "localhost" // httptest.NewRequest says example.com; the admin surface answers loopback names
		req.RemoteAddr = "127.0.0.1:5000"
		rec := httptest.NewRecorder()
		h.gw.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("POST /api/eval?simulate_errors=%s = %d %s, want %d", tt.list, rec.Code, rec.Body, tt.want)
		}
	}
}
