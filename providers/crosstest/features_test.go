package crosstest

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/llmgw/llmgw/engine"
	recorded "github.com/llmgw/llmgw/internal/fixtures"
	"github.com/llmgw/llmgw/internal/wirefeat"
	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/providers/anthropic"
	"github.com/llmgw/llmgw/providers/gemini"
	"github.com/llmgw/llmgw/providers/openai"
	"github.com/llmgw/llmgw/providers/providertest"
	"github.com/llmgw/llmgw/providers/responses"
)

// The routing features each adapter's scanner reads, as the policy sees
// them: engine.NewRequest of the scanner's llm.Features, the way the
// gateway builds a request from the body it checks.

// featureScanners are the four protocols' scanners.
var featureScanners = map[llm.Protocol]func() llm.FeatureScanner{
	llm.ProtocolOpenAI:    openai.Adapter{}.NewFeatureScanner,
	llm.ProtocolResponses: responses.Adapter{}.NewFeatureScanner,
	llm.ProtocolAnthropic: anthropic.Adapter{}.NewFeatureScanner,
	llm.ProtocolGemini:    gemini.Adapter{}.NewFeatureScanner,
}

// requestFromBody is the request the policy sees for body posted in
// protocol ("" guesses it, as `llmgw eval` does).
func requestFromBody(protocol string, body []byte, headers map[string]string) (*engine.Request, error) {
	p := llm.Protocol(protocol)
	if p == "" {
		p = wirefeat.Guess(body)
	}
	newScanner, ok := featureScanners[p]
	if !ok {
		newScanner = featureScanners[llm.ProtocolOpenAI]
	}
	f, err := wirefeat.Read(body, newScanner())
	if err != nil {
		return nil, err
	}
	return engine.NewRequest(string(p), f, len(body), headers), nil
}

func guessProtocol(body []byte) string { return string(wirefeat.Guess(body)) }

