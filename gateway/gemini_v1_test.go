package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"google.golang.org/genai"

	"github.com/llmgw/llmgw/providers/providertest"
)

// The Gemini SDKs pick the API version themselves: google.golang.org/genai
// calls /v1beta unless HTTPOptions.APIVersion says otherwise, while
// @google/genai 3.x calls the stable /v1 by default. llmgw serves Gemini's
// doors and model listing under both.

// pathCapture is an http.RoundTripper for SDK clients that keeps the
// method and path of every request they send, to show which API version
// the SDK called.
type pathCapture struct {
	mu    sync.Mutex
	paths []string
}

func (c *pathCapture) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.paths = append(c.paths, r.Method+" "+r.URL.Path)
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (c *pathCapture) last() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.paths) == 0 {
		return ""
	}
	return c.paths[len(c.paths)-1]
}

// fullUpstream is a fake upstream of kind answering every call a Gemini
// client's requests become: generation (the recorded stream or body of
// upstreamCases), token counting, embeddings and the model list.
func fullUpstream(t *testing.T, uc upstreamCase) *providertest.Server {
	t.Helper()
	up := providertest.New(t, providertest.Reply{})
	stream, body := providertest.FixtureReply(t, uc.stream), providertest.FixtureReply(t, uc.body)
	asked := func(r *http.Request) bool {
		b, _ := io.ReadAll(r.Body)
		var v struct{ Stream bool }
		_ = json.Unmarshal(b, &v)
		return v.Stream
	}
	json := func(w http.ResponseWriter, s string) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, s)
	}
	up.Handle(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case p == "/v1/models" && uc.kind == "openai":
			json(w, openAIModelsBody)
		case p == "/v1/models" && uc.kind == "anthropic":
			json(w, anthropicModelsPage2)
		case p == "/v1beta/models":
			json(w, geminiModelsPage2)
		case p == "/v1/embeddings":
			openAIEmbeddings(w, r)
		case p == "/v1/messages/count_tokens":
			json(w, `{"input_tokens":17}`)
		case p == "/v1/chat/completions" || p == "/v1/messages":
			reply := body
			if asked(r) {
				reply = stream
			}
			providertest.Write(w, r, reply)
		case strings.HasSuffix(p, ":streamGenerateContent"):
			providertest.Write(w, r, stream)
		case strings.HasSuffix(p, ":generateContent"):
			providertest.Write(w, r, body)
		default:
			geminiEmbeddings(w, r)
		}
	})
	return up
}

