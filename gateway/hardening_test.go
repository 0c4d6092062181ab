package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmgw/llmgw/providers/providertest"
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
		req.Host = "localhost" // httptest.NewRequest says example.com; the admin surface answers loopback names
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
		req.Host = "localhost" // httptest.NewRequest says example.com; the admin surface answers loopback names
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
	req.Host = "localhost" // httptest.NewRequest says example.com; the admin surface answers loopback names
	req.RemoteAddr = "203.0.113.7:5000"
	req.Header.Set("Authorization", basic)
	req.Header.Set("x-api-key", "adm-secret")
	rec := httptest.NewRecorder()
	h.gw.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("admin key in x-api-key behind Basic = %d, want 200", rec.Code)
	}
}

// TestHostileInputBounded: requests with a huge path or model name, sent
// with no key to a gateway that declares keys, are refused with a message
// that quotes at most maxQuoted bytes of the input; their log rows stay
// small, and listing them costs bounded bytes and memory, however much the
// client sent.
func TestHostileInputBounded(t *testing.T) {
	const policy = "key(\"team\", \"sk-team\")\nd = provider(\"d\", kind = \"demo\")\ndef route(req, ctx):\n    return [d]\n"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "log.db")
	db, err := requestlog.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	wr := requestlog.NewWriter(db, requestlog.WriterConfig{})
	done := make(chan error, 1)
	go func() { done <- wr.Run(ctx) }()
	h := newHarness(t, policy, func(c *Config) { c.Log, c.LogDB, c.MaxBodyBytes = wr, db, 4<<20 })

	const n = 10
	bigPath := "/v1/" + strings.Repeat("p", 500<<10)
	bigModel := strings.Repeat("m", 3<<20)
	sent := 0
	for i := 0; i < n; i++ {
		for _, c := range []struct{ path, body string }{
			{bigPath, `{}`},
			{"/v1/chat/completions", `{"model":"` + bigModel + `","messages":[{"role":"user","content":"hi"}]}`},
			{"/v1beta/models/" + strings.Repeat("g", 200<<10) + ":generateContent", `{"contents":[]}`},
		} {
			resp, body := h.do(http.MethodPost, c.path, c.body)
			sent += len(c.path) + len(c.body)
			if resp.StatusCode < 400 || resp.StatusCode > 499 {
				t.Fatalf("POST %.40s… = %d, want 4xx", c.path, resp.StatusCode)
			}
			if len(body) > 2*maxQuoted+400 {
				t.Fatalf("POST %.40s…: error body of %d bytes quotes the input whole: %.300s", c.path, len(body), body)
			}
		}
	}
	if err := wr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	page, err := db.Requests(ctx, requestlog.RequestQuery{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 3*n {
		t.Fatalf("%d rows logged, want %d", page.Total, 3*n)
	}

	// The listing through the admin API: bounded bytes per row, and
	// bounded allocation while it is built.
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	req := httptest.NewRequest(http.MethodGet, "/api/requests?limit=50", nil)
	req.Host = "localhost" // httptest.NewRequest says example.com; the admin surface answers loopback names
	req.RemoteAddr = "127.0.0.1:5000"
	rec := httptest.NewRecorder()
	h.gw.ServeHTTP(rec, req)
	runtime.ReadMemStats(&after)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /api/requests = %d %.200s", rec.Code, rec.Body.String())
	}
	if perRow := rec.Body.Len() / (3 * n); perRow > 4<<10 {
		t.Errorf("listing: %d bytes a row (%d in all), want at most 4 KiB a row", perRow, rec.Body.Len())
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("listing %d rows allocated %d MiB, want under 16", 3*n, alloc>>20)
	}

	// The database grows by a bounded amount per row, not by what the
	// client sent.
	cancel()
	<-done
	var size int64
	for _, suffix := range []string{"", "-wal"} {
		if fi, err := os.Stat(dbPath + suffix); err == nil {
			size += fi.Size()
		}
	}
	if size > 4<<20 {
		t.Errorf("database is %d MiB after %d hostile requests (%d MiB sent), want under 4", size>>20, 3*n, sent>>20)
	}
}

