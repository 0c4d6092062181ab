package crosstest

import (
	"encoding/json"
	"testing"

	"github.com/llmgw/llmgw/llm"
)

// TestToolLoopsStayPaired: a history with a cancelled tool call, a result
// after the user's text and a result that answers nothing is
// sent to every upstream protocol as its tool loop requires, read back
// with that protocol's own decoder: each assistant turn's calls answered
// right after it, one result per call, before any other content, and no
// result without its call. Each provider answers anything else with a 400.
func TestToolLoopsStayPaired(t *testing.T) {
	text := func(s string) llm.Part { return llm.Part{Kind: llm.PartText, Text: s} }
	call := func(id, city string) llm.Part {
		return llm.Part{Kind: llm.PartToolCall, ToolCallID: id, ToolName: "get_weather", Arguments: json.RawMessage(`{"city":"` + city + `"}`)}
	}
	result := func(id, s string) llm.Part {
		return llm.Part{Kind: llm.PartToolResult, ToolCallID: id, Content: []llm.Part{text(s)}}
	}
	req := &llm.Request{Model: "m", MaxTokens: 1024,
		Tools: []llm.Tool{{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}},
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{text("Weather in Paris and Tokyo?")}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{text("Checking."), call("call_a", "Paris"), call("call_b", "Tokyo")}},
			{Role: llm.RoleUser, Parts: []llm.Part{text("Skip Paris."), result("call_b", "25C")}}, // call_a cancelled
			{Role: llm.RoleTool, Parts: []llm.Part{result("call_zzz", "from a compacted turn")}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{text("Tokyo is 25C.")}},
			{Role: llm.RoleUser, Parts: []llm.Part{text("Thanks")}},
		}}
	for _, c := range codecs {
		t.Run(string(c.proto), func(t *testing.T) {
			body, _, err := c.encodeRequest(req)
			if err != nil {
				t.Fatalf("EncodeRequest: %v", err)
			}
			back, err := c.decodeRequest(body)
			if err != nil {
				t.Fatalf("DecodeRequest(own output): %v\n%s", err, body)
			}
			checkPaired(t, back.Messages, body)
		})
	}
}

// checkPaired fails t unless every assistant message's tool calls are
// answered first thing after it, once each, and every result answers a
// call of the assistant message before it.
func checkPaired(t *testing.T, msgs []llm.Message, body []byte) {
	t.Helper()
	var calls map[string]bool // of the last assistant message, while unanswered
	leading := false          // only results seen since that assistant message
	sawCalls := false
	for _, m := range msgs {
		if m.Role == llm.RoleAssistant {
			for id := range calls {
				t.Errorf("call %s is never answered\n%s", id, body)
			}
			calls, leading = map[string]bool{}, true
			for _, p := range m.Parts {
				if p.Kind == llm.PartToolCall {
					calls[p.ToolCallID], sawCalls = true, true
				}
			}
			continue
		}
		for _, p := range m.Parts {
			if p.Kind != llm.PartToolResult {
				leading = false
				if len(calls) > 0 {
					t.Errorf("%s content before the results of %v\n%s", p.Kind, calls, body)
					calls = nil
				}
				continue
			}
			switch {
			case !calls[p.ToolCallID]:
				t.Errorf("result %s answers no call of the turn before it\n%s", p.ToolCallID, body)
			case !leading:
				t.Errorf("result %s comes after other content\n%s", p.ToolCallID, body)
			}
			delete(calls, p.ToolCallID)
		}
	}
	if !sawCalls {
		t.Errorf("the calls were lost\n%s", body)
	}
}
