package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/google/go-cmp/cmp"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"
	"google.golang.org/genai"

	"github.com/llmgw/llmgw/providers/providertest"
)

// These tests drive the embeddings and token-counting endpoints with the
// official SDKs through llmgw to fake upstreams of the same protocol: the
// SDK must parse exactly what the upstream answered, and the upstream must
// receive exactly the bytes the SDK sent, with the provider's credentials.

// sdkCapture is an http.RoundTripper for SDK clients that keeps the body of
// every request they send to llmgw.
type sdkCapture struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (c *sdkCapture) RoundTrip(r *http.Request) (*http.Response, error) {
	var b []byte
	if r.Body != nil {
		var err error
		if b, err = io.ReadAll(r.Body); err != nil {
			return nil, err
		}
		r.Body.Close()
	}
	c.mu.Lock()
	c.bodies = append(c.bodies, b)
	c.mu.Unlock()
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(b))
	return http.DefaultTransport.RoundTrip(r2)
}

func (c *sdkCapture) last(t *testing.T) []byte {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.bodies) == 0 {
		t.Fatal("the SDK sent no request")
	}
	return c.bodies[len(c.bodies)-1]
}

// embedVector is the fake upstreams' embedding of the i-th input: float32
// values, as the APIs compute them.
func embedVector(i int) []float32 {
	return []float32{0.5 + float32(i), -0.25, float32(math.Pi) / float32(i+1), 1e-7 * float32(i+1)}
}

// promptTokensPerInput is what the fake OpenAI upstream counts per input.
const promptTokensPerInput = 4

// openAIEmbeddings answers POST /v1/embeddings as OpenAI does: one vector
// per input, in the encoding_format asked (base64 is the little-endian
// float32 array).
func openAIEmbeddings(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model          string          `json:"model"`
		Input          json.RawMessage `json:"input"`
		EncodingFormat string          `json:"encoding_format"`
	}
	if r.URL.Path != "/v1/embeddings" || json.NewDecoder(r.Body).Decode(&req) != nil {
		http.Error(w, `{"error":{"message":"bad request","type":"invalid_request_error","param":null,"code":null}}`, http.StatusBadRequest)
		return
	}
	n := 1
	var many []string
	if json.Unmarshal(req.Input, &many) == nil {
		n = len(many)
	}
	type item struct {
		Object    string `json:"object"`
		Index     int    `json:"index"`
		Embedding any    `json:"embedding"`
	}
	data := make([]item, n)
	for i := range data {
		v := embedVector(i)
		data[i] = item{Object: "embedding", Index: i, Embedding: v}
		if req.EncodingFormat == "base64" {
			b := make([]byte, 4*len(v))
			for j, f := range v {
				binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(f))
			}
			data[i].Embedding = base64.StdEncoding.EncodeToString(b)
		}
	}
	tokens := promptTokensPerInput * n
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("openai-processing-ms", "17")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"object": "list", "data": data, "model": req.Model + "-v1",
		"usage": map[string]int{"prompt_tokens": tokens, "total_tokens": tokens},
	})
}

