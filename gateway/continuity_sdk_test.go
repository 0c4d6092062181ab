package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"
	"google.golang.org/genai"

	"github.com/llmgw/llmgw/providers/providertest"
)

// These tests hold multi-turn tool conversations through a conversion, each
// official SDK building the next turn's history from the answer it parsed
// (as an agent does), and check what the upstream receives on the later
// turns: the reasoning state it issued, and tool call ids that pair.

// Signatures the fake upstreams issue; the Gemini one is base64, as
// Gemini's are.
const (
	anthropicSig     = "U0lHLWFudGhyb3BpYy0x"
	anthropicThought = "I should call the tool."
	geminiSig        = "U0lHLWdlbWluaS0x"
)

// convClient is one SDK holding a conversation: send sends the history,
// appends the answer to it and returns the answer's tool calls' ids;
// answer appends the result of a call.
type convClient interface {
	send(t *testing.T, stream bool) []string
	answer(id, result string)
}

var weatherSchema = map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}

type openaiConv struct {
	c    *openai.Client
	msgs []openai.ChatCompletionMessageParamUnion
}

func (o *openaiConv) send(t *testing.T, stream bool) []string {
	t.Helper()
	ctx := context.Background()
	params := openai.ChatCompletionNewParams{
		Model: "any", Messages: o.msgs, ReasoningEffort: shared.ReasoningEffortMedium,
		Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name: "get_weather", Parameters: weatherSchema,
		})},
	}
	var msg openai.ChatCompletionMessage
	if stream {
		s := o.c.Chat.Completions.NewStreaming(ctx, params)
		var acc openai.ChatCompletionAccumulator
		for s.Next() {
			acc.AddChunk(s.Current())
		}
		if err := s.Err(); err != nil || len(acc.Choices) == 0 {
			t.Fatalf("openai stream: %v (%d choices)", err, len(acc.Choices))
		}
		msg = acc.Choices[0].Message
	} else {
		resp, err := o.c.Chat.Completions.New(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		msg = resp.Choices[0].Message
	}
	o.msgs = append(o.msgs, msg.ToParam())
	var ids []string
	for _, tc := range msg.ToolCalls {
		ids = append(ids, tc.ID)
	}
	return ids
}

func (o *openaiConv) answer(id, result string) {
	o.msgs = append(o.msgs, openai.ToolMessage(result, id))
}

type anthropicConv struct {
	c    *anthropic.Client
	msgs []anthropic.MessageParam
}