// TestBrowserGuard: what a web page the operator visits can make a browser
// send. A text/plain body (no preflight) is refused; a foreign Origin is
// refused on model doors and the admin API unless allowed by
// configuration, which also brings CORS headers; without admin_key(), the
// admin surface answers only loopback or configured Host names (DNS
// rebinding); an upstream's CORS headers never reach the client.
func TestBrowserGuard(t *testing.T) {
	reply := okReply(t)
	reply.Header = http.Header{"Access-Control-Allow-Origin": {"*"}, "Access-Control-Allow-Credentials": {"true"}}
	up := providertest.New(t, reply)
	const chat = `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`
	pol := providerDecl("o", "openai", up.URL, "") + "def route(req, ctx):\n    return [o]\n"
	h := newHarness(t, pol)
	open := newHarness(t, pol, func(c *Config) {
		c.AllowedOrigins = []string{"https://app.example"}
		c.AllowedHosts = []string{"gw.internal:8080"}
	})

	resp, body := h.do(http.MethodPost, "/v1/chat/completions", chat, "Content-Type", "text/plain;charset=UTF-8")
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain body = %d %.200s, want 415", resp.StatusCode, body)
	}
	before := up.Count()
	for _, o := range []string{"https://evil.example", "null", "http://localhost.evil.example"} {
		resp, body = h.do(http.MethodPost, "/v1/chat/completions", chat, "Origin", o)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("Origin %s on a model door = %d %.200s, want 403", o, resp.StatusCode, body)
		}
		if err := checkErrorShape("openai", resp.StatusCode, resp.Header, body); err != nil {
			t.Errorf("Origin %s: %v", o, err)
		}
		resp, body = h.do(http.MethodGet, "/api/providers", "", "Origin", o)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("Origin %s on the admin API = %d %.200s, want 403", o, resp.StatusCode, body)
		}
	}
	if n := up.Count() - before; n != 0 {
		t.Errorf("cross-origin requests reached the upstream %d times", n)
	}

	resp, body = h.do(http.MethodPost, "/v1/chat/completions", chat)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("plain request = %d %.200s", resp.StatusCode, body)
	}
	for k := range resp.Header {
		if strings.HasPrefix(strings.ToLower(k), "access-control-") {
			t.Errorf("upstream CORS header %s reached the client", k)
		}
	}

	resp, body = open.do(http.MethodPost, "/v1/chat/completions", chat, "Origin", "https://app.example")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Errorf("allowed origin = %d %.200s, Access-Control-Allow-Origin %q; want 200 naming the origin", resp.StatusCode, body, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	if resp.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("upstream's Access-Control-Allow-Credentials relayed")
	}
	resp, _ = open.do(http.MethodOptions, "/v1/chat/completions", "", "Origin", "https://app.example", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization, content-type")
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Headers") == "" {
		t.Errorf("preflight from an allowed origin = %d %v, want 204 with CORS headers", resp.StatusCode, resp.Header)
	}

	for _, tt := range []struct {
		gw   *harness
		host string
		want int
	}{
		{h, "localhost:8080", 200},
		{h, "127.0.0.1", 200},
		{h, "[::1]:8080", 200},
		{h, "evil.example:8080", 403},
		{h, "127.0.0.1.nip.io", 403},
		{h, "gw.internal:8080", 403},
		{open, "gw.internal:8080", 200},
	} {
		for _, p := range []string{"/api/providers", "/metrics", "/debug/pprof/cmdline"} {
			req := httptest.NewRequest(http.MethodGet, p, nil)
			req.RemoteAddr = "127.0.0.1:5000"
			req.Host = tt.host
			rec := httptest.NewRecorder()
			tt.gw.gw.ServeHTTP(rec, req)
			if (rec.Code == http.StatusForbidden) != (tt.want == 403) {
				t.Errorf("GET %s with Host %s = %d, want %d", p, tt.host, rec.Code, tt.want)
			}
		}
	}
	// With admin_key() the key guards the admin API; the Host check stays out
	// of the way of an operator reaching it by its DNS name.
	keyed := newHarness(t, "admin_key(\"adm\")\n"+pol)
	req := httptest.NewRequest(http.MethodGet, "/api/providers", nil)
	req.Host = "gw.example.com"
	req.Header.Set("Authorization", "Bearer adm")
	rec := httptest.NewRecorder()
	keyed.gw.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("admin key by DNS name = %d, want 200", rec.Code)
	}
}