func TestRequestFromFixtures(t *testing.T) {
	tests := []struct {
		file string
		want engine.Request // InputTokensEstimate is checked separately
	}{
		{"anthropic_nonstream_tool_use_request.json", engine.Request{Protocol: "anthropic", Model: "claude-3-7-sonnet-latest", MaxOutputTokens: 512, HasTools: true}},
		{"anthropic_stream_after_tool_result_request.json", engine.Request{Protocol: "anthropic", Model: "claude-3-7-sonnet-latest", MaxOutputTokens: 512, HasTools: true, Stream: true}},
		{"gemini_stream_function_call.request.json", engine.Request{Protocol: "gemini", HasTools: true}},
		{"gemini_stream_long_text.request.json", engine.Request{Protocol: "gemini"}},
		{"openai_cassette_chat-image-to-text.request.json", engine.Request{Protocol: "openai", Model: "gpt-5-nano", HasImages: true}},
		{"openai_cassette_chat-tools.request.json", engine.Request{Protocol: "openai", Model: "gpt-5-nano", HasTools: true}},
		{"openai_cassette_chat-streaming.request.json", engine.Request{Protocol: "openai", Model: "gpt-5-nano", Stream: true}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := recorded.Read(t, tt.file)
			if got := guessProtocol(body); got != tt.want.Protocol {
				t.Errorf("guessProtocol(%s) = %q, want %q", tt.file, got, tt.want.Protocol)
			}
			got, err := requestFromBody("", body, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got.InputTokensEstimate != len(body)/4 {
				t.Errorf("InputTokensEstimate = %d, want %d", got.InputTokensEstimate, len(body)/4)
			}
			if diff := cmp.Diff(&tt.want, got, cmpopts.IgnoreFields(engine.Request{}, "InputTokensEstimate", "Stream")); diff != "" {
				t.Errorf("requestFromBody(%s) (-want +got):\n%s", tt.file, diff)
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
		want     engine.Request
	}{
		{"claude code session header wins", "anthropic",
			`{"model":"claude-sonnet-4-5","max_tokens":32000,"stream":true,"system":"x","thinking":{"type":"enabled","budget_tokens":1024},"metadata":{"user_id":"user_abc"},"messages":[{"role":"user","content":[{"type":"image","source":{}}]}]}`,
			map[string]string{"x-claude-code-session-id": "sess-1"},
			engine.Request{Protocol: "anthropic", Model: "claude-sonnet-4-5", Stream: true, MaxOutputTokens: 32000, HasThinking: true, HasImages: true,
				User: "user_abc", Session: "sess-1", Metadata: map[string]string{"user_id": "user_abc"}, Headers: map[string]string{"x-claude-code-session-id": "sess-1"}}},
		{"anthropic metadata user_id is the session", "anthropic",
			`{"model":"claude-haiku-4-5","max_tokens":10,"thinking":{"type":"disabled"},"metadata":{"user_id":"u1"},"messages":[]}`, nil,
			engine.Request{Protocol: "anthropic", Model: "claude-haiku-4-5", MaxOutputTokens: 10, User: "u1", Session: "u1", Metadata: map[string]string{"user_id": "u1"}}},
		{"codex session-id header", "responses",
			`{"model":"gpt-5-codex","input":[{"type":"input_image"}],"reasoning":{"effort":"high"},"max_output_tokens":64,"tools":[{"type":"function"}],"prompt_cache_key":"pck"}`,
			map[string]string{"session-id": "codex-1", "thread-id": "t"},
			engine.Request{Protocol: "responses", Model: "gpt-5-codex", HasImages: true, HasThinking: true, HasTools: true, MaxOutputTokens: 64,
				Session: "codex-1", Headers: map[string]string{"session-id": "codex-1", "thread-id": "t"}}},
		{"openai prompt_cache_key then user", "openai",
			`{"model":"gpt-4.1","max_completion_tokens":99,"max_tokens":5,"reasoning_effort":"low","user":"bob","prompt_cache_key":"pck","messages":[]}`, nil,
			engine.Request{Protocol: "openai", Model: "gpt-4.1", MaxOutputTokens: 99, HasThinking: true, User: "bob", Session: "pck"}},
		{"openai user alone", "openai", `{"model":"gpt-4.1","max_tokens":5,"user":"bob","tools":[],"messages":[]}`, nil,
			engine.Request{Protocol: "openai", Model: "gpt-4.1", MaxOutputTokens: 5, User: "bob", Session: "bob"}},
		{"gemini generation config", "gemini",
			`{"contents":[{"parts":[{"inlineData":{}}]}],"generationConfig":{"maxOutputTokens":77,"thinkingConfig":{"thinkingBudget":0}}}`,
			map[string]string{"x-session-id": "g"},
			engine.Request{Protocol: "gemini", MaxOutputTokens: 77, HasImages: true, Session: "g", Headers: map[string]string{"x-session-id": "g"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := requestFromBody(tt.protocol, []byte(tt.body), tt.headers)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&tt.want, got, cmpopts.IgnoreFields(engine.Request{}, "InputTokensEstimate")); diff != "" {
				t.Errorf("RequestFromBody (-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range []string{``, `[]`, `null`, `{"model":`} {
		if _, err := requestFromBody("openai", []byte(bad), nil); err == nil {
			t.Errorf("requestFromBody(%q) = nil error", bad)
		}
	}
}

func FuzzRequestFromBody(f *testing.F) {
	f.Add("anthropic", []byte(`{"model":"m","max_tokens":1,"messages":[]}`))
	f.Add("", []byte(`{"contents":[{"parts":[]}],"generationConfig":{"thinkingConfig":{}}}`))
	f.Add("responses", []byte(`{"input":[],"metadata":{"a":1}}`))
	f.Fuzz(func(t *testing.T, protocol string, body []byte) {
		r, err := requestFromBody(protocol, body, nil)
		if err == nil && r.InputTokensEstimate != len(body)/4 {
			t.Errorf("InputTokensEstimate = %d, want %d", r.InputTokensEstimate, len(body)/4)
		}
	})
}

// TestFeaturesIgnoreJSONLayout: the routing features of a body are the
// same however its JSON is laid out, for every recorded request and for
// bodies that exercise each byte-level check (images and documents in
// each protocol, the Anthropic guess from content blocks).
func TestFeaturesIgnoreJSONLayout(t *testing.T) {
	type body struct {
		raw        []byte
		wantImages bool
	}
	bodies := map[string]body{
		"anthropic image":    {[]byte(`{"model":"c","max_tokens":10,"system":"s","messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","data":"AA=="}}]}]}`), true},
		"anthropic document": {[]byte(`{"model":"c","max_tokens":10,"system":"s","messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","data":"x"}}]}]}`), true},
		"anthropic guessed":  {[]byte(`{"model":"c","max_tokens":10,"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`), false},
		"openai file":        {[]byte(`{"model":"g","messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"f"}}]}]}`), true},
		"responses image":    {[]byte(`{"model":"g","input":[{"role":"user","content":[{"type":"input_image","image_url":"data:,"}]}]}`), true},
		"gemini inline":      {[]byte(`{"contents":[{"role":"user","parts":[{"inlineData":{"mimeType":"image/png","data":"AA=="}}]}]}`), true},
	}
	for _, p := range recorded.Glob(t, "*request*.json") {
		raw := recorded.Read(t, filepath.Base(p))
		got, err := requestFromBody("", raw, nil)
		if err != nil {
			t.Fatal(err)
		}
		bodies[filepath.Base(p)] = body{raw, got.HasImages}
	}
	for name, b := range bodies {
		t.Run(name, func(t *testing.T) {
			var base *engine.Request
			for _, l := range recorded.Layouts {
				got, err := requestFromBody("", recorded.Relayout(b.raw, l), nil)
				if err != nil {
					t.Fatalf("%s: %v", l, err)
				}
				if l == "compact" {
					base = got
					if got.HasImages != b.wantImages {
						t.Fatalf("compact: HasImages = %v, want %v", got.HasImages, b.wantImages)
					}
					continue
				}
				if diff := cmp.Diff(base, got, cmpopts.IgnoreFields(engine.Request{}, "InputTokensEstimate")); diff != "" {
					t.Errorf("%s layout (-compact +%s):\n%s", l, l, diff)
				}
			}
			if name == "anthropic guessed" && base.Protocol != "anthropic" {
				t.Errorf("guessed %q, want anthropic", base.Protocol)
			}
		})
	}
}

// BenchmarkRequestFromBody is the per-request model extraction: the
// routing features of a short chat body, and of a long agent history
// (300 turns, about 100 KB), the shape Claude Code sends.
func BenchmarkRequestFromBody(b *testing.B) {
	short := []byte(`{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Hello, how are you?"}],"metadata":{"user_id":"u1"}}`)
	long := providertest.AgentBody(true)
	headers := map[string]string{"user-agent": "claude-cli/2.0", "x-claude-code-session-id": "s1"}
	for _, tc := range []struct {
		name, proto string
		body        []byte
	}{{"short", "openai", short}, {"claude-code-100KB", "anthropic", []byte(long)}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.body)))
			for b.Loop() {
				if _, err := requestFromBody(tc.proto, tc.body, headers); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
