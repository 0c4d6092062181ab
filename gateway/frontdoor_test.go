package gateway

import (
	"net/http"
	"strings"
	"testing"

	"github.com/llmgw/llmgw/providers/providertest"
)

const keyedPolicy = `key("team-a", "sk-client-secret-A")
d = provider("demo", kind = "demo")
def route(req, ctx):
    return [d]
`

func TestClientAuthStyles(t *testing.T) {
	h := newHarness(t, keyedPolicy)
	oai := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
	ant := `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	gem := `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`
	tests := []struct {
		name, path, body string
		hdr              []string
		want             int
		shape            string
	}{
		{"bearer", "/v1/chat/completions", oai, []string{"Authorization", "Bearer sk-client-secret-A"}, 200, ""},
		{"x-api-key", "/v1/messages", ant, []string{"x-api-key", "sk-client-secret-A", "anthropic-version", "2023-06-01"}, 200, ""},
		{"anthropic bearer", "/v1/messages", ant, []string{"Authorization", "Bearer sk-client-secret-A"}, 200, ""},
		{"x-goog-api-key", "/v1beta/models/gemini-2.5-flash:generateContent", gem, []string{"x-goog-api-key", "sk-client-secret-A"}, 200, ""},
		{"query key", "/v1beta/models/gemini-2.5-flash:generateContent?key=sk-client-secret-A", gem, nil, 200, ""},
		{"missing openai", "/v1/chat/completions", oai, nil, 401, "openai"},
		{"wrong openai", "/v1/chat/completions", oai, []string{"Authorization", "Bearer sk-wrong"}, 401, "openai"},
		{"wrong anthropic", "/v1/messages", ant, []string{"x-api-key", "nope"}, 401, "anthropic"},
		{"wrong gemini", "/v1beta/models/g:generateContent?key=nope", gem, nil, 401, "gemini"},
		{"prefix of the key", "/v1/chat/completions", oai, []string{"Authorization", "Bearer sk-client-secret"}, 401, "openai"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := h.post(tt.path, tt.body, tt.hdr...)
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d (%s), want %d", resp.StatusCode, body, tt.want)
			}
			if tt.shape != "" {
				if shape, _, _ := errorShape(t, body); shape != tt.shape {
					t.Errorf("error shape = %s, want %s: %s", shape, tt.shape, body)
				}
				if rec := h.rec.last(t); rec.Status != 401 || rec.ErrorClass != "auth" {
					t.Errorf("rejected request logged as status %d class %q", rec.Status, rec.ErrorClass)
				}
			} else if rec := h.rec.last(t); rec.Key != "team-a" {
				t.Errorf("logged key = %q, want team-a", rec.Key)
			}
		})
	}
}

func TestClientKeyNeverForwarded(t *testing.T) {
	up := providertest.New(t, okReply(t))
	ant := providertest.New(t, providertest.FixtureReply(t, "anthropic_nonstream_tool_use_response.json"))
	gem := providertest.New(t, providertest.FixtureReply(t, "gemini_nonstream_text.response.json"))
	h := newHarness(t, `key("team-a", "sk-client-secret-A")
`+providerDecl("o", "openai", up.URL, `headers = {"X-Custom": "1"}`)+providerDecl("a", "anthropic", ant.URL, "")+providerDecl("g", "gemini", gem.URL, "")+`
def route(req, ctx):
    if req.protocol == "anthropic":
        return [a]
    if req.protocol == "gemini":
        return [g]
    return [o]
`)
	h.post("/v1/chat/completions", chatBody, "Authorization", "Bearer sk-client-secret-A", "Cookie", "session=sk-client-secret-A")
	h.post("/v1/messages", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`,
		"x-api-key", "sk-client-secret-A", "anthropic-version", "2023-06-01", "anthropic-beta", "tools-2024-04-04")
	h.post("/v1beta/models/gemini-2.5-flash:generateContent?key=sk-client-secret-A", `{"contents":[]}`)
	for _, s := range []*providertest.Server{up, ant, gem} {
		for _, r := range s.Requests() {
			for k, vs := range r.Header {
				if strings.Contains(strings.Join(vs, ","), "sk-client-secret-A") {
					t.Errorf("upstream %s received the client key in header %s", r.Path, k)
				}
			}
			if strings.Contains(r.Query, "sk-client-secret-A") {
				t.Errorf("upstream %s received the client key in the query %q", r.Path, r.Query)
			}
		}
	}
	or := up.Requests()[0]
	if or.Header.Get("Authorization") != "Bearer sk-provider-o" || or.Header.Get("X-Custom") != "1" {
		t.Errorf("openai upstream headers = %v", or.Header)
	}
	ar := ant.Requests()[0]
	if ar.Header.Get("x-api-key") != "sk-provider-a" || ar.Header.Get("anthropic-version") != "2023-06-01" || ar.Header.Get("anthropic-beta") != "tools-2024-04-04" {
		t.Errorf("anthropic upstream headers = %v", ar.Header)
	}
	if gr := gem.Requests()[0]; gr.Header.Get("x-goog-api-key") != "sk-provider-g" || gr.Path != "/v1beta/models/gemini-2.5-flash:generateContent" {
		t.Errorf("gemini upstream %s headers = %v", gr.Path, gr.Header)
	}
}