func (a *anthropicConv) send(t *testing.T, stream bool) []string {
	t.Helper()
	ctx := context.Background()
	params := anthropic.MessageNewParams{
		Model: "claude-sonnet-4-5", MaxTokens: 8192, Messages: a.msgs,
		Thinking: anthropic.ThinkingConfigParamOfEnabled(2048),
		Tools: []anthropic.ToolUnionParam{anthropic.ToolUnionParamOfTool(
			anthropic.ToolInputSchemaParam{Properties: weatherSchema["properties"]}, "get_weather")},
	}
	var msg anthropic.Message
	if stream {
		s := a.c.Messages.NewStreaming(ctx, params)
		for s.Next() {
			if err := msg.Accumulate(s.Current()); err != nil {
				t.Fatalf("Accumulate: %v", err)
			}
		}
		if err := s.Err(); err != nil {
			t.Fatalf("anthropic stream: %v", err)
		}
	} else {
		resp, err := a.c.Messages.New(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		msg = *resp
	}
	a.msgs = append(a.msgs, msg.ToParam())
	var ids []string
	for _, b := range msg.Content {
		if b.Type == "tool_use" {
			ids = append(ids, b.ID)
		}
	}
	return ids
}

func (a *anthropicConv) answer(id, result string) {
	a.msgs = append(a.msgs, anthropic.NewUserMessage(anthropic.NewToolResultBlock(id, result, false)))
}

type responsesConv struct {
	c     *openai.Client
	input responses.ResponseInputParam
	tools []responses.ToolUnionParam // nil: get_weather
	calls []responses.ResponseFunctionToolCall
}

func (r *responsesConv) send(t *testing.T, stream bool) []string {
	t.Helper()
	ctx := context.Background()
	params := responses.ResponseNewParams{
		Model: "any", Input: responses.ResponseNewParamsInputUnion{OfInputItemList: r.input},
		Store:     openai.Bool(false),
		Reasoning: shared.ReasoningParam{Effort: shared.ReasoningEffortMedium},
		Include:   []responses.ResponseIncludable{responses.ResponseIncludableReasoningEncryptedContent},
		Tools:     []responses.ToolUnionParam{responses.ToolParamOfFunction("get_weather", weatherSchema, false)},
	}
	if r.tools != nil {
		params.Tools = r.tools
	}
	var out []responses.ResponseOutputItemUnion
	if stream {
		s := r.c.Responses.NewStreaming(ctx, params)
		for s.Next() {
			if ev := s.Current(); ev.Type == "response.completed" {
				out = ev.AsResponseCompleted().Response.Output
			}
		}
		if err := s.Err(); err != nil {
			t.Fatalf("responses stream: %v", err)
		}
	} else {
		resp, err := r.c.Responses.New(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		out = resp.Output
	}
	var ids []string
	for _, it := range out {
		switch it.Type {
		case "reasoning":
			p := it.AsReasoning().ToParam()
			r.input = append(r.input, responses.ResponseInputItemUnionParam{OfReasoning: &p})
		case "function_call":
			call := it.AsFunctionCall()
			r.calls = append(r.calls, call)
			p := call.ToParam() // the item's JSON as it came
			r.input = append(r.input, responses.ResponseInputItemUnionParam{OfFunctionCall: &p})
			ids = append(ids, call.CallID)
		}
	}
	return ids
}

func (r *responsesConv) answer(id, result string) {
	item := responses.ResponseInputItemParamOfFunctionCallOutput(result)
	item.OfFunctionCallOutput.CallID = openai.String(id)
	r.input = append(r.input, item)
}

type genaiConv struct {
	c        *genai.Client
	contents []*genai.Content
	names    map[string]string
}

func (g *genaiConv) send(t *testing.T, stream bool) []string {
	t.Helper()
	ctx := context.Background()
	budget := int32(2048)
	cfg := &genai.GenerateContentConfig{
		ThinkingConfig: &genai.ThinkingConfig{IncludeThoughts: true, ThinkingBudget: &budget},
		Tools: []*genai.Tool{{FunctionDeclarations: []*genai.FunctionDeclaration{{
			Name: "get_weather", ParametersJsonSchema: weatherSchema,
		}}}},
	}
	answer := &genai.Content{Role: "model"}
	if stream {
		for resp, err := range g.c.Models.GenerateContentStream(ctx, "gemini-2.5-flash", g.contents, cfg) {
			if err != nil {
				t.Fatalf("genai stream: %v", err)
			}
			if len(resp.Candidates) > 0 && resp.Candidates[0].Content != nil {
				answer.Parts = append(answer.Parts, resp.Candidates[0].Content.Parts...)
			}
		}
	} else {
		resp, err := g.c.Models.GenerateContent(ctx, "gemini-2.5-flash", g.contents, cfg)
		if err != nil {
			t.Fatal(err)
		}
		answer = resp.Candidates[0].Content
	}
	g.contents = append(g.contents, answer)
	var ids []string
	for _, p := range answer.Parts {
		if p.FunctionCall != nil {
			ids = append(ids, p.FunctionCall.ID)
			g.names[p.FunctionCall.ID] = p.FunctionCall.Name
		}
	}
	return ids
}

func (g *genaiConv) answer(id, result string) {
	g.contents = append(g.contents, &genai.Content{Role: "user", Parts: []*genai.Part{{FunctionResponse: &genai.FunctionResponse{
		ID: id, Name: g.names[id], Response: map[string]any{"result": result},
	}}}})
}

// newConv starts a conversation of the client protocol with a question.
func newConv(t *testing.T, client string, h *harness) convClient {
	const ask = "Weather in Paris?"
	switch client {
	case "openai":
		return &openaiConv{c: openaiClient(h), msgs: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(ask)}}
	case "anthropic":
		return &anthropicConv{c: anthropicClient(h), msgs: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(ask))}}
	case "responses":
		return &responsesConv{c: openaiClient(h), input: responses.ResponseInputParam{responses.ResponseInputItemParamOfMessage(ask, responses.EasyInputMessageRoleUser)}}
	case "gemini":
		return &genaiConv{c: genaiClient(t, h), contents: []*genai.Content{genai.NewContentFromText(ask, genai.RoleUser)}, names: map[string]string{}}
	}
	t.Fatalf("unknown client %q", client)
	return nil
}

