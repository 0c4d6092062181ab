package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/llmgw/llmgw/providers/providertest"
)

func TestPassThroughStreamIsByteFaithful(t *testing.T) {
	tests := []struct {
		fixture, kind, path, body string
		hdr                       []string
	}{
		{"openai_chat_stream_parallel_tool_calls.sse", "openai", "/v1/chat/completions",
			`{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`, nil},
		{"openai_cassette_chat-streaming-detailed-usage.response.200.sse", "openai", "/v1/chat/completions",
			`{"model":"gpt-5-nano","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`, nil},
		{"anthropic_stream_text_then_tool_use_recorded.sse", "anthropic", "/v1/messages",
			`{"model":"claude-3-7-sonnet-20250219","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}`,
			[]string{"anthropic-version", "2023-06-01"}},
		{"anthropic_stream_thinking_refusal.sse", "anthropic", "/v1/messages?beta=true",
			`{"model":"claude-sonnet-4-5","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}`,
			[]string{"anthropic-version", "2023-06-01"}},
		{"gemini_stream_function_call_with_thought_signature.sse", "gemini", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
			`{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`, nil},
		{"gemini_stream_long_text_thinking_model.sse", "gemini", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
			`{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`, nil},
		{"openai_responses_stream_function_call_o3.sse", "openai", "/v1/responses",
			`{"model":"o3","stream":true,"input":"hi"}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			up := providertest.New(t, providertest.FixtureReply(t, tt.fixture))
			h := newHarness(t, providerDecl("p", tt.kind, up.URL, "")+"def route(req, ctx):\n    return [p]\n")
			resp, got := h.post(tt.path, tt.body, tt.hdr...)
			if resp.StatusCode != 200 {
				t.Fatalf("status = %d, body %s", resp.StatusCode, got)
			}
			want := providertest.Fixture(t, tt.fixture)
			if !bytes.Equal(got, want) {
				t.Errorf("client received %d bytes, upstream sent %d; they differ\ngot:  %.300q\nwant: %.300q", len(got), len(want), got, want)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
				t.Errorf("Content-Type = %q, want text/event-stream", ct)
			}
			for _, hname := range []string{"X-Request-Id", "X-LLMGW-Provider", "X-LLMGW-Attempts"} {
				if resp.Header.Get(hname) == "" {
					t.Errorf("response lacks %s", hname)
				}
			}
			// The upstream got the client's body untouched.
			if reqs := up.Requests(); len(reqs) != 1 || string(reqs[0].Body) != tt.body {
				t.Errorf("upstream body = %q, want the client's %q", reqs[0].Body, tt.body)
			}
			rec := h.rec.last(t)
			if rec.UsageEstimated || rec.Usage.OutputTokens == 0 {
				t.Errorf("logged usage = %+v (estimated %v), want the upstream's reported usage", rec.Usage, rec.UsageEstimated)
			}
		})
	}
}

func TestPassThroughBodyIsByteFaithful(t *testing.T) {
	tests := []struct{ fixture, kind, path, body string }{
		{"openai_cassette_chat-tools.response.200.json", "openai", "/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"unknown_field":{"x":[1,2]}}`},
		{"anthropic_nonstream_tool_use_response.json", "anthropic", "/v1/messages", `{"model":"claude-3-7-sonnet-20250219","max_tokens":9,"messages":[{"role":"user","content":"hi"}]}`},
		{"gemini_nonstream_text.response.json", "gemini", "/v1beta/models/gemini-2.5-flash:generateContent", `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`},
		{"openai_responses_nonstream_text.response.json", "openai", "/v1/responses", `{"model":"gpt-4o-mini","input":"hi"}`},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			up := providertest.New(t, providertest.FixtureReply(t, tt.fixture))
			h := newHarness(t, providerDecl("p", tt.kind, up.URL, "")+"def route(req, ctx):\n    return [p]\n")
			resp, got := h.post(tt.path, tt.body)
			if resp.StatusCode != 200 {
				t.Fatalf("status = %d, body %s", resp.StatusCode, got)
			}
			if want := providertest.Fixture(t, tt.fixture); !bytes.Equal(got, want) {
				t.Errorf("body differs from the upstream's\ngot:  %.200q\nwant: %.200q", got, want)
			}
			if string(up.Requests()[0].Body) != tt.body {
				t.Errorf("upstream body = %s, want %s", up.Requests()[0].Body, tt.body)
			}
			if rec := h.rec.last(t); rec.UsageEstimated || rec.Usage.InputTokens+rec.Usage.CacheReadTokens == 0 {
				t.Errorf("logged usage = %+v estimated=%v", rec.Usage, rec.UsageEstimated)
			}
		})
	}
}