// TestForwardAllowList: a same-protocol upstream sees only the client
// headers and query parameters its adapter lists: not the billing
// selectors OpenAI-Organization and OpenAI-Project, not a Content-Encoding
// describing a body the gateway decoded, not an unknown header, and not a
// client key sent as ?api_key=.
func TestForwardAllowList(t *testing.T) {
	var reject atomic.Bool
	up := strictUpstream(t, &reject)
	h := newHarness(t, badInputPolicy(up.URL))
	hdr := []string{
		"OpenAI-Organization", "org-client", "OpenAI-Project", "proj-client", "OpenAI-Beta", "assistants=v2",
		"Content-Encoding", "identity", "X-Random-Header", "1", "x-goog-user-project", "billed",
		"anthropic-version", "2023-06-01", "anthropic-beta", "tools-2024", "User-Agent", "sdk/1.0",
		"X-Stainless-Lang", "python",
	}
	for _, tt := range []struct {
		path, body string
		wantHdr    []string
		wantQuery  string
	}{
		{"/v1/chat/completions?api_key=sk-client&foo=1", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`, []string{"OpenAI-Beta", "User-Agent", "X-Stainless-Lang"}, ""},
		{"/v1/responses?api_key=sk-client", `{"model":"gpt-4o","input":[{"role":"user","content":"hi"}]}`, []string{"OpenAI-Beta", "User-Agent"}, ""},
		{"/v1/messages?beta=true&api_key=sk-client", `{"model":"claude-sonnet-4","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`, []string{"anthropic-version", "anthropic-beta", "User-Agent"}, "beta=true"},
		{"/v1beta/models/gemini-2.5-flash:generateContent?key=sk-x&api_key=sk-client&foo=1", `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`, []string{"User-Agent"}, ""},
	} {
		before := len(up.Requests())
		resp, body := h.do(http.MethodPost, tt.path, tt.body, hdr...)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s = %d %.200s", tt.path, resp.StatusCode, body)
		}
		reqs := up.Requests()
		if len(reqs) != before+1 {
			t.Fatalf("POST %s: %d upstream requests, want 1", tt.path, len(reqs)-before)
		}
		got := reqs[len(reqs)-1]
		for _, k := range []string{"OpenAI-Organization", "OpenAI-Project", "Content-Encoding", "X-Random-Header", "x-goog-user-project"} {
			if v := got.Header.Get(k); v != "" {
				t.Errorf("POST %s: %s: %q reached the upstream", tt.path, k, v)
			}
		}
		for _, k := range tt.wantHdr {
			if got.Header.Get(k) == "" {
				t.Errorf("POST %s: %s was not forwarded", tt.path, k)
			}
		}
		if strings.Contains(got.Query, "api_key") || strings.Contains(got.Query, "foo") || strings.Contains(got.Query, "sk-") {
			t.Errorf("POST %s: upstream query %q carries the client's parameters", tt.path, got.Query)
		}
		if tt.wantQuery != "" && !strings.Contains(got.Query, tt.wantQuery) {
			t.Errorf("POST %s: upstream query %q, want %s kept", tt.path, got.Query, tt.wantQuery)
		}
	}
}

// TestUpstreamHTMLErrors: an upstream's HTML error page (nginx, a load
// balancer) never reaches an SDK client as text/html: the error comes in
// the caller's shape. A non-API 404 is the endpoint itself missing (a
// wrong base_url): the provider is marked failed and the walk fails over.
func TestUpstreamHTMLErrors(t *testing.T) {
	const page = "<html><head><title>404 Not Found</title></head><body><center><h1>404 Not Found</h1></center><hr><center>nginx</center></body></html>"
	html := func(status int) providertest.Reply {
		return providertest.Reply{Status: status, Header: http.Header{"Content-Type": {"text/html"}}, Body: []byte(page)}
	}
	const chat = `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`

	a := providertest.New(t, html(http.StatusNotFound))
	b := providertest.New(t, okReply(t))
	h := twoProviders(t, a, b, "")
	resp, body := h.do(http.MethodPost, "/v1/chat/completions", chat)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-LLMGW-Provider") != "b" {
		t.Errorf("HTML 404 from a = %d via %q %.200s, want 200 from b", resp.StatusCode, resp.Header.Get("X-LLMGW-Provider"), body)
	}
	if st := h.gw.Health().Snapshot("a"); st.State == "" || st.State == "healthy" {
		t.Errorf("a after an HTML 404: state %q, want marked failed", st.State)
	}

	for _, tt := range []struct {
		shape, kind, path, body string
		status                  int
	}{
		{"openai", "openai", "/v1/chat/completions", chat, http.StatusBadRequest},
		{"openai", "openai", "/v1/chat/completions", chat, http.StatusNotFound},
		{"anthropic", "anthropic", "/v1/messages", `{"model":"claude-sonnet-4","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`, http.StatusBadRequest},
		{"gemini", "gemini", "/v1beta/models/gemini-2.5-flash:generateContent", `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`, http.StatusForbidden},
	} {
		up := providertest.New(t, html(tt.status))
		h := newHarness(t, providerDecl("p", tt.kind, up.URL, "")+"def route(req, ctx):\n    return [p]\n")
		resp, body := h.do(http.MethodPost, tt.path, tt.body)
		if resp.StatusCode < 400 {
			t.Fatalf("%s, upstream HTML %d: %d, want an error", tt.path, tt.status, resp.StatusCode)
		}
		if err := checkErrorShape(tt.shape, resp.StatusCode, resp.Header, body); err != nil {
			t.Errorf("%s, upstream HTML %d: %v; body %.300s", tt.path, tt.status, err, body)
		}
	}
}

