package gateway

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/llmgw/llmgw/metrics"
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
