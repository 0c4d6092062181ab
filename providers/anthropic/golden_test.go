package anthropic

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/llmgw/llmgw/llm"
)

func TestDecodeRequestGolden(t *testing.T) {
	for _, name := range fixtures(t, "*_request.json") {
		t.Run(name, func(t *testing.T) {
			req, err := DecodeRequest(fixture(t, name))
			if err != nil {
				t.Fatalf("DecodeRequest(%s) error: %v", name, err)
			}
			golden(t, "decode_request/"+strings.TrimSuffix(name, "_request.json")+".json", indentJSON(t, req))
		})
	}
}

func TestDecodeResponseGolden(t *testing.T) {
	for _, name := range fixtures(t, "*_response.json") {
		t.Run(name, func(t *testing.T) {
			resp, err := DecodeResponse(fixture(t, name))
			if err != nil {
				t.Fatalf("DecodeResponse(%s) error: %v", name, err)
			}
			golden(t, "decode_response/"+strings.TrimSuffix(name, "_response.json")+".json", indentJSON(t, resp))
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

func text(s string) llm.Part { return llm.Part{Kind: llm.PartText, Text: s} }

// requestCases are neutral requests, as another protocol's decoder would
// produce them, to encode for an Anthropic upstream.
var requestCases = map[string]*llm.Request{
	"plain_text": {Model: "claude-sonnet-4", Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{text("Hello")}}}},
	"system_and_sampling": {
		Model:  "claude-sonnet-4",
		System: []llm.Part{text("Be brief."), text("Answer in French.")},
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{text("Hi")}},
			{Role: llm.RoleSystem, Parts: []llm.Part{text("Now in German.")}},
			{Role: llm.RoleUser, Parts: []llm.Part{text("Again")}},
		},
		MaxTokens: 300, Temperature: ptr(1.5), TopP: ptr(0.9), Stop: []string{"END"},
		Seed: ptr(int64(7)), User: "user-1", Stream: true,
		ResponseFormat: &llm.ResponseFormat{Type: "json_object"},
		Extra:          map[string]json.RawMessage{"logprobs": json.RawMessage(`true`)}, ExtraProtocol: llm.ProtocolOpenAI,
	},
	// An OpenAI-shaped history: empty assistant content, tool messages,
	// ids Anthropic rejects, an orphan result and an unanswered call.
	"openai_tool_history": {
		Model: "claude-sonnet-4",
		Tools: []llm.Tool{
			{Name: "get_weather", Description: "Get weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)},
			{Name: "now"},
			{Name: "web_search_preview", Raw: json.RawMessage(`{"type":"web_search_preview"}`), RawProtocol: llm.ProtocolResponses},
		},
		ToolChoice:        &llm.ToolChoice{Mode: llm.ToolChoiceRequired},
		ParallelToolCalls: ptr(false),
		Messages: []llm.Message{
			{Role: llm.RoleAssistant, Parts: []llm.Part{text("Hi, how can I help?")}},
			{Role: llm.RoleUser, Parts: []llm.Part{text("Weather in Paris, Rome and Oslo?")}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{
				{Kind: llm.PartThinking, Text: "Three cities."},
				text(""),
				{Kind: llm.PartToolCall, ToolCallID: "functions.get_weather:0", ToolName: "get_weather", Arguments: json.RawMessage(`{"city":"Paris"}`)},
				{Kind: llm.PartToolCall, ToolCallID: "call_2", ToolName: "get_weather", Arguments: json.RawMessage(`{"city":"Ro`)},
				{Kind: llm.PartToolCall, ToolCallID: "call_3", ToolName: "get_weather", Arguments: json.RawMessage(`{"city":"Oslo"}`)},
			}},
			{Role: llm.RoleTool, Parts: []llm.Part{{Kind: llm.PartToolResult, ToolCallID: "functions.get_weather:0", Content: []llm.Part{text("18C")}}}},
			{Role: llm.RoleTool, Parts: []llm.Part{{Kind: llm.PartToolResult, ToolCallID: "call_2", IsError: true, Content: []llm.Part{text("bad arguments")}}}},
			{Role: llm.RoleTool, Parts: []llm.Part{{Kind: llm.PartToolResult, ToolCallID: "call_99", ToolName: "get_weather", Content: []llm.Part{text("stale")}}}},
			{Role: llm.RoleUser, Parts: []llm.Part{text("And tomorrow?")}},
		},
	},
	"images_and_documents": {
		Model: "claude-sonnet-4",
		Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{
			text("Describe these."),
			{Kind: llm.PartImage, MediaType: "image/png", Data: "iVBORw0KGgo=", Detail: "low"},
			{Kind: llm.PartImage, URL: "https://example.com/cat.jpg"},
			{Kind: llm.PartDocument, MediaType: "application/pdf", Data: "JVBERi0=", Name: "a.pdf"},
			{Kind: llm.PartDocument, MediaType: "text/plain", Data: "aGVsbG8="},
		}}},
	},
	"thinking_effort": {
		Model:          "claude-opus-4",
		Messages:       []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{text("Think hard.")}}},
		Reasoning:      &llm.Reasoning{Effort: "high"},
		TopK:           ptr(5),
		Tools:          []llm.Tool{{Name: "f"}},
		ToolChoice:     &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: "f"},
		ResponseFormat: &llm.ResponseFormat{Type: "json_schema", Schema: json.RawMessage(`{"type":"object"}`)},
	},
	"thinking_budget_over_max": {
		Model:     "claude-sonnet-4",
		Messages:  []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{text("Think.")}}},
		MaxTokens: 3000,
		Reasoning: &llm.Reasoning{BudgetTokens: 8000},
	},
	"thinking_foreign_history": {
		Model: "claude-sonnet-4",
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{text("Go")}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{
				{Kind: llm.PartThinking, Text: "gemini thought", Signature: "c2ln", SignatureProtocol: llm.ProtocolGemini},
				{Kind: llm.PartToolCall, ToolCallID: "c1", ToolName: "f", Arguments: json.RawMessage(`{}`)},
			}},
			{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartToolResult, ToolCallID: "c1", Content: []llm.Part{text("done")}}}},
		},
		Reasoning: &llm.Reasoning{BudgetTokens: 2048},
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
			golden(t, "encode_request/"+name+".json", indentJSON(t, map[string]any{"body": v, "warnings": warnings}))
		})
	}
}

