package responses

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/llmgw/llmgw/llm"
)

// sdkStream is an upstream answer in neutral form, as the Anthropic or
// Gemini decoder would produce it: reasoning, text, a tool call, usage.
var sdkStream = []llm.Event{
	{Kind: llm.EventStart, ID: "msg_sdk", Model: "claude-sonnet-4"},
	{Kind: llm.EventBlockStart, Index: 0, Block: llm.PartThinking},
	{Kind: llm.EventDelta, Index: 0, Text: "Need the weather."},
	{Kind: llm.EventBlockStop, Index: 0},
	{Kind: llm.EventBlockStart, Index: 1, Block: llm.PartText},
	{Kind: llm.EventDelta, Index: 1, Text: "Checking the "},
	{Kind: llm.EventDelta, Index: 1, Text: "weather."},
	{Kind: llm.EventBlockStop, Index: 1},
	{Kind: llm.EventBlockStart, Index: 2, Block: llm.PartToolCall, ToolCallID: "toolu_1", ToolName: "get_weather"},
	{Kind: llm.EventDelta, Index: 2, Text: `{"city":`},
	{Kind: llm.EventDelta, Index: 2, Text: `"Paris"}`},
	{Kind: llm.EventBlockStop, Index: 2},
	{Kind: llm.EventFinish, StopReason: llm.StopToolUse},
	{Kind: llm.EventUsage, Usage: &llm.Usage{InputTokens: 30, CacheReadTokens: 10, OutputTokens: 12, ReasoningTokens: 4}},
}

var sdkResponse = &llm.Response{
	ID: "msg_sdk", Model: "claude-sonnet-4", StopReason: llm.StopToolUse,
	Parts: []llm.Part{text("Checking the weather."), call("toolu_1", "get_weather", `{"city":"Paris"}`)},
	Usage: llm.Usage{InputTokens: 30, CacheReadTokens: 10, OutputTokens: 12, ReasoningTokens: 4},
}

