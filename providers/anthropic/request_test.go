package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
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
		{`null`, "must be a JSON object"},
		{`{"messages":[]}`, "model: field required"},
		{`{"model":"m"}`, "messages: field required"},
		{`{"model":"m","messages":[],"max_tokens":"x"}`, "max_tokens: expected an integer, got a string"},
		{`{"model":"m","messages":[{"role":"robot","content":"x"}]}`, `unknown role "robot"`},
		{`{"model":"m","messages":[{"role":"user","content":7}]}`, "messages.0.content: expected a string or an array of content blocks, got a number"},
		{`{"model":"m","messages":[{"role":"user","content":[{"text":"x"}]}]}`, "messages.0.content.0.type: field required"},
		{`{"model":"m","messages":[{"role":"user","content":[{"type":"image"}]}]}`, "source: field required"},
		{`{"model":"m","messages":[],"system":{}}`, "system: expected a string or an array"},
		{`{"model":"m","messages":[],"tools":[{"description":"x"}]}`, "tools.0.name: field required"},
		{`{"model":"m","messages":[],"tool_choice":{"type":"maybe"}}`, `tool_choice.type: unknown value "maybe"`},
		{`{"model":"m","messages":[],"tool_choice":{"type":"tool"}}`, "tool_choice.name: field required"},
		{`{"model":"m","messages":[],"thinking":{"type":"sometimes"}}`, `thinking.type: unknown value "sometimes"`},
		{`{"model":"m","messages":[],"metadata":[]}`, "metadata: expected an object"},
	}
	for _, tt := range tests {
		_, err := DecodeRequest([]byte(tt.body))
		var le *llm.Error
		if !errors.As(err, &le) || le.Status != 400 || le.Type != llm.ErrInvalidRequest || !strings.Contains(le.Message, tt.want) {
			t.Errorf("DecodeRequest(%s) = %v, want a 400 *llm.Error containing %q", tt.body, err, tt.want)
		}
	}
}

// claudeCodeBody is shaped like what Claude Code sends.
const claudeCodeBody = `{
  "model": "claude-sonnet-4-5",
  "max_tokens": 32000,
  "stream": true,
  "metadata": {"user_id": "user_abc"},
  "system": [
    {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.0"},
    {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}
  ],
  "thinking": {"type": "adaptive"},
  "output_config": {"effort": "high"},
  "tools": [
    {"name": "Bash", "description": "Run", "input_schema": {"type": "object"}, "cache_control": {"type": "ephemeral"}},
    {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}
  ],
  "tool_choice": {"type": "auto", "disable_parallel_tool_use": true},
  "messages": [
    {"role": "user", "content": [
      {"type": "text", "text": "List files"},
      {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}},
      {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "notes"}, "title": "n.txt"}
    ]},
    {"role": "assistant", "content": [
      {"type": "thinking", "thinking": "Use Bash.", "signature": "EqQB"},
      {"type": "thinking", "thinking": "From Gemini.", "signature": "gemini:c2ln"},
      {"type": "redacted_thinking", "data": "opaque"},
      {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}}
    ]},
    {"role": "user", "content": [
      {"type": "tool_result", "tool_use_id": "toolu_1", "is_error": true, "content": [
        {"type": "text", "text": "denied"},
        {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}
      ], "cache_control": {"type": "ephemeral"}}
    ]}
  ],
  "context_management": {"edits": []}
}`

