package gateway

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/providers/providertest"
	"github.com/llmgw/llmgw/sse"
	"github.com/llmgw/llmgw/tracing"
	"github.com/llmgw/llmgw/tracing/tracingtest"
)

// contentBody is a chat request with every kind of input content: system
// instructions, a user's text and image, an assistant's tool call and the
// tool's result.
const contentBody = `{"model":"gpt-4o","messages":[
 {"role":"system","content":"Be brief."},
 {"role":"user","content":[{"type":"text","text":"What is in it?"},{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]},
 {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"look","arguments":"{\"at\":\"cat.png\"}"}}]},
 {"role":"tool","tool_call_id":"call_1","content":"a cat"}]}`

// contentInput is contentBody's messages in the GenAI conventions' shape.
const contentInput = `[{"role":"user","parts":[{"type":"text","content":"What is in it?"},{"type":"uri","modality":"image","uri":"https://example.com/cat.png"}]},` +
	`{"role":"assistant","parts":[{"type":"tool_call","id":"call_1","name":"look","arguments":{"at":"cat.png"}}]},` +
	`{"role":"tool","parts":[{"type":"tool_call_response","id":"call_1","response":"a cat"}]}]`

// outputMessage is gen_ai.output.messages decoded: one assistant message.
type outputMessage struct {
	Role  string `json:"role"`
	Parts []struct {
		Type      string          `json:"type"`
		Content   string          `json:"content"`
		ID        string          `json:"id"`
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"parts"`
	FinishReason string `json:"finish_reason"`
}

func decodeOutput(t *testing.T, raw string) outputMessage {
	t.Helper()
	var msgs []outputMessage
	if err := json.Unmarshal([]byte(raw), &msgs); err != nil || len(msgs) != 1 {
		t.Fatalf("gen_ai.output.messages = %s (%v), want one message", raw, err)
	}
	return msgs[0]
}

// TestTracesContent: prompts and completions reach the attempt span only
// when Config.TraceContent says so, in the conventions' message schema,
// for a forwarded and a converted answer, whole or streamed; without it no
// span carries content.
func TestTracesContent(t *testing.T) {
	t.Run("off by default", func(t *testing.T) {
		up := providertest.New(t, okReply(t))
		h := newTracedHarness(t, providerDecl("a", "openai", up.URL, "")+"def route(req, ctx):\n    return [a]\n")
		resp, b := h.post("/v1/chat/completions", contentBody)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		req, atts := h.spans(resp.Header.Get("X-Request-Id"))
		for _, s := range append(atts, req) {
			s.checkAttrs(t, map[string]string{"gen_ai.input.messages": "", "gen_ai.output.messages": "", "gen_ai.system_instructions": ""})
			for k, v := range s.attrs {
				if strings.Contains(v, "What is in it?") || strings.Contains(v, "a cat") {
					t.Errorf("span %q attribute %s carries the prompt: %s", s.Name, k, v)
				}
			}
		}
	})

	t.Run("forwarded answer", func(t *testing.T) {
		up := providertest.New(t, okReply(t))
		h := newContentHarness(t, providerDecl("a", "openai", up.URL, ""))
		b, atts := h.served(contentBody)
		a := atts[0]
		a.checkAttrs(t, map[string]string{
			"gen_ai.system_instructions": `[{"type":"text","content":"Be brief."}]`,
			"gen_ai.input.messages":      contentInput,
		})
		// The fixture's answer is one tool call: the span has what the
		// client got.
		var got struct {
			Choices []struct {
				Message struct {
					ToolCalls []struct {
						ID       string `json:"id"`
						Function struct{ Name, Arguments string }
					} `json:"tool_calls"`
				}
			}
		}
		if err := json.Unmarshal(b, &got); err != nil || len(got.Choices) == 0 || len(got.Choices[0].Message.ToolCalls) == 0 {
			t.Fatalf("answer %s: %v", b, err)
		}
		call := got.Choices[0].Message.ToolCalls[0]
		out := decodeOutput(t, a.attrs["gen_ai.output.messages"])
		if out.Role != "assistant" || out.FinishReason != "tool_call" || len(out.Parts) != 1 {
			t.Fatalf("output = %+v, want the assistant's one tool call, finish_reason tool_call", out)
		}
		p := out.Parts[0]
		if p.Type != "tool_call" || p.ID != call.ID || p.Name != call.Function.Name || !sameJSON(t, p.Arguments, []byte(call.Function.Arguments)) {
			t.Errorf("output part = %+v %s, want the client's tool call %+v", p, p.Arguments, call)
		}
	})

	streams := []struct {
		name, kind, fixture string
	}{
		{"forwarded stream", "openai", "openai_chat_stream_text_with_usage.sse"},
		{"converted stream", "anthropic", "anthropic_stream_text_end_turn.sse"},
	}
	for _, tt := range streams {
		t.Run(tt.name, func(t *testing.T) {
			up := providertest.New(t, providertest.Reply{Body: providertest.Fixture(t, tt.fixture), SSE: true})
			h := newContentHarness(t, providerDecl("a", tt.kind, up.URL, ""))
			body := `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`
			b, atts := h.served(body)
			a := atts[0]
			a.checkAttrs(t, map[string]string{
				"gen_ai.input.messages":      `[{"role":"user","parts":[{"type":"text","content":"hi"}]}]`,
				"gen_ai.system_instructions": "",
			})
			out := decodeOutput(t, a.attrs["gen_ai.output.messages"])
			want := streamedText(t, b)
			if want == "" || out.FinishReason != "stop" || len(out.Parts) != 1 || out.Parts[0].Type != "text" || out.Parts[0].Content != want {
				t.Errorf("output = %+v, want the text the client got, %q, finish_reason stop", out, want)
			}
		})
	}

	t.Run("converted answer", func(t *testing.T) {
		up := providertest.New(t, providertest.FixtureReply(t, "anthropic_nonstream_after_tool_result_response.json"))
		h := newContentHarness(t, providerDecl("a", "anthropic", up.URL, ""))
		b, atts := h.served(chatBody)
		var got struct {
			Choices []struct {
				Message struct{ Content string }
			}
		}
		if err := json.Unmarshal(b, &got); err != nil || len(got.Choices) == 0 {
			t.Fatalf("answer %s: %v", b, err)
		}
		out := decodeOutput(t, atts[0].attrs["gen_ai.output.messages"])
		if len(out.Parts) != 1 || out.Parts[0].Content != got.Choices[0].Message.Content {
			t.Errorf("output = %+v, want the text the client got, %q", out, got.Choices[0].Message.Content)
		}
	})

	t.Run("failed attempt", func(t *testing.T) {
		a := providertest.New(t, providertest.Reply{Status: 500, Body: []byte(`{"error":{"message":"boom"}}`)})
		b := providertest.New(t, okReply(t))
		h := newContentHarness(t, providerDecl("a", "openai", a.URL, "")+providerDecl("b", "openai", b.URL, "priority = 2"))
		_, atts := h.served(chatBody)
		if len(atts) != 2 {
			t.Fatalf("%d attempt spans, want 2", len(atts))
		}
		// Both sent the prompt; only the one that answered has an output.
		for _, s := range atts {
			s.checkAttrs(t, map[string]string{"gen_ai.input.messages": `[{"role":"user","parts":[{"type":"text","content":"hi"}]}]`})
		}
		if v, ok := atts[0].attrs["gen_ai.output.messages"]; ok {
			t.Errorf("the failed attempt has an output: %s", v)
		}
		if atts[1].attrs["gen_ai.output.messages"] == "" {
			t.Error("the answering attempt has no output")
		}
	})
}

// served posts a chat request that must be answered 200, and returns the
// answer and the request's attempt spans.
func (h *tracedHarness) served(body string) ([]byte, []tracedSpan) {
	h.t.Helper()
	resp, b := h.post("/v1/chat/completions", body)
	if resp.StatusCode != 200 {
		h.t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	_, atts := h.spans(resp.Header.Get("X-Request-Id"))
	return b, atts
}

// newContentHarness is a traced harness that exports content, routing to
// the providers decls declares (a, then b when declared).
func newContentHarness(t *testing.T, decls string) *tracedHarness {
	recv := tracingtest.NewReceiver(t)
	tp := recv.NewProvider()
	route := "def route(req, ctx):\n    return [a]\n"
	if strings.Contains(decls, "b = provider(") {
		route = "def route(req, ctx):\n    return [a, b]\n"
	}
	h := newHarness(t, decls+route, func(c *Config) { c.Traces, c.TraceContent = tp, true })
	return &tracedHarness{harness: h, recv: recv, tp: tp}
}

// streamedText is the text of an OpenAI chat stream as its client reads
// it: every chunk's delta content.
func streamedText(t *testing.T, body []byte) string {
	t.Helper()
	rd := sse.NewReader(strings.NewReader(string(body)))
	var text strings.Builder
	for {
		ev, err := rd.Next()
		if err != nil {
			break
		}
		var chunk struct {
			Choices []struct {
				Delta struct{ Content string }
			}
		}
		if json.Unmarshal(ev.Data, &chunk) == nil {
			for _, c := range chunk.Choices {
				text.WriteString(c.Delta.Content)
			}
		}
	}
	return text.String()
}

// sameJSON reports whether a and b are the same JSON value.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		return false
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		return false
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return string(ja) == string(jb)
}

// FuzzRequestContent: whatever a client sends that its protocol's
// decoder takes, the span's content attributes are valid JSON.
func FuzzRequestContent(f *testing.F) {
	f.Add(uint8(0), []byte(contentBody))
	f.Add(uint8(1), []byte(`{"model":"m","system":[{"type":"text","text":"s"}],"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA=="}}]}]}]}`))
	f.Add(uint8(2), []byte(`{"contents":[{"role":"user","parts":[{"text":"hi"},{"inlineData":{"mimeType":"audio/wav","data":"AA=="}}]}],"systemInstruction":{"parts":[{"text":"s"}]}}`))
	f.Add(uint8(3), []byte(`{"model":"m","instructions":"s","input":[{"type":"function_call","call_id":"c","name":"n","arguments":"{\"a\""},{"type":"function_call_output","call_id":"c","output":"o"}]}`))
	s := &Server{adapters: builtinAdapters()}
	protos := []llm.Protocol{llm.ProtocolOpenAI, llm.ProtocolAnthropic, llm.ProtocolGemini, llm.ProtocolResponses}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		req, err := s.adapter(protos[int(which)%len(protos)]).DecodeRequest(body)
		if err != nil {
			return
		}
		system, messages := tracing.RequestContent(req)
		if system != "" && !json.Valid([]byte(system)) {
			t.Fatalf("system instructions are not JSON: %s", system)
		}
		if !json.Valid([]byte(messages)) {
			t.Fatalf("input messages are not JSON: %s", messages)
		}
	})
}
