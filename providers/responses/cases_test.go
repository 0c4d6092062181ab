package responses

import (
	"encoding/json"

	"github.com/llmgw/llmgw/llm"
)

func ptr[T any](v T) *T { return &v }

func text(s string) llm.Part { return llm.Part{Kind: llm.PartText, Text: s} }

func call(id, name, args string) llm.Part {
	return llm.Part{Kind: llm.PartToolCall, ToolCallID: id, ToolName: name, Arguments: json.RawMessage(args)}
}

func result(id, s string) llm.Part {
	return llm.Part{Kind: llm.PartToolResult, ToolCallID: id, Content: []llm.Part{text(s)}}
}

var weatherTool = llm.Tool{
	Name:        "get_weather",
	Description: "Current weather",
	Parameters: json.RawMessage(`{"$schema":"http://json-schema.org/draft-07/schema#","type":"object",` +
		`"properties":{"city":{"type":"string","format":"uri-reference"},"unit":{"type":["string","null"],"enum":["c","f"]},` +
		`"days":{"type":"integer","exclusiveMinimum":0}},"required":["city","missing"],"additionalProperties":false}`),
}

// neutralRequests are llm requests as other protocols' decoders produce
// them, encoded here into Gemini wire.
var neutralRequests = []struct {
	name string
	req  *llm.Request
}{
	{"text", &llm.Request{Model: "gemini-2.5-flash", Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{text("Hello")}}}}},
	{"system", &llm.Request{
		Model:  "gemini-2.5-flash",
		System: []llm.Part{{Kind: llm.PartText, Text: "Be brief.", CacheControl: json.RawMessage(`{"type":"ephemeral"}`)}},
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{text("Hi")}},
			{Role: llm.RoleSystem, Parts: []llm.Part{text("Now in French.")}},
			{Role: llm.RoleUser, Parts: []llm.Part{text("Bonjour?")}},
		},
		Temperature: ptr(0.3), MaxTokens: 100, Stop: []string{"a", "b", "c", "d", "e", "f"},
	}},
	{"multi_turn_tool", &llm.Request{
		Model: "gemini-2.5-flash",
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{text("Weather in Paris?")}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{
				{Kind: llm.PartThinking, Text: "Use the tool.", Signature: "EqQBCkgIARAB", SignatureProtocol: llm.ProtocolAnthropic},
				text(""), call("toolu_01A", "get_weather", `{"city":"Paris"}`)}},
			{Role: llm.RoleUser, Parts: []llm.Part{result("toolu_01A", "18C and sunny")}},
			{Role: llm.RoleUser, Parts: []llm.Part{text("Thanks. And tomorrow?")}},
		},
		Tools:      []llm.Tool{weatherTool},
		ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: "get_weather"},
	}},
	{"parallel_tools", &llm.Request{
		Model: "gemini-3-pro-preview",
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{text("Paris and Tokyo?")}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{
				call("call_a", "get_weather", `{"city":"Paris"}`),
				call("call_b", "get_weather", `{"city":"Tokyo"`)}},
			{Role: llm.RoleTool, Parts: []llm.Part{result("call_b", `{"temp":25}`)}},
			{Role: llm.RoleTool, Parts: []llm.Part{{Kind: llm.PartToolResult, ToolCallID: "call_a", IsError: true, Content: []llm.Part{text("timeout")}}}},
		},
		Tools:             []llm.Tool{{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object","properties":{}}`)}},
		ParallelToolCalls: ptr(false),
		Reasoning:         &llm.Reasoning{Effort: "medium"},
	}},
	{"images", &llm.Request{
		Model: "gemini-2.5-flash",
		Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{
			text("Compare"),
			{Kind: llm.PartImage, MediaType: "image/jpeg", Data: "/9j/4AAQ"},
			{Kind: llm.PartImage, URL: "data:image/png;base64,iVBORw0KGgo="},
			{Kind: llm.PartImage, URL: "https://example.com/cat.webp", Detail: "high"},
			{Kind: llm.PartDocument, MediaType: "application/pdf", Data: "JVBERi0x", Name: "a.pdf"},
		}}},
	}},
	{"thinking_gemini_history", &llm.Request{
		Model: "gemini-2.5-pro",
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{text("Go")}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{
				{Kind: llm.PartThinking, Text: "thought", Signature: "c2lnMQ==", SignatureProtocol: llm.ProtocolGemini},
				{Kind: llm.PartToolCall, ToolCallID: "llmgw_call_r1_0", ToolName: "run", Arguments: json.RawMessage(`{}`), Signature: "c2lnMg==", SignatureProtocol: llm.ProtocolGemini},
				{Kind: llm.PartRedactedThinking, Data: "xyz", SignatureProtocol: llm.ProtocolAnthropic}}},
			{Role: llm.RoleUser, Parts: []llm.Part{result("llmgw_call_r1_0", "done")}},
		},
		Reasoning: &llm.Reasoning{Effort: "max", IncludeThoughts: true},
	}},
	{"structured_extras", &llm.Request{
		Model:          "gemini-2.5-flash",
		Messages:       []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{text("JSON please")}}},
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

