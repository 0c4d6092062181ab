package demo

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"
	"google.golang.org/genai"
)

// The official SDKs are the judges of wire compatibility: each test points
// one at an httptest server wrapping the demo handler (and, once, at the
// in-process Transport) and checks that it parses what it gets.

const sdkPrompt = "Say hello to the SDK."

// sdkServer starts a loopback server for the demo handler.
func sdkServer(t *testing.T, cfg Config) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(New(cfg))
	t.Cleanup(srv.Close)
	return srv
}

func wantReply(t *testing.T, what, text string) {
	t.Helper()
	if !strings.HasPrefix(text, banner) || !strings.Contains(text, sdkPrompt) {
		t.Errorf("%s text = %q, want the banner and the prompt quoted", what, text)
	}
}

func openAIClient(t *testing.T, opts ...ooption.RequestOption) openai.Client {
	srv := sdkServer(t, Config{Chunks: 5})
	return openai.NewClient(append([]ooption.RequestOption{
		ooption.WithBaseURL(srv.URL + "/v1"), ooption.WithAPIKey("demo"), ooption.WithMaxRetries(0),
	}, opts...)...)
}

func TestOpenAISDKChat(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"loopback", "transport"} {
		t.Run(name, func(t *testing.T) {
			var opts []ooption.RequestOption
			if name == "transport" {
				opts = append(opts, ooption.WithHTTPClient(&http.Client{Transport: New(Config{Chunks: 5}).Transport()}))
			}
			client := openAIClient(t, opts...)
			params := openai.ChatCompletionNewParams{
				Model:    "demo",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(sdkPrompt)},
			}
			resp, err := client.Chat.Completions.New(ctx, params)
			if err != nil {
				t.Fatalf("Chat.Completions.New: %v", err)
			}
			wantReply(t, "chat", resp.Choices[0].Message.Content)
			if resp.Usage.CompletionTokens != int64(CountTokens(resp.Choices[0].Message.Content)) {
				t.Errorf("completion_tokens = %d, want %d", resp.Usage.CompletionTokens, CountTokens(resp.Choices[0].Message.Content))
			}

			params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			stream := client.Chat.Completions.NewStreaming(ctx, params)
			var acc openai.ChatCompletionAccumulator
			chunks := 0
			for stream.Next() {
				acc.AddChunk(stream.Current())
				chunks++
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
			if got, want := acc.Choices[0].Message.Content, resp.Choices[0].Message.Content; got != want {
				t.Errorf("streamed content = %q, want the non-streamed %q", got, want)
			}
			if acc.Usage.TotalTokens != resp.Usage.TotalTokens || acc.Choices[0].FinishReason != "stop" {
				t.Errorf("stream usage %d, finish %q; want %d, stop", acc.Usage.TotalTokens, acc.Choices[0].FinishReason, resp.Usage.TotalTokens)
			}
			if chunks != 5+3 { // role, 5 content, finish, usage
				t.Errorf("got %d chunks, want 8", chunks)
			}
		})
	}
}

func TestOpenAISDKResponses(t *testing.T) {
	ctx := context.Background()
	client := openAIClient(t)
	params := responses.ResponseNewParams{
		Model: "demo",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String(sdkPrompt)},
	}
	resp, err := client.Responses.New(ctx, params)
	if err != nil {
		t.Fatalf("Responses.New: %v", err)
	}
	wantReply(t, "responses", resp.OutputText())

	stream := client.Responses.NewStreaming(ctx, params)
	var text strings.Builder
	var completed responses.Response
	for stream.Next() {
		ev := stream.Current()
		switch ev.Type {
		case "response.output_text.delta":
			text.WriteString(ev.Delta)
		case "response.completed":
			completed = ev.AsResponseCompleted().Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if text.String() != resp.OutputText() || completed.OutputText() != resp.OutputText() {
		t.Errorf("streamed %q, completed %q; want %q", text.String(), completed.OutputText(), resp.OutputText())
	}
	if completed.ID != resp.ID || completed.Usage.OutputTokens != resp.Usage.OutputTokens {
		t.Errorf("completed id %q usage %d, want %q %d", completed.ID, completed.Usage.OutputTokens, resp.ID, resp.Usage.OutputTokens)
	}
}

func TestOpenAISDKEmbeddingsAndModels(t *testing.T) {
	ctx := context.Background()
	client := openAIClient(t)
	emb, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{
		Model: "demo-embedding",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a", "b c"}},
	})
	if err != nil {
		t.Fatalf("Embeddings.New: %v", err)
	}
	if len(emb.Data) != 2 || len(emb.Data[0].Embedding) != defaultDims || emb.Usage.PromptTokens != 3 {
		t.Errorf("embeddings: %d vectors of %d, %d tokens; want 2 of %d, 3", len(emb.Data), len(emb.Data[0].Embedding), emb.Usage.PromptTokens, defaultDims)
	}
	page, err := client.Models.List(ctx)
	if err != nil {
		t.Fatalf("Models.List: %v", err)
	}
	if len(page.Data) != len(models) || page.Data[0].ID != models[0] {
		t.Errorf("models = %+v, want %v", page.Data, models)
	}
}