// toolTurn is a fake upstream's answer calling get_weather after
// reasoning it signs with sig; final is its closing answer.
func toolTurn(kind, sig string, stream bool) providertest.Reply {
	switch kind {
	case "anthropic":
		if stream {
			return sseReply(
				"message_start", `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"usage":{"input_tokens":10,"output_tokens":1}}}`,
				"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}`,
				"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"`+anthropicThought+`"}}`,
				"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"`+sig+`"}}`,
				"content_block_stop", `{"type":"content_block_stop","index":0}`,
				"content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_`+sig[:8]+`","name":"get_weather","input":{}}}`,
				"content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\":\"Paris\"}"}}`,
				"content_block_stop", `{"type":"content_block_stop","index":1}`,
				"message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":20}}`,
				"message_stop", `{"type":"message_stop"}`)
		}
		return jsonReply(`{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[` +
			`{"type":"thinking","thinking":"` + anthropicThought + `","signature":"` + sig + `"},` +
			`{"type":"tool_use","id":"toolu_` + sig[:8] + `","name":"get_weather","input":{"city":"Paris"}}],` +
			`"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":20}}`)
	case "gemini":
		// No responseId and no call id, as Gemini 2.x answers.
		body := `{"candidates":[{"content":{"role":"model","parts":[{"text":"Checking the weather.","thought":true},` +
			`{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"` + sig + `"}]},"finishReason":"STOP"}],` +
			`"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":5,"thoughtsTokenCount":3,"totalTokenCount":18},"modelVersion":"gemini-2.5-flash"}`
		if stream {
			return sseReply("", body)
		}
		return jsonReply(body)
	}
	panic("unknown kind " + kind)
}

func finalTurn(kind string, stream bool) providertest.Reply {
	switch kind {
	case "anthropic":
		if stream {
			return sseReply(
				"message_start", `{"type":"message_start","message":{"id":"msg_2","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"usage":{"input_tokens":30,"output_tokens":1}}}`,
				"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`,
				"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Sunny."}}`,
				"content_block_stop", `{"type":"content_block_stop","index":0}`,
				"message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":3}}`,
				"message_stop", `{"type":"message_stop"}`)
		}
		return jsonReply(`{"id":"msg_2","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Sunny."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":30,"output_tokens":3}}`)
	case "gemini":
		body := `{"candidates":[{"content":{"role":"model","parts":[{"text":"Sunny."}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":30,"candidatesTokenCount":3,"totalTokenCount":33},"modelVersion":"gemini-2.5-flash"}`
		if stream {
			return sseReply("", body)
		}
		return jsonReply(body)
	}
	panic("unknown kind " + kind)
}

func jsonReply(body string) providertest.Reply { return providertest.Reply{Body: []byte(body)} }

// sseReply builds an SSE body from event name and data pairs ("" name:
// a data-only event).
func sseReply(pairs ...string) providertest.Reply {
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i] != "" {
			fmt.Fprintf(&b, "event: %s\n", pairs[i])
		}
		fmt.Fprintf(&b, "data: %s\n\n", pairs[i+1])
	}
	return providertest.Reply{Body: []byte(b.String()), SSE: true}
}

// TestReasoningContinuesAcrossProtocols: for every client protocol and
// every upstream that issues reasoning state (Claude's signed thinking,
// Gemini's thoughtSignature), the upstream's own signature comes back to
// it in the request of turn 2, carried through the client's SDK, and
// Gemini gets no validator-skipping sentinel.
func TestReasoningContinuesAcrossProtocols(t *testing.T) {
	for _, upstream := range []string{"anthropic", "gemini"} {
		for _, client := range []string{"openai", "responses", "anthropic", "gemini"} {
			if client == upstream {
				continue
			}
			for _, stream := range []bool{false, true} {
				name := fmt.Sprintf("%s_client/%s_upstream/stream=%v", client, upstream, stream)
				t.Run(name, func(t *testing.T) {
					sig := anthropicSig
					if upstream == "gemini" {
						sig = geminiSig
					}
					h, up := sdkHarness(t, upstream, finalTurn(upstream, stream))
					up.Enqueue(toolTurn(upstream, sig, stream))
					conv := newConv(t, client, h)
					ids := conv.send(t, stream)
					if len(ids) != 1 {
						t.Fatalf("turn 1: %d tool calls, want 1", len(ids))
					}
					conv.answer(ids[0], "22 degrees")
					conv.send(t, stream)
					reqs := up.Requests()
					if len(reqs) != 2 {
						t.Fatalf("upstream saw %d requests, want 2", len(reqs))
					}
					checkCarried(t, upstream, reqs[1].Body, sig)
				})
			}
		}
	}
}