var neutralResponses = []struct {
	name string
	resp *llm.Response
	req  *llm.Request
}{
	{"text", &llm.Response{ID: "msg_1", Model: "claude-sonnet-4", Parts: []llm.Part{text("Hello there")}, StopReason: llm.StopEnd,
		Usage: llm.Usage{InputTokens: 10, CacheReadTokens: 5, CacheWriteTokens: 2, OutputTokens: 7}}, nil},
	{"tool_calls", &llm.Response{ID: "msg_2", Model: "claude-sonnet-4", Parts: []llm.Part{
		{Kind: llm.PartThinking, Text: "hmm", Signature: "anthropic-sig", SignatureProtocol: llm.ProtocolAnthropic},
		text("Checking."), call("toolu_1", "get_weather", `{"city":"Paris"}`), call("toolu_2", "get_weather", `{"city":"Rome"}`)},
		StopReason: llm.StopEnd, Usage: llm.Usage{InputTokens: 100, OutputTokens: 50, ReasoningTokens: 20}},
		&llm.Request{Reasoning: &llm.Reasoning{IncludeThoughts: true}}},
	{"length", &llm.Response{ID: "chatcmpl-3", Model: "gpt-4o", Parts: []llm.Part{text("Once upon")}, StopReason: llm.StopLength,
		Usage: llm.Usage{InputTokens: 3, OutputTokens: 2}}, nil},
	{"refusal", &llm.Response{ID: "chatcmpl-4", Model: "gpt-4o", Parts: []llm.Part{{Kind: llm.PartRefusal, Text: "I can't help with that."}}, StopReason: llm.StopRefusal}, nil},
	{"empty", &llm.Response{ID: "x", Model: "m", StopReason: llm.StopContentFilter}, nil},
	// Anthropic's stop_reason "refusal" (fixture
	// anthropic_stream_thinking_refusal.sse): a safety classifier cut the
	// answer, which carries no refusal text.
	{"safety_refusal", &llm.Response{ID: "msg_primary", Model: "primary-model", Parts: []llm.Part{text("Hi")}, StopReason: llm.StopRefusal,
		Usage: llm.Usage{InputTokens: 28, OutputTokens: 106, ReasoningTokens: 67}}, nil},
}

// neutralStreams are event sequences as other protocols' decoders produce
// them.
var neutralStreams = []struct {
	name string
	req  *llm.Request
	evs  []llm.Event
}{
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
	{"safety_refusal", nil, []llm.Event{
		{Kind: llm.EventStart, ID: "msg_primary", Model: "primary-model", Usage: &llm.Usage{InputTokens: 28}},
		{Kind: llm.EventBlockStart, Index: 0, Block: llm.PartText},
		{Kind: llm.EventDelta, Index: 0, Text: "Hi"},
		{Kind: llm.EventBlockStop, Index: 0},
		{Kind: llm.EventUsage, Usage: &llm.Usage{InputTokens: 28, OutputTokens: 106, ReasoningTokens: 67}},
		{Kind: llm.EventFinish, StopReason: llm.StopRefusal},
	}},
	{"error_midstream", nil, []llm.Event{
		{Kind: llm.EventStart, ID: "r", Model: "m"},
		{Kind: llm.EventBlockStart, Index: 0, Block: llm.PartText},
		{Kind: llm.EventDelta, Index: 0, Text: "partial"},
		{Kind: llm.EventError, Err: &llm.Error{Status: 529, Type: llm.ErrOverloaded, Message: "Overloaded"}},
	}},
}

// codexStream answers a Codex request whose apply_patch tool is custom.
var codexStream = []llm.Event{
	{Kind: llm.EventStart, ID: "msg_codex", Model: "claude-sonnet-4"},
	{Kind: llm.EventBlockStart, Index: 0, Block: llm.PartText},
	{Kind: llm.EventDelta, Index: 0, Text: "Patching."},
	{Kind: llm.EventBlockStop, Index: 0},
	{Kind: llm.EventBlockStart, Index: 1, Block: llm.PartToolCall, ToolCallID: "toolu_9", ToolName: "apply_patch"},
	{Kind: llm.EventDelta, Index: 1, Text: `{"input":"*** Begin`},
	{Kind: llm.EventDelta, Index: 1, Text: ` Patch\n*** End Patch"}`},
	{Kind: llm.EventBlockStop, Index: 1},
	{Kind: llm.EventUsage, Usage: &llm.Usage{InputTokens: 10, OutputTokens: 5}},
	{Kind: llm.EventFinish, StopReason: llm.StopToolUse},
}

var codexRequest = &llm.Request{Model: "gpt-5-codex", Tools: []llm.Tool{{Name: "apply_patch", FreeForm: true}}}