func TestOpenAISDKEmbeddings(t *testing.T) {
	ctx := context.Background()
	up := providertest.New(t, providertest.Reply{})
	up.Handle(openAIEmbeddings)
	h := newHarness(t, `key("k", "sk-client")
`+providerDecl("p", "openai", up.URL, "")+"def route(req, ctx):\n    return [p]\n")
	capture := &sdkCapture{}
	c := openai.NewClient(ooption.WithBaseURL(h.srv.URL+"/v1/"), ooption.WithAPIKey("sk-client"), ooption.WithMaxRetries(0),
		ooption.WithHTTPClient(&http.Client{Transport: capture}))

	tests := []struct {
		name   string
		input  openai.EmbeddingNewParamsInputUnion
		format openai.EmbeddingNewParamsEncodingFormat
		n      int
	}{
		{"float single", openai.EmbeddingNewParamsInputUnion{OfString: openai.String("hello")}, openai.EmbeddingNewParamsEncodingFormatFloat, 1},
		{"float batch", openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a", "b", "c"}}, openai.EmbeddingNewParamsEncodingFormatFloat, 3},
		{"base64 batch", openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a", "b"}}, openai.EmbeddingNewParamsEncodingFormatBase64, 2},
		{"default format", openai.EmbeddingNewParamsInputUnion{OfString: openai.String("x")}, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := up.Count()
			resp, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{
				Model: openai.EmbeddingModelTextEmbedding3Small, Input: tt.input, EncodingFormat: tt.format, Dimensions: openai.Int(4),
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Data) != tt.n {
				t.Fatalf("Embeddings.New returned %d vectors, want %d", len(resp.Data), tt.n)
			}
			for i, d := range resp.Data {
				got := make([]float32, len(d.Embedding))
				for j, f := range d.Embedding {
					got[j] = float32(f)
				}
				if d.Index != int64(i) || !cmp.Equal(got, embedVector(i)) {
					t.Errorf("vector %d = index %d %v, want %v", i, d.Index, got, embedVector(i))
				}
			}
			want := int64(promptTokensPerInput * tt.n)
			if resp.Usage.PromptTokens != want || resp.Usage.TotalTokens != want || resp.Model != "text-embedding-3-small-v1" {
				t.Errorf("usage = %+v, model %q; want %d tokens from text-embedding-3-small-v1", resp.Usage, resp.Model, want)
			}

			if up.Count() != n+1 {
				t.Fatalf("upstream requests = %d, want %d", up.Count(), n+1)
			}
			got := up.Requests()[n]
			if !bytes.Equal(got.Body, capture.last(t)) {
				t.Errorf("upstream body = %s\nwant the SDK's bytes %s", got.Body, capture.last(t))
			}
			if got.Header.Get("Authorization") != "Bearer sk-provider-p" {
				t.Errorf("upstream Authorization = %q, want the provider's key", got.Header.Get("Authorization"))
			}
			rec := h.rec.last(t)
			if rec.Usage.InputTokens != want || rec.UsageEstimated || rec.Status != http.StatusOK || rec.Provider != "p" || rec.Endpoint != "embeddings" {
				t.Errorf("log record = usage %+v estimated %v, status %d, provider %q, endpoint %q; want %d input tokens reported by p",
					rec.Usage, rec.UsageEstimated, rec.Status, rec.Provider, rec.Endpoint, want)
			}
		})
	}

	t.Run("upstream 400 passes through", func(t *testing.T) {
		up.Enqueue(providertest.FixtureReply(t, "openai_cassette_embeddings-bad-request.response.400.json"))
		up.Handle(nil)
		defer up.Handle(openAIEmbeddings)
		_, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{
			Model: openai.EmbeddingModelTextEmbedding3Small, Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("x")}, Dimensions: openai.Int(-1),
		})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || !strings.Contains(apiErr.Message, "less than the minimum of 1") {
			t.Errorf("Embeddings.New error = %v, want the upstream's 400", err)
		}
	})
}

// geminiEmbeddings answers :embedContent and :batchEmbedContents as the
// Gemini API does.
func geminiEmbeddings(w http.ResponseWriter, r *http.Request) {
	type vector struct {
		Values []float32 `json:"values"`
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case strings.HasSuffix(r.URL.Path, ":batchEmbedContents"):
		var req struct {
			Requests []json.RawMessage `json:"requests"`
		}
		if json.NewDecoder(r.Body).Decode(&req) != nil || len(req.Requests) == 0 {
			http.Error(w, `{"error":{"code":400,"message":"bad batch","status":"INVALID_ARGUMENT"}}`, http.StatusBadRequest)
			return
		}
		out := make([]vector, len(req.Requests))
		for i := range out {
			out[i] = vector{embedVector(i)}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"embeddings": out})
	case strings.HasSuffix(r.URL.Path, ":embedContent"):
		_ = json.NewEncoder(w).Encode(map[string]any{"embedding": vector{embedVector(0)}})
	case strings.HasSuffix(r.URL.Path, ":countTokens"):
		_, _ = io.WriteString(w, `{"totalTokens": 31, "cachedContentTokenCount": 12, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 31}]}`)
	default:
		http.Error(w, `{"error":{"code":404,"message":"not found","status":"NOT_FOUND"}}`, http.StatusNotFound)
	}
}