// checkCarried checks that body, an upstream request of turn 2, replays
// the reasoning the upstream signed with sig in turn 1, where it belongs.
func checkCarried(t *testing.T, upstream string, body []byte, sig string) {
	t.Helper()
	switch upstream {
	case "anthropic":
		var req struct {
			Thinking struct {
				Type string `json:"type"`
			} `json:"thinking"`
			Messages []struct {
				Role    string `json:"role"`
				Content []struct {
					Type      string `json:"type"`
					Thinking  string `json:"thinking"`
					Signature string `json:"signature"`
				} `json:"content"`
			} `json:"messages"`
		}
		if err := json.Unmarshal(body, &req); err != nil || len(req.Messages) != 3 {
			t.Fatalf("turn 2 request (%v): %s", err, body)
		}
		asst := req.Messages[1].Content
		if req.Messages[1].Role != "assistant" || len(asst) < 2 || asst[0].Type != "thinking" ||
			asst[0].Signature != sig || asst[0].Thinking != anthropicThought || asst[len(asst)-1].Type != "tool_use" {
			t.Errorf("turn 2 assistant turn lacks Claude's signed thinking before the tool use: %s", body)
		}
		if req.Thinking.Type != "enabled" {
			t.Errorf("turn 2 thinking = %q, want enabled (the tool loop keeps thinking): %s", req.Thinking.Type, body)
		}
	case "gemini":
		var req struct {
			Contents []struct {
				Role  string `json:"role"`
				Parts []struct {
					FunctionCall     *json.RawMessage `json:"functionCall"`
					ThoughtSignature string           `json:"thoughtSignature"`
				} `json:"parts"`
			} `json:"contents"`
		}
		if err := json.Unmarshal(body, &req); err != nil || len(req.Contents) != 3 {
			t.Fatalf("turn 2 request (%v): %s", err, body)
		}
		signed := false
		for _, p := range req.Contents[1].Parts {
			signed = signed || p.FunctionCall != nil && p.ThoughtSignature == sig
		}
		if !signed {
			t.Errorf("turn 2 functionCall lacks Gemini's own signature %q: %s", sig, body)
		}
		if strings.Contains(string(body), "skip_thought_signature_validator") {
			t.Errorf("turn 2 sent the sentinel although the signature was carried: %s", body)
		}
	}
}

// TestToolLoopGeminiWithoutResponseID: a three-turn tool loop against a
// Gemini upstream that sends neither responseId nor call ids, each turn
// calling the same function with the same arguments (an agent polling):
// every call the client sees has an id of its own, and the history the
// client replays pairs each call with its own result on the way to Gemini.
// The recorded variant answers every turn with the same recorded stream,
// so its responseId repeats.
func TestToolLoopGeminiWithoutResponseID(t *testing.T) {
	for _, client := range []string{"anthropic", "openai", "responses"} {
		for _, mode := range []string{"json", "sse", "recorded"} {
			t.Run(client+"/"+mode, func(t *testing.T) {
				stream := mode != "json"
				turn := toolTurn("gemini", geminiSig, stream)
				fn := "get_weather"
				if mode == "recorded" {
					turn, fn = providertest.FixtureReply(t, "gemini_stream_function_call_with_thought_signature.sse"), "getWeather"
				}
				h, up := sdkHarness(t, "gemini", finalTurn("gemini", stream))
				up.Enqueue(turn, turn, turn)
				conv := newConv(t, client, h)
				seen := map[string]bool{}
				for turn := 1; turn <= 3; turn++ {
					ids := conv.send(t, stream)
					if len(ids) != 1 {
						t.Fatalf("turn %d: %d tool calls, want 1", turn, len(ids))
					}
					if seen[ids[0]] {
						t.Fatalf("turn %d: tool call id %q repeats an earlier turn's", turn, ids[0])
					}
					seen[ids[0]] = true
					conv.answer(ids[0], fmt.Sprintf("result-%d", turn))
				}
				reqs := up.Requests()
				if len(reqs) != 3 {
					t.Fatalf("upstream saw %d requests, want 3", len(reqs))
				}
				var req struct {
					Contents []struct {
						Role  string `json:"role"`
						Parts []struct {
							FunctionCall *struct {
								Name string `json:"name"`
							} `json:"functionCall"`
							FunctionResponse *struct {
								Name     string `json:"name"`
								Response struct {
									Result string `json:"result"`
								} `json:"response"`
							} `json:"functionResponse"`
							Text *string `json:"text"`
						} `json:"parts"`
					} `json:"contents"`
				}
				if err := json.Unmarshal(reqs[2].Body, &req); err != nil {
					t.Fatal(err)
				}
				// user, (model call, user result) × 2
				if len(req.Contents) != 5 {
					t.Fatalf("turn 3 request has %d contents, want 5: %s", len(req.Contents), reqs[2].Body)
				}
				for i, c := range req.Contents[1:] {
					want := "model"
					if i%2 == 1 {
						want = "user"
					}
					if c.Role != want || len(c.Parts) != 1 {
						t.Fatalf("turn 3 contents[%d] = %s with %d parts, want %s with one: %s", i+1, c.Role, len(c.Parts), want, reqs[2].Body)
					}
					p := c.Parts[0]
					switch {
					case want == "model" && (p.FunctionCall == nil || p.FunctionCall.Name != fn):
						t.Errorf("turn 3 contents[%d] is not the call: %s", i+1, reqs[2].Body)
					case want == "user" && (p.FunctionResponse == nil || p.FunctionResponse.Response.Result != fmt.Sprintf("result-%d", i/2+1)):
						t.Errorf("turn 3 contents[%d] is not result-%d of its call: %s", i+1, i/2+1, reqs[2].Body)
					}
				}
			})
		}
	}
}

