package gateway

import (
	"net/http"
	"strings"
	"testing"

	"github.com/llmgw/llmgw/providers/providertest"
)

// TestWarningsHeader: a converted request that loses something harmless
// (a field the target protocol has no room for) is served, and the
// X-LLMGW-Warnings header names what was dropped, streaming or not. A
// same-protocol request, forwarded as is, and a conversion that loses
// nothing have no such header.
func TestWarningsHeader(t *testing.T) {
	type upstream struct{ kind, body, stream string }
	var (
		toAnthropic = upstream{"anthropic", "anthropic_nonstream_tool_use_response.json", "anthropic_stream_text_end_turn.sse"}
		toOpenAI    = upstream{"openai", "openai_cassette_chat-tools.response.200.json", "openai_chat_stream_text_with_usage.sse"}
		toGemini    = upstream{"gemini", "gemini_nonstream_text.response.json", "gemini_stream_single_chunk.sse"}
	)
	const weatherTool = `"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]`
	tests := []struct {
		name string
		up   upstream
		path string
		body string // without "stream"
		hdr  []string
		want []string // warnings; nil for none
	}{
		{
			"openai seed to anthropic", toAnthropic, "/v1/chat/completions",
			`{"model":"m","seed":42,"messages":[{"role":"user","content":"hi"}]}`,
			[]string{"Authorization", "Bearer sk-client"},
			[]string{"anthropic: dropped seed: the Messages API has none"},
		},
		{
			"anthropic top_k to openai", toOpenAI, "/v1/messages",
			`{"model":"m","max_tokens":100,"top_k":5,"messages":[{"role":"user","content":"hi"}]}`,
			[]string{"x-api-key", "sk-client"},
			[]string{"openai: dropped top_k: chat completions has no equivalent"},
		},
		{
			"openai parallel_tool_calls and stop to gemini", toGemini, "/v1/chat/completions",
			`{"model":"m","parallel_tool_calls":false,"stop":["a","b","c","d","e","f"],` + weatherTool + `,"messages":[{"role":"user","content":"hi"}]}`,
			[]string{"Authorization", "Bearer sk-client"},
			[]string{"gemini: dropped parallel_tool_calls=false: Gemini cannot forbid parallel calls", "gemini: kept the first 5 of 6 stop sequences"},
		},
		{
			"conversion losing nothing", toOpenAI, "/v1/messages",
			`{"model":"m","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`,
			[]string{"x-api-key", "sk-client"},
			nil,
		},
		{
			"same protocol", toOpenAI, "/v1/chat/completions",
			`{"model":"m","seed":42,"top_k":5,"messages":[{"role":"user","content":"hi"}]}`,
			[]string{"Authorization", "Bearer sk-client"},
			nil,
		},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			name, reply, body := tt.name, tt.up.body, tt.body
			if stream {
				name, reply, body = name+"/stream", tt.up.stream, `{"stream":true,`+strings.TrimPrefix(body, "{")
			}
			t.Run(name, func(t *testing.T) {
				up := providertest.New(t, providertest.FixtureReply(t, reply))
				h := newHarness(t, `key("k", "sk-client")
`+providerDecl("p", tt.up.kind, up.URL, "")+"def route(req, ctx):\n    return [p]\n")
				resp, b := h.post(tt.path, body, tt.hdr...)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("POST %s = %d %s, want 200", tt.path, resp.StatusCode, b)
				}
				got := resp.Header.Values("X-LLMGW-Warnings")
				if tt.want == nil {
					if len(got) != 0 {
						t.Errorf("X-LLMGW-Warnings = %q, want none", got)
					}
					return
				}
				if len(got) != 1 {
					t.Fatalf("X-LLMGW-Warnings = %q, want one header", got)
				}
				for _, w := range tt.want {
					if !strings.Contains(got[0], w) {
						t.Errorf("X-LLMGW-Warnings = %q, want it to name %q", got[0], w)
					}
				}
			})
		}
	}
}
