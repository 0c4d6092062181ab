// Package neutralcases holds the neutral (llm) requests, responses and
// event streams that several converters' golden tests encode: the same
// inputs, so that their goldens can be compared across protocols. It is
// test support; converters never import it.
package neutralcases

import (
	"encoding/json"

	"github.com/llmgw/llmgw/llm"
)

// RequestCase is a named request.
type RequestCase struct {
	Name string
	Req  *llm.Request
}

// ResponseCase is a named response and, when its encoding depends on it,
// the client's request.
type ResponseCase struct {
	Name string
	Resp *llm.Response
	Req  *llm.Request
}

// StreamCase is a named event sequence and, when its encoding depends on
// it, the client's request.
type StreamCase struct {
	Name   string
	Req    *llm.Request
	Events []llm.Event
}

func ptr[T any](v T) *T { return &v }

// Text is a text part.
func Text(s string) llm.Part { return llm.Part{Kind: llm.PartText, Text: s} }

// Call is a tool call part.
func Call(id, name, args string) llm.Part {
	return llm.Part{Kind: llm.PartToolCall, ToolCallID: id, ToolName: name, Arguments: json.RawMessage(args)}
}

// Result is a tool result part with a text content.
func Result(id, s string) llm.Part {
	return llm.Part{Kind: llm.PartToolResult, ToolCallID: id, Content: []llm.Part{Text(s)}}
}

// WeatherTool is a function tool whose JSON schema uses keywords some
// targets reject ($schema, format, exclusiveMinimum, type lists).
func WeatherTool() llm.Tool {
	return llm.Tool{
		Name:        "get_weather",
		Description: "Current weather",
		Parameters: json.RawMessage(`{"$schema":"http://json-schema.org/draft-07/schema#","type":"object",` +
			`"properties":{"city":{"type":"string","format":"uri-reference"},"unit":{"type":["string","null"],"enum":["c","f"]},` +
			`"days":{"type":"integer","exclusiveMinimum":0}},"required":["city","missing"],"additionalProperties":false}`),
	}
}

