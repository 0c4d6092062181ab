package openai

import (
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/providers/internal/goldentest"
	"github.com/llmgw/llmgw/sse"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// The golden-file and fixture helpers are goldentest's, under the names
// this package's tests use.
func golden(t *testing.T, name string, got []byte) { goldentest.Golden(t, *update, name, got) }
func indentJSON(t *testing.T, v any) []byte        { return goldentest.IndentJSON(t, v) }
func fixture(t testing.TB, name string) []byte     { return goldentest.Fixture(t, name) }
func fixtures(t *testing.T, pattern string) []string {
	return goldentest.Fixtures(t, pattern)
}
func readEvents(t testing.TB, body []byte) []sse.Event { return goldentest.ReadEvents(t, body) }
func formatEvents(evs []llm.Event) []byte              { return goldentest.FormatEvents(evs) }

// decodeStream runs a whole SSE body through a StreamDecoder.
func decodeStream(t testing.TB, body []byte) []llm.Event {
	return goldentest.DecodeStream(t, NewStreamDecoder(), body)
}

func TestDecodeRequestGolden(t *testing.T) {
	for _, name := range fixtures(t, "*.request.json") {
		t.Run(name, func(t *testing.T) {
			req, err := DecodeRequest(fixture(t, name))
			if err != nil {
				t.Fatalf("DecodeRequest(%s) error: %v", name, err)
			}
			golden(t, "decode_request/"+strings.TrimSuffix(name, ".request.json")+".json", indentJSON(t, req))
		})
	}
}

func TestDecodeResponseGolden(t *testing.T) {
	for _, name := range fixtures(t, "*.response.200.json") {
		t.Run(name, func(t *testing.T) {
			resp, err := DecodeResponse(fixture(t, name))
			if err != nil {
				t.Fatalf("DecodeResponse(%s) error: %v", name, err)
			}
			golden(t, "decode_response/"+strings.TrimSuffix(name, ".response.200.json")+".json", indentJSON(t, resp))
		})
	}
}

func TestStreamDecoderGolden(t *testing.T) {
	for _, name := range fixtures(t, "*.sse") {
		t.Run(name, func(t *testing.T) {
			evs := decodeStream(t, fixture(t, name))
			golden(t, "decode_stream/"+strings.TrimSuffix(name, ".sse")+".txt", formatEvents(evs))
		})
	}
}

func ptr[T any](v T) *T { return &v }

// requestCases are neutral requests, as another protocol's decoder would
// produce them, to encode for an OpenAI upstream.
var requestCases = map[string]*llm.Request{
	"plain_text": {Model: "gpt-4o", Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "Hello"}}}}},
	"system_and_sampling": {
		Model:  "gpt-4o",
		System: []llm.Part{{Kind: llm.PartText, Text: "Be brief.", CacheControl: json.RawMessage(`{"type":"ephemeral"}`)}, {Kind: llm.PartText, Text: "Answer in French."}},
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "Hi"}}},
			{Role: llm.RoleSystem, Parts: []llm.Part{{Kind: llm.PartText, Text: "Now in German."}}},
			{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "Again"}}},
		},
		MaxTokens: 300, Temperature: ptr(0.2), TopP: ptr(0.9), TopK: ptr(40), Stop: []string{"END"},
		Seed: ptr(int64(7)), User: "user-1", Stream: true,
		Extra: map[string]json.RawMessage{"service_tier": json.RawMessage(`"auto"`)}, ExtraProtocol: llm.ProtocolAnthropic,
	},
	"tool_round_trip": {
		Model: "gpt-4o",
		Tools: []llm.Tool{
			{Name: "get_weather", Description: "Get weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)},
			{Name: "now"},
			{Name: "web_search", Raw: json.RawMessage(`{"type":"web_search_20250305","name":"web_search"}`), RawProtocol: llm.ProtocolAnthropic},
		},
		ToolChoice:        &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: "get_weather"},
		ParallelToolCalls: ptr(false),
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "Weather in Paris and Rome?"}}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{
				{Kind: llm.PartThinking, Text: "Two cities.", Signature: "sig", SignatureProtocol: llm.ProtocolAnthropic},
				{Kind: llm.PartText, Text: "Checking both."},
				{Kind: llm.PartToolCall, ToolCallID: "toolu_1", ToolName: "get_weather", Arguments: json.RawMessage(`{"city":"Paris"}`)},
				{Kind: llm.PartToolCall, ToolCallID: "toolu_2", ToolName: "get_weather", Arguments: json.RawMessage(`{"city":"Rome"}`)},
			}},
			{Role: llm.RoleUser, Parts: []llm.Part{
				{Kind: llm.PartToolResult, ToolCallID: "toolu_1", Content: []llm.Part{{Kind: llm.PartText, Text: "18C"}}},
				{Kind: llm.PartToolResult, ToolCallID: "toolu_2", IsError: true, Content: []llm.Part{{Kind: llm.PartText, Text: "timeout"}, {Kind: llm.PartImage, MediaType: "image/png", Data: "iVBORw0KGgo="}}},
				{Kind: llm.PartText, Text: "Thanks"},
			}},
		},
	},
	"images_and_documents": {
		Model: "gpt-4o",
		Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{
			{Kind: llm.PartText, Text: "Describe these."},
			{Kind: llm.PartImage, MediaType: "image/png", Data: "iVBORw0KGgo=", Detail: "low"},
			{Kind: llm.PartImage, URL: "https://example.com/cat.jpg"},
			{Kind: llm.PartDocument, MediaType: "application/pdf", Data: "JVBERi0=", Name: "a.pdf"},
			{Kind: llm.PartDocument, MediaType: "text/plain", Data: "aGVsbG8=", Name: "notes.txt"},
			{Kind: llm.PartAudio, MediaType: "audio/wav", Data: "UklGRg=="},
		}}},
	},
	"reasoning_budget": {
		Model:          "o3",
		Messages:       []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "Think."}}}},
		Reasoning:      &llm.Reasoning{BudgetTokens: 5000, IncludeThoughts: true},
		ResponseFormat: &llm.ResponseFormat{Type: "json_schema", Schema: json.RawMessage(`{"type":"object"}`), Strict: ptr(true)},
		Stream:         true,
	},
	"openai_extra_kept": {
		Model:         "gpt-4o",
		Messages:      []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "Hi"}}}},
		Reasoning:     &llm.Reasoning{Effort: "none", Disabled: true},
		Extra:         map[string]json.RawMessage{"logit_bias": json.RawMessage(`{"50256":-100}`), "n": json.RawMessage(`1`)},
		ExtraProtocol: llm.ProtocolOpenAI,
	},
}

