package crosstest

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/providers/responses"
	"github.com/llmgw/llmgw/sse"
)

// codexNamespaceRequest is a Codex request offering a namespace tool and
// replaying an earlier call of one of its functions with its output.
const codexNamespaceRequest = `{"model":"gpt-5-codex","stream":true,"tools":[
 {"type":"function","name":"shell","parameters":{"type":"object","properties":{"cmd":{"type":"string"}}}},
 {"type":"namespace","name":"multi_agent_v1","description":"Sub-agents","tools":[
  {"type":"function","name":"spawn_agent","description":"Start an agent","parameters":{"type":"object","properties":{"message":{"type":"string"}}}},
  {"type":"function","name":"wait","parameters":{"type":"object","properties":{"ids":{"type":"array","items":{"type":"string"}}}}}]}],
 "input":[{"type":"message","role":"user","content":"delegate"},
  {"type":"function_call","call_id":"call_1","namespace":"multi_agent_v1","name":"spawn_agent","arguments":"{\"message\":\"go\"}"},
  {"type":"function_call_output","call_id":"call_1","output":"agent-7"}]}`

// TestCodexNamespaceToolsFlatten: every other protocol's upstream sees the
// namespace's functions as plain functions named <namespace>__<name> (the
// replayed call too), and a call of such a name comes back to Codex as a
// call of the function in its namespace, streamed or not.
func TestCodexNamespaceToolsFlatten(t *testing.T) {
	req, err := responses.DecodeRequest([]byte(codexNamespaceRequest))
	if err != nil {
		t.Fatal(err)
	}
	const flat = "multi_agent_v1__spawn_agent"
	for _, c := range codecs {
		if c.proto == llm.ProtocolResponses {
			continue
		}
		body, _, err := c.encodeRequest(req)
		if err != nil {
			t.Fatalf("%s: %v", c.proto, err)
		}
		s := string(body)
		// Declared once, called once in the history.
		if strings.Count(s, `"`+flat+`"`) < 2 || !strings.Contains(s, `"multi_agent_v1__wait"`) || strings.Contains(s, `"namespace"`) {
			t.Errorf("%s upstream request does not flatten the namespace: %s", c.proto, s)
		}
	}

	// Back to Codex: the upstream called the flat name.
	resp := &llm.Response{ID: "r1", Model: "m", StopReason: llm.StopToolUse, Parts: []llm.Part{
		{Kind: llm.PartToolCall, ToolCallID: "call_2", ToolName: flat, Arguments: json.RawMessage(`{"message":"more"}`)},
		{Kind: llm.PartToolCall, ToolCallID: "call_3", ToolName: "shell", Arguments: json.RawMessage(`{"cmd":"ls"}`)},
	}}
	out, err := responses.EncodeResponse(resp, req)
	if err != nil {
		t.Fatal(err)
	}
	var w struct {
		Output []struct {
			Type, Name, Namespace, CallID string
		} `json:"output"`
	}
	if err := json.Unmarshal(out, &w); err != nil {
		t.Fatal(err)
	}
	if len(w.Output) != 2 || w.Output[0].Name != "spawn_agent" || w.Output[0].Namespace != "multi_agent_v1" ||
		w.Output[1].Name != "shell" || w.Output[1].Namespace != "" {
		t.Errorf("Codex response = %s", out)
	}

	enc := responses.NewStreamEncoder(req)
	var stream []byte
	for _, ev := range []llm.Event{
		{Kind: llm.EventStart, ID: "r1", Model: "m"},
		{Kind: llm.EventBlockStart, Index: 0, Block: llm.PartToolCall, ToolCallID: "call_2", ToolName: flat},
		{Kind: llm.EventDelta, Index: 0, Text: `{"message":"more"}`},
		{Kind: llm.EventBlockStop, Index: 0},
		{Kind: llm.EventFinish, StopReason: llm.StopToolUse},
	} {
		stream = enc.Encode(stream, ev)
	}
	stream = enc.Close(stream)
	var done int
	r := sse.NewReader(bytes.NewReader(stream))
	for {
		ev, err := r.Next()
		if err != nil {
			break
		}
		if ev.Name != "response.output_item.done" {
			continue
		}
		done++
		if !strings.Contains(string(ev.Data), `"name":"spawn_agent","namespace":"multi_agent_v1"`) {
			t.Errorf("streamed item = %s", ev.Data)
		}
	}
	if done != 1 {
		t.Errorf("%d output items streamed, want 1: %s", done, stream)
	}

	// A Responses upstream gets the namespace back, nested.
	body, _, err := responses.EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(body); !strings.Contains(s, `"type":"namespace"`) || !strings.Contains(s, `"namespace":"multi_agent_v1"`) || strings.Contains(s, flat) {
		t.Errorf("Responses upstream request = %s", s)
	}
}