func TestStreamFlushesEachEvent(t *testing.T) {
	release := make(chan struct{})
	up := providertest.New(t, providertest.Reply{})
	up.Handle(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Write([]byte("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n"))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		w.Write([]byte("data: [DONE]\n\n"))
	})
	h := newHarness(t, providerDecl("p", "openai", up.URL, "")+"def route(req, ctx):\n    return [p]\n")
	defer close(release) // the upstream's wait ends with the test, whatever happened
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", h.srv.URL+"/v1/chat/completions", strings.NewReader(`{"model":"m","stream":true,"messages":[]}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("no response headers while the upstream held the stream open: not flushed: %v", err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	done := make(chan string, 1)
	go func() {
		line, _ := br.ReadString('\n')
		done <- line
	}()
	select {
	case line := <-done:
		if !strings.Contains(line, `"content":"a"`) {
			t.Fatalf("first line = %q", line)
		}
	case <-ctx.Done():
		t.Fatal("the first event did not reach the client while the upstream held the stream open: not flushed")
	}
}

func TestIncludeUsageForcedAndHidden(t *testing.T) {
	up := providertest.New(t, providertest.FixtureReply(t, "openai_chat_stream_text_with_usage.sse"))
	h := newHarness(t, providerDecl("p", "openai", up.URL, "")+"def route(req, ctx):\n    return [p]\n")
	resp, got := h.post("/v1/chat/completions", `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, got)
	}
	var sent struct {
		StreamOptions struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	if err := json.Unmarshal(up.Requests()[0].Body, &sent); err != nil || !sent.StreamOptions.IncludeUsage {
		t.Errorf("upstream body %s: include_usage not forced", up.Requests()[0].Body)
	}
	for _, d := range sseData(got) {
		if strings.Contains(d, `"choices":[]`) {
			t.Errorf("client that did not ask for usage received the usage chunk: %s", d)
		}
	}
	if !bytes.Contains(got, []byte("data: [DONE]")) {
		t.Error("stream lost its [DONE]")
	}
	rec := h.rec.last(t)
	if rec.UsageEstimated || rec.Usage.OutputTokens == 0 {
		t.Errorf("usage = %+v estimated=%v; want the hidden chunk's usage logged", rec.Usage, rec.UsageEstimated)
	}
}

func TestModelRewrittenOnlyWhenAsked(t *testing.T) {
	up := providertest.New(t, providertest.FixtureReply(t, "openai_cassette_chat-tools.response.200.json"))
	h := newHarness(t, providerDecl("p", "openai", up.URL, "")+
		"def route(req, ctx):\n    return [target(p, model = \"gpt-4.1\")]\n")
	body := `{"model":"my-alias",  "messages":[{"role":"user","content":"hi"}], "seed": 7}`
	if resp, b := h.post("/v1/chat/completions", body); resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	want := `{"model":"gpt-4.1",  "messages":[{"role":"user","content":"hi"}], "seed": 7}`
	if got := string(up.Requests()[0].Body); got != want {
		t.Errorf("upstream body = %s, want %s", got, want)
	}
	if rec := h.rec.last(t); rec.Model != "my-alias" || rec.UpstreamModel != "gpt-4.1" {
		t.Errorf("logged model %q upstream %q", rec.Model, rec.UpstreamModel)
	}
}

func TestUpstreamClientErrorReturnedAsIs(t *testing.T) {
	body := providertest.Fixture(t, "openai_cassette_chat-bad-request.response.400.json")
	up := providertest.New(t, providertest.Reply{Status: 400, Body: body, Header: http.Header{"Retry-After": {"7"}, "Retry-After-Ms": {"7000"}}})
	spare := providertest.New(t, providertest.Reply{Body: []byte(`{}`)})
	h := newHarness(t, providerDecl("p", "openai", up.URL, "")+providerDecl("q", "openai", spare.URL, "priority = 2")+
		"def route(req, ctx):\n    return [p, q]\n")
	resp, got := h.post("/v1/chat/completions", `{"model":"gpt-5-nano","messages":[]}`)
	if resp.StatusCode != 400 || !bytes.Equal(got, body) {
		t.Errorf("got %d %s, want the upstream's 400 body unchanged", resp.StatusCode, got)
	}
	if resp.Header.Get("Retry-After") != "7" || resp.Header.Get("Retry-After-Ms") != "7000" {
		t.Errorf("retry headers = %q / %q", resp.Header.Get("Retry-After"), resp.Header.Get("Retry-After-Ms"))
	}
	if spare.Count() != 0 {
		t.Error("a 400 was failed over; it must be returned as is")
	}
}

func TestDemoProviderAnswersOffline(t *testing.T) {
	h := newHarness(t, "d = provider(\"demo\", kind = \"demo\")\ndef route(req, ctx):\n    return [d]\n")
	resp, b := h.post("/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}]}`)
	if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"chat.completion"`)) {
		t.Fatalf("non-stream: %d %s", resp.StatusCode, b)
	}
	resp, b = h.post("/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Hello"}]}`)
	if resp.StatusCode != 200 || !bytes.HasSuffix(bytes.TrimSpace(b), []byte("data: [DONE]")) {
		t.Fatalf("stream: %d %s", resp.StatusCode, b)
	}
	if rec := h.rec.last(t); rec.Provider != "demo" || rec.Usage.OutputTokens == 0 || rec.UsageEstimated {
		t.Errorf("record = provider %q usage %+v estimated %v", rec.Provider, rec.Usage, rec.UsageEstimated)
	}
}