// TestUpstreamJSONRouteMissing: a JSON 404 that names the route (OpenAI's
// "Invalid URL", a FastAPI server's {"detail":"Not Found"}) is a wrong
// base_url: the provider is marked failed and the walk fails over. A 404
// for a model is the client's error and is passed back as it is.
func TestUpstreamJSONRouteMissing(t *testing.T) {
	const chat = `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`
	jsonReply := func(body string) providertest.Reply {
		return providertest.Reply{Status: http.StatusNotFound, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}
	}
	for _, tt := range []struct {
		name, body string
		failover   bool
	}{
		{"openai invalid url", `{"error":{"message":"Invalid URL (POST /v1/chat/completion)","type":"invalid_request_error","param":null,"code":null}}`, true},
		{"fastapi", `{"detail":"Not Found"}`, true},
		{"model not found", `{"error":{"message":"The model 'gpt-9' does not exist","type":"invalid_request_error","param":null,"code":"model_not_found"}}`, false},
	} {
		a := providertest.New(t, jsonReply(tt.body))
		b := providertest.New(t, okReply(t))
		h := twoProviders(t, a, b, "")
		resp, body := h.do(http.MethodPost, "/v1/chat/completions", chat)
		if tt.failover {
			if resp.StatusCode != http.StatusOK || resp.Header.Get("X-LLMGW-Provider") != "b" {
				t.Errorf("%s: %d via %q %.200s, want 200 from b", tt.name, resp.StatusCode, resp.Header.Get("X-LLMGW-Provider"), body)
			}
			if st := h.gw.Health().Snapshot("a"); st.State == "" || st.State == "healthy" {
				t.Errorf("%s: a's state %q, want marked failed", tt.name, st.State)
			}
			continue
		}
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "model_not_found") {
			t.Errorf("%s: %d %.200s, want the upstream's 404 passed back", tt.name, resp.StatusCode, body)
		}
	}
}