// TestGenAISDKStableAPIThroughEveryUpstream drives the Gemini SDK with its
// own default API version (v1beta) and with v1, the stable API that
// @google/genai 3.x calls by default, through an upstream of each kind:
// generation, streaming, token counting, embeddings, and the model list
// and lookup, which on /v1 answer in Gemini's shape because the SDK
// authenticates Gemini's way.
func TestGenAISDKStableAPIThroughEveryUpstream(t *testing.T) {
	ctx := context.Background()
	models := map[string]string{"openai": "gpt-4o", "anthropic": "claude-haiku-4-5", "gemini": "gemini-embedding-001"}
	for _, version := range []string{"", "v1"} {
		want := version
		if want == "" {
			// The SDK's default: what a client that sets nothing calls.
			want = "v1beta"
		}
		for _, uc := range upstreamCases() {
			t.Run(want+"/"+uc.kind, func(t *testing.T) {
				up := fullUpstream(t, uc)
				h := newHarness(t, `key("k", "sk-client")
`+providerDecl("p", uc.kind, up.URL, "")+"def route(req, ctx):\n    return [p]\n")
				paths := &pathCapture{}
				c, err := genai.NewClient(ctx, &genai.ClientConfig{
					APIKey: "sk-client", Backend: genai.BackendGeminiAPI,
					HTTPOptions: genai.HTTPOptions{BaseURL: h.srv.URL, APIVersion: version},
					HTTPClient:  &http.Client{Transport: paths},
				})
				if err != nil {
					t.Fatal(err)
				}
				// called checks the path the SDK called and, for a front
				// door, the log row (model listings are not logged).
				called := func(t *testing.T, path string, status int) {
					t.Helper()
					if got := paths.last(); got != path {
						t.Errorf("the SDK called %s, want %s", got, path)
					}
					if rec := h.rec.last(t); !strings.HasPrefix(path, "GET") && (rec.Status != status || rec.ProtocolIn != "gemini") {
						t.Errorf("logged status %d, protocol %s, provider %q (%s); want %d", rec.Status, rec.ProtocolIn, rec.Provider, rec.ErrorMessage, status)
					}
				}

				t.Run("GenerateContent", func(t *testing.T) {
					resp, err := c.Models.GenerateContent(ctx, "gemini-2.5-flash", genai.Text("hi"), nil)
					if err != nil {
						t.Fatal(err)
					}
					if len(resp.Candidates) == 0 || resp.UsageMetadata == nil || resp.UsageMetadata.PromptTokenCount == 0 {
						t.Errorf("response = %+v", resp)
					}
					called(t, "POST /"+want+"/models/gemini-2.5-flash:generateContent", http.StatusOK)
				})
				t.Run("GenerateContentStream", func(t *testing.T) {
					var calls []*genai.FunctionCall
					var last *genai.GenerateContentResponse
					for resp, err := range c.Models.GenerateContentStream(ctx, "gemini-2.5-flash", genai.Text("weather?"), nil) {
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
					called(t, "POST /"+want+"/models/gemini-2.5-flash:streamGenerateContent", http.StatusOK)
				})
				t.Run("CountTokens", func(t *testing.T) {
					resp, err := c.Models.CountTokens(ctx, "gemini-2.5-flash", genai.Text("how many tokens is this?"), nil)
					if err != nil {
						t.Fatal(err)
					}
					if resp.TotalTokens <= 0 {
						t.Errorf("CountTokens = %+v", resp)
					}
					called(t, "POST /"+want+"/models/gemini-2.5-flash:countTokens", http.StatusOK)
				})
				t.Run("EmbedContent", func(t *testing.T) {
					contents := []*genai.Content{genai.NewContentFromText("a", genai.RoleUser), genai.NewContentFromText("b", genai.RoleUser)}
					resp, err := c.Models.EmbedContent(ctx, "gemini-embedding-001", contents, nil)
					if uc.kind != "gemini" {
						// Embeddings are not converted between protocols:
						// the refusal reaches the SDK as a Gemini error.
						var apiErr genai.APIError
						if !errors.As(err, &apiErr) || apiErr.Code != http.StatusBadRequest {
							t.Errorf("EmbedContent through %s: error %v, want a 400 genai.APIError", uc.kind, err)
						}
						called(t, "POST /"+want+"/models/gemini-embedding-001:batchEmbedContents", http.StatusBadRequest)
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					if len(resp.Embeddings) != 2 || len(resp.Embeddings[1].Values) != len(embedVector(1)) {
						t.Errorf("EmbedContent = %+v", resp.Embeddings)
					}
					called(t, "POST /"+want+"/models/gemini-embedding-001:batchEmbedContents", http.StatusOK)
				})
				t.Run("Models", func(t *testing.T) {
					var names []string
					for m, err := range c.Models.All(ctx) {
						if err != nil {
							t.Fatal(err)
						}
						names = append(names, m.Name)
					}
					called(t, "GET /"+want+"/models", http.StatusOK)
					if id := models[uc.kind]; !containsString(names, "models/"+id) {
						t.Errorf("Models.All = %v, want models/%s among them", names, id)
					}
					m, err := c.Models.Get(ctx, models[uc.kind], nil)
					if err != nil || m.Name != "models/"+models[uc.kind] {
						t.Errorf("Models.Get(%s) = %+v, %v", models[uc.kind], m, err)
					}
					called(t, "GET /"+want+"/models/"+models[uc.kind], http.StatusOK)
				})
			})
		}
	}
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestModelsShapeOnV1FollowsCredentials: GET /v1/models is OpenAI's,
// Anthropic's and the stable Gemini API's path at once; the caller's
// credentials tell them apart.
func TestModelsShapeOnV1FollowsCredentials(t *testing.T) {
	up := fullUpstream(t, upstreamCases()[0])
	h := newHarness(t, `key("k", "sk-client")
`+providerDecl("p", "openai", up.URL, "")+"def route(req, ctx):\n    return [p]\n")
	for _, c := range []struct {
		name  string
		path  string
		hdr   []string
		shape string // the member that holds the list, or the one model
	}{
		{"bearer", "/v1/models", []string{"Authorization", "Bearer sk-client"}, "data"},
		{"anthropic", "/v1/models", []string{"x-api-key", "sk-client", "anthropic-version", "2023-06-01"}, "data"},
		{"x-goog-api-key", "/v1/models", []string{"x-goog-api-key", "sk-client"}, "models"},
		{"?key=", "/v1/models?key=sk-client", nil, "models"},
		{"bearer, one model", "/v1/models/gpt-4o", []string{"Authorization", "Bearer sk-client"}, "id"},
		{"x-goog-api-key, one model", "/v1/models/gpt-4o", []string{"x-goog-api-key", "sk-client"}, "name"},
		{"?key=, one model with its prefix", "/v1/models/models/gpt-4o?key=sk-client", nil, "name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := h.do(http.MethodGet, c.path, "", c.hdr...)
			var v map[string]json.RawMessage
			if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &v) != nil || v[c.shape] == nil {
				t.Fatalf("GET %s = %d %s; want a %q member", c.path, resp.StatusCode, body, c.shape)
			}
		})
	}
	t.Run("Gemini errors on /v1", func(t *testing.T) {
		for _, path := range []string{"/v1/models/gemini-2.5-flash:noSuchMethod?key=sk-client", "/v1/models/gemini-2.5-flash:generateContent?key=wrong"} {
			resp, body := h.post(path, `{"contents":[]}`)
			if shape, _, _ := errorShape(t, body); shape != "gemini" || resp.StatusCode < 400 {
				t.Errorf("POST %s = %d %s, want a Gemini-shaped error", path, resp.StatusCode, body)
			}
		}
		resp, body := h.do(http.MethodGet, "/v1/models/no-such-model", "", "x-goog-api-key", "sk-client")
		if shape, _, _ := errorShape(t, body); shape != "gemini" || resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET an unknown model = %d %s, want Gemini's 404", resp.StatusCode, body)
		}
	})
}
