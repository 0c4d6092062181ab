package crosstest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	asdk "github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	osdk "github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/providers/anthropic"
	"github.com/llmgw/llmgw/providers/openai"
)

// The official Go SDKs judge the client-facing encoders: an httptest
// server decodes the SDK's request and answers with what another
// protocol's upstream said (a recorded fixture decoded by that protocol's
// decoder), encoded by the client protocol's encoder. The SDK must parse
// the text, tool calls, stop reason and usage without error. They live
// here rather than in the converter packages so that fuzzing those
// packages does not build the SDKs.

// sdkUpstream is what the fake gateway answers: a whole response or
// neutral stream events.
type sdkUpstream struct {
	resp   *llm.Response
	events []llm.Event
}

type clientCodec struct {
	decodeRequest  func([]byte) (*llm.Request, error)
	encodeResponse func(*llm.Response, *llm.Request) ([]byte, error)
	encodeError    func(*llm.Error) []byte
	newEncoder     func(*llm.Request) streamEncoder
}

var (
	openaiClient = clientCodec{openai.DecodeRequest, openai.EncodeResponse, openai.EncodeError,
		func(r *llm.Request) streamEncoder { return openai.NewStreamEncoder(r) }}
	anthropicClient = clientCodec{anthropic.DecodeRequest, anthropic.EncodeResponse, anthropic.EncodeError,
		func(r *llm.Request) streamEncoder { return anthropic.NewStreamEncoder(r) }}
)