func sdkServer(t *testing.T, fail bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, err := DecodeRequest(body)
		if r.URL.Path != "/v1/responses" || err != nil || len(req.Messages) != 1 || len(req.Tools) != 1 {
			t.Errorf("server got %s %s: decode = %+v, %v", r.URL.Path, body, req, err)
		}
		if !req.Stream {
			out, err := EncodeResponse(sdkResponse, req)
			if err != nil {
				t.Error(err)
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(out)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		e := NewStreamEncoder(req)
		var out []byte
		evs := sdkStream
		if fail {
			evs = append(evs[:4:4], llm.Event{Kind: llm.EventError, Err: &llm.Error{Status: 429, Type: llm.ErrRateLimit, Message: "try again in 2s"}})
		}
		for _, ev := range evs {
			out = e.Encode(out, ev)
		}
		_, _ = w.Write(e.Close(out))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func sdkParams() responses.ResponseNewParams {
	return responses.ResponseNewParams{
		Model: "gpt-5",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Weather in Paris?")},
		Tools: []responses.ToolUnionParam{{OfFunction: &responses.FunctionToolParam{
			Name: "get_weather", Parameters: map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
		}}},
	}
}

func checkSDKResponse(t *testing.T, r *responses.Response) {
	t.Helper()
	if got := r.OutputText(); got != "Checking the weather." {
		t.Errorf("OutputText() = %q, want %q", got, "Checking the weather.")
	}
	var calls []responses.ResponseFunctionToolCall
	for _, it := range r.Output {
		if it.Type == "function_call" {
			calls = append(calls, it.AsFunctionCall())
		}
	}
	if len(calls) != 1 || calls[0].Name != "get_weather" || calls[0].CallID != "toolu_1" || calls[0].Arguments != `{"city":"Paris"}` || calls[0].ID == calls[0].CallID {
		t.Errorf("function calls = %+v, want one get_weather call toolu_1 with an fc_ item id", calls)
	}
	u := r.Usage
	if r.Status != "completed" || r.ID == "" || u.InputTokens != 40 || u.InputTokensDetails.CachedTokens != 10 || u.OutputTokens != 12 ||
		u.OutputTokensDetails.ReasoningTokens != 4 || u.TotalTokens != 52 {
		t.Errorf("response id %q status %q usage %+v, want completed with input 40 (10 cached), output 12 (4 reasoning), total 52", r.ID, r.Status, u)
	}
}

func TestSDKResponses(t *testing.T) {
	c := openai.NewClient(option.WithBaseURL(sdkServer(t, false).URL+"/v1"), option.WithAPIKey("test"), option.WithMaxRetries(0))
	r, err := c.Responses.New(context.Background(), sdkParams())
	if err != nil {
		t.Fatalf("Responses.New error: %v", err)
	}
	checkSDKResponse(t, r)
}

func TestSDKResponsesStream(t *testing.T) {
	c := openai.NewClient(option.WithBaseURL(sdkServer(t, false).URL+"/v1"), option.WithAPIKey("test"), option.WithMaxRetries(0))
	stream := c.Responses.NewStreaming(context.Background(), sdkParams())
	var (
		text      string
		completed *responses.Response
		n         int
	)
	for stream.Next() {
		ev := stream.Current()
		switch ev.Type {
		case "response.output_text.delta":
			text += ev.AsResponseOutputTextDelta().Delta
		case "response.completed":
			r := ev.AsResponseCompleted().Response
			completed = &r
		}
		if n++; n > 200 {
			t.Fatal("too many events")
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream error: %v", err)
	}
	if text != "Checking the weather." {
		t.Errorf("streamed text = %q, want %q", text, "Checking the weather.")
	}
	if completed == nil {
		t.Fatal("no response.completed event")
	}
	checkSDKResponse(t, completed)
}

func TestSDKResponsesStreamFailed(t *testing.T) {
	c := openai.NewClient(option.WithBaseURL(sdkServer(t, true).URL+"/v1"), option.WithAPIKey("test"), option.WithMaxRetries(0))
	stream := c.Responses.NewStreaming(context.Background(), sdkParams())
	var failed *responses.ResponseFailedEvent
	for stream.Next() {
		if ev := stream.Current(); ev.Type == "response.failed" {
			f := ev.AsResponseFailed()
			failed = &f
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream error: %v", err)
	}
	if failed == nil || failed.Response.Status != "failed" || failed.Response.Error.Code != "rate_limit_exceeded" || failed.Response.ID == "" {
		t.Errorf("response.failed = %+v, want status failed with code rate_limit_exceeded", failed)
	}
}

// TestSDKResponsesRefusal: the official SDK reads both kinds of refusal
// as OpenAI sends them: a refusal in words completes the response with a
// refusal content part (response.refusal.delta when streaming); a refusal
// without words (Anthropic's stop_reason "refusal") leaves it incomplete
// for content_filter.
func TestSDKResponsesRefusal(t *testing.T) {
	tests := []struct {
		name                string
		block               llm.PartKind
		text                string
		status, reason      string
		wantRefusal, wantOT string
	}{
		{"in words", llm.PartRefusal, "I can't help with that.", "completed", "", "I can't help with that.", ""},
		{"safety stop", llm.PartText, "Hi", "incomplete", "content_filter", "", "Hi"},
	}
	for _, tt := range tests {
		evs := []llm.Event{
			{Kind: llm.EventStart, ID: "msg_r", Model: "claude-sonnet-4"},
			{Kind: llm.EventBlockStart, Index: 0, Block: tt.block},
			{Kind: llm.EventDelta, Index: 0, Text: tt.text},
			{Kind: llm.EventBlockStop, Index: 0},
			{Kind: llm.EventFinish, StopReason: llm.StopRefusal},
		}
		resp := &llm.Response{ID: "msg_r", Model: "claude-sonnet-4", Parts: []llm.Part{{Kind: tt.block, Text: tt.text}}, StopReason: llm.StopRefusal}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			req, _ := DecodeRequest(body)
			if req == nil || !req.Stream {
				out, _ := EncodeResponse(resp, req)
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(out)
				return
			}
			w.Header().Set("Content-Type", "text/event-stream")
			e := NewStreamEncoder(req)
			var out []byte
			for _, ev := range evs {
				out = e.Encode(out, ev)
			}
			_, _ = w.Write(e.Close(out))
		}))
		t.Cleanup(srv.Close)
		c := openai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey("test"), option.WithMaxRetries(0))
		check := func(t *testing.T, r *responses.Response) {
			t.Helper()
			var refusal string
			for _, it := range r.Output {
				for _, c := range it.Content {
					if c.Type == "refusal" {
						refusal += c.Refusal
					}
				}
			}
			if r.Status != responses.ResponseStatus(tt.status) || string(r.IncompleteDetails.Reason) != tt.reason ||
				refusal != tt.wantRefusal || r.OutputText() != tt.wantOT {
				t.Errorf("response status %q reason %q refusal %q text %q, want %q %q %q %q", r.Status, r.IncompleteDetails.Reason,
					refusal, r.OutputText(), tt.status, tt.reason, tt.wantRefusal, tt.wantOT)
			}
		}
		t.Run(tt.name, func(t *testing.T) {
			r, err := c.Responses.New(context.Background(), responses.ResponseNewParams{Model: "gpt-5",
				Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")}})
			if err != nil {
				t.Fatalf("Responses.New error: %v", err)
			}
			check(t, r)
		})
		t.Run(tt.name+"/stream", func(t *testing.T) {
			stream := c.Responses.NewStreaming(context.Background(), responses.ResponseNewParams{Model: "gpt-5",
				Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")}})
			var (
				deltas    string
				completed *responses.Response
			)
			for n := 0; stream.Next() && n < 100; n++ {
				switch ev := stream.Current(); ev.Type {
				case "response.refusal.delta":
					deltas += ev.AsResponseRefusalDelta().Delta
				case "response.completed":
					r := ev.AsResponseCompleted().Response
					completed = &r
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("stream error: %v", err)
			}
			if deltas != tt.wantRefusal {
				t.Errorf("response.refusal.delta text = %q, want %q", deltas, tt.wantRefusal)
			}
			if completed == nil {
				t.Fatal("no response.completed event")
			}
			check(t, completed)
		})
	}
}