// Requests are llm requests as other protocols' decoders produce them, for
// a converter's request encoder.
func Requests() []RequestCase {
	return []RequestCase{
		{"text", &llm.Request{Model: "gemini-2.5-flash", Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{Text("Hello")}}}}},
		{"system", &llm.Request{
			Model:  "gemini-2.5-flash",
			System: []llm.Part{{Kind: llm.PartText, Text: "Be brief.", CacheControl: json.RawMessage(`{"type":"ephemeral"}`)}},
			Messages: []llm.Message{
				{Role: llm.RoleUser, Parts: []llm.Part{Text("Hi")}},
				{Role: llm.RoleSystem, Parts: []llm.Part{Text("Now in French.")}},
				{Role: llm.RoleUser, Parts: []llm.Part{Text("Bonjour?")}},
			},
			Temperature: ptr(0.3), MaxTokens: 100, Stop: []string{"a", "b", "c", "d", "e", "f"},
		}},
		{"multi_turn_tool", &llm.Request{
			Model: "gemini-2.5-flash",
			Messages: []llm.Message{
				{Role: llm.RoleUser, Parts: []llm.Part{Text("Weather in Paris?")}},
				{Role: llm.RoleAssistant, Parts: []llm.Part{
					{Kind: llm.PartThinking, Text: "Use the tool.", Signature: "EqQBCkgIARAB", SignatureProtocol: llm.ProtocolAnthropic},
					Text(""), Call("toolu_01A", "get_weather", `{"city":"Paris"}`)}},
				{Role: llm.RoleUser, Parts: []llm.Part{Result("toolu_01A", "18C and sunny")}},
				{Role: llm.RoleUser, Parts: []llm.Part{Text("Thanks. And tomorrow?")}},
			},
			Tools:      []llm.Tool{WeatherTool()},
			ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: "get_weather"},
		}},
		{"parallel_tools", &llm.Request{
			Model: "gemini-3-pro-preview",
			Messages: []llm.Message{
				{Role: llm.RoleUser, Parts: []llm.Part{Text("Paris and Tokyo?")}},
				{Role: llm.RoleAssistant, Parts: []llm.Part{
					Call("call_a", "get_weather", `{"city":"Paris"}`),
					Call("call_b", "get_weather", `{"city":"Tokyo"`)}},
				{Role: llm.RoleTool, Parts: []llm.Part{Result("call_b", `{"temp":25}`)}},
				{Role: llm.RoleTool, Parts: []llm.Part{{Kind: llm.PartToolResult, ToolCallID: "call_a", IsError: true, Content: []llm.Part{Text("timeout")}}}},
			},
			Tools:             []llm.Tool{{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object","properties":{}}`)}},
			ParallelToolCalls: ptr(false),
			Reasoning:         &llm.Reasoning{Effort: "medium"},
		}},
		{"images", &llm.Request{
			Model: "gemini-2.5-flash",
			Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{
				Text("Compare"),
				{Kind: llm.PartImage, MediaType: "image/jpeg", Data: "/9j/4AAQ"},
				{Kind: llm.PartImage, URL: "data:image/png;base64,iVBORw0KGgo="},
				{Kind: llm.PartImage, URL: "https://example.com/cat.webp", Detail: "high"},
				{Kind: llm.PartDocument, MediaType: "application/pdf", Data: "JVBERi0x", Name: "a.pdf"},
			}}},
		}},
		{"thinking_gemini_history", &llm.Request{
			Model: "gemini-2.5-pro",
			Messages: []llm.Message{
				{Role: llm.RoleUser, Parts: []llm.Part{Text("Go")}},
				{Role: llm.RoleAssistant, Parts: []llm.Part{
					{Kind: llm.PartThinking, Text: "thought", Signature: "c2lnMQ==", SignatureProtocol: llm.ProtocolGemini},
					{Kind: llm.PartToolCall, ToolCallID: "llmgw_call_r1_0", ToolName: "run", Arguments: json.RawMessage(`{}`), Signature: "c2lnMg==", SignatureProtocol: llm.ProtocolGemini},
					{Kind: llm.PartRedactedThinking, Data: "xyz", SignatureProtocol: llm.ProtocolAnthropic}}},
				{Role: llm.RoleUser, Parts: []llm.Part{Result("llmgw_call_r1_0", "done")}},
			},
			Reasoning: &llm.Reasoning{Effort: "max", IncludeThoughts: true},
		}},
		{"structured_extras", &llm.Request{
			Model:          "gemini-2.5-flash",
			Messages:       []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{Text("JSON please")}}},
			ResponseFormat: &llm.ResponseFormat{Type: "json_schema", Name: "out", Schema: json.RawMessage(`{"$schema":"x","type":"object","properties":{"a":{"$ref":"#/$defs/A"}},"$defs":{"A":{"type":"string"}}}`)},
			Reasoning:      &llm.Reasoning{Disabled: true},
			TopK:           ptr(5),
			Seed:           ptr(int64(7)),
			Extra: map[string]json.RawMessage{
				"presence_penalty": json.RawMessage(`0.5`), "service_tier": json.RawMessage(`"flex"`),
				"logit_bias": json.RawMessage(`{}`), "store": json.RawMessage(`false`),
			},
			ExtraProtocol: llm.ProtocolOpenAI,
			Tools: []llm.Tool{
				{Name: "web_search", Raw: json.RawMessage(`{"type":"web_search_20250305","name":"web_search"}`), RawProtocol: llm.ProtocolAnthropic},
				{Name: "apply_patch", FreeForm: true, Parameters: json.RawMessage(`{"type":"object","properties":{"input":{"type":"string"}},"required":["input"]}`), Raw: json.RawMessage(`{"type":"custom","name":"apply_patch"}`), RawProtocol: llm.ProtocolResponses},
			},
		}},
	}
}

// Responses are llm responses as other protocols' decoders produce them,
// with the client request when the encoding depends on it.
func Responses() []ResponseCase {
	return []ResponseCase{
		{"text", &llm.Response{ID: "msg_1", Model: "claude-sonnet-4", Parts: []llm.Part{Text("Hello there")}, StopReason: llm.StopEnd,
			Usage: llm.Usage{InputTokens: 10, CacheReadTokens: 5, CacheWriteTokens: 2, OutputTokens: 7}}, nil},
		{"tool_calls", &llm.Response{ID: "msg_2", Model: "claude-sonnet-4", Parts: []llm.Part{
			{Kind: llm.PartThinking, Text: "hmm", Signature: "anthropic-sig", SignatureProtocol: llm.ProtocolAnthropic},
			Text("Checking."), Call("toolu_1", "get_weather", `{"city":"Paris"}`), Call("toolu_2", "get_weather", `{"city":"Rome"}`)},
			StopReason: llm.StopEnd, Usage: llm.Usage{InputTokens: 100, OutputTokens: 50, ReasoningTokens: 20}},
			&llm.Request{Reasoning: &llm.Reasoning{IncludeThoughts: true}}},
		{"length", &llm.Response{ID: "chatcmpl-3", Model: "gpt-4o", Parts: []llm.Part{Text("Once upon")}, StopReason: llm.StopLength,
			Usage: llm.Usage{InputTokens: 3, OutputTokens: 2}}, nil},
		{"refusal", &llm.Response{ID: "chatcmpl-4", Model: "gpt-4o", Parts: []llm.Part{{Kind: llm.PartRefusal, Text: "I can't help with that."}}, StopReason: llm.StopRefusal}, nil},
		{"empty", &llm.Response{ID: "x", Model: "m", StopReason: llm.StopContentFilter}, nil},
	}
}

