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
// than OpenAI's 64 characters through an OpenAI upstream and back.
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

// TestLongToolNamesEveryUpstream: the same MCP tool, with a call and its
// result in the history and the tool forced, through every upstream that
// caps names at 64 characters; each sees only names within the cap, and a
// call the upstream answers under the short name reaches the Claude client
// under its own.
func TestLongToolNamesEveryUpstream(t *testing.T) {
	long := "mcp__company-internal-knowledge-base__search_documents_by_semantic_similarity"
	client, err := anthropic.DecodeRequest([]byte(`{"model":"claude-sonnet-4","max_tokens":100,
		"tools":[{"name":"` + long + `","input_schema":{"type":"object","properties":{"q":{"type":"string"}}}}],
		"tool_choice":{"type":"tool","name":"` + long + `"},
		"messages":[{"role":"user","content":"find the handbook"},
			{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"` + long + `","input":{"q":"handbook"}}]},
			{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"no match"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range codecs {
		if c.proto == llm.ProtocolAnthropic {
			continue
		}
		t.Run(string(c.proto), func(t *testing.T) {
			body, _, err := c.encodeRequest(client)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(body), long) {
				t.Errorf("the upstream sees the %d-character name: %s", len(long), body)
			}
			short := llm.ShortToolName(long)
			if n := strings.Count(string(body), `"`+short+`"`); n < 3 {
				t.Errorf("the short name %q appears %d times, want in the tool, the choice and the history: %s", short, n, body)
			}
			resp := &llm.Response{ID: "r", Model: "m", StopReason: llm.StopToolUse,
				Parts: []llm.Part{{Kind: llm.PartToolCall, ToolCallID: "call_2", ToolName: short, Arguments: json.RawMessage(`{"q":"x"}`)}}}
			wire, err := c.encodeResponse(resp, client)
			if err != nil {
				t.Fatal(err)
			}
			back, err := c.decodeResponse(wire)
			if err != nil {
				t.Fatal(err)
			}
			out, err := anthropic.EncodeResponse(back, client)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), `"name":"`+long+`"`) {
				t.Errorf("the Claude client's answer lacks the original name: %s", out)
			}
		})
	}
}
