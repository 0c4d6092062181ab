package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/llmgw/llmgw/llm"
)

func TestDecodeRequestErrors(t *testing.T) {
	tests := []struct {
		body, want string
	}{
		{`not json`, "invalid JSON body"},
		{`[]`, "invalid JSON body"},
		{`null`, "must be a JSON object"},
		{`{"messages":[]}`, "model is required"},
		{`{"model":"m"}`, "messages is required"},
		{`{"model":1,"messages":[]}`, "model: expected a string, got a number"},
		{`{"model":"m","messages":{}}`, "messages:"},
		{`{"model":"m","messages":[{"role":"wizard","content":"x"}]}`, `unknown role "wizard"`},
		{`{"model":"m","messages":[{"role":"user","content":5}]}`, "expected a string or an array of parts, got a number"},
		{`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url"}]}]}`, "image_url.url is required"},
		{`{"model":"m","messages":[{"role":"user","content":[{"type":"hologram"}]}]}`, `unknown part type "hologram"`},
		{`{"model":"m","messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://x"}}]}]}`, "not allowed here"},
		{`{"model":"m","messages":[],"max_tokens":"many"}`, "max_tokens: expected a number, got a string"},
		{`{"model":"m","messages":[],"stream":"yes"}`, "stream: expected a boolean"},
		{`{"model":"m","messages":[],"tool_choice":"sometimes"}`, `tool_choice: unknown value "sometimes"`},
		{`{"model":"m","messages":[],"tool_choice":{"type":"function"}}`, "tool_choice: expected"},
		{`{"model":"m","messages":[],"tools":[{"type":"function","function":{}}]}`, "tools[0].function.name is required"},
		{`{"model":"m","messages":[],"response_format":{"type":"yaml"}}`, `unknown type "yaml"`},
		{`{"model":"m","messages":[],"stop":[1]}`, "stop: expected a string or an array of strings"},
		{`{"model":"m","messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"f"}}]}]}`, "only inline file_data"},
	}
	for _, tt := range tests {
		_, err := DecodeRequest([]byte(tt.body))
		var le *llm.Error
		if !errors.As(err, &le) || le.Status != 400 || le.Type != llm.ErrInvalidRequest || !strings.Contains(le.Message, tt.want) {
			t.Errorf("DecodeRequest(%s) = %v, want a 400 *llm.Error containing %q", tt.body, err, tt.want)
		}
	}
}

func TestDecodeRequestFields(t *testing.T) {
	body := `{"model":"gpt-4o","max_tokens":50,"max_completion_tokens":100,"stop":"END",
		"stream":true,"stream_options":{"include_usage":true},"reasoning_effort":"high","user":"u",
		"messages":[
			{"role":"developer","content":"Be brief."},
			{"role":"user","content":[{"type":"text","text":"Look"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBO","detail":"high"}}]},
			{"role":"assistant","content":null,"reasoning_content":"thinking","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},
			{"role":"tool","tool_call_id":"call_1","content":[{"type":"text","text":"ok"}]},
			{"role":"system","content":"late"}
		],"logprobs":true}`
	got, err := DecodeRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := &llm.Request{
		Model:  "gpt-4o",
		System: []llm.Part{{Kind: llm.PartText, Text: "Be brief."}},
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "Look"}, {Kind: llm.PartImage, MediaType: "image/png", Data: "iVBO", Detail: "high"}}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{{Kind: llm.PartThinking, Text: "thinking"}, {Kind: llm.PartToolCall, ToolCallID: "call_1", ToolName: "f", Arguments: json.RawMessage(`{"a":1}`)}}},
			{Role: llm.RoleTool, Parts: []llm.Part{{Kind: llm.PartToolResult, ToolCallID: "call_1", ToolName: "f", Content: []llm.Part{{Kind: llm.PartText, Text: "ok"}}}}},
			{Role: llm.RoleSystem, Parts: []llm.Part{{Kind: llm.PartText, Text: "late"}}},
		},
		MaxTokens: 100, Stop: []string{"END"}, Stream: true, IncludeUsage: true, User: "u",
		Reasoning:     &llm.Reasoning{Effort: "high"},
		Extra:         map[string]json.RawMessage{"logprobs": json.RawMessage("true")},
		ExtraProtocol: llm.ProtocolOpenAI,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DecodeRequest mismatch (-want +got):\n%s", diff)
	}
}

func TestEncodeRequestUnsupported(t *testing.T) {
	req := &llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{
		{Kind: llm.PartDocument, URL: "https://example.com/a.pdf"}}}}}
	_, _, err := EncodeRequest(req)
	var le *llm.Error
	if !errors.As(err, &le) || le.Status != 400 {
		t.Errorf("EncodeRequest(document by URL) = %v, want a 400 *llm.Error", err)
	}
}