// Streams are event sequences as other protocols' decoders produce them.
func Streams() []StreamCase {
	return []StreamCase{
		{"text_usage_after_finish", nil, []llm.Event{
			{Kind: llm.EventStart, ID: "chatcmpl-1", Model: "gpt-4o"},
			{Kind: llm.EventBlockStart, Index: 0, Block: llm.PartText},
			{Kind: llm.EventDelta, Index: 0, Text: "Hello, "},
			{Kind: llm.EventDelta, Index: 0, Text: "世界"},
			{Kind: llm.EventBlockStop, Index: 0},
			{Kind: llm.EventFinish, StopReason: llm.StopEnd},
			{Kind: llm.EventUsage, Usage: &llm.Usage{InputTokens: 8, CacheReadTokens: 4, OutputTokens: 3}},
		}},
		{"thinking_tools", &llm.Request{Reasoning: &llm.Reasoning{IncludeThoughts: true}}, []llm.Event{
			{Kind: llm.EventStart, ID: "msg_1", Model: "claude-sonnet-4", Usage: &llm.Usage{InputTokens: 20}},
			{Kind: llm.EventBlockStart, Index: 0, Block: llm.PartThinking},
			{Kind: llm.EventDelta, Index: 0, Text: "Let me think"},
			{Kind: llm.EventSignature, Index: 0, Text: "sig", SignatureProtocol: llm.ProtocolAnthropic},
			{Kind: llm.EventBlockStop, Index: 0},
			{Kind: llm.EventBlockStart, Index: 1, Block: llm.PartToolCall, ToolCallID: "toolu_1", ToolName: "get_weather"},
			{Kind: llm.EventDelta, Index: 1, Text: ""},
			{Kind: llm.EventDelta, Index: 1, Text: `{"city": "Pa`},
			{Kind: llm.EventDelta, Index: 1, Text: `ris"}`},
			{Kind: llm.EventBlockStop, Index: 1},
			{Kind: llm.EventBlockStart, Index: 2, Block: llm.PartToolCall, ToolCallID: "toolu_2", ToolName: "get_time"},
			{Kind: llm.EventBlockStop, Index: 2},
			{Kind: llm.EventUsage, Usage: &llm.Usage{InputTokens: 20, OutputTokens: 30, ReasoningTokens: 10}},
			{Kind: llm.EventFinish, StopReason: llm.StopToolUse},
		}},
		{"length", nil, []llm.Event{
			{Kind: llm.EventStart, ID: "r", Model: "m"},
			{Kind: llm.EventBlockStart, Index: 0, Block: llm.PartText},
			{Kind: llm.EventDelta, Index: 0, Text: "cut"},
			{Kind: llm.EventBlockStop, Index: 0},
			{Kind: llm.EventFinish, StopReason: llm.StopLength},
		}},
		{"refusal", nil, []llm.Event{
			{Kind: llm.EventStart, ID: "r", Model: "m"},
			{Kind: llm.EventBlockStart, Index: 0, Block: llm.PartRefusal},
			{Kind: llm.EventDelta, Index: 0, Text: "No."},
			{Kind: llm.EventBlockStop, Index: 0},
			{Kind: llm.EventFinish, StopReason: llm.StopRefusal},
		}},
		{"error_midstream", nil, []llm.Event{
			{Kind: llm.EventStart, ID: "r", Model: "m"},
			{Kind: llm.EventBlockStart, Index: 0, Block: llm.PartText},
			{Kind: llm.EventDelta, Index: 0, Text: "partial"},
			{Kind: llm.EventError, Err: &llm.Error{Status: 529, Type: llm.ErrOverloaded, Message: "Overloaded"}},
		}},
	}
}
