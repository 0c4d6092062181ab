package gateway

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
	"google.golang.org/genai"

	"github.com/llmgw/llmgw/providers/providertest"
)

// These tests drive llmgw with each official SDK against fake upstreams of
// every OTHER protocol: the gateway converts the request, the response and
// the stream, and the SDK must parse everything without error.

// upstreamCase is a fake upstream of one protocol replaying a recorded
// answer that contains a tool call (or text, where no recording has one).
type upstreamCase struct {
	kind, stream, body string
	tool               string // the tool name the recording calls; "" for text
}

func upstreamCases() []upstreamCase {
	return []upstreamCase{
		{"openai", "openai_chat_stream_parallel_tool_calls.sse", "openai_cassette_chat-tools.response.200.json", "GetWeatherArgs"},
		{"anthropic", "anthropic_stream_text_then_tool_use_recorded.sse", "anthropic_nonstream_tool_use_response.json", "get_weather"},
		{"gemini", "gemini_stream_function_call_with_thought_signature.sse", "gemini_nonstream_text.response.json", "getWeather"},
	}
}

func convHarness(t *testing.T, kind, fixture string) (*harness, *providertest.Server) {
	return sdkHarness(t, kind, providertest.FixtureReply(t, fixture))
}

func TestConvertOpenAIChatClient(t *testing.T) {
	ctx := context.Background()
	for _, uc := range upstreamCases() {
		if uc.kind == "openai" {
			continue
		}
		t.Run(uc.kind+"/stream", func(t *testing.T) {
			h, _ := convHarness(t, uc.kind, uc.stream)
			stream := openaiClient(h).Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
				Model: "any", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("weather?")},
				StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
			})
			acc := openai.ChatCompletionAccumulator{}
			for stream.Next() {
				acc.AddChunk(stream.Current())
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if len(acc.Choices) == 0 {
				t.Fatal("no choices")
			}
			m := acc.Choices[0]
			if len(m.Message.ToolCalls) == 0 || m.Message.ToolCalls[0].Function.Name != uc.tool || m.FinishReason != "tool_calls" {
				t.Errorf("message = %+v finish %q", m.Message, m.FinishReason)
			}
			if !json.Valid([]byte(m.Message.ToolCalls[0].Function.Arguments)) {
				t.Errorf("arguments %q are not JSON", m.Message.ToolCalls[0].Function.Arguments)
			}
			if acc.Usage.PromptTokens == 0 || acc.Usage.CompletionTokens == 0 {
				t.Errorf("usage = %+v", acc.Usage)
			}
		})
		t.Run(uc.kind+"/non-stream", func(t *testing.T) {
			h, _ := convHarness(t, uc.kind, uc.body)
			resp, err := openaiClient(h).Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
				Model: "any", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
			})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Object != "chat.completion" || len(resp.Choices) != 1 || resp.Usage.TotalTokens == 0 {
				t.Errorf("response = %+v", resp)
			}
			if c := resp.Choices[0]; c.Message.Content == "" && len(c.Message.ToolCalls) == 0 {
				t.Errorf("empty message %+v", c.Message)
			}
		})
	}
}

