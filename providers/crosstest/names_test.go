package crosstest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/providers/anthropic"
	"github.com/llmgw/llmgw/providers/openai"
)

// TestLongToolNames follows a Claude Code MCP tool whose name is longer
// than OpenAI's 64 characters through an OpenAI upstream and back
// (protocols.md §5.13 pitfall 13).
func TestLongToolNames(t *testing.T) {
	long := "mcp__company-internal-knowledge-base__search_documents_by_semantic_similarity"
	client, err := anthropic.DecodeRequest([]byte(`{"model":"claude-sonnet-4","max_tokens":100,"stream":true,
		"tools":[{"name":"` + long + `","input_schema":{"type":"object"}}],
		"messages":[{"role":"user","content":"find the handbook"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _, err := openai.EncodeRequest(client)
	if err != nil {
		t.Fatal(err)
	}
	var up struct {
		Tools []struct {
			Function struct{ Name string } `json:"function"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(body, &up); err != nil {
		t.Fatal(err)
	}
	short := up.Tools[0].Function.Name
	if len(short) > 64 || !strings.HasPrefix(short, long[:55]) {
		t.Fatalf("upstream tool name = %q, want at most 64 characters", short)
	}

	// Non-streaming answer.
	resp, err := openai.DecodeResponse([]byte(`{"id":"chatcmpl-1","model":"gpt-4o","choices":[{"index":0,"finish_reason":"tool_calls",
		"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"` + short + `","arguments":"{}"}}]}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	out, err := anthropic.EncodeResponse(resp, client)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"name":"`+long+`"`) {
		t.Errorf("client response %s lacks the original tool name", out)
	}

	// Streaming answer.
	enc := anthropic.NewStreamEncoder(client)
	var wire []byte
	for _, ev := range []llm.Event{
		{Kind: llm.EventStart, ID: "chatcmpl-1", Model: "gpt-4o"},
		{Kind: llm.EventBlockStart, Index: 0, Block: llm.PartToolCall, ToolCallID: "call_1", ToolName: short},
		{Kind: llm.EventBlockStop, Index: 0},
		{Kind: llm.EventFinish, StopReason: llm.StopToolUse},
	} {
		wire = enc.Encode(wire, ev)
	}
	wire = enc.Close(wire)
	if !strings.Contains(string(wire), `"name":"`+long+`"`) {
		t.Errorf("client stream lacks the original tool name:\n%s", wire)
	}
}
