package gateway

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"
	"google.golang.org/genai"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/providers/providertest"
)

// TestPromptCachingSurvivesConversion: OpenAI, Responses and Gemini
// clients, whose providers cache prompt prefixes unasked, reach Claude
// with cache_control breakpoints on the tools, the system prompt and the
// latest user turns (at most four); a session converted for OpenAI gets a
// prompt_cache_key derived from its session id, the same on every turn,
// which does not reveal the id.
func TestPromptCachingSurvivesConversion(t *testing.T) {
	ctx := context.Background()
	const system = "You are a coding agent. Follow the repository's conventions."
	breakpoints := func(t *testing.T, body []byte) {
		t.Helper()
		var req struct {
			System []struct {
				CacheControl json.RawMessage `json:"cache_control"`
			} `json:"system"`
			Tools []struct {
				CacheControl json.RawMessage `json:"cache_control"`
			} `json:"tools"`
			Messages []struct {
				Role    string `json:"role"`
				Content []struct {
					CacheControl json.RawMessage `json:"cache_control"`
				} `json:"content"`
			} `json:"messages"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			t.Fatal(err)
		}
		n := strings.Count(string(body), `"cache_control"`)
		last := func(n int) int { return n - 1 }
		switch {
		case n < 3 || n > 4:
			t.Errorf("%d breakpoints, want 3 or 4: %s", n, body)
		case len(req.System) == 0 || req.System[last(len(req.System))].CacheControl == nil:
			t.Errorf("system prompt not cached: %s", body)
		case len(req.Tools) == 0 || req.Tools[last(len(req.Tools))].CacheControl == nil:
			t.Errorf("tools not cached: %s", body)
		}
		m := req.Messages[len(req.Messages)-1]
		if m.Role != "user" || m.Content[len(m.Content)-1].CacheControl == nil {
			t.Errorf("latest user turn not cached: %s", body)
		}
	}
	t.Run("openai client to anthropic", func(t *testing.T) {
		h, up := convHarness(t, "anthropic", "anthropic_nonstream_after_tool_result_response.json")
		_, err := openaiClient(h).Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model: "any",
			Messages: []openai.ChatCompletionMessageParamUnion{
				openai.SystemMessage(system), openai.UserMessage("hi"), openai.AssistantMessage("hello"), openai.UserMessage("weather?"),
			},
			Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "get_weather", Parameters: weatherSchema})},
		})
		if err != nil {
			t.Fatal(err)
		}
		breakpoints(t, up.Requests()[0].Body)
	})
	t.Run("responses client to anthropic", func(t *testing.T) {
		h, up := convHarness(t, "anthropic", "anthropic_nonstream_after_tool_result_response.json")
		_, err := openaiClient(h).Responses.New(ctx, responses.ResponseNewParams{
			Model: "any", Instructions: openai.String(system),
			Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("weather?")},
			Tools: []responses.ToolUnionParam{responses.ToolParamOfFunction("get_weather", weatherSchema, false)},
		})
		if err != nil {
			t.Fatal(err)
		}
		breakpoints(t, up.Requests()[0].Body)
	})
	t.Run("gemini client to anthropic", func(t *testing.T) {
		h, up := convHarness(t, "anthropic", "anthropic_nonstream_after_tool_result_response.json")
		_, err := genaiClient(t, h).Models.GenerateContent(ctx, "gemini-2.5-flash", genai.Text("weather?"), &genai.GenerateContentConfig{
			SystemInstruction: genai.NewContentFromText(system, genai.RoleUser),
			Tools:             []*genai.Tool{{FunctionDeclarations: []*genai.FunctionDeclaration{{Name: "get_weather", ParametersJsonSchema: weatherSchema}}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		breakpoints(t, up.Requests()[0].Body)
	})
	t.Run("anthropic client keeps its own breakpoints", func(t *testing.T) {
		h, up := convHarness(t, "anthropic", "anthropic_nonstream_after_tool_result_response.json")
		_, err := anthropicClient(h).Messages.New(ctx, anthropic.MessageNewParams{
			Model: "claude-sonnet-4-5", MaxTokens: 100,
			System:   []anthropic.TextBlockParam{{Text: system}},
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("weather?"))},
		})
		if err != nil {
			t.Fatal(err)
		}
		if body := up.Requests()[0].Body; strings.Contains(string(body), "cache_control") {
			t.Errorf("llmgw added breakpoints to an Anthropic client's request: %s", body)
		}
	})
	t.Run("anthropic client to openai", func(t *testing.T) {
		h, up := convHarness(t, "openai", "openai_cassette_chat-tools.response.200.json")
		c := anthropicClient(h)
		for turn := 0; turn < 2; turn++ {
			_, err := c.Messages.New(ctx, anthropic.MessageNewParams{
				Model: "claude-sonnet-4-5", MaxTokens: 100,
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("weather?"))},
			}, aoption.WithHeader("X-Claude-Code-Session-Id", "sess-42"))
			if err != nil {
				t.Fatal(err)
			}
		}
		want := llm.CacheKeyFor("sess-42")
		for i, r := range up.Requests() {
			var body struct {
				PromptCacheKey string `json:"prompt_cache_key"`
			}
			if err := json.Unmarshal(r.Body, &body); err != nil || body.PromptCacheKey != want || strings.Contains(string(r.Body), "sess-42") {
				t.Errorf("turn %d: prompt_cache_key %q, want %q (and no session id): %s", i+1, body.PromptCacheKey, want, r.Body)
			}
		}
	})
}

// TestAutoCacheOff: provider(auto_cache = False) keeps the hints the
// client did not send out of a converted request (no cache_control for an
// Anthropic upstream, no derived prompt_cache_key for an OpenAI one),
// while the same request to a provider declared without it gets them.
func TestAutoCacheOff(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		kind, fixture, hint string
		send                func(t *testing.T, h *harness)
	}{
		{"anthropic", "anthropic_nonstream_after_tool_result_response.json", `"cache_control"`, func(t *testing.T, h *harness) {
			_, err := openaiClient(h).Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
				Model:    "any",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage("weather?")},
				Tools:    []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "get_weather", Parameters: weatherSchema})},
			})
			if err != nil {
				t.Fatal(err)
			}
		}},
		{"openai", "openai_cassette_chat-tools.response.200.json", `"prompt_cache_key"`, func(t *testing.T, h *harness) {
			_, err := anthropicClient(h).Messages.New(ctx, anthropic.MessageNewParams{
				Model: "claude-sonnet-4-5", MaxTokens: 100,
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("weather?"))},
			}, aoption.WithHeader("X-Claude-Code-Session-Id", "sess-42"))
			if err != nil {
				t.Fatal(err)
			}
		}},
	} {
		for _, arg := range []string{"", "auto_cache = True", "auto_cache = False"} {
			t.Run(tt.kind+"/"+arg, func(t *testing.T) {
				up := providertest.New(t, providertest.FixtureReply(t, tt.fixture))
				h := newHarness(t, providerDecl("p", tt.kind, up.URL, arg)+"def route(req, ctx):\n    return [p]\n")
				tt.send(t, h)
				body := string(up.Requests()[0].Body)
				if got, want := strings.Contains(body, tt.hint), arg != "auto_cache = False"; got != want {
					t.Errorf("upstream request has %s: %v, want %v: %s", tt.hint, got, want, body)
				}
			})
		}
	}
}