// TestStreamHeaderTimeout: a streaming attempt whose upstream sends no
// headers fails over after StreamHeaderTimeout instead of holding the
// client until the request timeout; a provider's own timeout overrides it.
func TestStreamHeaderTimeout(t *testing.T) {
	stream := providertest.Fixture(t, "openai_chat_stream_text_with_usage.sse")
	const body = `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	silent := providertest.New(t, providertest.Reply{SSE: true, Body: stream, Delay: 3 * time.Second})
	b := providertest.New(t, providertest.Reply{SSE: true, Body: stream})
	h := newHarness(t, providerDecl("a", "openai", silent.URL, "")+providerDecl("b", "openai", b.URL, "priority = 2")+
		"def route(req, ctx):\n    return [a, b]\n", func(c *Config) { c.StreamHeaderTimeout = 200 * time.Millisecond })
	start := time.Now()
	resp, out := h.do(http.MethodPost, "/v1/chat/completions", body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-LLMGW-Provider") != "b" {
		t.Errorf("silent stream upstream: %d via %q %.200s, want 200 from b", resp.StatusCode, resp.Header.Get("X-LLMGW-Provider"), out)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("failed over after %v, want about StreamHeaderTimeout (200ms)", d)
	}

	slow := providertest.New(t, providertest.Reply{SSE: true, Body: stream, Delay: 500 * time.Millisecond})
	h = newHarness(t, providerDecl("a", "openai", slow.URL, "timeout = 30")+providerDecl("b", "openai", b.URL, "priority = 2")+
		"def route(req, ctx):\n    return [a, b]\n", func(c *Config) { c.StreamHeaderTimeout = 200 * time.Millisecond })
	resp, out = h.do(http.MethodPost, "/v1/chat/completions", body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-LLMGW-Provider") != "a" {
		t.Errorf("provider timeout = 30: %d via %q %.200s, want 200 from a", resp.StatusCode, resp.Header.Get("X-LLMGW-Provider"), out)
	}
}

// bigChat is a valid chat completion of about n bytes.
func bigChat(n int) []byte {
	return []byte(`{"id":"c1","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"` +
		strings.Repeat("x", n) + `"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`)
}

// TestResponseBodyBounds: a non-streaming upstream body is read whole
// before it is relayed, so memory is bounded twice: one body past
// MaxResponseBytes fails its attempt, and bodies held at once past
// ResponseBudget fail with 502 in the caller's shape, before any of the
// announced length is allocated.
func TestResponseBodyBounds(t *testing.T) {
	const chat = `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`
	huge := providertest.New(t, providertest.Reply{Body: bigChat(2 << 20)})
	h := newHarness(t, providerDecl("a", "openai", huge.URL, "")+"def route(req, ctx):\n    return [a]\n",
		func(c *Config) { c.MaxResponseBytes = 1 << 20 })
	resp, body := h.do(http.MethodPost, "/v1/chat/completions", chat)
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("2 MiB body over a 1 MiB cap = %d, want 502", resp.StatusCode)
	}
	if err := checkErrorShape("openai", resp.StatusCode, resp.Header, body); err != nil || len(body) > 4<<10 {
		t.Errorf("error body (%d bytes): %v", len(body), err)
	}

	// One answer announces 3 MiB and stalls after its first bytes, holding
	// its reservation; a second, concurrent one cannot fit in a 4 MiB
	// budget.
	release := make(chan struct{})
	var calls atomic.Int32
	const size = 3 << 20
	up := providertest.New(t, providertest.Reply{})
	up.Handle(func(w http.ResponseWriter, r *http.Request) {
		b := bigChat(size)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		if calls.Add(1) == 1 {
			_, _ = w.Write(b[:100])
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
			_, _ = w.Write(b[100:])
			return
		}
		_, _ = w.Write(b)
	})
	h = newHarness(t, providerDecl("a", "openai", up.URL, "")+"def route(req, ctx):\n    return [a]\n",
		func(c *Config) { c.MaxResponseBytes, c.ResponseBudget = 8<<20, 4<<20 })
	first := make(chan int, 1)
	go func() {
		resp, _ := h.do(http.MethodPost, "/v1/chat/completions", chat)
		first <- resp.StatusCode
	}()
	for deadline := time.Now().Add(5 * time.Second); h.gw.respBudget.used.Load() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the first answer never reserved its body")
		}
		time.Sleep(5 * time.Millisecond)
	}
	resp, body = h.do(http.MethodPost, "/v1/chat/completions", chat)
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("second answer over the budget = %d, want 502", resp.StatusCode)
	}
	if err := checkErrorShape("openai", resp.StatusCode, resp.Header, body); err != nil {
		t.Errorf("over budget: %v; body %.200s", err, body)
	}
	if used := h.gw.respBudget.used.Load(); used > 4<<20 {
		t.Errorf("%d bytes reserved, over the 4 MiB budget", used)
	}
	close(release)
	if st := <-first; st != http.StatusOK {
		t.Errorf("first answer = %d, want 200", st)
	}
	if used := h.gw.respBudget.used.Load(); used != 0 {
		t.Errorf("%d bytes still reserved after both answers", used)
	}
	if st := h.gw.Health().Snapshot("a"); st.State != "" && st.State != "healthy" {
		t.Errorf("provider marked %q for the gateway's own budget", st.State)
	}
}