func TestDecodeRequestClaudeCode(t *testing.T) {
	got, err := DecodeRequest([]byte(claudeCodeBody))
	if err != nil {
		t.Fatal(err)
	}
	eph := json.RawMessage(`{"type": "ephemeral"}`)
	want := &llm.Request{
		Model:  "claude-sonnet-4-5",
		System: []llm.Part{text("x-anthropic-billing-header: cc_version=2.0"), {Kind: llm.PartText, Text: "You are Claude Code.", CacheControl: eph}},
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{
				text("List files"),
				{Kind: llm.PartImage, MediaType: "image/png", Data: "iVBO"},
				{Kind: llm.PartDocument, MediaType: "text/plain", Data: "bm90ZXM=", Name: "n.txt"},
			}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{
				{Kind: llm.PartThinking, Text: "Use Bash.", Signature: "EqQB", SignatureProtocol: llm.ProtocolAnthropic},
				{Kind: llm.PartThinking, Text: "From Gemini.", Signature: "c2ln", SignatureProtocol: llm.ProtocolGemini},
				{Kind: llm.PartRedactedThinking, Data: "opaque", SignatureProtocol: llm.ProtocolAnthropic},
				{Kind: llm.PartToolCall, ToolCallID: "toolu_1", ToolName: "Bash", Arguments: json.RawMessage(`{"command": "ls"}`)},
			}},
			{Role: llm.RoleUser, Parts: []llm.Part{{
				Kind: llm.PartToolResult, ToolCallID: "toolu_1", ToolName: "Bash", IsError: true, CacheControl: eph,
				Content: []llm.Part{text("denied"), {Kind: llm.PartImage, URL: "https://x/y.png"}},
			}}},
		},
		Tools: []llm.Tool{
			{Name: "Bash", Description: "Run", Parameters: json.RawMessage(`{"type": "object"}`), CacheControl: eph},
			{Name: "web_search", Raw: json.RawMessage(`{"type": "web_search_20250305", "name": "web_search", "max_uses": 5}`), RawProtocol: llm.ProtocolAnthropic},
		},
		ToolChoice:        &llm.ToolChoice{Mode: llm.ToolChoiceAuto},
		ParallelToolCalls: ptr(false),
		MaxTokens:         32000,
		Reasoning:         &llm.Reasoning{Effort: "high", BudgetTokens: -1, IncludeThoughts: true},
		Stream:            true,
		User:              "user_abc",
		NoAutoCache:       true,
		Extra:             map[string]json.RawMessage{"context_management": json.RawMessage(`{"edits": []}`)},
		ExtraProtocol:     llm.ProtocolAnthropic,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DecodeRequest mismatch (-want +got):\n%s", diff)
	}

	// Back to an Anthropic upstream: cache_control, the system blocks, the
	// own thinking and the server tool survive; the Gemini thinking does
	// not.
	body, warnings, err := EncodeRequest(got)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("EncodeRequest = %v, %v; want no warning", warnings, err)
	}
	for _, want := range []string{`"cache_control":{"type":"ephemeral"}`, `"signature":"EqQB"`, `"web_search_20250305"`,
		`"thinking":{"type":"adaptive"}`, `"output_config":{"effort":"high"}`, `"context_management"`, `"disable_parallel_tool_use":true`, `"redacted_thinking"`} {
		if !bytes.Contains(body, []byte(strings.ReplaceAll(want, " ", ""))) {
			t.Errorf("EncodeRequest body lacks %s:\n%s", want, body)
		}
	}
	if bytes.Contains(body, []byte("From Gemini")) {
		t.Errorf("EncodeRequest kept a Gemini-signed thinking block:\n%s", body)
	}
}

func TestDecodeRequestCountTokens(t *testing.T) {
	req, err := DecodeRequest([]byte(`{"model":"claude-sonnet-4","system":"Be brief.","messages":[{"role":"user","content":"Hi"}],"thinking":{"type":"enabled","budget_tokens":2048}}`))
	if err != nil {
		t.Fatal(err)
	}
	if req.MaxTokens != 0 || len(req.System) != 1 || req.Reasoning.BudgetTokens != 2048 {
		t.Errorf("count_tokens request = %+v", req)
	}
}