func TestConvertResponsesClient(t *testing.T) {
	ctx := context.Background()
	for _, uc := range upstreamCases() {
		if uc.kind == "openai" {
			continue // an OpenAI provider takes the Responses API as it is
		}
		t.Run(uc.kind+"/stream", func(t *testing.T) {
			h, _ := convHarness(t, uc.kind, uc.stream)
			stream := openaiClient(h).Responses.NewStreaming(ctx, responses.ResponseNewParams{
				Model: "any", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("weather?")},
			})
			var completed *responses.Response
			var calls []string
			for stream.Next() {
				ev := stream.Current()
				switch ev.Type {
				case "response.output_item.done":
					if ev.Item.Type == "function_call" {
						calls = append(calls, ev.Item.Name)
					}
				case "response.completed":
					r := ev.Response
					completed = &r
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if completed == nil || completed.ID == "" || completed.Usage.TotalTokens == 0 {
				t.Fatalf("completed = %+v", completed)
			}
			if len(calls) == 0 || calls[0] != uc.tool {
				t.Errorf("function calls = %v, want %s", calls, uc.tool)
			}
		})
		t.Run(uc.kind+"/non-stream", func(t *testing.T) {
			h, _ := convHarness(t, uc.kind, uc.body)
			resp, err := openaiClient(h).Responses.New(ctx, responses.ResponseNewParams{
				Model: "any", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
			})
			if err != nil {
				t.Fatal(err)
			}
			if resp.ID == "" || len(resp.Output) == 0 || resp.Usage.TotalTokens == 0 {
				t.Errorf("response = %+v", resp)
			}
		})
	}
}

func TestConvertAnthropicClient(t *testing.T) {
	ctx := context.Background()
	params := anthropic.MessageNewParams{
		Model: "claude-sonnet-4-5", MaxTokens: 1024,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("weather?"))},
	}
	for _, uc := range upstreamCases() {
		if uc.kind == "anthropic" {
			continue
		}
		t.Run(uc.kind+"/stream", func(t *testing.T) {
			h, up := convHarness(t, uc.kind, uc.stream)
			stream := anthropicClient(h).Messages.NewStreaming(ctx, params, withBeta("interleaved-thinking-2025-05-14"))
			msg := anthropic.Message{}
			for stream.Next() {
				if err := msg.Accumulate(stream.Current()); err != nil {
					t.Fatal(err)
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			var tool string
			for _, b := range msg.Content {
				if b.Type == "tool_use" {
					tool = b.Name
					break
				}
			}
			if tool != uc.tool || msg.StopReason != "tool_use" || msg.Usage.OutputTokens == 0 {
				t.Errorf("tool %q stop %q usage %+v", tool, msg.StopReason, msg.Usage)
			}
			if b := up.Requests()[0].Header.Get("anthropic-beta"); b != "" {
				t.Errorf("anthropic-beta %q reached a %s upstream", b, uc.kind)
			}
		})
		t.Run(uc.kind+"/non-stream", func(t *testing.T) {
			h, _ := convHarness(t, uc.kind, uc.body)
			msg, err := anthropicClient(h).Messages.New(ctx, params)
			if err != nil {
				t.Fatal(err)
			}
			if msg.Type != "message" || len(msg.Content) == 0 || msg.Usage.InputTokens == 0 {
				t.Errorf("message = %+v", msg)
			}
		})
	}
}

func TestConvertGenAIClient(t *testing.T) {
	ctx := context.Background()
	for _, uc := range upstreamCases() {
		if uc.kind == "gemini" {
			continue
		}
		t.Run(uc.kind+"/stream", func(t *testing.T) {
			h, _ := convHarness(t, uc.kind, uc.stream)
			var calls []*genai.FunctionCall
			var last *genai.GenerateContentResponse
			for resp, err := range genaiClient(t, h).Models.GenerateContentStream(ctx, "gemini-2.5-flash", genai.Text("weather?"), nil) {
				if err != nil {
					t.Fatal(err)
				}
				calls = append(calls, resp.FunctionCalls()...)
				last = resp
			}
			if len(calls) == 0 || calls[0].Name != uc.tool {
				t.Errorf("calls = %+v, want %s", calls, uc.tool)
			}
			if last == nil || len(last.Candidates) == 0 || last.Candidates[0].FinishReason == "" || last.UsageMetadata == nil {
				t.Errorf("last chunk = %+v", last)
			}
		})
		t.Run(uc.kind+"/non-stream", func(t *testing.T) {
			h, _ := convHarness(t, uc.kind, uc.body)
			resp, err := genaiClient(t, h).Models.GenerateContent(ctx, "gemini-2.5-flash", genai.Text("hi"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Candidates) == 0 || resp.UsageMetadata == nil || resp.UsageMetadata.PromptTokenCount == 0 {
				t.Errorf("response = %+v", resp)
			}
		})
	}
}

// TestConvertToolRoundTrip sends the second turn of a tool conversation
// (the tool's result) through each conversion and checks what the upstream
// received.
func TestConvertToolRoundTrip(t *testing.T) {
	ctx := context.Background()
	t.Run("openai client to anthropic", func(t *testing.T) {
		h, up := convHarness(t, "anthropic", "anthropic_nonstream_after_tool_result_response.json")
		asst := openai.ChatCompletionAssistantMessageParam{ToolCalls: []openai.ChatCompletionMessageToolCallUnionParam{{
			OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{ID: "call.1/x", Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "get_weather", Arguments: `{"city":"SF"}`}},
		}}}
		_, err := openaiClient(h).Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model: "any",
			Messages: []openai.ChatCompletionMessageParamUnion{
				openai.UserMessage("weather?"), {OfAssistant: &asst}, openai.ToolMessage("sunny", "call.1/x"),
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		var sent struct {
			Messages []struct {
				Role    string `json:"role"`
				Content []struct {
					Type      string `json:"type"`
					ID        string `json:"id"`
					ToolUseID string `json:"tool_use_id"`
				} `json:"content"`
			} `json:"messages"`
		}
		if err := json.Unmarshal(up.Requests()[0].Body, &sent); err != nil || len(sent.Messages) != 3 {
			t.Fatalf("upstream body %s", up.Requests()[0].Body)
		}
		use, res := sent.Messages[1].Content, sent.Messages[2].Content
		if len(use) == 0 || use[len(use)-1].Type != "tool_use" || len(res) == 0 || res[0].Type != "tool_result" {
			t.Fatalf("upstream messages = %s", up.Requests()[0].Body)
		}
		id := use[len(use)-1].ID
		if id != res[0].ToolUseID || strings.ContainsAny(id, "./") {
			t.Errorf("tool_use id %q / tool_result id %q: want equal and sanitised", id, res[0].ToolUseID)
		}
	})
	t.Run("openai client to gemini", func(t *testing.T) {
		h, up := convHarness(t, "gemini", "gemini_nonstream_text.response.json")
		asst := openai.ChatCompletionAssistantMessageParam{ToolCalls: []openai.ChatCompletionMessageToolCallUnionParam{{
			OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{ID: "call_1", Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "getWeather", Arguments: `{"location":"Tokyo"}`}},
		}}}
		_, err := openaiClient(h).Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model: "any",
			Messages: []openai.ChatCompletionMessageParamUnion{
				openai.UserMessage("weather?"), {OfAssistant: &asst}, openai.ToolMessage(`{"temp":22}`, "call_1"),
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		body := string(up.Requests()[0].Body)
		if !strings.Contains(body, `"functionResponse"`) || !strings.Contains(body, `"getWeather"`) {
			t.Errorf("upstream body lacks a named functionResponse: %s", body)
		}
	})
	t.Run("anthropic client to openai", func(t *testing.T) {
		h, up := convHarness(t, "openai", "openai_cassette_chat-tools.response.200.json")
		_, err := anthropicClient(h).Messages.New(ctx, anthropic.MessageNewParams{
			Model: "claude-sonnet-4-5", MaxTokens: 100,
			Messages: []anthropic.MessageParam{
				anthropic.NewUserMessage(anthropic.NewTextBlock("weather?")),
				anthropic.NewAssistantMessage(anthropic.NewToolUseBlock("toolu_01", map[string]any{"city": "SF"}, "get_weather")),
				anthropic.NewUserMessage(anthropic.NewToolResultBlock("toolu_01", "sunny", false)),
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		var sent struct {
			Messages []struct {
				Role       string `json:"role"`
				ToolCallID string `json:"tool_call_id"`
				ToolCalls  []struct {
					ID string `json:"id"`
				} `json:"tool_calls"`
			} `json:"messages"`
		}
		if err := json.Unmarshal(up.Requests()[0].Body, &sent); err != nil {
			t.Fatal(err)
		}
		var sawCall, sawResult bool
		for _, m := range sent.Messages {
			sawCall = sawCall || (m.Role == "assistant" && len(m.ToolCalls) == 1 && m.ToolCalls[0].ID == "toolu_01")
			sawResult = sawResult || (m.Role == "tool" && m.ToolCallID == "toolu_01")
		}
		if !sawCall || !sawResult {
			t.Errorf("upstream messages = %s", up.Requests()[0].Body)
		}
	})
}
