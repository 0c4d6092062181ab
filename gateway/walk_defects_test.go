package gateway

import (
	"net/http"
	"strings"
	"testing"

	"github.com/llmgw/llmgw/providers/providertest"
)

// An embeddings request whose first provider fails and whose last cannot
// embed (another protocol) ends with the real failure, in the client's
// shape: the skipped candidate is not the provider's failure, and the
// answer must not depend on it having an upstream error.
func TestAllFailedAfterASkippedLastCandidate(t *testing.T) {
	a := providertest.New(t, providertest.Reply{Status: 500, Body: []byte(`{"error":{"message":"boom"}}`)})
	b := providertest.New(t, providertest.Reply{})
	h := newHarness(t, providerDecl("a", "openai", a.URL, "")+providerDecl("b", "anthropic", b.URL, "priority = 2")+
		"def route(req, ctx):\n    return [a, b]\n")
	resp, body := h.post("/v1/embeddings", `{"model":"text-embedding-3-small","input":"hi"}`)
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status = %d (%s), want 502", resp.StatusCode, body)
	}
	if shape, _, msg := errorShape(t, body); shape != "openai" || !strings.Contains(msg, "all providers failed") || !strings.Contains(msg, "500") {
		t.Errorf("error = %s %q, want OpenAI's shape naming a's 500", shape, msg)
	}
	if b.Count() != 0 {
		t.Errorf("b (anthropic) received %d embeddings requests", b.Count())
	}
	rec := h.rec.last(t)
	if rec.Status != http.StatusBadGateway || len(rec.Attempts) != 2 || rec.Attempts[1].Class != "skip" {
		t.Errorf("record status %d attempts %+v, want 502 with a's failure and b skipped", rec.Status, rec.Attempts)
	}
}

// A Responses request that continues a stored conversation cannot be
// converted for another vendor: alone on the route it is refused with a
// 400 naming the field; with an OpenAI candidate behind, it goes there.
func TestStatefulResponsesFieldsAreNotConvertedSilently(t *testing.T) {
	const body = `{"model":"gpt-4.1","previous_response_id":"resp_123","input":"and then?"}`
	t.Run("refused", func(t *testing.T) {
		c := providertest.New(t, providertest.FixtureReply(t, "anthropic_nonstream_tool_use_response.json"))
		h := newHarness(t, providerDecl("c", "anthropic", c.URL, "")+"def route(req, ctx):\n    return [c]\n")
		resp, out := h.post("/v1/responses", body)
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status = %d (%s), want 400", resp.StatusCode, out)
		}
		if shape, _, msg := errorShape(t, out); shape != "openai" || !strings.Contains(msg, "previous_response_id") {
			t.Errorf("error = %s %q, want OpenAI's shape naming previous_response_id", shape, msg)
		}
		if c.Count() != 0 {
			t.Errorf("the Anthropic upstream received %d requests", c.Count())
		}
		if p := resp.Header.Get("X-LLMGW-Provider"); p != "" {
			t.Errorf("X-LLMGW-Provider = %q on a request no provider saw, want none", p)
		}
		if rec := h.rec.last(t); rec.Status != http.StatusBadRequest || rec.ErrorClass != "bad_request" || rec.Provider != "" {
			t.Errorf("log row status %d class %q provider %q, want 400 bad_request and no provider", rec.Status, rec.ErrorClass, rec.Provider)
		}
	})
	t.Run("fails over", func(t *testing.T) {
		c := providertest.New(t, providertest.FixtureReply(t, "anthropic_nonstream_tool_use_response.json"))
		o := providertest.New(t, providertest.Reply{Body: []byte(`{"id":"resp_456","object":"response","status":"completed","output":[],"usage":{"input_tokens":3,"output_tokens":1,"total_tokens":4}}`)})
		h := newHarness(t, providerDecl("c", "anthropic", c.URL, "")+providerDecl("o", "openai", o.URL, "priority = 2")+
			"def route(req, ctx):\n    return [c, o]\n")
		resp, out := h.post("/v1/responses", body)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-LLMGW-Provider") != "o" {
			t.Fatalf("status = %d provider %q (%s), want 200 from o", resp.StatusCode, resp.Header.Get("X-LLMGW-Provider"), out)
		}
		if c.Count() != 0 || o.Count() != 1 {
			t.Errorf("requests c=%d o=%d, want c=0 o=1", c.Count(), o.Count())
		}
	})
}

// The warnings header describes the conversion that produced the answer:
// what a failed attempt's conversion dropped is not the served answer's.
func TestWarningsAreTheServingAttempts(t *testing.T) {
	c := providertest.New(t, providertest.Reply{Status: 500, Body: []byte(`{"type":"error","error":{"type":"api_error","message":"boom"}}`)})
	o := providertest.New(t, okReply(t))
	h := newHarness(t, providerDecl("c", "anthropic", c.URL, "")+providerDecl("o", "openai", o.URL, "priority = 2")+
		"def route(req, ctx):\n    return [c, o]\n")
	resp, body := h.post("/v1/chat/completions", `{"model":"m","seed":42,"messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != http.StatusOK || c.Count() != 1 || o.Count() != 1 {
		t.Fatalf("status %d (%s), c=%d o=%d; want 200 from o after c failed", resp.StatusCode, body, c.Count(), o.Count())
	}
	if got := resp.Header.Values("X-LLMGW-Warnings"); len(got) != 0 {
		t.Errorf("X-LLMGW-Warnings = %q from the failed conversion, want none for a same-protocol answer", got)
	}
}

// A Gemini request that relies on content cached at Google cannot be
// converted either: refused with a 400 in Gemini's shape naming
// cachedContent, or served by a Gemini candidate behind.
func TestGeminiCachedContentIsNotConvertedSilently(t *testing.T) {
	const path = "/v1beta/models/gemini-2.5-flash:generateContent"
	const body = `{"cachedContent":"cachedContents/abc123","contents":[{"role":"user","parts":[{"text":"and then?"}]}]}`
	o := providertest.New(t, okReply(t))
	h := newHarness(t, providerDecl("o", "openai", o.URL, "")+"def route(req, ctx):\n    return [o]\n")
	resp, out := h.post(path, body)
	if shape, _, msg := errorShape(t, out); resp.StatusCode != http.StatusBadRequest || shape != "gemini" || !strings.Contains(msg, "cachedContent") {
		t.Errorf("status %d, error %s %q; want a 400 in Gemini's shape naming cachedContent", resp.StatusCode, shape, msg)
	}
	if o.Count() != 0 {
		t.Errorf("the OpenAI upstream received %d requests", o.Count())
	}

	o2 := providertest.New(t, okReply(t))
	g := providertest.New(t, providertest.FixtureReply(t, "gemini_nonstream_text.response.json"))
	h = newHarness(t, providerDecl("o", "openai", o2.URL, "")+providerDecl("g", "gemini", g.URL, "priority = 2")+
		"def route(req, ctx):\n    return [o, g]\n")
	resp, out = h.post(path, body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-LLMGW-Provider") != "g" || o2.Count() != 0 {
		t.Errorf("status %d from %q (%.200s), openai got %d; want 200 from g", resp.StatusCode, resp.Header.Get("X-LLMGW-Provider"), out, o2.Count())
	}
}
