package gateway

import (
	"net/http"
	"strings"
	"testing"
)

// A policy used to have one way to refuse, an empty list or None, and the
// client got a 503 (which SDKs retry) saying nothing about why. refuse()
// sends its status and message in the client's own protocol; [] keeps the
// 503 but carries the decision's notes.
func TestPolicyRefusalReachesTheClient(t *testing.T) {
	h := newHarness(t, `
d = provider("d", kind = "demo")
def route(req, ctx):
    if "opus" in req.model:
        return refuse(403, "model " + req.model + " is not allowed here")
    if req.model.startswith("busy"):
        return refuse(429, "over today's budget", retry_after = 90.5)
    if req.model.startswith("none"):
        note("no provider serves " + req.model)
        return []
    return [d]
`)
	cases := []struct {
		name, path, body, shape string
	}{
		{"openai", "/v1/chat/completions", `{"model":"claude-opus-4","messages":[{"role":"user","content":"hi"}]}`, "openai"},
		{"responses", "/v1/responses", `{"model":"claude-opus-4","input":"hi"}`, "openai"},
		{"anthropic", "/v1/messages", `{"model":"claude-opus-4","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`, "anthropic"},
		{"gemini", "/v1beta/models/claude-opus-4:generateContent", `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`, "gemini"},
	}
	for _, c := range cases {
		resp, body := h.post(c.path, c.body)
		shape, _, msg := errorShape(t, body)
		if resp.StatusCode != http.StatusForbidden || shape != c.shape || msg != "model claude-opus-4 is not allowed here" {
			t.Errorf("%s: %d %s %q, want 403 in the %s shape with the policy's message", c.name, resp.StatusCode, shape, msg, c.shape)
		}
	}
	if r := h.rec.last(t); r.ErrorClass != "refused" || r.Status != http.StatusForbidden || r.Provider != "" {
		t.Errorf("log row: class %q status %d provider %q", r.ErrorClass, r.Status, r.Provider)
	}

	resp, body := h.post("/v1/chat/completions", `{"model":"busy-model","messages":[{"role":"user","content":"hi"}]}`)
	if _, _, msg := errorShape(t, body); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "91" || msg != "over today's budget" {
		t.Errorf("429 refusal: %d Retry-After %q %q", resp.StatusCode, resp.Header.Get("Retry-After"), msg)
	}

	resp, body = h.post("/v1/chat/completions", `{"model":"none-such","messages":[{"role":"user","content":"hi"}]}`)
	if _, _, msg := errorShape(t, body); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(msg, "(policy notes: no provider serves none-such)") {
		t.Errorf("[]: %d %q, want 503 with the notes", resp.StatusCode, msg)
	}
}