// TestReasoningContinuesRecordedGemini replays recorded Gemini streams
// whose function calls carry real thoughtSignatures: through every other
// client's SDK, the signature reaches Gemini again on the call in turn 2.
func TestReasoningContinuesRecordedGemini(t *testing.T) {
	sigRe := regexp.MustCompile(`"thoughtSignature":\s*"([^"]+)"`)
	for _, fixture := range []string{"gemini_stream_function_call_with_thought_signature.sse", "gemini_stream_thinking_then_function_call.sse"} {
		m := sigRe.FindSubmatch(providertest.Fixture(t, fixture))
		if m == nil {
			t.Fatalf("%s has no thoughtSignature", fixture)
		}
		sig := string(m[1])
		for _, client := range []string{"openai", "responses", "anthropic"} {
			t.Run(client+"/"+fixture, func(t *testing.T) {
				h, up := sdkHarness(t, "gemini", finalTurn("gemini", true))
				up.Enqueue(providertest.FixtureReply(t, fixture))
				conv := newConv(t, client, h)
				ids := conv.send(t, true)
				if len(ids) != 1 {
					t.Fatalf("turn 1: %d tool calls, want 1", len(ids))
				}
				conv.answer(ids[0], "22 degrees")
				conv.send(t, true)
				if reqs := up.Requests(); len(reqs) != 2 {
					t.Fatalf("upstream saw %d requests, want 2", len(reqs))
				} else {
					checkCarried(t, "gemini", reqs[1].Body, sig)
				}
			})
		}
	}
}