func TestRequestRoundTrip(t *testing.T) {
	for _, name := range fixtures(t, "*.request.json") {
		req, err := DecodeRequest(fixture(t, name))
		if err != nil {
			t.Fatal(err)
		}
		body, warnings, err := EncodeRequest(req)
		wantWarnings := 0
		if llm.OpenAIReasoningModel(req.Model) && req.Temperature != nil && *req.Temperature != 1 {
			wantWarnings = 1 // see TestReasoningModelSampling
		}
		if err != nil || len(warnings) != wantWarnings {
			t.Fatalf("EncodeRequest(%s) = %v, %v; want no error and %d warnings", name, warnings, err, wantWarnings)
		}
		again, err := DecodeRequest(body)
		if err != nil {
			t.Fatal(err)
		}
		again.Stream, again.IncludeUsage = req.Stream, req.IncludeUsage // forced upstream
		if llm.OpenAIReasoningModel(req.Model) {
			again.Temperature, again.TopP = req.Temperature, req.TopP // dropped: see TestReasoningModelSampling
		}
		if diff := cmp.Diff(req, again, compactJSON); diff != "" {
			t.Errorf("%s: decode(encode(decode)) differs (-first +second):\n%s", name, diff)
		}
	}
}

// compactJSON compares raw JSON values by content, not layout.
var compactJSON = cmp.Transformer("compactJSON", func(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
})

func TestErrors(t *testing.T) {
	tests := []struct {
		fixture           string
		wantType, wantMsg string
	}{
		{"openai_cassette_chat-bad-request.response.400.json", "invalid_request_error", "Unsupported parameter"},
		{"openai_cassette_chat-unknown-model.response.404.json", "invalid_request_error", "does not exist"},
	}
	for _, tt := range tests {
		typ, msg := DecodeError(400, fixture(t, tt.fixture))
		if typ != tt.wantType || !strings.Contains(msg, tt.wantMsg) {
			t.Errorf("DecodeError(%s) = %q, %q, want %q, …%q…", tt.fixture, typ, msg, tt.wantType, tt.wantMsg)
		}
	}
	if typ, msg := DecodeError(502, []byte("<html>bad gateway</html>")); typ != "" || msg != "<html>bad gateway</html>" {
		t.Errorf("DecodeError(html) = %q, %q", typ, msg)
	}
	body := EncodeError(&llm.Error{Status: 429, Type: llm.ErrRateLimit, Message: "slow down", Code: "rate_limit_exceeded"})
	want := `{"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}`
	if string(body) != want {
		t.Errorf("EncodeError = %s, want %s", body, want)
	}
	if typ, msg := DecodeError(429, body); typ != "rate_limit_error" || msg != "slow down" {
		t.Errorf("DecodeError(EncodeError) = %q, %q", typ, msg)
	}
}

func TestDecodeRequestLegacyImageURL(t *testing.T) {
	req, err := DecodeRequest([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":"https://x/cat.png"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if p := req.Messages[0].Parts[0]; p.Kind != llm.PartImage || p.URL != "https://x/cat.png" {
		t.Errorf("legacy image_url part = %+v, want an image with the URL", p)
	}
}

func TestEncodeRequestLimits(t *testing.T) {
	req := &llm.Request{
		Model:      "m",
		Messages:   []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "x"}}}},
		Stop:       []string{"a", "b", "c", "d", "e"},
		ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceNone}, // without tools
	}
	body, warnings, err := EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Stop       []string        `json:"stop"`
		ToolChoice json.RawMessage `json:"tool_choice"`
	}
	_ = json.Unmarshal(body, &got)
	if len(got.Stop) != 4 || got.ToolChoice != nil || len(warnings) != 1 {
		t.Errorf("EncodeRequest = %s, %q; want 4 stop sequences, no tool_choice, one warning", body, warnings)
	}
}

// TestReasoningModelSampling: OpenAI's reasoning models (o-series, GPT-5
// on) refuse any temperature or top_p but the defaults, which a client of
// another protocol may send: the encoder leaves them out,
// with a warning when they were not the defaults, and keeps them for other
// models.
func TestReasoningModelSampling(t *testing.T) {
	for _, tt := range []struct {
		model    string
		temp     float64
		kept     bool
		warnings int
	}{
		{"gpt-5", 0.2, false, 2},
		{"o3-mini", 1, false, 1}, // temperature 1 is the default: only top_p warns
		{"gpt-4o", 0.2, true, 0},
	} {
		temp, topP := tt.temp, 0.5
		req := &llm.Request{Model: tt.model, Temperature: &temp, TopP: &topP,
			Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "hi"}}}}}
		body, warnings, err := EncodeRequest(req)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		_, hasTemp := got["temperature"]
		_, hasTopP := got["top_p"]
		if hasTemp != tt.kept || hasTopP != tt.kept || len(warnings) != tt.warnings {
			t.Errorf("%s: temperature sent %v, top_p sent %v, warnings %q; want sent %v and %d warnings",
				tt.model, hasTemp, hasTopP, warnings, tt.kept, tt.warnings)
		}
	}
}
