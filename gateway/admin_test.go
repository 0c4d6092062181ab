package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

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