// TestCodexNamespaceTools: Codex's namespace tools reach Claude and Gemini
// as functions named "<namespace>__<name>", and a call of one comes back
// to the Responses client as a function_call of the tool in its namespace;
// replayed on the next turn, it is that function's call again.
func TestCodexNamespaceTools(t *testing.T) {
	const flat = "multi_agent_v1__spawn_agent"
	replies := map[string][2]string{
		"anthropic": {`{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"tool_use","id":"toolu_ns","name":"` + flat + `","input":{"message":"go"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":5}}`,
			`{"id":"msg_2","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Spawned."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":20,"output_tokens":2}}`},
		"gemini": {`{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"` + flat + `","args":{"message":"go"}}}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":5,"totalTokenCount":15}}`,
			`{"candidates":[{"content":{"role":"model","parts":[{"text":"Spawned."}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":20,"candidatesTokenCount":2,"totalTokenCount":22}}`},
	}
	for _, upstream := range []string{"anthropic", "gemini"} {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", upstream, stream), func(t *testing.T) {
				r := replies[upstream]
				final := jsonReply(r[1])
				if stream && upstream == "gemini" {
					final = sseReply("", r[1])
				}
				h, up := sdkHarness(t, upstream, final)
				first := jsonReply(r[0])
				if stream && upstream == "gemini" {
					first = sseReply("", r[0])
				}
				if stream && upstream == "anthropic" {
					first = sseReply(
						"message_start", `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"usage":{"input_tokens":10,"output_tokens":1}}}`,
						"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_ns","name":"`+flat+`","input":{}}}`,
						"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"message\":\"go\"}"}}`,
						"content_block_stop", `{"type":"content_block_stop","index":0}`,
						"message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":5}}`,
						"message_stop", `{"type":"message_stop"}`)
					final = finalTurn("anthropic", true)
					up.SetDefault(final)
				}
				up.Enqueue(first)
				conv := newConv(t, "responses", h).(*responsesConv)
				ns := responses.ToolUnionParam{OfNamespace: &responses.NamespaceToolParam{
					Name: "multi_agent_v1", Description: "Sub-agents",
					Tools: []responses.NamespaceToolToolUnionParam{{OfFunction: &responses.NamespaceToolToolFunctionParam{
						Name: "spawn_agent", Parameters: map[string]any{"type": "object", "properties": map[string]any{"message": map[string]any{"type": "string"}}},
					}}},
				}}
				conv.tools = []responses.ToolUnionParam{ns}
				ids := conv.send(t, stream)
				if len(ids) != 1 || len(conv.calls) != 1 || conv.calls[0].Namespace != "multi_agent_v1" || conv.calls[0].Name != "spawn_agent" {
					t.Fatalf("turn 1 calls = %+v, want spawn_agent in namespace multi_agent_v1", conv.calls)
				}
				if body := string(up.Requests()[0].Body); !strings.Contains(body, `"`+flat+`"`) {
					t.Errorf("turn 1 upstream request does not offer %s: %s", flat, body)
				}
				conv.answer(ids[0], "agent-7")
				conv.send(t, stream)
				body := string(up.Requests()[1].Body)
				if strings.Count(body, `"`+flat+`"`) < 2 || !strings.Contains(body, "agent-7") {
					t.Errorf("turn 2 upstream request lacks the tool and its call under %s: %s", flat, body)
				}
			})
		}
	}
}

// TestCarriedReasoningOnPassThrough: a conversation whose first turn was
// served by another provider (a failover, a mixed route) goes on to an
// upstream of the client's own protocol: what the client carried for the
// other provider is left out (OpenAI refuses such ids and reasoning
// items, Gemini such signatures) and the upstream sees the ids the calls
// were issued with.
func TestCarriedReasoningOnPassThrough(t *testing.T) {
	own := map[string]struct {
		kind  string
		reply providertest.Reply
		other string
	}{
		"openai":    {"openai", jsonReply(`{"id":"chatcmpl-2","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Sunny."},"finish_reason":"stop"}],"usage":{"prompt_tokens":30,"completion_tokens":3,"total_tokens":33}}`), "anthropic"},
		"responses": {"openai", jsonReply(`{"id":"resp_2","object":"response","created_at":1,"status":"completed","model":"o3","output":[{"id":"msg_2","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Sunny.","annotations":[]}]}],"usage":{"input_tokens":30,"output_tokens":3,"total_tokens":33}}`), "anthropic"},
		"gemini":    {"gemini", finalTurn("gemini", false), "anthropic"},
		"anthropic": {"anthropic", finalTurn("anthropic", false), "gemini"},
	}
	for client, o := range own {
		t.Run(client, func(t *testing.T) {
			sig := anthropicSig
			if o.other == "gemini" {
				sig = geminiSig
			}
			h1, up1 := sdkHarness(t, o.other, toolTurn(o.other, sig, false))
			conv := newConv(t, client, h1)
			ids := conv.send(t, false)
			if len(ids) != 1 || up1.Count() != 1 {
				t.Fatalf("turn 1: %d tool calls", len(ids))
			}
			conv.answer(ids[0], "22 degrees")
			h2, up2 := sdkHarness(t, o.kind, o.reply)
			switch c := conv.(type) {
			case *openaiConv:
				c.c = openaiClient(h2)
			case *responsesConv:
				c.c = openaiClient(h2)
			case *genaiConv:
				c.c = genaiClient(t, h2)
			case *anthropicConv:
				c.c = anthropicClient(h2)
			}
			conv.send(t, false)
			if up2.Count() != 1 {
				t.Fatalf("turn 2 reached the upstream %d times", up2.Count())
			}
			body := string(up2.Requests()[0].Body)
			for _, carried := range []string{"llmgw1", "bGxtZ3cx", "gemini:", sig} {
				if strings.Contains(body, carried) {
					t.Errorf("turn 2 to %s forwards %q the client carried for %s: %s", o.kind, carried, o.other, body)
				}
			}
			if o.other == "anthropic" && !strings.Contains(body, `"toolu_`) {
				t.Errorf("turn 2 lacks the call id Claude issued: %s", body)
			}
		})
	}
}
