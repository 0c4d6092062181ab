package crosstest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/llmgw/llmgw/llm"
)

// upstreamToolTurns are answers that call a tool after reasoning signed
// by the upstream, one per protocol that issues reasoning state, with the
// signature each must get back.
var upstreamToolTurns = []struct {
	proto llm.Protocol
	body  string
	sig   string
}{
	{llm.ProtocolAnthropic, `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"thinking","thinking":"Use the tool.","signature":"QU5USFJPUElDLVNJRw=="},{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}],"stop_reason":"tool_use","usage":{"input_tokens":10,"output_tokens":20}}`, "QU5USFJPUElDLVNJRw=="},
	{llm.ProtocolGemini, `{"candidates":[{"content":{"role":"model","parts":[{"text":"Checking.","thought":true},{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"R0VNSU5JLVNJRw=="}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":5,"totalTokenCount":15}}`, "R0VNSU5JLVNJRw=="},
	{llm.ProtocolResponses, `{"id":"resp_1","object":"response","status":"completed","model":"o3","output":[{"id":"rs_1","type":"reasoning","summary":[{"type":"summary_text","text":"Use the tool."}],"encrypted_content":"gAAAAB-RESPONSES-ENC"},{"id":"fc_1","type":"function_call","status":"completed","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"}],"usage":{"input_tokens":10,"output_tokens":20,"total_tokens":30}}`, "gAAAAB-RESPONSES-ENC"},
}

// clientTurn2 builds a client's turn-2 request from its turn-1 answer, as
// the client would: the answer's assistant message replayed as it came,
// then the tool's result.
func clientTurn2(t *testing.T, client llm.Protocol, answer []byte) []byte {
	t.Helper()
	var a map[string]json.RawMessage
	if err := json.Unmarshal(answer, &a); err != nil {
		t.Fatal(err)
	}
	const user = "Weather in Paris?"
	switch client {
	case llm.ProtocolOpenAI:
		var c []struct {
			Message struct {
				ToolCalls []struct {
					ID string `json:"id"`
				} `json:"tool_calls"`
			} `json:"message"`
		}
		var raw []struct {
			Message json.RawMessage `json:"message"`
		}
		_ = json.Unmarshal(a["choices"], &c)
		_ = json.Unmarshal(a["choices"], &raw)
		if len(c) == 0 || len(c[0].Message.ToolCalls) != 1 {
			t.Fatalf("openai answer without one tool call: %s", answer)
		}
		return []byte(`{"model":"m","reasoning_effort":"medium","messages":[{"role":"user","content":"` + user + `"},` + string(raw[0].Message) +
			`,{"role":"tool","tool_call_id":` + mustString(c[0].Message.ToolCalls[0].ID) + `,"content":"22 degrees"}]}`)
	case llm.ProtocolAnthropic:
		var blocks []struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		}
		_ = json.Unmarshal(a["content"], &blocks)
		id := ""
		for _, b := range blocks {
			if b.Type == "tool_use" {
				id = b.ID
			}
		}
		return []byte(`{"model":"m","max_tokens":8192,"thinking":{"type":"enabled","budget_tokens":2048},"messages":[{"role":"user","content":"` + user + `"},` +
			`{"role":"assistant","content":` + string(a["content"]) + `},{"role":"user","content":[{"type":"tool_result","tool_use_id":` + mustString(id) + `,"content":"22 degrees"}]}]}`)
	case llm.ProtocolResponses:
		var items []json.RawMessage
		_ = json.Unmarshal(a["output"], &items)
		var callID string
		for _, it := range items {
			var w struct {
				Type   string `json:"type"`
				CallID string `json:"call_id"`
			}
			_ = json.Unmarshal(it, &w)
			if w.Type == "function_call" {
				callID = w.CallID
			}
		}
		input := []json.RawMessage{json.RawMessage(`{"type":"message","role":"user","content":"` + user + `"}`)}
		input = append(input, items...)
		input = append(input, json.RawMessage(`{"type":"function_call_output","call_id":`+mustString(callID)+`,"output":"22 degrees"}`))
		b, _ := json.Marshal(input)
		return []byte(`{"model":"m","store":false,"reasoning":{"effort":"medium"},"include":["reasoning.encrypted_content"],"input":` + string(b) + `}`)
	case llm.ProtocolGemini:
		var c []struct {
			Content json.RawMessage `json:"content"`
		}
		_ = json.Unmarshal(a["candidates"], &c)
		return []byte(`{"generationConfig":{"thinkingConfig":{"thinkingBudget":2048,"includeThoughts":true}},"contents":[{"role":"user","parts":[{"text":"` + user + `"}]},` +
			string(c[0].Content) + `,{"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"result":"22 degrees"}}}]}]}`)
	}
	t.Fatalf("no client %s", client)
	return nil
}

func mustString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestReasoningRoundTripEveryPair: for each upstream that issues
// reasoning state (Responses included, which the gateway reaches only
// from Responses clients today) and every other client protocol, the
// upstream's answer goes to the client, the client replays it in turn 2,
// and the upstream request of turn 2 holds the upstream's own signature.
func TestReasoningRoundTripEveryPair(t *testing.T) {
	byProto := map[llm.Protocol]codec{}
	for _, c := range codecs {
		byProto[c.proto] = c
	}
	for _, up := range upstreamToolTurns {
		for _, client := range codecs {
			if client.proto == up.proto {
				continue
			}
			t.Run(string(client.proto)+"_client/"+string(up.proto)+"_upstream", func(t *testing.T) {
				resp, err := byProto[up.proto].decodeResponse([]byte(up.body))
				if err != nil {
					t.Fatal(err)
				}
				answer, err := client.encodeResponse(resp, &llm.Request{Model: "m", Reasoning: &llm.Reasoning{IncludeThoughts: true}})
				if err != nil {
					t.Fatal(err)
				}
				req, err := client.decodeRequest(clientTurn2(t, client.proto, answer))
				if err != nil {
					t.Fatalf("turn 2 decode: %v", err)
				}
				body, warnings, err := byProto[up.proto].encodeRequest(req)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(body), up.sig) {
					t.Errorf("turn 2 %s request lacks its signature %q (warnings %q): %s", up.proto, up.sig, warnings, body)
				}
				if strings.Contains(string(body), "skip_thought_signature_validator") {
					t.Errorf("turn 2 sent the sentinel: %s", body)
				}
				for _, w := range warnings {
					if strings.Contains(w, "thinking") {
						t.Errorf("turn 2 warning %q", w)
					}
				}
			})
		}
	}
}