func TestEncodeRequestGolden(t *testing.T) {
	for name, req := range requestCases {
		t.Run(name, func(t *testing.T) {
			body, warnings, err := EncodeRequest(req)
			if err != nil {
				t.Fatalf("EncodeRequest error: %v", err)
			}
			var v any
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatalf("EncodeRequest produced invalid JSON: %v", err)
			}
			got := indentJSON(t, map[string]any{"body": v, "warnings": warnings})
			golden(t, "encode_request/"+name+".json", got)
		})
	}
}

var responseCases = map[string]*llm.Response{
	"text": {ID: "msg_1", Model: "claude-sonnet-4", Created: 1700000000, StopReason: llm.StopEnd,
		Parts: []llm.Part{{Kind: llm.PartText, Text: "Hello, <world> & \"you\" ✓"}},
		Usage: llm.Usage{InputTokens: 10, OutputTokens: 5, CacheReadTokens: 100, CacheWriteTokens: 20}},
	"tool_calls_forced": {ID: "chatcmpl-2", Model: "gemini-2.5-flash", Created: 1700000000, StopReason: llm.StopEnd,
		Parts: []llm.Part{
			{Kind: llm.PartThinking, Text: "Need the tool.", Signature: "c2ln", SignatureProtocol: llm.ProtocolGemini},
			{Kind: llm.PartToolCall, ToolCallID: "call_a", ToolName: "get_weather", Arguments: json.RawMessage(`{"city":"Paris"}`)},
			{Kind: llm.PartToolCall, ToolCallID: "call_b", ToolName: "now"},
		},
		Usage: llm.Usage{InputTokens: 50, OutputTokens: 30, ReasoningTokens: 12}},
	"refusal": {ID: "x", Model: "claude", Created: 1700000000, StopReason: llm.StopRefusal,
		Parts: []llm.Part{{Kind: llm.PartRefusal, Text: "I can't help with that."}}},
	"length": {ID: "y", Model: "claude", Created: 1700000000, StopReason: llm.StopLength,
		Parts: []llm.Part{{Kind: llm.PartText, Text: "Once upon"}}, Usage: llm.Usage{InputTokens: 3, OutputTokens: 2}},
}

