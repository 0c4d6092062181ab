package gateway

import (
	"context"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"google.golang.org/genai"

	"github.com/llmgw/llmgw/providers/providertest"
)

// These tests drive llmgw with the official SDKs against fake upstreams of
// the SAME protocol replaying recorded transcripts: what the SDK parses
// must be exactly what the upstream sent.

func sdkHarness(t *testing.T, kind string, reply providertest.Reply) (*harness, *providertest.Server) {
	t.Helper()
	up := providertest.New(t, reply)
	h := newHarness(t, `key("k", "sk-client")
`+providerDecl("p", kind, up.URL, "")+"def route(req, ctx):\n    return [p]\n")
	return h, up
}

func openaiClient(h *harness) *openai.Client {
	c := openai.NewClient(ooption.WithBaseURL(h.srv.URL+"/v1/"), ooption.WithAPIKey("sk-client"), ooption.WithMaxRetries(0))
	return &c
}

func anthropicClient(h *harness) *anthropic.Client {
	c := anthropic.NewClient(aoption.WithBaseURL(h.srv.URL), aoption.WithAPIKey("sk-client"), aoption.WithMaxRetries(0))
	return &c
}

func genaiClient(t *testing.T, h *harness) *genai.Client {
	t.Helper()
	c, err := genai.NewClient(context.Background(), &genai.ClientConfig{
		APIKey: "sk-client", Backend: genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: h.srv.URL},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestOpenAISDKChatSameProtocol(t *testing.T) {
	ctx := context.Background()
	t.Run("non-stream tools", func(t *testing.T) {
		h, _ := sdkHarness(t, "openai", providertest.FixtureReply(t, "openai_cassette_chat-tools.response.200.json"))
		resp, err := openaiClient(h).Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model: "gpt-5-nano", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("weather?")},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Choices) != 1 || len(resp.Choices[0].Message.ToolCalls) == 0 || resp.Choices[0].FinishReason != "tool_calls" {
			t.Errorf("choices = %+v", resp.Choices)
		}
		if resp.Usage.PromptTokens == 0 {
			t.Error("usage lost")
		}
	})
	t.Run("stream parallel tools", func(t *testing.T) {
		h, _ := sdkHarness(t, "openai", providertest.FixtureReply(t, "openai_chat_stream_parallel_tool_calls.sse"))
		stream := openaiClient(h).Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
			Model: "gpt-4o", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
		})
		acc := openai.ChatCompletionAccumulator{}
		for stream.Next() {
			acc.AddChunk(stream.Current())
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		calls := acc.Choices[0].Message.ToolCalls
		if len(calls) != 2 || calls[0].Function.Name != "GetWeatherArgs" || calls[1].Function.Name != "get_stock_price" {
			t.Errorf("tool calls = %+v", calls)
		}
		if acc.Usage.TotalTokens != 209 {
			t.Errorf("usage total = %d, want 209", acc.Usage.TotalTokens)
		}
	})
	t.Run("stream with error null on every chunk", func(t *testing.T) {
		// Some compatible servers put "error": null on every chunk, and
		// openai-go fails the stream at the first.
		body := "data: {\"error\":null,\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n" +
			"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}],\"error\": null}\n\n" +
			"data: [DONE]\n\n"
		h, _ := sdkHarness(t, "openai", providertest.Reply{SSE: true, Body: []byte(body)})
		stream := openaiClient(h).Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
			Model: "m", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		})
		var text string
		for stream.Next() {
			for _, c := range stream.Current().Choices {
				text += c.Delta.Content
			}
		}
		if err := stream.Err(); err != nil || text != "Hello" {
			t.Errorf("stream = %q, %v; want \"Hello\" and no error", text, err)
		}
	})
	t.Run("responses stream", func(t *testing.T) {
		h, _ := sdkHarness(t, "openai", providertest.FixtureReply(t, "openai_responses_stream_function_call_o3.sse"))
		stream := openaiClient(h).Responses.NewStreaming(ctx, responses.ResponseNewParams{
			Model: "o3", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("weather in Beijing?")},
		})
		var completed *responses.Response
		for stream.Next() {
			ev := stream.Current()
			if ev.Type == "response.completed" {
				r := ev.Response
				completed = &r
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if completed == nil || completed.Usage.OutputTokens != 94 {
			t.Fatalf("completed = %+v", completed)
		}
	})
}