// TestTooLargeBodyWrittenWhole: a client that writes its whole oversized
// body before reading (Python's urllib and httpx do) reads the 413, not a
// connection reset, whether the length is announced or the body chunked.
func TestTooLargeBodyWrittenWhole(t *testing.T) {
	// Larger than what loopback socket buffers absorb, so that a server
	// that stops reading leaves the client blocked in its write.
	const limit = 4 << 20
	h := newHarness(t, demoPolicy, func(c *Config) { c.MaxBodyBytes = limit })
	addr := serveHTTP(t, h.gw)
	body := `{"model":"gpt-4o","pad":"` + strings.Repeat("x", limit*7/4) + `","messages":[]}`
	for _, chunked := range []bool{false, true} {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		framing := fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body)
		if chunked {
			framing = fmt.Sprintf("Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(body), body)
		}
		req := "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" + framing
		if _, err := io.WriteString(conn, req); err != nil {
			t.Errorf("chunked %v: writing the body: %v", chunked, err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Errorf("chunked %v: no answer after writing the whole body: %v", chunked, err)
			conn.Close()
			continue
		}
		_, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		conn.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("chunked %v: status %d, want 413", chunked, resp.StatusCode)
		}
	}
}

// TestUnterminatedPassStream: a same-protocol stream that the upstream ends
// by closing the connection before its protocol's final event is a
// failure: the client gets the protocol's error event after what was
// relayed, and the log row says the stream failed.
func TestUnterminatedPassStream(t *testing.T) {
	for _, tt := range []struct {
		kind, path, body, events, errMark string
	}{
		{"openai", "/v1/chat/completions", `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`,
			"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n", `"error"`},
		{"anthropic", "/v1/messages", `{"model":"claude-sonnet-4","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"hi"}]}`,
			"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude\",\"usage\":{\"input_tokens\":1,\"output_tokens\":0}}}\n\n" +
				"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n", "event: error"},
		{"gemini", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`,
			"data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hel\"}]},\"index\":0}]}\n\n", `"error"`},
	} {
		up := providertest.New(t, providertest.Reply{SSE: true, Body: []byte(tt.events)})
		h := newHarness(t, providerDecl("p", tt.kind, up.URL, "")+"def route(req, ctx):\n    return [p]\n")
		resp, body := h.do(http.MethodPost, tt.path, tt.body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %.200s", tt.kind, resp.StatusCode, body)
		}
		if !strings.Contains(string(body), "Hel") || !strings.Contains(string(body), tt.errMark) {
			t.Errorf("%s: body %q, want the relayed events then an error event", tt.kind, body)
		}
		if rec := recordOf(t, h.rec, resp.Header.Get("X-Request-Id")); rec.ErrorClass == "" || rec.ErrorMessage == "" {
			t.Errorf("%s: log row class %q message %q, want a failed stream", tt.kind, rec.ErrorClass, rec.ErrorMessage)
		}
	}
}

// TestUnterminatedConvertedStream: a stream converted for the client
// (each client protocol from an upstream of another) that the upstream
// ends by closing the connection before its final event is a failure
// too: after what was relayed, the client gets its own protocol's error
// event, never its protocol's clean end ([DONE], message_stop,
// response.completed, a chunk with a finishReason), and the log row says
// the stream failed.
func TestUnterminatedConvertedStream(t *testing.T) {
	upstreams := map[string]string{
		"anthropic": "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude\",\"usage\":{\"input_tokens\":1,\"output_tokens\":0}}}\n\n" +
			"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n",
		"openai": "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}}]}\n\n",
		"gemini": "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hel\"}]},\"index\":0}],\"modelVersion\":\"gemini-2.5-flash\"}\n\n",
	}
	clients := []struct {
		proto, path, body string
		errMark, endMark  string // the protocol's error event, and its clean end
	}{
		{"openai", "/v1/chat/completions", `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`, `"error"`, "[DONE]"},
		{"anthropic", "/v1/messages", `{"model":"m","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, "event: error", "message_stop"},
		{"responses", "/v1/responses", `{"model":"m","stream":true,"input":"hi"}`, "response.failed", "response.completed"},
		{"gemini", "/v1beta/models/m:streamGenerateContent?alt=sse", `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`, `"error"`, "finishReason"},
	}
	for _, c := range clients {
		for kind, events := range upstreams {
			if kind == c.proto {
				continue
			}
			t.Run(kind+" to "+c.proto, func(t *testing.T) {
				up := providertest.New(t, providertest.Reply{SSE: true, Body: []byte(events)})
				h := newHarness(t, providerDecl("p", kind, up.URL, "")+"def route(req, ctx):\n    return [p]\n")
				resp, body := h.do(http.MethodPost, c.path, c.body)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%d %.300s", resp.StatusCode, body)
				}
				if !strings.Contains(string(body), "Hel") || !strings.Contains(string(body), c.errMark) || strings.Contains(string(body), c.endMark) {
					t.Errorf("body %q, want the relayed text, then an error event and no %s", body, c.endMark)
				}
				if rec := recordOf(t, h.rec, resp.Header.Get("X-Request-Id")); rec.ErrorClass == "" || rec.ErrorMessage == "" {
					t.Errorf("log row class %q message %q, want a failed stream", rec.ErrorClass, rec.ErrorMessage)
				}
			})
		}
	}
}

// TestStalledBodyReads408ThenClose: a client that stops sending its body
// (of declared length, or chunked) reads a 408 once the body timeout has
// passed, and then the end of the connection: the gateway neither holds
// the connection open waiting for the rest of the body nor reads it as a
// next request.
func TestStalledBodyReads408ThenClose(t *testing.T) {
	const timeout = 200 * time.Millisecond
	h := newHarness(t, `d = provider("d", kind = "demo")`+"\ndef route(req, ctx):\n    return [d]\n", func(c *Config) { c.BodyTimeout = timeout })
	addr := strings.TrimPrefix(h.srv.URL, "http://")
	body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`
	for _, tt := range []struct{ name, head, part string }{
		{"content-length", fmt.Sprintf("Content-Length: %d\r\n", len(body)), body[:10]},
		{"chunked", "Transfer-Encoding: chunked\r\n", fmt.Sprintf("%x\r\n%s\r\n", 10, body[:10])},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			start := time.Now()
			fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n%s\r\n%s", addr, tt.head, tt.part)
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer to a stalled body after %v: %v", time.Since(start), err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(b), "did not arrive") {
				t.Errorf("stalled body = %d %s, want 408", resp.StatusCode, b)
			}
			if d := time.Since(start); d < timeout {
				t.Errorf("408 after %v, before the body timeout (%v)", d, timeout)
			}
			_, err = br.ReadByte()
			var ne net.Error
			if err == nil || errors.As(err, &ne) && ne.Timeout() {
				t.Errorf("after the 408 the connection stayed open (read: %v after %v), want it closed", err, time.Since(start))
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("the connection closed %v after the request, want soon after the 408", d)
			}
		})
	}
}
