package tracing_test

import (
	"encoding/json"
	"testing"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/tracing"
)

func TestContentEnabled(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == tracing.ContentEnvVar {
				return v
			}
			return ""
		}
	}
	tests := []struct {
		flag, env string
		want      bool
		wantErr   bool
	}{
		{"", "", false, false},
		{"", "true", true, false},
		{"", "TRUE", true, false},
		{"", "yes", false, false}, // not a boolean: off
		{"false", "true", false, false},
		{"true", "", true, false},
		{"maybe", "", false, true},
	}
	for _, tt := range tests {
		got, err := tracing.ContentEnabled(tt.flag, env(tt.env))
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ContentEnabled(%q, env %q) = %v, %v, want %v (error %v)", tt.flag, tt.env, got, err, tt.want, tt.wantErr)
		}
	}
	if got, err := tracing.ContentEnabled("", nil); got || err != nil {
		t.Errorf("ContentEnabled with no environment = %v, %v", got, err)
	}
}

func TestRequestContent(t *testing.T) {
	req := &llm.Request{
		System: []llm.Part{{Kind: llm.PartText, Text: "Be brief."}, {Kind: llm.PartText, Text: "Answer in French."}},
		Messages: []llm.Message{
			{Role: llm.RoleUser, Name: "ann", Parts: []llm.Part{
				{Kind: llm.PartText, Text: "Look:"},
				{Kind: llm.PartImage, MediaType: "image/png", Data: "iVBORw0KGgo="},
				{Kind: llm.PartImage, URL: "data:image/jpeg;base64,/9j/4AAQ"},
				{Kind: llm.PartDocument, URL: "https://example.com/a.pdf", MediaType: "application/pdf"},
				{Kind: llm.PartAudio, MediaType: "wav", Data: "UklGRg=="},
			}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{
				{Kind: llm.PartThinking, Text: "They want a look.", Signature: "sig"},
				{Kind: llm.PartRedactedThinking, Data: "opaque"},
				{Kind: llm.PartToolCall, ToolCallID: "t1", ToolName: "look", Arguments: json.RawMessage(`{"x":1}`)},
				{Kind: llm.PartToolCall, ToolCallID: "t2", ToolName: "cut", Arguments: json.RawMessage(`{"x":`)},
			}},
			// Anthropic's tool results travel in a user message: the
			// conventions' role for them is tool.
			{Role: llm.RoleUser, Parts: []llm.Part{
				{Kind: llm.PartToolResult, ToolCallID: "t1", Content: []llm.Part{{Kind: llm.PartText, Text: "a "}, {Kind: llm.PartText, Text: "cat"}}},
				{Kind: llm.PartToolResult, ToolCallID: "t2", IsError: true, Content: []llm.Part{{Kind: llm.PartImage, URL: "https://example.com/c.png"}}},
			}},
		},
	}
	system, messages := tracing.RequestContent(req)
	if want := `[{"type":"text","content":"Be brief."},{"type":"text","content":"Answer in French."}]`; system != want {
		t.Errorf("system =\n%s\nwant\n%s", system, want)
	}
	want := `[{"role":"user","name":"ann","parts":[{"type":"text","content":"Look:"},` +
		`{"type":"blob","content":"iVBORw0KGgo=","mime_type":"image/png","modality":"image"},` +
		`{"type":"blob","content":"/9j/4AAQ","mime_type":"image/jpeg","modality":"image"},` +
		`{"type":"uri","mime_type":"application/pdf","modality":"document","uri":"https://example.com/a.pdf"},` +
		`{"type":"blob","content":"UklGRg==","mime_type":"audio/wav","modality":"audio"}]},` +
		`{"role":"assistant","parts":[{"type":"reasoning","content":"They want a look."},` +
		`{"type":"tool_call","id":"t1","name":"look","arguments":{"x":1}},` +
		`{"type":"tool_call","id":"t2","name":"cut","arguments":"{\"x\":"}]},` +
		`{"role":"tool","parts":[{"type":"tool_call_response","id":"t1","response":"a cat"},` +
		`{"type":"tool_call_response","id":"t2","response":[{"type":"uri","modality":"image","uri":"https://example.com/c.png"}]}]}]`
	if messages != want {
		t.Errorf("messages =\n%s\nwant\n%s", messages, want)
	}
	if system, _ := tracing.RequestContent(&llm.Request{}); system != "" {
		t.Errorf("system of a request without instructions = %q, want none", system)
	}
}

