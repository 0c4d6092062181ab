package gemini

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"google.golang.org/genai"

	"github.com/llmgw/llmgw/llm"
)

// sdkEvents is an upstream answer in neutral form, as the Anthropic
// decoder would produce it: thinking, text, a tool call, usage.
var sdkEvents = []llm.Event{
	{Kind: llm.EventStart, ID: "msg_sdk", Model: "claude-sonnet-4"},
	{Kind: llm.EventBlockStart, Index: 0, Block: llm.PartText},
	{Kind: llm.EventDelta, Index: 0, Text: "Checking the "},
	{Kind: llm.EventDelta, Index: 0, Text: "weather."},
	{Kind: llm.EventBlockStop, Index: 0},
	{Kind: llm.EventBlockStart, Index: 1, Block: llm.PartToolCall, ToolCallID: "toolu_1", ToolName: "get_weather"},
	{Kind: llm.EventDelta, Index: 1, Text: `{"city":`},
	{Kind: llm.EventDelta, Index: 1, Text: `"Paris"}`},
	{Kind: llm.EventBlockStop, Index: 1},
	{Kind: llm.EventFinish, StopReason: llm.StopToolUse},
	{Kind: llm.EventUsage, Usage: &llm.Usage{InputTokens: 30, CacheReadTokens: 10, OutputTokens: 12}},
}

// sdkServer serves the Gemini REST surface from the package's encoders,
// checking that what the SDK sends decodes.
func sdkServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		model, action, ok := ParseModelAction(r.URL.Path)
		body, _ := io.ReadAll(r.Body)
		req, err := DecodeRequestModel(model, body)
		if !ok || err != nil || req.Model != "gemini-2.5-flash" || len(req.Messages) != 1 || len(req.Tools) != 1 {
			t.Errorf("server got path %s body %s: decode = %+v, %v", r.URL.Path, body, req, err)
		}
		switch action {
		case "generateContent":
			out, err := EncodeResponse(&llm.Response{
				ID: "msg_sdk", Model: "claude-sonnet-4", StopReason: llm.StopToolUse,
				Parts: []llm.Part{text("Checking the weather."), call("toolu_1", "get_weather", `{"city":"Paris"}`)},
				Usage: llm.Usage{InputTokens: 30, CacheReadTokens: 10, OutputTokens: 12},
			}, req)
			if err != nil {
				t.Error(err)
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(out)
		case "streamGenerateContent":
			if r.URL.Query().Get("alt") != "sse" {
				t.Errorf("stream request without alt=sse: %s", r.URL)
			}
			w.Header().Set("Content-Type", "text/event-stream")
			e := NewStreamEncoder(req)
			var out []byte
			for _, ev := range sdkEvents {
				out = e.Encode(out, ev)
			}
			_, _ = w.Write(e.Close(out))
		default:
			t.Errorf("unexpected action %q", action)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func sdkClient(t *testing.T, url string) *genai.Client {
	t.Helper()
	c, err := genai.NewClient(context.Background(), &genai.ClientConfig{
		APIKey: "test", Backend: genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: url},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var sdkConfig = &genai.GenerateContentConfig{
	Tools: []*genai.Tool{{FunctionDeclarations: []*genai.FunctionDeclaration{{
		Name: "get_weather", Parameters: &genai.Schema{Type: genai.TypeObject, Properties: map[string]*genai.Schema{"city": {Type: genai.TypeString}}},
	}}}},
}

func checkSDKAnswer(t *testing.T, text string, calls []*genai.FunctionCall, finish genai.FinishReason, usage *genai.GenerateContentResponseUsageMetadata) {
	t.Helper()
	if text != "Checking the weather." {
		t.Errorf("text = %q, want %q", text, "Checking the weather.")
	}
	if len(calls) != 1 || calls[0].Name != "get_weather" || calls[0].Args["city"] != "Paris" || calls[0].ID != "toolu_1" {
		t.Errorf("function calls = %+v, want one get_weather(city=Paris) with id toolu_1", calls)
	}
	if finish != genai.FinishReasonStop {
		t.Errorf("finish reason = %q, want STOP", finish)
	}
	if usage == nil || usage.PromptTokenCount != 40 || usage.CachedContentTokenCount != 10 || usage.CandidatesTokenCount != 12 || usage.TotalTokenCount != 52 {
		t.Errorf("usage = %+v, want prompt 40, cached 10, candidates 12, total 52", usage)
	}
}

func TestSDKGenerateContent(t *testing.T) {
	c := sdkClient(t, sdkServer(t).URL)
	resp, err := c.Models.GenerateContent(context.Background(), "gemini-2.5-flash", genai.Text("Weather in Paris?"), sdkConfig)
	if err != nil {
		t.Fatalf("GenerateContent error: %v", err)
	}
	checkSDKAnswer(t, resp.Text(), resp.FunctionCalls(), resp.Candidates[0].FinishReason, resp.UsageMetadata)
}

func TestSDKGenerateContentStream(t *testing.T) {
	c := sdkClient(t, sdkServer(t).URL)
	var (
		text   string
		calls  []*genai.FunctionCall
		finish genai.FinishReason
		usage  *genai.GenerateContentResponseUsageMetadata
		chunks int
	)
	for resp, err := range c.Models.GenerateContentStream(context.Background(), "gemini-2.5-flash", genai.Text("Weather in Paris?"), sdkConfig) {
		if err != nil {
			t.Fatalf("stream error: %v", err)
		}
		chunks++
		text += resp.Text()
		calls = append(calls, resp.FunctionCalls()...)
		if len(resp.Candidates) > 0 && resp.Candidates[0].FinishReason != "" {
			finish = resp.Candidates[0].FinishReason
		}
		if resp.UsageMetadata != nil {
			usage = resp.UsageMetadata
		}
		if chunks > 100 {
			t.Fatal("too many chunks")
		}
	}
	checkSDKAnswer(t, text, calls, finish, usage)
}