func sdkServer(t *testing.T, c clientCodec, up sdkUpstream) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, err := c.decodeRequest(body)
		var le *llm.Error
		if errors.As(err, &le) {
			w.WriteHeader(le.Status)
			_, _ = w.Write(c.encodeError(le))
			return
		}
		if !req.Stream {
			out, err := c.encodeResponse(up.resp, req)
			if err != nil {
				t.Errorf("EncodeResponse: %v", err)
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(out)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		enc := c.newEncoder(req)
		var out []byte
		for _, ev := range up.events {
			out = enc.Encode(out, ev)
		}
		_, _ = w.Write(enc.Close(out))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// foreign calls f with every recorded stream and response of the
// protocols other than client.
func foreign(t *testing.T, client llm.Protocol, f func(t *testing.T, up sdkUpstream, want outcome)) {
	for _, c := range codecs {
		if c.proto == client {
			continue
		}
		for _, name := range fixtures(t, c.prefix, ".sse") {
			t.Run(name, func(t *testing.T) {
				evs := decodeStream(t, c, fixture(t, name))
				f(t, sdkUpstream{events: evs}, streamOutcome(evs))
			})
		}
		for _, name := range fixtures(t, c.prefix, c.responseSuffix) {
			t.Run(name, func(t *testing.T) {
				resp, err := c.decodeResponse(fixture(t, name))
				if err != nil {
					t.Fatal(err)
				}
				f(t, sdkUpstream{resp: resp}, responseOutcome(resp))
			})
		}
	}
}

var openaiFinish = map[string][]string{
	"end": {"stop"}, "length": {"length"}, "tool_use": {"tool_calls"}, "filter": {"content_filter", "stop"},
}

func TestOpenAISDK(t *testing.T) {
	params := osdk.ChatCompletionNewParams{
		Model:         "client-model",
		Messages:      []osdk.ChatCompletionMessageParamUnion{osdk.UserMessage("Hi")},
		StreamOptions: osdk.ChatCompletionStreamOptionsParam{IncludeUsage: osdk.Bool(true)},
	}
	foreign(t, llm.ProtocolOpenAI, func(t *testing.T, up sdkUpstream, want outcome) {
		client := osdk.NewClient(ooption.WithBaseURL(sdkServer(t, openaiClient, up)+"/v1"), ooption.WithAPIKey("k"), ooption.WithMaxRetries(0))
		var msg osdk.ChatCompletionMessage
		var finish string
		var usage osdk.CompletionUsage
		if up.resp != nil {
			resp, err := client.Chat.Completions.New(context.Background(), params)
			if err != nil {
				t.Fatalf("Chat.Completions.New: %v", err)
			}
			msg, finish, usage = resp.Choices[0].Message, resp.Choices[0].FinishReason, resp.Usage
		} else {
			stream := client.Chat.Completions.NewStreaming(context.Background(), params)
			var acc osdk.ChatCompletionAccumulator
			for stream.Next() {
				if !acc.AddChunk(stream.Current()) {
					t.Fatalf("accumulator rejected %s", stream.Current().RawJSON())
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
			msg, finish, usage = acc.Choices[0].Message, acc.Choices[0].FinishReason, acc.Usage
		}
		var tools []string
		for _, tc := range msg.ToolCalls {
			tools = append(tools, tc.Function.Name+" "+compact([]byte(tc.Function.Arguments)))
		}
		if got := msg.Content + msg.Refusal; got != want.Text {
			t.Errorf("content = %q, want %q", got, want.Text)
		}
		if strings.Join(tools, "|") != strings.Join(want.Tools, "|") {
			t.Errorf("tool calls = %q, want %q", tools, want.Tools)
		}
		if !contains(openaiFinish[want.Stop], finish) {
			t.Errorf("finish_reason = %q, want one of %q", finish, openaiFinish[want.Stop])
		}
		if usage.PromptTokens != want.Usage.PromptTokens() || usage.CompletionTokens != want.Usage.OutputTokens ||
			usage.PromptTokensDetails.CachedTokens != want.Usage.CacheReadTokens {
			t.Errorf("usage = %+v, want %+v", usage, want.Usage)
		}
	})
}

var anthropicStop = map[string][]asdk.StopReason{
	"end": {asdk.StopReasonEndTurn, asdk.StopReasonStopSequence}, "length": {asdk.StopReasonMaxTokens},
	"tool_use": {asdk.StopReasonToolUse}, "filter": {asdk.StopReasonRefusal},
}

func TestAnthropicSDK(t *testing.T) {
	params := asdk.MessageNewParams{
		Model:     "client-model",
		MaxTokens: 1024,
		Messages:  []asdk.MessageParam{asdk.NewUserMessage(asdk.NewTextBlock("Hi"))},
	}
	foreign(t, llm.ProtocolAnthropic, func(t *testing.T, up sdkUpstream, want outcome) {
		client := asdk.NewClient(aoption.WithBaseURL(sdkServer(t, anthropicClient, up)), aoption.WithAPIKey("k"), aoption.WithMaxRetries(0))
		var msg asdk.Message
		if up.resp != nil {
			m, err := client.Messages.New(context.Background(), params)
			if err != nil {
				t.Fatalf("Messages.New: %v", err)
			}
			msg = *m
		} else {
			stream := client.Messages.NewStreaming(context.Background(), params)
			for stream.Next() {
				if err := msg.Accumulate(stream.Current()); err != nil {
					t.Fatalf("Accumulate: %v", err)
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
		}
		var text strings.Builder
		var tools []string
		for _, b := range msg.Content {
			switch b.Type {
			case "text":
				text.WriteString(b.Text)
			case "tool_use":
				tools = append(tools, b.Name+" "+compact(b.Input))
			}
		}
		if text.String() != want.Text {
			t.Errorf("text = %q, want %q", text.String(), want.Text)
		}
		if strings.Join(tools, "|") != strings.Join(want.Tools, "|") {
			t.Errorf("tool calls = %q, want %q", tools, want.Tools)
		}
		if !contains(anthropicStop[want.Stop], msg.StopReason) {
			t.Errorf("stop_reason = %q, want one of %q", msg.StopReason, anthropicStop[want.Stop])
		}
		u := msg.Usage
		if u.InputTokens != want.Usage.InputTokens || u.OutputTokens != want.Usage.OutputTokens ||
			u.CacheReadInputTokens != want.Usage.CacheReadTokens || u.CacheCreationInputTokens != want.Usage.CacheWriteTokens {
			t.Errorf("usage = in %d out %d read %d write %d, want %+v", u.InputTokens, u.OutputTokens, u.CacheReadInputTokens, u.CacheCreationInputTokens, want.Usage)
		}
	})
}

func contains[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// midStreamError is an upstream that fails after some text.
var midStreamError = []llm.Event{
	{Kind: llm.EventStart, ID: "e", Model: "m"},
	{Kind: llm.EventBlockStart, Index: 0, Block: llm.PartText},
	{Kind: llm.EventDelta, Index: 0, Text: "partial"},
	{Kind: llm.EventError, Err: &llm.Error{Status: 529, Type: llm.ErrOverloaded, Message: "Overloaded"}},
}

func TestSDKErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("openai stream", func(t *testing.T) {
		client := osdk.NewClient(ooption.WithBaseURL(sdkServer(t, openaiClient, sdkUpstream{events: midStreamError})), ooption.WithAPIKey("k"), ooption.WithMaxRetries(0))
		stream := client.Chat.Completions.NewStreaming(ctx, osdk.ChatCompletionNewParams{Model: "m", Messages: []osdk.ChatCompletionMessageParamUnion{osdk.UserMessage("Hi")}})
		for stream.Next() {
		}
		if err := stream.Err(); err == nil || !strings.Contains(err.Error(), "Overloaded") {
			t.Errorf("stream error = %v, want the upstream's Overloaded", err)
		}
	})
	t.Run("anthropic stream", func(t *testing.T) {
		client := asdk.NewClient(aoption.WithBaseURL(sdkServer(t, anthropicClient, sdkUpstream{events: midStreamError})), aoption.WithAPIKey("k"), aoption.WithMaxRetries(0))
		stream := client.Messages.NewStreaming(ctx, asdk.MessageNewParams{Model: "m", MaxTokens: 10, Messages: []asdk.MessageParam{asdk.NewUserMessage(asdk.NewTextBlock("Hi"))}})
		for stream.Next() {
		}
		var apiErr *asdk.Error
		if err := stream.Err(); !errors.As(err, &apiErr) || !strings.Contains(err.Error(), "overloaded_error") {
			t.Errorf("stream error = %v, want an overloaded_error *anthropic.Error", err)
		}
	})
	rejecting := func(body []byte, status int) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write(body)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	t.Run("openai body", func(t *testing.T) {
		url := rejecting(openai.EncodeError(&llm.Error{Status: 404, Type: llm.ErrNotFound, Message: "no such model", Code: "model_not_found"}), 404)
		client := osdk.NewClient(ooption.WithBaseURL(url), ooption.WithAPIKey("k"), ooption.WithMaxRetries(0))
		_, err := client.Chat.Completions.New(ctx, osdk.ChatCompletionNewParams{Model: "m", Messages: []osdk.ChatCompletionMessageParamUnion{osdk.UserMessage("Hi")}})
		var apiErr *osdk.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" || apiErr.Message != "no such model" {
			t.Errorf("error = %v, want a 404 model_not_found *openai.Error", err)
		}
	})
	t.Run("anthropic body", func(t *testing.T) {
		url := rejecting(anthropic.EncodeError(&llm.Error{Status: 529, Type: llm.ErrOverloaded, Message: "Overloaded"}), 529)
		client := asdk.NewClient(aoption.WithBaseURL(url), aoption.WithAPIKey("k"), aoption.WithMaxRetries(0))
		_, err := client.Messages.New(ctx, asdk.MessageNewParams{Model: "m", MaxTokens: 10, Messages: []asdk.MessageParam{asdk.NewUserMessage(asdk.NewTextBlock("Hi"))}})
		var apiErr *asdk.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 529 {
			t.Errorf("error = %v, want a 529 *anthropic.Error", err)
		}
	})
}