func TestEncodeResponseGolden(t *testing.T) {
	req := &llm.Request{Model: "client-model"}
	for name, resp := range responseCases {
		t.Run(name, func(t *testing.T) {
			body, err := EncodeResponse(resp, req)
			if err != nil {
				t.Fatalf("EncodeResponse error: %v", err)
			}
			var v any
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatalf("EncodeResponse produced invalid JSON: %v", err)
			}
			golden(t, "encode_response/"+name+".json", indentJSON(t, v))
		})
	}
}

// streamCases are neutral event sequences, as other protocols' decoders
// produce them.
var streamCases = map[string][]llm.Event{
	"text_usage_before_finish": {
		{Kind: llm.EventStart, ID: "msg_01", Model: "claude-sonnet-4", Usage: &llm.Usage{InputTokens: 20, CacheReadTokens: 5}},
		{Kind: llm.EventBlockStart, Index: 0, Block: llm.PartThinking},
		{Kind: llm.EventDelta, Index: 0, Text: "Hmm."},
		{Kind: llm.EventSignature, Index: 0, Text: "sig", SignatureProtocol: llm.ProtocolAnthropic},
		{Kind: llm.EventBlockStop, Index: 0},
		{Kind: llm.EventBlockStart, Index: 1, Block: llm.PartText},
		{Kind: llm.EventDelta, Index: 1, Text: "Hello "},
		{Kind: llm.EventDelta, Index: 1, Text: "wörld\n"},
		{Kind: llm.EventBlockStop, Index: 1},
		{Kind: llm.EventUsage, Usage: &llm.Usage{InputTokens: 20, CacheReadTokens: 5, OutputTokens: 9, ReasoningTokens: 3}},
		{Kind: llm.EventFinish, StopReason: llm.StopSequence, StopSequence: "END"},
	},
	"parallel_tools": {
		{Kind: llm.EventStart, ID: "resp1", Model: "gemini-2.5-flash"},
		{Kind: llm.EventBlockStart, Index: 0, Block: llm.PartToolCall, ToolCallID: "call_1", ToolName: "get_weather"},
		{Kind: llm.EventDelta, Index: 0, Text: `{"city":"Paris"}`},
		{Kind: llm.EventBlockStop, Index: 0},
		{Kind: llm.EventBlockStart, Index: 1, Block: llm.PartToolCall, ToolCallID: "call_2", ToolName: "get_weather"},
		{Kind: llm.EventDelta, Index: 1, Text: `{"city":`},
		{Kind: llm.EventDelta, Index: 1, Text: `"Rome"}`},
		{Kind: llm.EventBlockStop, Index: 1},
		{Kind: llm.EventFinish, StopReason: llm.StopEnd},
		{Kind: llm.EventUsage, Usage: &llm.Usage{InputTokens: 80, OutputTokens: 40}},
	},
	"refusal_length": {
		{Kind: llm.EventStart, ID: "r", Model: "m"},
		{Kind: llm.EventBlockStart, Index: 0, Block: llm.PartRefusal},
		{Kind: llm.EventDelta, Index: 0, Text: "No."},
		{Kind: llm.EventBlockStop, Index: 0},
		{Kind: llm.EventFinish, StopReason: llm.StopRefusal},
	},
	"error_mid_stream": {
		{Kind: llm.EventStart, ID: "e", Model: "m"},
		{Kind: llm.EventBlockStart, Index: 0, Block: llm.PartText},
		{Kind: llm.EventDelta, Index: 0, Text: "partial"},
		{Kind: llm.EventError, Err: &llm.Error{Status: 529, Type: llm.ErrOverloaded, Message: "Overloaded"}},
	},
}

func encodeStream(req *llm.Request, evs []llm.Event) []byte {
	e := NewStreamEncoder(req)
	e.Now = func() time.Time { return time.Unix(1700000000, 0) }
	var out []byte
	for _, ev := range evs {
		out = e.Encode(out, ev)
	}
	return e.Close(out)
}

func TestStreamEncoderGolden(t *testing.T) {
	for name, evs := range streamCases {
		for _, usage := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/include_usage=%v", name, usage), func(t *testing.T) {
				out := encodeStream(&llm.Request{Model: "client-model", IncludeUsage: usage}, evs)
				golden(t, fmt.Sprintf("encode_stream/%s_usage_%v.sse", name, usage), out)
			})
		}
	}
}