func TestGenAISDKEmbedAndCountTokens(t *testing.T) {
	ctx := context.Background()
	up := providertest.New(t, providertest.Reply{})
	up.Handle(geminiEmbeddings)
	h := newHarness(t, `key("k", "sk-client")
`+providerDecl("g", "gemini", up.URL, "")+"def route(req, ctx):\n    return [g]\n")
	capture := &sdkCapture{}
	c, err := genai.NewClient(ctx, &genai.ClientConfig{
		APIKey: "sk-client", Backend: genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: h.srv.URL},
		HTTPClient:  &http.Client{Transport: capture},
	})
	if err != nil {
		t.Fatal(err)
	}
	checkUpstream := func(t *testing.T, wantPath string) {
		t.Helper()
		reqs := up.Requests()
		got := reqs[len(reqs)-1]
		if got.Path != wantPath {
			t.Errorf("upstream path = %s, want %s", got.Path, wantPath)
		}
		if !bytes.Equal(got.Body, capture.last(t)) {
			t.Errorf("upstream body = %s\nwant the SDK's bytes %s", got.Body, capture.last(t))
		}
		if got.Header.Get("X-Goog-Api-Key") != "sk-provider-g" || strings.Contains(got.Query, "sk-client") {
			t.Errorf("upstream credentials = %q, query %q; want the provider's key only", got.Header.Get("X-Goog-Api-Key"), got.Query)
		}
	}

	for _, n := range []int{1, 3} {
		t.Run(fmt.Sprintf("EmbedContent %d", n), func(t *testing.T) {
			contents := make([]*genai.Content, n)
			for i := range contents {
				contents[i] = genai.NewContentFromText(fmt.Sprintf("text %d", i), genai.RoleUser)
			}
			resp, err := c.Models.EmbedContent(ctx, "gemini-embedding-001", contents, &genai.EmbedContentConfig{TaskType: "RETRIEVAL_DOCUMENT"})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Embeddings) != n {
				t.Fatalf("EmbedContent returned %d embeddings, want %d", len(resp.Embeddings), n)
			}
			for i, e := range resp.Embeddings {
				if diff := cmp.Diff(embedVector(i), e.Values); diff != "" {
					t.Errorf("embedding %d (-want +got):\n%s", i, diff)
				}
			}
			checkUpstream(t, "/v1beta/models/gemini-embedding-001:batchEmbedContents")
			if rec := h.rec.last(t); rec.Status != http.StatusOK || rec.Endpoint != "batchEmbedContents" || rec.Provider != "g" {
				t.Errorf("log record = status %d, endpoint %q, provider %q", rec.Status, rec.Endpoint, rec.Provider)
			}
		})
	}
	t.Run("embedContent over HTTP", func(t *testing.T) {
		// What older clients and REST users call.
		resp, body := h.post("/v1beta/models/gemini-embedding-001:embedContent?key=sk-client", `{"content":{"parts":[{"text":"hi"}]}}`)
		var got struct {
			Embedding struct{ Values []float32 } `json:"embedding"`
		}
		mustUnmarshal(t, body, &got)
		if resp.StatusCode != http.StatusOK || !cmp.Equal(got.Embedding.Values, embedVector(0)) {
			t.Errorf(":embedContent = %d %s", resp.StatusCode, body)
		}
		if p := up.Requests()[up.Count()-1].Path; p != "/v1beta/models/gemini-embedding-001:embedContent" {
			t.Errorf("upstream path = %s", p)
		}
	})
	t.Run("CountTokens", func(t *testing.T) {
		resp, err := c.Models.CountTokens(ctx, "gemini-2.5-flash", genai.Text("how many tokens is this?"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.TotalTokens != 31 || resp.CachedContentTokenCount != 12 {
			t.Errorf("CountTokens = %+v", resp)
		}
		checkUpstream(t, "/v1beta/models/gemini-2.5-flash:countTokens")
	})
}

func TestAnthropicSDKCountTokens(t *testing.T) {
	ctx := context.Background()
	up := providertest.New(t, providertest.Reply{Body: []byte(`{"input_tokens":2095}`)})
	h := newHarness(t, `key("k", "sk-client")
`+providerDecl("a", "anthropic", up.URL, "")+"def route(req, ctx):\n    return [a]\n")
	capture := &sdkCapture{}
	c := anthropic.NewClient(aoption.WithBaseURL(h.srv.URL), aoption.WithAPIKey("sk-client"), aoption.WithMaxRetries(0),
		aoption.WithHTTPClient(&http.Client{Transport: capture}))

	got, err := c.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{
		Model:    "claude-sonnet-4-5",
		System:   anthropic.MessageCountTokensParamsSystemUnion{OfString: anthropic.String("You are terse.")},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("count me"))},
		Tools: []anthropic.MessageCountTokensToolUnionParam{{OfTool: &anthropic.ToolParam{
			Name: "get_weather", InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}}},
		}}},
	}, withBeta("token-counting-2024-11-01"))
	if err != nil {
		t.Fatal(err)
	}
	if got.InputTokens != 2095 {
		t.Errorf("CountTokens input_tokens = %d, want 2095", got.InputTokens)
	}
	if up.Count() != 1 {
		t.Fatalf("upstream requests = %d, want 1", up.Count())
	}
	r := up.Requests()[0]
	if r.Path != "/v1/messages/count_tokens" || !bytes.Equal(r.Body, capture.last(t)) {
		t.Errorf("upstream got %s %s, want /v1/messages/count_tokens with the SDK's bytes %s", r.Path, r.Body, capture.last(t))
	}
	if r.Header.Get("X-Api-Key") != "sk-provider-a" || r.Header.Get("Authorization") != "" {
		t.Errorf("upstream credentials x-api-key %q, authorization %q; want the provider's key only", r.Header.Get("X-Api-Key"), r.Header.Get("Authorization"))
	}
	if r.Header.Get("anthropic-version") == "" || r.Header.Get("anthropic-beta") != "token-counting-2024-11-01" {
		t.Errorf("upstream anthropic-version %q, anthropic-beta %q; want the client's", r.Header.Get("anthropic-version"), r.Header.Get("anthropic-beta"))
	}
	if rec := h.rec.last(t); rec.Status != http.StatusOK || rec.Endpoint != "count_tokens" || rec.Provider != "a" {
		t.Errorf("log record = status %d, endpoint %q, provider %q", rec.Status, rec.Endpoint, rec.Provider)
	}
}