func TestOutput(t *testing.T) {
	var none *tracing.Output
	if got := none.JSON(); got != "" {
		t.Errorf("nil Output JSON = %q", got)
	}
	if got := (&tracing.Output{}).JSON(); got != "" {
		t.Errorf("empty Output JSON = %q, want none", got)
	}

	// A stream: thinking, text and a tool call whose arguments come in
	// fragments.
	var o tracing.Output
	o.Events([]llm.Event{
		{Kind: llm.EventStart, ID: "m1"},
		{Kind: llm.EventBlockStart, Index: 0, Block: llm.PartThinking},
		{Kind: llm.EventDelta, Index: 0, Text: "Hmm, "},
		{Kind: llm.EventDelta, Index: 0, Text: "weather."},
		{Kind: llm.EventBlockStop, Index: 0},
		{Kind: llm.EventBlockStart, Index: 1, Block: llm.PartText},
		{Kind: llm.EventDelta, Index: 1, Text: "Let me check."},
	})
	o.Events([]llm.Event{
		{Kind: llm.EventBlockStop, Index: 1},
		{Kind: llm.EventBlockStart, Index: 2, Block: llm.PartToolCall, ToolCallID: "c1", ToolName: "weather"},
		{Kind: llm.EventDelta, Index: 2, Text: `{"city":`},
		{Kind: llm.EventDelta, Index: 2, Text: `"Paris"}`},
		{Kind: llm.EventDelta, Index: 7, Text: "a delta of no block is ignored"},
		{Kind: llm.EventBlockStop, Index: 2},
		{Kind: llm.EventFinish, StopReason: llm.StopToolUse},
	})
	want := `[{"role":"assistant","parts":[{"type":"reasoning","content":"Hmm, weather."},{"type":"text","content":"Let me check."},` +
		`{"type":"tool_call","id":"c1","name":"weather","arguments":{"city":"Paris"}}],"finish_reason":"tool_call"}]`
	if got := o.JSON(); got != want {
		t.Errorf("streamed output =\n%s\nwant\n%s", got, want)
	}

	// Deltas of two blocks in turn (a stream that interleaves them)
	// still land in their own parts.
	var mixed tracing.Output
	mixed.Events([]llm.Event{
		{Kind: llm.EventBlockStart, Index: 0, Block: llm.PartText},
		{Kind: llm.EventDelta, Index: 0, Text: "a"},
		{Kind: llm.EventBlockStart, Index: 1, Block: llm.PartToolCall, ToolCallID: "c", ToolName: "f"},
		{Kind: llm.EventDelta, Index: 1, Text: `{"x"`},
		{Kind: llm.EventDelta, Index: 0, Text: "b"},
		{Kind: llm.EventDelta, Index: 1, Text: `:1}`},
		{Kind: llm.EventFinish, StopReason: llm.StopEnd},
	})
	if got, want := mixed.JSON(), `[{"role":"assistant","parts":[{"type":"text","content":"ab"},{"type":"tool_call","id":"c","name":"f","arguments":{"x":1}}],"finish_reason":"stop"}]`; got != want {
		t.Errorf("interleaved output =\n%s\nwant\n%s", got, want)
	}

	// A whole answer replaces what was collected.
	o.Response(&llm.Response{Parts: []llm.Part{{Kind: llm.PartText, Text: "Sunny."}}, StopReason: llm.StopLength})
	if got, want := o.JSON(), `[{"role":"assistant","parts":[{"type":"text","content":"Sunny."}],"finish_reason":"length"}]`; got != want {
		t.Errorf("output = %s, want %s", got, want)
	}
}

func TestFinishReason(t *testing.T) {
	for in, want := range map[llm.StopReason]string{
		llm.StopEnd: "stop", llm.StopSequence: "stop", llm.StopPause: "stop", "": "stop",
		llm.StopLength: "length", llm.StopContextWindow: "length",
		llm.StopToolUse:       "tool_call",
		llm.StopContentFilter: "content_filter", llm.StopRefusal: "content_filter",
		llm.StopError: "error",
	} {
		if got := tracing.FinishReason(in); got != want {
			t.Errorf("FinishReason(%q) = %q, want %q", in, got, want)
		}
	}
}