func TestGatewayErrorsInCallerShape(t *testing.T) {
	h := newHarness(t, "d = provider(\"demo\", kind = \"demo\")\ndef route(req, ctx):\n    return [d]\n",
		func(c *Config) { c.MaxBodyBytes = 1 << 10 })
	big := `{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat("x", 2<<10) + `"}]}`
	tests := []struct {
		name, method, path, body string
		hdr                      []string
		want                     int
		shape                    string
	}{
		{"openai malformed", "POST", "/v1/chat/completions", `{"model":`, nil, 400, "openai"},
		{"anthropic malformed", "POST", "/v1/messages", `{"model":`, nil, 400, "anthropic"},
		{"gemini malformed", "POST", "/v1beta/models/g:generateContent", `{"contents":`, nil, 400, "gemini"},
		{"responses malformed", "POST", "/v1/responses", `[1,2`, nil, 400, "openai"},
		{"openai empty", "POST", "/v1/chat/completions", ``, nil, 400, "openai"},
		{"openai missing model", "POST", "/v1/chat/completions", `{"messages":[]}`, nil, 400, "openai"},
		{"openai too large", "POST", "/v1/chat/completions", big, nil, 413, "openai"},
		{"anthropic too large", "POST", "/v1/messages", big, nil, 413, "anthropic"},
		{"gemini too large", "POST", "/v1beta/models/g:generateContent", big, nil, 413, "gemini"},
		{"unknown path", "POST", "/v1/nope", `{}`, nil, 404, "openai"},
		{"unknown gemini method", "POST", "/v1beta/models/g:frobnicate", `{}`, nil, 404, "gemini"},
		{"wrong method", "GET", "/v1/chat/completions", ``, nil, 405, "openai"},
		{"wrong content type", "POST", "/v1/messages", `{}`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "anthropic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := h.do(tt.method, tt.path, tt.body, tt.hdr...)
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d (%s), want %d", resp.StatusCode, body, tt.want)
			}
			if shape, _, msg := errorShape(t, body); shape != tt.shape || msg == "" {
				t.Errorf("error = %s %q, want %s shape with a message", shape, msg, tt.shape)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
		})
	}
	// The gateway keeps serving after all that.
	if resp, body := h.post("/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("after bad input: %d %s", resp.StatusCode, body)
	}
}

func TestHealthAndReady(t *testing.T) {
	h := newHarness(t, "d = provider(\"demo\", kind = \"demo\")\ndef route(req, ctx):\n    return [d]\n")
	for _, p := range []string{"/health", "/ready"} {
		if resp, body := h.do("GET", p, ""); resp.StatusCode != 200 {
			t.Errorf("GET %s = %d %s", p, resp.StatusCode, body)
		}
	}
}
