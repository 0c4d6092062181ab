package responses

import (
	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/providers/internal/neutralcases"
)

// The neutral parts, tool and cases shared with the other converters'
// golden tests (providers/internal/neutralcases).
var (
	text            = neutralcases.Text
	call            = neutralcases.Call
	neutralRequests = neutralcases.Requests()

	// Responses alone: Anthropic's stop_reason "refusal" (fixture
	// anthropic_stream_thinking_refusal.sse), a safety classifier cutting
	// the answer, which carries no refusal text.
	neutralResponses = append(neutralcases.Responses(), neutralcases.ResponseCase{
		Name: "safety_refusal",
		Resp: &llm.Response{ID: "msg_primary", Model: "primary-model", Parts: []llm.Part{text("Hi")}, StopReason: llm.StopRefusal,
			Usage: llm.Usage{InputTokens: 28, OutputTokens: 106, ReasoningTokens: 67}},
	})
	neutralStreams = append(neutralcases.Streams(), neutralcases.StreamCase{
		Name: "safety_refusal",
		Events: []llm.Event{
			{Kind: llm.EventStart, ID: "msg_primary", Model: "primary-model", Usage: &llm.Usage{InputTokens: 28}},
			{Kind: llm.EventBlockStart, Index: 0, Block: llm.PartText},
			{Kind: llm.EventDelta, Index: 0, Text: "Hi"},
			{Kind: llm.EventBlockStop, Index: 0},
			{Kind: llm.EventUsage, Usage: &llm.Usage{InputTokens: 28, OutputTokens: 106, ReasoningTokens: 67}},
			{Kind: llm.EventFinish, StopReason: llm.StopRefusal},
		},
	})
)

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