func TestEncodeRequestUnsupported(t *testing.T) {
	tests := []llm.Part{
		{Kind: llm.PartAudio, MediaType: "wav", Data: "UklG"},
		{Kind: llm.PartImage, MediaType: "image/tiff", Data: "SUkq"},
		{Kind: llm.PartDocument, MediaType: "application/msword", Data: "0M8R"},
	}
	for _, p := range tests {
		req := &llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{p}}}}
		_, _, err := EncodeRequest(req)
		var le *llm.Error
		if !errors.As(err, &le) || le.Status != 400 {
			t.Errorf("EncodeRequest(%s %s) = %v, want a 400 *llm.Error", p.Kind, p.MediaType, err)
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

func TestRequestRoundTrip(t *testing.T) {
	bodies := [][]byte{[]byte(claudeCodeBody)}
	for _, name := range fixtures(t, "*_request.json") {
		bodies = append(bodies, fixture(t, name))
	}
	for _, body := range bodies {
		req, err := DecodeRequest(body)
		if err != nil {
			t.Fatal(err)
		}
		out, _, err := EncodeRequest(req)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeRequest(out)
		if err != nil {
			t.Fatal(err)
		}
		// Foreign thinking is dropped on the way to Anthropic.
		req.Messages = dropForeign(req.Messages)
		if diff := cmp.Diff(req, again, compactJSON); diff != "" {
			t.Errorf("decode(encode(decode)) differs (-first +second):\n%s", diff)
		}
	}
}

func dropForeign(msgs []llm.Message) []llm.Message {
	for i, m := range msgs {
		var parts []llm.Part
		for _, p := range m.Parts {
			if p.Kind == llm.PartThinking && p.SignatureProtocol != llm.ProtocolAnthropic {
				continue
			}
			parts = append(parts, p)
		}
		msgs[i].Parts = parts
	}
	return msgs
}

func TestErrors(t *testing.T) {
	body := EncodeError(&llm.Error{Status: 529, Type: llm.ErrOverloaded, Message: "Overloaded"})
	if want := `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`; string(body) != want {
		t.Errorf("EncodeError = %s, want %s", body, want)
	}
	if typ, msg := DecodeError(529, body); typ != "overloaded_error" || msg != "Overloaded" {
		t.Errorf("DecodeError(EncodeError) = %q, %q", typ, msg)
	}
	if typ, msg := DecodeError(502, []byte(" upstream connect error ")); typ != "" || msg != "upstream connect error" {
		t.Errorf("DecodeError(text) = %q, %q", typ, msg)
	}
	got := string(EncodeStreamError(nil, &llm.Error{Type: llm.ErrAPI, Message: "boom"}))
	if want := "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"boom\"}}\n\n"; got != want {
		t.Errorf("EncodeStreamError = %q, want %q", got, want)
	}
}

func TestEncodeRequestRejectsN(t *testing.T) {
	req := &llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{text("x")}}},
		Extra: map[string]json.RawMessage{"n": json.RawMessage("3")}, ExtraProtocol: llm.ProtocolOpenAI}
	_, _, err := EncodeRequest(req)
	var le *llm.Error
	if !errors.As(err, &le) || le.Status != 400 || !strings.Contains(le.Message, "n=3") {
		t.Errorf("EncodeRequest(n=3) = %v, want a 400 *llm.Error", err)
	}
}

func TestMaxTokensFor(t *testing.T) {
	tests := map[string]int{
		"claude-3-haiku-20240307": 4096, "claude-3-5-sonnet-latest": 8192, "claude-3-7-sonnet-20250219": 16384,
		"claude-sonnet-4-5": 16384, "claude-opus-4-1": 16384, "my-proxy-model": 4096,
	}
	for model, want := range tests {
		if got := maxTokensFor(model); got != want {
			t.Errorf("maxTokensFor(%q) = %d, want %d", model, got, want)
		}
	}
}

// TestEncodeRequestBlankText: Claude rejects text blocks that are empty or
// only whitespace ("text content blocks must contain non-whitespace
// text"), in a message and inside a tool result alike, so a converted
// history leaves them out; and with thinking on it takes only the default
// temperature, so a client's is dropped with a warning.
func TestEncodeRequestBlankText(t *testing.T) {
	temp := 0.2
	req := &llm.Request{Model: "claude-sonnet-4-5", MaxTokens: 4096, Temperature: &temp,
		Reasoning: &llm.Reasoning{BudgetTokens: 2048},
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "Run it"}}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{
				{Kind: llm.PartText, Text: " \n\t"},
				{Kind: llm.PartToolCall, ToolCallID: "toolu_1", ToolName: "sh", Arguments: json.RawMessage(`{}`)}}},
			{Role: llm.RoleTool, Parts: []llm.Part{{Kind: llm.PartToolResult, ToolCallID: "toolu_1",
				Content: []llm.Part{{Kind: llm.PartText, Text: "\n"}, {Kind: llm.PartText, Text: "ok"}, {Kind: llm.PartText, Text: "  "}}}}},
		}}
	body, warnings, err := EncodeRequest(req)
	if err != nil {
		t.Fatalf("EncodeRequest: %v", err)
	}
	var got struct {
		Temperature *float64 `json:"temperature"`
		Thinking    struct{ Type string }
		Messages    []struct {
			Content []struct {
				Type    string
				Text    *string
				Content []struct{ Type, Text string }
			}
		}
	}
	if err := json.Unmarshal(body, &got); err != nil || len(got.Messages) != 3 {
		t.Fatalf("body %s (%v), want three messages", body, err)
	}
	for i, m := range got.Messages {
		for _, c := range m.Content {
			if c.Text != nil && strings.TrimSpace(*c.Text) == "" {
				t.Errorf("message %d carries a blank text block %q", i, *c.Text)
			}
			for _, cc := range c.Content {
				if cc.Type == "text" && strings.TrimSpace(cc.Text) == "" {
					t.Errorf("message %d: a tool result carries a blank text block %q", i, cc.Text)
				}
			}
		}
	}
	if n := len(got.Messages[1].Content); n != 1 || got.Messages[1].Content[0].Type != "tool_use" {
		t.Errorf("assistant turn = %+v, want the tool_use alone", got.Messages[1].Content)
	}
	if r := got.Messages[2].Content; len(r) != 1 || len(r[0].Content) != 1 || r[0].Content[0].Text != "ok" {
		t.Errorf("tool result = %+v, want its one non-blank text", r)
	}
	// That history turns thinking off (its tool turn has no thinking
	// block to replay), so the temperature stays.
	if got.Temperature == nil || *got.Temperature != temp {
		t.Errorf("thinking off: temperature %v, want the client's %v; warnings %q", got.Temperature, temp, warnings)
	}

	req.Messages = req.Messages[:1]
	if body, warnings, err = EncodeRequest(req); err != nil {
		t.Fatalf("EncodeRequest: %v", err)
	}
	got.Temperature = nil
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	if got.Thinking.Type != "enabled" || got.Temperature != nil {
		t.Errorf("thinking %q, temperature %v: want thinking on and no temperature", got.Thinking.Type, got.Temperature)
	}
	if !strings.Contains(strings.Join(warnings, "\n"), "dropped temperature") {
		t.Errorf("warnings %q, want one for the dropped temperature", warnings)
	}
}