func TestAnthropicSDKSameProtocol(t *testing.T) {
	ctx := context.Background()
	params := anthropic.MessageNewParams{
		Model: "claude-3-7-sonnet-20250219", MaxTokens: 1024,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("weather in SF?"))},
	}
	t.Run("non-stream", func(t *testing.T) {
		h, up := sdkHarness(t, "anthropic", providertest.FixtureReply(t, "anthropic_nonstream_tool_use_response.json"))
		msg, err := anthropicClient(h).Messages.New(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		if msg.StopReason != "tool_use" || len(msg.Content) == 0 {
			t.Errorf("message = %+v", msg)
		}
		if v := up.Requests()[0].Header.Get("anthropic-version"); v == "" {
			t.Errorf("anthropic-version forwarded = %q", v)
		}
	})
	t.Run("stream", func(t *testing.T) {
		h, _ := sdkHarness(t, "anthropic", providertest.FixtureReply(t, "anthropic_stream_text_then_tool_use_recorded.sse"))
		stream := anthropicClient(h).Messages.NewStreaming(ctx, params)
		msg := anthropic.Message{}
		for stream.Next() {
			if err := msg.Accumulate(stream.Current()); err != nil {
				t.Fatal(err)
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if msg.StopReason != "tool_use" || len(msg.Content) != 2 || msg.Content[1].Name != "get_weather" || msg.Usage.OutputTokens == 0 {
			t.Errorf("message = stop %q, %d blocks, usage %+v", msg.StopReason, len(msg.Content), msg.Usage)
		}
	})
}

func TestGenAISDKSameProtocol(t *testing.T) {
	ctx := context.Background()
	t.Run("non-stream", func(t *testing.T) {
		h, _ := sdkHarness(t, "gemini", providertest.FixtureReply(t, "gemini_nonstream_text.response.json"))
		resp, err := genaiClient(t, h).Models.GenerateContent(ctx, "gemini-2.5-flash", genai.Text("hi"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Text() == "" || resp.UsageMetadata == nil {
			t.Errorf("response = %+v", resp)
		}
	})
	t.Run("stream", func(t *testing.T) {
		h, _ := sdkHarness(t, "gemini", providertest.FixtureReply(t, "gemini_stream_long_text_thinking_model.sse"))
		var text strings.Builder
		var chunks int
		var last *genai.GenerateContentResponse
		for resp, err := range genaiClient(t, h).Models.GenerateContentStream(ctx, "gemini-2.5-flash", genai.Text("hi"), nil) {
			if err != nil {
				t.Fatal(err)
			}
			chunks++
			text.WriteString(resp.Text())
			last = resp
		}
		if chunks != 123 || text.Len() == 0 || last.Candidates[0].FinishReason != genai.FinishReasonStop {
			t.Errorf("%d chunks, %d bytes of text", chunks, text.Len())
		}
	})
	t.Run("stream function call", func(t *testing.T) {
		h, _ := sdkHarness(t, "gemini", providertest.FixtureReply(t, "gemini_stream_function_call_with_thought_signature.sse"))
		var calls []*genai.FunctionCall
		for resp, err := range genaiClient(t, h).Models.GenerateContentStream(ctx, "gemini-2.5-flash", genai.Text("weather?"), nil) {
			if err != nil {
				t.Fatal(err)
			}
			calls = append(calls, resp.FunctionCalls()...)
		}
		if len(calls) != 1 || calls[0].Name != "getWeather" {
			t.Errorf("calls = %+v", calls)
		}
	})
}

// withBeta sends an anthropic-beta header, as Claude Code does.
func withBeta(v string) aoption.RequestOption { return aoption.WithHeader("anthropic-beta", v) }