func TestAnthropicSDK(t *testing.T) {
	ctx := context.Background()
	srv := sdkServer(t, Config{Chunks: 4})
	client := anthropic.NewClient(aoption.WithBaseURL(srv.URL), aoption.WithAPIKey("demo"), aoption.WithMaxRetries(0))
	params := anthropic.MessageNewParams{
		Model:     "demo",
		MaxTokens: 1024,
		System:    []anthropic.TextBlockParam{{Text: "Be brief."}},
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(sdkPrompt))},
	}
	msg, err := client.Messages.New(ctx, params)
	if err != nil {
		t.Fatalf("Messages.New: %v", err)
	}
	wantReply(t, "messages", msg.Content[0].Text)
	if msg.StopReason != anthropic.StopReasonEndTurn {
		t.Errorf("stop_reason = %q, want end_turn", msg.StopReason)
	}

	stream := client.Messages.NewStreaming(ctx, params)
	var acc anthropic.Message
	for stream.Next() {
		if err := acc.Accumulate(stream.Current()); err != nil {
			t.Fatalf("Accumulate: %v", err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if acc.Content[0].Text != msg.Content[0].Text || acc.Usage.OutputTokens != msg.Usage.OutputTokens ||
		acc.Usage.InputTokens != msg.Usage.InputTokens || acc.StopReason != msg.StopReason {
		t.Errorf("streamed message %+v, want the non-streamed %+v", acc, msg)
	}

	count, err := client.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{
		Model:    "demo",
		System:   anthropic.MessageCountTokensParamsSystemUnion{OfTextBlockArray: params.System},
		Messages: params.Messages,
	})
	if err != nil {
		t.Fatalf("CountTokens: %v", err)
	}
	if count.InputTokens != msg.Usage.InputTokens {
		t.Errorf("count_tokens = %d, want the message's input_tokens %d", count.InputTokens, msg.Usage.InputTokens)
	}
	models, err := client.Models.List(ctx, anthropic.ModelListParams{})
	if err != nil || len(models.Data) == 0 {
		t.Fatalf("Models.List = %v, %v", models, err)
	}
}

func TestGeminiSDK(t *testing.T) {
	ctx := context.Background()
	srv := sdkServer(t, Config{Chunks: 6})
	client, err := genai.NewClient(ctx, &genai.ClientConfig{
		APIKey: "demo", Backend: genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: srv.URL},
	})
	if err != nil {
		t.Fatalf("genai.NewClient: %v", err)
	}
	resp, err := client.Models.GenerateContent(ctx, "demo", genai.Text(sdkPrompt), nil)
	if err != nil {
		t.Fatalf("GenerateContent: %v", err)
	}
	wantReply(t, "generateContent", resp.Text())

	var text strings.Builder
	var last *genai.GenerateContentResponse
	chunks := 0
	for chunk, err := range client.Models.GenerateContentStream(ctx, "demo", genai.Text(sdkPrompt), nil) {
		if err != nil {
			t.Fatalf("GenerateContentStream: %v", err)
		}
		text.WriteString(chunk.Text())
		last = chunk
		chunks++
	}
	if text.String() != resp.Text() || chunks != 6 {
		t.Errorf("streamed %d chunks %q, want 6 giving %q", chunks, text.String(), resp.Text())
	}
	if last.Candidates[0].FinishReason != genai.FinishReasonStop ||
		last.UsageMetadata.CandidatesTokenCount != resp.UsageMetadata.CandidatesTokenCount {
		t.Errorf("last chunk finish %q usage %d, want STOP %d", last.Candidates[0].FinishReason,
			last.UsageMetadata.CandidatesTokenCount, resp.UsageMetadata.CandidatesTokenCount)
	}

	count, err := client.Models.CountTokens(ctx, "demo", genai.Text(sdkPrompt), nil)
	if err != nil {
		t.Fatalf("CountTokens: %v", err)
	}
	if count.TotalTokens != resp.UsageMetadata.PromptTokenCount {
		t.Errorf("countTokens = %d, want the prompt's %d", count.TotalTokens, resp.UsageMetadata.PromptTokenCount)
	}
	emb, err := client.Models.EmbedContent(ctx, "demo-embedding", genai.Text("a"), nil)
	if err != nil {
		t.Fatalf("EmbedContent: %v", err)
	}
	if len(emb.Embeddings) != 1 || len(emb.Embeddings[0].Values) != defaultDims {
		t.Errorf("EmbedContent gave %d embeddings, want 1 of %d values", len(emb.Embeddings), defaultDims)
	}
	page, err := client.Models.List(ctx, nil)
	if err != nil || len(page.Items) != len(models) {
		t.Fatalf("Models.List = %d items, %v; want %d", len(page.Items), err, len(models))
	}
}

