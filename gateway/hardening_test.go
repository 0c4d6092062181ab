package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmgw/llmgw/requestlog"
)

// openLogDB opens a request log in a temp dir for the admin API to read.
func openLogDB(t *testing.T) *requestlog.DB {
	t.Helper()
	db, err := requestlog.Open(context.Background(), filepath.Join(t.TempDir(), "log.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestAdminBadQuery: a query parameter the admin API cannot use is the
// caller's mistake, a 400 that says what is wrong, never a 500.
func TestAdminBadQuery(t *testing.T) {
	const policy = "d = provider(\"d\", kind = \"demo\")\ndef route(req, ctx):\n    return [d]\n"
	db := openLogDB(t)
	h := newHarness(t, policy, func(c *Config) { c.LogDB = db })
	for _, target := range []string{
		"/api/summary?since=0s",
		"/api/summary?bucket=30s",
		"/api/summary?bucket=1ms",
		"/api/summary?since=abc",
		"/api/summary?since=-5m",
		"/api/requests?status=abc",
		"/api/requests?status=-1",
		"/api/requests?limit=ten",
		"/api/requests?offset=x",
		"/api/requests?since=yesterday",
		"/api/summary?since=" + strings.Repeat("9", 5000) + "x",
	} {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.RemoteAddr = "127.0.0.1:5000"
		rec := httptest.NewRecorder()
		h.gw.ServeHTTP(rec, req)
		var body struct {
			Error struct{ Message string } `json:"error"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != http.StatusBadRequest || body.Error.Message == "" {
			t.Errorf("GET %.60s = %d %.200s, want 400 with a message", target, rec.Code, rec.Body.String())
		}
		if len(body.Error.Message) > 400 {
			t.Errorf("GET %.60s: message of %d bytes quotes the input whole", target, len(body.Error.Message))
		}
	}
	for _, target := range []string{"/api/summary?since=1h&bucket=1m", "/api/requests?status=error&limit=5", "/api/requests?status=200"} {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.RemoteAddr = "127.0.0.1:5000"
		rec := httptest.NewRecorder()
		h.gw.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s = %d %.200s, want 200", target, rec.Code, rec.Body.String())
		}
	}
}

// TestBasicAuthDoesNotHideKey: a proxy in front may add Authorization:
// Basic; the gateway key the client sent in x-api-key, x-goog-api-key or
// ?key= still counts, on model doors and on the admin API.
func TestBasicAuthDoesNotHideKey(t *testing.T) {
	const policy = "key(\"team\", \"sk-team\")\nadmin_key(\"adm-secret\")\nd = provider(\"d\", kind = \"demo\")\ndef route(req, ctx):\n    return [d]\n"
	h := newHarness(t, policy)
	basic := "Basic dXNlcjpwYXNz"
	for _, tt := range []struct {
		name, path, body string
		hdr              []string
	}{
		{"x-api-key", "/v1/messages", `{"model":"claude-sonnet-4","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`, []string{"Authorization", basic, "x-api-key", "sk-team"}},
		{"x-goog-api-key", "/v1beta/models/gemini-2.5-flash:generateContent", `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`, []string{"Authorization", basic, "x-goog-api-key", "sk-team"}},
		{"?key=", "/v1beta/models/gemini-2.5-flash:generateContent?key=sk-team", `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`, []string{"Authorization", basic}},
	} {
		resp, body := h.do(http.MethodPost, tt.path, tt.body, tt.hdr...)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s behind Basic = %d %.200s, want 200", tt.name, resp.StatusCode, body)
		}
	}
	resp, body := h.do(http.MethodPost, "/v1/messages", `{"model":"claude-sonnet-4","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`, "Authorization", basic)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("Basic alone = %d %.200s, want 401", resp.StatusCode, body)
	}
	req := httptest.NewRequest(http.MethodGet, "/api/policy", nil)
	req.RemoteAddr = "203.0.113.7:5000"
	req.Header.Set("Authorization", basic)
	req.Header.Set("x-api-key", "adm-secret")
	rec := httptest.NewRecorder()
	h.gw.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("admin key in x-api-key behind Basic = %d, want 200", rec.Code)
	}
}