func TestReplaysForeignThinking(t *testing.T) {
	msgs := func(blocks string) string {
		return `{"model":"claude-sonnet-4-5","max_tokens":9,"messages":[{"role":"user","content":"go"},{"role":"assistant","content":[` + blocks + `]},{"role":"user","content":"more"}]}`
	}
	tests := []struct {
		name, body string
		want       bool
	}{
		{"no thinking", msgs(`{"type":"text","text":"hi"}`), false},
		{"Anthropic's own signature", msgs(`{"type":"thinking","thinking":"t","signature":"EqQBCkYIARgCKkBx/y+z=="}`), false},
		{"Anthropic's, spaced JSON", msgs(`{"type": "thinking", "thinking": "t", "signature": "EqQBCkYIARgC"}`), false},
		{"redacted thinking", msgs(`{"type":"redacted_thinking","data":"EmwKAhgBEgy3"}`), false},
		{"Gemini's, served by llmgw", msgs(`{"type":"thinking","thinking":"t","signature":"gemini:c2lnMQ=="}`), true},
		{"Gemini's, spaced JSON", msgs(`{"type": "thinking", "thinking": "t", "signature" : "gemini:c2lnMQ=="}`), true},
		{"OpenAI reasoning, no signature", msgs(`{"type":"thinking","thinking":"t","signature":""}`), true},
		{"second block foreign", msgs(`{"type":"thinking","thinking":"a","signature":"EqQB"},{"type":"thinking","thinking":"b","signature":"responses:abc"}`), true},
		{"a colon that names no protocol", msgs(`{"type":"tool_use","id":"t","name":"f","input":{"signature":"x:y"}}`), false},
		{"signature text inside a string", msgs(`{"type":"text","text":"the \"signature\":\"\" of it"}`), false},
	}
	for _, tt := range tests {
		if got := ReplaysForeignThinking([]byte(tt.body)); got != tt.want {
			t.Errorf("%s: ReplaysForeignThinking = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// BenchmarkReplaysForeignThinking scans a 128 KB agent history (this
// package's own source as tool output, with a thinking block per turn,
// all Claude's own): the cost every same-protocol Anthropic request pays.
func BenchmarkReplaysForeignThinking(b *testing.B) {
	src, err := os.ReadFile("encode.go")
	if err != nil {
		b.Fatal(err)
	}
	content, _ := json.Marshal(string(src[:4096]))
	var sb strings.Builder
	sb.WriteString(`{"model":"claude-sonnet-4-5","max_tokens":9,"messages":[`)
	for sb.Len() < 128<<10 {
		sb.WriteString(`{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":` + string(content) + `}]},`)
		sb.WriteString(`{"role":"assistant","content":[{"type":"thinking","thinking":"Plan.","signature":"EqQBCkYIARgCKkBxYzQ0NTY3ODkw"},{"type":"text","text":"Done."}]},`)
	}
	sb.WriteString(`{"role":"user","content":"go"}]}`)
	body := []byte(sb.String())
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if ReplaysForeignThinking(body) {
			b.Fatal("Claude's own thinking reported foreign")
		}
	}
}