// TestSDKToolCalls: each SDK parses the demo's tool calls, streamed and not.
func TestSDKToolCalls(t *testing.T) {
	ctx := context.Background()
	const ask = "Please use get_weather for Paris."
	srv := sdkServer(t, Config{})
	schema := map[string]any{"city": map[string]any{"type": "string"}}

	oc := openai.NewClient(ooption.WithBaseURL(srv.URL+"/v1"), ooption.WithAPIKey("demo"), ooption.WithMaxRetries(0))
	params := openai.ChatCompletionNewParams{
		Model:    "demo",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(ask)},
		Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name: "get_weather", Parameters: shared.FunctionParameters{"type": "object", "properties": schema, "required": []string{"city"}},
		})},
	}
	stream := oc.Chat.Completions.NewStreaming(ctx, params)
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("openai stream: %v", err)
	}
	if tc := acc.Choices[0].Message.ToolCalls; len(tc) != 1 || tc[0].Function.Name != "get_weather" ||
		tc[0].Function.Arguments != `{"city":"`+ask+`"}` || acc.Choices[0].FinishReason != "tool_calls" {
		t.Errorf("openai tool calls = %+v, finish %q", tc, acc.Choices[0].FinishReason)
	}

	ac := anthropic.NewClient(aoption.WithBaseURL(srv.URL), aoption.WithAPIKey("demo"), aoption.WithMaxRetries(0))
	mstream := ac.Messages.NewStreaming(ctx, anthropic.MessageNewParams{
		Model: "demo", MaxTokens: 1024,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(ask))},
		Tools: []anthropic.ToolUnionParam{anthropic.ToolUnionParamOfTool(
			anthropic.ToolInputSchemaParam{Properties: schema, Required: []string{"city"}}, "get_weather")},
	})
	var msg anthropic.Message
	for mstream.Next() {
		if err := msg.Accumulate(mstream.Current()); err != nil {
			t.Fatalf("Accumulate: %v", err)
		}
	}
	if err := mstream.Err(); err != nil {
		t.Fatalf("anthropic stream: %v", err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Type != "tool_use" || msg.Content[0].Name != "get_weather" ||
		string(msg.Content[0].Input) != `{"city":"`+ask+`"}` || msg.StopReason != anthropic.StopReasonToolUse {
		t.Errorf("anthropic message = %+v", msg)
	}

	gc, err := genai.NewClient(ctx, &genai.ClientConfig{APIKey: "demo", Backend: genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: srv.URL}})
	if err != nil {
		t.Fatalf("genai.NewClient: %v", err)
	}
	resp, err := gc.Models.GenerateContent(ctx, "demo", genai.Text(ask), &genai.GenerateContentConfig{
		Tools: []*genai.Tool{{FunctionDeclarations: []*genai.FunctionDeclaration{{Name: "get_weather",
			ParametersJsonSchema: map[string]any{"type": "object", "properties": schema, "required": []string{"city"}}}}}},
	})
	if err != nil {
		t.Fatalf("GenerateContent: %v", err)
	}
	if fc := resp.FunctionCalls(); len(fc) != 1 || fc[0].Name != "get_weather" || fc[0].Args["city"] != ask {
		t.Errorf("gemini function calls = %+v", fc)
	}
}
