package engine

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/llmgw/llmgw/internal/fixtures"
)

func TestRequestFromFixtures(t *testing.T) {
	tests := []struct {
		file string
		want Request // InputTokensEstimate is checked separately
	}{
		{"anthropic_nonstream_tool_use_request.json", Request{Protocol: "anthropic", Model: "claude-3-7-sonnet-latest", MaxOutputTokens: 512, HasTools: true}},
		{"anthropic_stream_after_tool_result_request.json", Request{Protocol: "anthropic", Model: "claude-3-7-sonnet-latest", MaxOutputTokens: 512, HasTools: true, Stream: true}},
		{"gemini_stream_function_call.request.json", Request{Protocol: "gemini", HasTools: true}},
		{"gemini_stream_long_text.request.json", Request{Protocol: "gemini"}},
		{"openai_cassette_chat-image-to-text.request.json", Request{Protocol: "openai", Model: "gpt-5-nano", HasImages: true}},
		{"openai_cassette_chat-tools.request.json", Request{Protocol: "openai", Model: "gpt-5-nano", HasTools: true}},
		{"openai_cassette_chat-streaming.request.json", Request{Protocol: "openai", Model: "gpt-5-nano", Stream: true}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := fixtures.Read(t, tt.file)
			if got := GuessProtocol(body); got != tt.want.Protocol {
				t.Errorf("GuessProtocol(%s) = %q, want %q", tt.file, got, tt.want.Protocol)
			}
			got, err := RequestFromBody("", body, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got.InputTokensEstimate != len(body)/4 {
				t.Errorf("InputTokensEstimate = %d, want %d", got.InputTokensEstimate, len(body)/4)
			}
			if diff := cmp.Diff(&tt.want, got, cmpopts.IgnoreFields(Request{}, "InputTokensEstimate", "Stream")); diff != "" {
				t.Errorf("RequestFromBody(%s) (-want +got):\n%s", tt.file, diff)
			}
		})
	}
}