// TestForeignThinkingIsNotReplayedToClaude: a Claude client whose
// conversation was served by Gemini for a turn (failover, a mixed route)
// replays that turn's thinking with llmgw's "gemini:" signature, or with
// none for OpenAI reasoning. Forwarded as it is, Claude refuses the next
// turn ("Invalid signature in thinking block"); the gateway re-encodes
// such a body without those blocks. A history with only Claude's own
// thinking is still forwarded byte for byte.
func TestForeignThinkingIsNotReplayedToClaude(t *testing.T) {
	body := func(sig string) string {
		return `{"model":"claude-sonnet-4-5","max_tokens":4096,"thinking":{"type":"enabled","budget_tokens":1024},` +
			`"system":[{"type":"text","text":"x-anthropic-billing-header: cc_version=2.1; You are Claude Code."}],` +
			`"messages":[{"role":"user","content":"Plan it"},` +
			`{"role":"assistant","content":[{"type":"thinking","thinking":"Let me think.","signature":"` + sig + `"},{"type":"text","text":"Step one."}]},` +
			`{"role":"user","content":"Go on"}]}`
	}
	for _, tt := range []struct {
		sig     string
		foreign bool
	}{
		{"gemini:c2lnMQ==", true},
		{"", true},
		{"EqQBCkYIARgCKkBx", false},
	} {
		up := providertest.New(t, providertest.FixtureReply(t, "anthropic_nonstream_tool_use_response.json"))
		h := newHarness(t, providerDecl("p", "anthropic", up.URL, "")+"def route(req, ctx):\n    return [p]\n")
		in := body(tt.sig)
		resp, got := h.post("/v1/messages", in)
		if resp.StatusCode != 200 {
			t.Fatalf("signature %q: status = %d, body %s", tt.sig, resp.StatusCode, got)
		}
		sent := string(up.Requests()[0].Body)
		if !tt.foreign {
			if sent != in {
				t.Errorf("Claude's own thinking: upstream body = %s, want the client's bytes", sent)
			}
			continue
		}
		if strings.Contains(sent, "Let me think.") || strings.Contains(sent, `"signature"`) {
			t.Errorf("signature %q: the foreign thinking block reached Claude: %s", tt.sig, sent)
		}
		for _, keep := range []string{"Plan it", "Step one.", "Go on", "x-anthropic-billing-header: cc_version=2.1; You are Claude Code.", `"claude-sonnet-4-5"`} {
			if !strings.Contains(sent, keep) {
				t.Errorf("signature %q: upstream body lost %q: %s", tt.sig, keep, sent)
			}
		}
	}
}