var responseCases = map[string]*llm.Response{
	"text_cache_usage": {ID: "chatcmpl-1", Model: "gpt-4o", StopReason: llm.StopEnd,
		Parts: []llm.Part{text("Hello, <world> & \"you\" ✓")},
		Usage: llm.Usage{InputTokens: 10, OutputTokens: 5, CacheReadTokens: 100, CacheWriteTokens: 20, CacheWrite5mTokens: 20}},
	"tool_calls_forced": {ID: "resp-2", Model: "gemini-2.5-flash", StopReason: llm.StopEnd,
		Parts: []llm.Part{
			{Kind: llm.PartThinking, Text: "Need the tool.", Signature: "c2ln", SignatureProtocol: llm.ProtocolGemini},
			text("Checking."),
			{Kind: llm.PartToolCall, ToolCallID: "functions.get_weather:0", ToolName: "get_weather", Arguments: json.RawMessage(`{"city":"Paris"}`)},
			{Kind: llm.PartToolCall, ToolCallID: "call_b", ToolName: "now", Arguments: json.RawMessage(`{"trunc`)},
		},
		Usage: llm.Usage{InputTokens: 50, OutputTokens: 30, ReasoningTokens: 12}},
	"refusal": {ID: "x", Model: "gpt-4o", StopReason: llm.StopContentFilter,
		Parts: []llm.Part{{Kind: llm.PartRefusal, Text: "I can't help with that."}}},
	"length": {ID: "y", Model: "gpt-4o", StopReason: llm.StopLength,
		Parts: []llm.Part{text("Once upon")}, Usage: llm.Usage{InputTokens: 3, OutputTokens: 2}},
	"stop_sequence": {ID: "msg_z", Model: "claude", StopReason: llm.StopSequence, StopSequence: "END",
		Parts: []llm.Part{text("Done")}},
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
	// As the OpenAI decoder emits: usage after finish, since OpenAI
	// sends the usage chunk after the finish_reason chunk.
	"openai_usage_after_finish": {
		{Kind: llm.EventStart, ID: "chatcmpl-1", Model: "gpt-4o"},
		{Kind: llm.EventBlockStart, Index: 0, Block: llm.PartThinking},
		{Kind: llm.EventDelta, Index: 0, Text: "Hmm."},
		{Kind: llm.EventBlockStop, Index: 0},
		{Kind: llm.EventBlockStart, Index: 1, Block: llm.PartText},
		{Kind: llm.EventDelta, Index: 1, Text: "Hello "},
		{Kind: llm.EventDelta, Index: 1, Text: "wörld\n"},
		{Kind: llm.EventBlockStop, Index: 1},
		{Kind: llm.EventFinish, StopReason: llm.StopLength},
		{Kind: llm.EventUsage, Usage: &llm.Usage{InputTokens: 20, CacheReadTokens: 5, OutputTokens: 9, ReasoningTokens: 3}},
	},
	// As the Gemini decoder emits: whole arguments, a foreign signature,
	// usage before finish, finish STOP with tool calls.
	"gemini_tools": {
		{Kind: llm.EventStart, ID: "resp1", Model: "gemini-2.5-flash", Usage: &llm.Usage{InputTokens: 80}},
		{Kind: llm.EventBlockStart, Index: 0, Block: llm.PartThinking},
		{Kind: llm.EventDelta, Index: 0, Text: "Two calls."},
		{Kind: llm.EventSignature, Index: 0, Text: "c2ln", SignatureProtocol: llm.ProtocolGemini},
		{Kind: llm.EventBlockStop, Index: 0},
		{Kind: llm.EventBlockStart, Index: 1, Block: llm.PartToolCall, ToolCallID: "call:1", ToolName: "get_weather"},
		{Kind: llm.EventDelta, Index: 1, Text: `{"city":"Paris"}`},
		{Kind: llm.EventBlockStop, Index: 1},
		{Kind: llm.EventBlockStart, Index: 2, Block: llm.PartToolCall, ToolCallID: "call_2", ToolName: "get_weather"},
		{Kind: llm.EventDelta, Index: 2, Text: `{"city":"Rome"}`},
		{Kind: llm.EventBlockStop, Index: 2},
		{Kind: llm.EventUsage, Usage: &llm.Usage{InputTokens: 80, OutputTokens: 40}},
		{Kind: llm.EventFinish, StopReason: llm.StopEnd},
	},
	"refusal": {
		{Kind: llm.EventStart, ID: "r", Model: "m"},
		{Kind: llm.EventBlockStart, Index: 0, Block: llm.PartRefusal},
		{Kind: llm.EventDelta, Index: 0, Text: "No."},
		{Kind: llm.EventBlockStop, Index: 0},
		{Kind: llm.EventFinish, StopReason: llm.StopRefusal},
	},
	"empty": {
		{Kind: llm.EventStart, ID: "msg_e", Model: "m"},
		{Kind: llm.EventFinish, StopReason: llm.StopEnd},
	},
	"error_mid_stream": {
		{Kind: llm.EventStart, ID: "e", Model: "m"},
		{Kind: llm.EventBlockStart, Index: 0, Block: llm.PartText},
		{Kind: llm.EventDelta, Index: 0, Text: "partial"},
		{Kind: llm.EventError, Err: &llm.Error{Status: 429, Type: llm.ErrRateLimit, Message: "Rate limited"}},
	},
}

func TestStreamEncoderGolden(t *testing.T) {
	for name, evs := range streamCases {
		t.Run(name, func(t *testing.T) {
			golden(t, "encode_stream/"+name+".sse", encodeStream(&llm.Request{Model: "client-model"}, evs))
		})
	}
}