func TestRequestFromBody(t *testing.T) {
	tests := []struct {
		name     string
		protocol string
		body     string
		headers  map[string]string
		want     Request
	}{
		{"claude code session header wins", "anthropic",
			`{"model":"claude-sonnet-4-5","max_tokens":32000,"stream":true,"system":"x","thinking":{"type":"enabled","budget_tokens":1024},"metadata":{"user_id":"user_abc"},"messages":[{"role":"user","content":[{"type":"image","source":{}}]}]}`,
			map[string]string{"x-claude-code-session-id": "sess-1"},
			Request{Protocol: "anthropic", Model: "claude-sonnet-4-5", Stream: true, MaxOutputTokens: 32000, HasThinking: true, HasImages: true,
				User: "user_abc", Session: "sess-1", Metadata: map[string]string{"user_id": "user_abc"}, Headers: map[string]string{"x-claude-code-session-id": "sess-1"}}},
		{"anthropic metadata user_id is the session", "anthropic",
			`{"model":"claude-haiku-4-5","max_tokens":10,"thinking":{"type":"disabled"},"metadata":{"user_id":"u1"},"messages":[]}`, nil,
			Request{Protocol: "anthropic", Model: "claude-haiku-4-5", MaxOutputTokens: 10, User: "u1", Session: "u1", Metadata: map[string]string{"user_id": "u1"}}},
		{"codex session-id header", "responses",
			`{"model":"gpt-5-codex","input":[{"type":"input_image"}],"reasoning":{"effort":"high"},"max_output_tokens":64,"tools":[{"type":"function"}],"prompt_cache_key":"pck"}`,
			map[string]string{"session-id": "codex-1", "thread-id": "t"},
			Request{Protocol: "responses", Model: "gpt-5-codex", HasImages: true, HasThinking: true, HasTools: true, MaxOutputTokens: 64,
				Session: "codex-1", Headers: map[string]string{"session-id": "codex-1", "thread-id": "t"}}},
		{"openai prompt_cache_key then user", "openai",
			`{"model":"gpt-4.1","max_completion_tokens":99,"max_tokens":5,"reasoning_effort":"low","user":"bob","prompt_cache_key":"pck","messages":[]}`, nil,
			Request{Protocol: "openai", Model: "gpt-4.1", MaxOutputTokens: 99, HasThinking: true, User: "bob", Session: "pck"}},
		{"openai user alone", "openai", `{"model":"gpt-4.1","max_tokens":5,"user":"bob","tools":[],"messages":[]}`, nil,
			Request{Protocol: "openai", Model: "gpt-4.1", MaxOutputTokens: 5, User: "bob", Session: "bob"}},
		{"gemini generation config", "gemini",
			`{"contents":[{"parts":[{"inlineData":{}}]}],"generationConfig":{"maxOutputTokens":77,"thinkingConfig":{"thinkingBudget":0}}}`,
			map[string]string{"x-session-id": "g"},
			Request{Protocol: "gemini", MaxOutputTokens: 77, HasImages: true, Session: "g", Headers: map[string]string{"x-session-id": "g"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RequestFromBody(tt.protocol, []byte(tt.body), tt.headers)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&tt.want, got, cmpopts.IgnoreFields(Request{}, "InputTokensEstimate")); diff != "" {
				t.Errorf("RequestFromBody (-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range []string{``, `[]`, `null`, `{"model":`} {
		if _, err := RequestFromBody("openai", []byte(bad), nil); err == nil {
			t.Errorf("RequestFromBody(%q) = nil error", bad)
		}
	}
}

func TestGuessProtocol(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"contents":[]}`, "gemini"},
		{`{"model":"x","input":"hi"}`, "responses"},
		{`{"model":"x","system":"be brief","messages":[]}`, "anthropic"},
		{`{"model":"x","max_tokens":10,"messages":[{"role":"user","content":[{"type": "text","text":"hi"}]}]}`, "anthropic"},
		{`{"model":"x","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`, "openai"},
		{`{"model":"x","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`, "openai"},
		{`not json`, "openai"},
	}
	for _, tt := range tests {
		if got := GuessProtocol([]byte(tt.body)); got != tt.want {
			t.Errorf("GuessProtocol(%s) = %q, want %q", tt.body, got, tt.want)
		}
	}
}

func FuzzRequestFromBody(f *testing.F) {
	f.Add("anthropic", []byte(`{"model":"m","max_tokens":1,"messages":[]}`))
	f.Add("", []byte(`{"contents":[{"parts":[]}],"generationConfig":{"thinkingConfig":{}}}`))
	f.Add("responses", []byte(`{"input":[],"metadata":{"a":1}}`))
	f.Fuzz(func(t *testing.T, protocol string, body []byte) {
		r, err := RequestFromBody(protocol, body, nil)
		if err == nil && r.InputTokensEstimate != len(body)/4 {
			t.Errorf("InputTokensEstimate = %d, want %d", r.InputTokensEstimate, len(body)/4)
		}
	})
}

// TestHasAfterIsHasAnyOfEachMarker checks the one-scan marker search
// against the scan per marker it replaces, on the markers RequestFromBody
// uses and on bodies with near misses, overlaps and markers at the ends.
func TestHasAfterIsHasAnyOfEachMarker(t *testing.T) {
	bodies := []string{
		``, `"type":`, `"type":"image"`, `"type": "image"`, `"type":"image_url"`, `"type":"imag`, `"type":"text","x":"type":"document"`,
		`[{"type":"text"},{"type": "document"}]`, `"type":"type":"image"`, `"input_text","input_image"`, `"input_file"`, `"input_`,
		`"inlineData"`, `"inline_data"`, `"fileData"`, `"file_data"`, `"file_Data"`, `"inline"`, `"file"`, `"inlineinline_data"`,
	}
	markers := [][]string{
		{`"type":`, `"image"`, ` "image"`, `"document"`},
		{`"input_`, `image"`, `file"`},
		{`"inline`, `Data"`, `_data"`},
		{`"file`, `Data"`, `_data"`},
		{`aa`, `ab`}, // a prefix that overlaps itself: "aaab" has "aab" at 1
	}
	bodies = append(bodies, "aaab", "aab", "aaa")
	for _, m := range markers {
		var full []string
		for _, s := range m[1:] {
			full = append(full, m[0]+s)
		}
		for _, b := range bodies {
			if got, want := hasAfter([]byte(b), m[0], m[1:]...), hasAny([]byte(b), full...); got != want {
				t.Errorf("hasAfter(%q, %q, %q) = %v, hasAny of %q = %v", b, m[0], m[1:], got, full, want)
			}
		}
	}
}

func FuzzHasAfter(f *testing.F) {
	f.Add([]byte(`[{"type":"text"},{"type": "image"}]`), "\"type\":", "\"image\"", "\"document\"")
	f.Add([]byte("aaab"), "aa", "ab", "b")
	f.Fuzz(func(t *testing.T, raw []byte, prefix, s1, s2 string) {
		if got, want := hasAfter(raw, prefix, s1, s2), hasAny(raw, prefix+s1, prefix+s2); got != want {
			t.Fatalf("hasAfter(%q, %q, %q, %q) = %v, hasAny = %v", raw, prefix, s1, s2, got, want)
		}
	})
}
