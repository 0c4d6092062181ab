package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/openai/openai-go/v3"
	"github.com/rs/zerolog"
	"google.golang.org/genai"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/providers/demo"
	"github.com/llmgw/llmgw/providers/providertest"
)

// Model lists as the real APIs serve them (abridged). Anthropic's and
// Gemini's come in two pages.
const (
	openAIModelsBody = `{"object":"list","data":[
{"id":"gpt-4o","object":"model","created":1715367049,"owned_by":"system"},
{"id":"text-embedding-3-small","object":"model","created":1705948997,"owned_by":"system"}]}`
	anthropicModelsPage1 = `{"data":[{"type":"model","id":"claude-sonnet-4-5","display_name":"Claude Sonnet 4.5",
"created_at":"2025-09-29T00:00:00Z","max_input_tokens":200000,"max_tokens":64000,"capabilities":{"thinking":{"supported":true}}}],
"has_more":true,"first_id":"claude-sonnet-4-5","last_id":"claude-sonnet-4-5"}`
	anthropicModelsPage2 = `{"data":[{"type":"model","id":"claude-haiku-4-5","display_name":"Claude Haiku 4.5",
"created_at":"2025-10-15T00:00:00Z"}],"has_more":false,"first_id":"claude-haiku-4-5","last_id":"claude-haiku-4-5"}`
	geminiModelsPage1 = `{"models":[{"name":"models/gemini-2.5-flash","version":"001","displayName":"Gemini 2.5 Flash",
"inputTokenLimit":1048576,"outputTokenLimit":65536,"supportedGenerationMethods":["generateContent","countTokens","createCachedContent"],
"thinking":true}],"nextPageToken":"page-2"}`
	geminiModelsPage2 = `{"models":[{"name":"models/gemini-embedding-001","version":"001","displayName":"Gemini Embedding 001",
"inputTokenLimit":2048,"outputTokenLimit":1,"supportedGenerationMethods":["embedContent","countTextTokens","countTokens"]}]}`
)

// allModels is what the policy of modelsPolicy reaches, sorted, with the
// provider that owns each.
var allModels = []string{
	"claude-haiku-4-5 ant", "claude-sonnet-4-5 ant", "demo d", "demo-embedding d", "fast oai",
	"gemini-2.5-flash gem", "gemini-embedding-001 gem", "gpt-4o oai", "text-embedding-3-small oai",
}

func allModelIDs() []string {
	ids := make([]string, len(allModels))
	for i, m := range allModels {
		ids[i], _, _ = strings.Cut(m, " ")
	}
	return ids
}

// modelUpstreams are fake upstreams of the three protocols serving their
// model lists.
type modelUpstreams struct {
	oai, ant, gem *providertest.Server
}

func newModelUpstreams(t testing.TB) modelUpstreams {
	t.Helper()
	u := modelUpstreams{
		oai: providertest.New(t, providertest.Reply{}),
		ant: providertest.New(t, providertest.Reply{}),
		gem: providertest.New(t, providertest.Reply{}),
	}
	u.oai.Handle(modelsHandler("/v1/models", "", map[string]string{"": openAIModelsBody}))
	u.ant.Handle(modelsHandler("/v1/models", "after_id", map[string]string{"": anthropicModelsPage1, "claude-sonnet-4-5": anthropicModelsPage2}))
	u.gem.Handle(modelsHandler("/v1beta/models", "pageToken", map[string]string{"": geminiModelsPage1, "page-2": geminiModelsPage2}))
	return u
}

// modelsHandler serves pages[cursor] at GET path, the cursor being the
// query parameter named cursor.
func modelsHandler(path, cursor string, pages map[string]string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.Query().Get(cursor)]
		if r.Method != http.MethodGet || r.URL.Path != path || !ok {
			http.Error(w, `{"error":{"message":"unexpected request"}}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}
}

// modelsPolicy declares one provider per upstream (oai with the alias
// "fast" for gpt-4o) and a demo provider.
func modelsPolicy(u modelUpstreams) string {
	return `key("k", "sk-client")
` + providerDecl("oai", "openai", u.oai.URL, `models = {"fast": "gpt-4o"}`) +
		providerDecl("ant", "anthropic", u.ant.URL, "") +
		providerDecl("gem", "gemini", u.gem.URL, "") +
		`d = provider("d", kind = "demo")
def route(req, ctx):
    return [oai]
`
}

// checkModelAuth asserts that every upstream request carried the
// provider's own credentials in its protocol's style, and never the
// client's key.
func checkModelAuth(t *testing.T, u modelUpstreams) {
	t.Helper()
	for _, c := range []struct {
		name   string
		up     *providertest.Server
		header string
		want   string
	}{
		{"oai", u.oai, "Authorization", "Bearer sk-provider-oai"},
		{"ant", u.ant, "X-Api-Key", "sk-provider-ant"},
		{"gem", u.gem, "X-Goog-Api-Key", "sk-provider-gem"},
	} {
		for _, r := range c.up.Requests() {
			if got := r.Header.Get(c.header); got != c.want {
				t.Errorf("%s upstream got %s = %q, want %q", c.name, c.header, got, c.want)
			}
			if c.name == "ant" && r.Header.Get("anthropic-version") == "" {
				t.Errorf("ant upstream got no anthropic-version")
			}
			if c.name != "oai" && r.Header.Get("Authorization") != "" {
				t.Errorf("%s upstream got Authorization %q", c.name, r.Header.Get("Authorization"))
			}
			all := r.Query
			for _, vs := range r.Header {
				all += " " + strings.Join(vs, " ")
			}
			if strings.Contains(all, "sk-client") {
				t.Errorf("%s upstream received the client key: %s %s", c.name, r.Header, r.Query)
			}
		}
	}
}

func TestModelsMergedInEachShape(t *testing.T) {
	u := newModelUpstreams(t)
	h := newHarness(t, modelsPolicy(u))

	t.Run("openai", func(t *testing.T) {
		resp, body := h.do(http.MethodGet, "/v1/models", "", "Authorization", "Bearer sk-client")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /v1/models = %d %s, want 200", resp.StatusCode, body)
		}
		var list struct {
			Object string `json:"object"`
			Data   []struct {
				ID      string `json:"id"`
				Object  string `json:"object"`
				Created int64  `json:"created"`
				OwnedBy string `json:"owned_by"`
			} `json:"data"`
		}
		mustUnmarshal(t, body, &list)
		var got []string
		for _, m := range list.Data {
			got = append(got, m.ID+" "+m.OwnedBy)
			if m.Object != "model" {
				t.Errorf("model %s object = %q, want model", m.ID, m.Object)
			}
			if m.ID == "gpt-4o" && m.Created != 1715367049 {
				t.Errorf("gpt-4o created = %d, want the upstream's 1715367049", m.Created)
			}
		}
		if list.Object != "list" {
			t.Errorf("object = %q, want list", list.Object)
		}
		if diff := cmp.Diff(allModels, got); diff != "" {
			t.Errorf("GET /v1/models (-want +got):\n%s", diff)
		}
	})
	t.Run("anthropic", func(t *testing.T) {
		resp, body := h.do(http.MethodGet, "/v1/models", "", "x-api-key", "sk-client", "anthropic-version", "2023-06-01")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /v1/models = %d %s, want 200", resp.StatusCode, body)
		}
		var page struct {
			Data    []map[string]any `json:"data"`
			HasMore bool             `json:"has_more"`
			FirstID string           `json:"first_id"`
			LastID  string           `json:"last_id"`
		}
		mustUnmarshal(t, body, &page)
		var got []string
		for _, m := range page.Data {
			got = append(got, m["id"].(string))
			if m["type"] != "model" || m["display_name"] == "" || m["created_at"] == "" {
				t.Errorf("model = %v, want type, display_name and created_at", m)
			}
		}
		if diff := cmp.Diff(allModelIDs(), got); diff != "" {
			t.Errorf("ids (-want +got):\n%s", diff)
		}
		if page.HasMore || page.FirstID != "claude-haiku-4-5" || page.LastID != "text-embedding-3-small" {
			t.Errorf("has_more, first_id, last_id = %v, %q, %q", page.HasMore, page.FirstID, page.LastID)
		}
		// An Anthropic model comes as Anthropic listed it, fields llmgw
		// does not know included.
		if _, ok := page.Data[1]["capabilities"]; !ok || page.Data[1]["display_name"] != "Claude Sonnet 4.5" {
			t.Errorf("claude-sonnet-4-5 = %v, want the upstream's object", page.Data[1])
		}
	})
	t.Run("gemini", func(t *testing.T) {
		resp, body := h.do(http.MethodGet, "/v1beta/models?key=sk-client", "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /v1beta/models = %d %s, want 200", resp.StatusCode, body)
		}
		var page struct {
			Models []struct {
				Name    string   `json:"name"`
				Methods []string `json:"supportedGenerationMethods"`
				Limit   int      `json:"inputTokenLimit"`
				Think   bool     `json:"thinking"`
			} `json:"models"`
			Next string `json:"nextPageToken"`
		}
		mustUnmarshal(t, body, &page)
		var got []string
		methods := map[string][]string{}
		for _, m := range page.Models {
			got = append(got, strings.TrimPrefix(m.Name, "models/"))
			methods[m.Name] = m.Methods
		}
		if diff := cmp.Diff(allModelIDs(), got); diff != "" {
			t.Errorf("names (-want +got):\n%s", diff)
		}
		if page.Next != "" {
			t.Errorf("nextPageToken = %q on a list shorter than a page", page.Next)
		}
		wantMethods := map[string][]string{
			"models/gemini-embedding-001": {"embedContent", "countTextTokens", "countTokens"}, // the upstream's
			"models/gpt-4o":               {"generateContent", "streamGenerateContent", "countTokens"},
			"models/demo-embedding":       {"embedContent", "batchEmbedContents"},
		}
		for name, want := range wantMethods {
			if diff := cmp.Diff(want, methods[name]); diff != "" {
				t.Errorf("%s supportedGenerationMethods (-want +got):\n%s", name, diff)
			}
		}
		if !page.Models[5].Think || page.Models[5].Limit != 1048576 {
			t.Errorf("gemini-2.5-flash = %+v, want the upstream's object", page.Models[5])
		}
	})
	checkModelAuth(t, u)
	// One fetch per page, whatever the number of client requests.
	if n := u.oai.Count() + u.ant.Count() + u.gem.Count(); n != 5 {
		t.Errorf("upstream requests = %d, want 5 (1 OpenAI, 2 Anthropic, 2 Gemini pages)", n)
	}
}

func TestModelsThroughSDKs(t *testing.T) {
	ctx := context.Background()
	u := newModelUpstreams(t)
	h := newHarness(t, modelsPolicy(u))

	t.Run("openai", func(t *testing.T) {
		c := openaiClient(h)
		page, err := c.Models.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range page.Data {
			got = append(got, m.ID+" "+m.OwnedBy)
		}
		if diff := cmp.Diff(allModels, got); diff != "" {
			t.Errorf("Models.List (-want +got):\n%s", diff)
		}
		m, err := c.Models.Get(ctx, "fast")
		if err != nil || m.ID != "fast" || m.OwnedBy != "oai" {
			t.Errorf("Models.Get(fast) = %+v, %v", m, err)
		}
		_, err = c.Models.Get(ctx, "no-such-model")
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
			t.Errorf("Models.Get(no-such-model) error = %v, want a 404 *openai.Error", err)
		}
	})
	t.Run("anthropic", func(t *testing.T) {
		c := anthropicClient(h)
		page, err := c.Models.List(ctx, anthropic.ModelListParams{Limit: anthropic.Int(4)})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Data) != 4 || !page.HasMore || page.FirstID != "claude-haiku-4-5" || page.LastID != "demo-embedding" {
			t.Errorf("first page = %d models, has_more %v, %q..%q", len(page.Data), page.HasMore, page.FirstID, page.LastID)
		}
		var got []string
		pager := c.Models.ListAutoPaging(ctx, anthropic.ModelListParams{Limit: anthropic.Int(2)})
		for i := 0; pager.Next() && i < 100; i++ {
			got = append(got, pager.Current().ID)
		}
		if err := pager.Err(); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(allModelIDs(), got); diff != "" {
			t.Errorf("ListAutoPaging (-want +got):\n%s", diff)
		}
		m, err := c.Models.Get(ctx, "claude-sonnet-4-5", anthropic.ModelGetParams{})
		if err != nil || m.DisplayName != "Claude Sonnet 4.5" || m.CreatedAt.Year() != 2025 {
			t.Errorf("Models.Get(claude-sonnet-4-5) = %+v, %v", m, err)
		}
		_, err = c.Models.Get(ctx, "no-such-model", anthropic.ModelGetParams{})
		var apiErr *anthropic.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
			t.Errorf("Models.Get(no-such-model) error = %v, want a 404 *anthropic.Error", err)
		}
	})
	t.Run("genai", func(t *testing.T) {
		c := genaiClient(t, h)
		page, err := c.Models.List(ctx, &genai.ListModelsConfig{PageSize: 4})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 4 || page.NextPageToken == "" {
			t.Fatalf("first page = %d models, next %q", len(page.Items), page.NextPageToken)
		}
		next, err := page.Next(ctx)
		if err != nil || len(next.Items) != 4 || next.Items[0].Name != "models/fast" {
			t.Errorf("second page = %+v, %v", next.Items, err)
		}
		var got []string
		for m, err := range c.Models.All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, strings.TrimPrefix(m.Name, "models/"))
		}
		if diff := cmp.Diff(allModelIDs(), got); diff != "" {
			t.Errorf("Models.All (-want +got):\n%s", diff)
		}
		m, err := c.Models.Get(ctx, "gemini-embedding-001", nil)
		if err != nil || m.DisplayName != "Gemini Embedding 001" || m.InputTokenLimit != 2048 {
			t.Errorf("Models.Get(gemini-embedding-001) = %+v, %v", m, err)
		}
		_, err = c.Models.Get(ctx, "no-such-model", nil)
		var apiErr genai.APIError
		if !errors.As(err, &apiErr) || apiErr.Code != http.StatusNotFound {
			t.Errorf("Models.Get(no-such-model) error = %v, want a 404 genai.APIError", err)
		}
	})
	checkModelAuth(t, u)
}

// modelsClock is a settable clock for cache expiry.
type modelsClock struct{ ns atomic.Int64 }

func newModelsClock() *modelsClock {
	c := &modelsClock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *modelsClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *modelsClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func TestModelsCache(t *testing.T) {
	u := newModelUpstreams(t)
	clock := newModelsClock()
	h := newHarness(t, modelsPolicy(u), func(c *Config) { c.Now = clock.now })
	counts := func() [3]int { return [3]int{u.oai.Count(), u.ant.Count(), u.gem.Count()} }
	list := func() {
		t.Helper()
		for _, req := range [][]string{
			{"/v1/models", "Authorization", "Bearer sk-client"},
			{"/v1/models", "x-api-key", "sk-client", "anthropic-version", "2023-06-01"},
			{"/v1beta/models", "x-goog-api-key", "sk-client"},
			{"/v1/models/gpt-4o", "Authorization", "Bearer sk-client"},
			{"/v1beta/models/gemini-2.5-flash", "x-goog-api-key", "sk-client"},
		} {
			if resp, body := h.do(http.MethodGet, req[0], "", req[1:]...); resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s = %d %s, want 200", req[0], resp.StatusCode, body)
			}
		}
	}
	list()
	if got, want := counts(), [3]int{1, 2, 2}; got != want {
		t.Fatalf("upstream requests after the first lists = %v, want %v", got, want)
	}
	clock.advance(defaultModelsTTL - time.Second)
	list()
	if got, want := counts(), [3]int{1, 2, 2}; got != want {
		t.Errorf("upstream requests with a warm cache = %v, want %v (none)", got, want)
	}
	clock.advance(2 * time.Second)
	list()
	if got, want := counts(), [3]int{2, 4, 4}; got != want {
		t.Errorf("upstream requests after the TTL = %v, want %v (one refetch each)", got, want)
	}
}

// lockedBuffer is a log sink safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestModelsFailingUpstreamIsSkipped(t *testing.T) {
	tests := []struct {
		name string
		fail http.HandlerFunc
	}{
		{"500", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, `{"error":{"message":"boom"}}`, http.StatusInternalServerError)
		}},
		{"401", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, `{"error":{"message":"bad key"}}`, http.StatusUnauthorized)
		}},
		{"not JSON", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "<html>") }},
		{"timeout", func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }},
		{"connection cut", func(w http.ResponseWriter, _ *http.Request) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newModelUpstreams(t)
			var failing atomic.Bool
			failing.Store(true)
			u.oai.Handle(func(w http.ResponseWriter, r *http.Request) {
				if failing.Load() {
					tt.fail(w, r)
					return
				}
				modelsHandler("/v1/models", "", map[string]string{"": openAIModelsBody})(w, r)
			})
			clock := newModelsClock()
			logs := &lockedBuffer{}
			h := newHarness(t, modelsPolicy(u), func(c *Config) {
				c.Now, c.Logger, c.ModelsTimeout = clock.now, zerolog.New(logs), 300*time.Millisecond
			})
			ids := func() []string {
				t.Helper()
				resp, body := h.do(http.MethodGet, "/v1/models", "", "Authorization", "Bearer sk-client")
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET /v1/models = %d %s, want 200", resp.StatusCode, body)
				}
				var list struct{ Data []struct{ ID string } }
				mustUnmarshal(t, body, &list)
				var out []string
				for _, m := range list.Data {
					out = append(out, m.ID)
				}
				return out
			}
			// The alias stays: it is the policy's; the upstream's own models
			// are left out.
			want := []string{"claude-haiku-4-5", "claude-sonnet-4-5", "demo", "demo-embedding", "fast", "gemini-2.5-flash", "gemini-embedding-001"}
			if diff := cmp.Diff(want, ids()); diff != "" {
				t.Errorf("models with oai failing (-want +got):\n%s", diff)
			}
			if l := logs.String(); !strings.Contains(l, `"level":"warn"`) || !strings.Contains(l, `"provider":"oai"`) {
				t.Errorf("log = %s, want a warning naming the provider", l)
			}
			if strings.Contains(logs.String(), "sk-provider") {
				t.Errorf("log leaks a provider key: %s", logs.String())
			}
			// The failure is cached, shorter than a list.
			n := u.oai.Count()
			ids()
			if u.oai.Count() != n {
				t.Errorf("a failed upstream was asked again at once (%d requests, want %d)", u.oai.Count(), n)
			}
			failing.Store(false)
			clock.advance(defaultModelsTTL/10 + time.Second)
			if diff := cmp.Diff(allModelIDs(), ids()); diff != "" {
				t.Errorf("models after the upstream recovered (-want +got):\n%s", diff)
			}
			// A failed refresh keeps the last good list.
			failing.Store(true)
			clock.advance(defaultModelsTTL + time.Second)
			if diff := cmp.Diff(allModelIDs(), ids()); diff != "" {
				t.Errorf("models after a failed refresh (-want +got):\n%s", diff)
			}
		})
	}
}

func TestModelsAuthentication(t *testing.T) {
	tests := []struct {
		name      string
		path      string
		hdr       []string
		wantShape string
	}{
		{"openai wrong bearer", "/v1/models", []string{"Authorization", "Bearer sk-wrong"}, "openai"},
		{"openai missing", "/v1/models", nil, "openai"},
		{"openai single model", "/v1/models/gpt-4o", []string{"Authorization", "Bearer sk-wrong"}, "openai"},
		{"anthropic wrong x-api-key", "/v1/models", []string{"x-api-key", "sk-wrong", "anthropic-version", "2023-06-01"}, "anthropic"},
		{"anthropic single model", "/v1/models/claude-haiku-4-5", []string{"x-api-key", "sk-wrong", "anthropic-version", "2023-06-01"}, "anthropic"},
		{"gemini wrong x-goog-api-key", "/v1beta/models", []string{"x-goog-api-key", "sk-wrong"}, "gemini"},
		{"gemini wrong ?key=", "/v1beta/models?key=sk-wrong", nil, "gemini"},
		{"gemini single model", "/v1beta/models/gemini-2.5-flash", []string{"x-goog-api-key", "sk-wrong"}, "gemini"},
	}
	u := newModelUpstreams(t)
	h := newHarness(t, modelsPolicy(u))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := h.do(http.MethodGet, tt.path, "", tt.hdr...)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("GET %s = %d %s, want 401", tt.path, resp.StatusCode, body)
			}
			if shape, _, _ := errorShape(t, body); shape != tt.wantShape {
				t.Errorf("GET %s error shape = %s, want %s: %s", tt.path, shape, tt.wantShape, body)
			}
		})
	}
	if n := u.oai.Count() + u.ant.Count() + u.gem.Count(); n != 0 {
		t.Errorf("unauthenticated listings made %d upstream requests, want 0", n)
	}
}

func TestModelsUnknownModel(t *testing.T) {
	tests := []struct {
		name      string
		path      string
		hdr       []string
		wantShape string
		wantType  string
		wantCode  string
	}{
		{"openai", "/v1/models/no-such-model", []string{"Authorization", "Bearer sk-client"}, "openai", "invalid_request_error", "model_not_found"},
		{"anthropic", "/v1/models/no-such-model", []string{"x-api-key", "sk-client", "anthropic-version", "2023-06-01"}, "anthropic", "not_found_error", ""},
		{"gemini", "/v1beta/models/no-such-model", []string{"x-goog-api-key", "sk-client"}, "gemini", "NOT_FOUND", ""},
	}
	h := newHarness(t, modelsPolicy(newModelUpstreams(t)))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := h.do(http.MethodGet, tt.path, "", tt.hdr...)
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("GET %s = %d %s, want 404", tt.path, resp.StatusCode, body)
			}
			shape, typ, _ := errorShape(t, body)
			if shape != tt.wantShape {
				t.Errorf("GET %s error shape = %s, want %s: %s", tt.path, shape, tt.wantShape, body)
			}
			if typ != tt.wantType {
				t.Errorf("GET %s error type = %s, want %s: %s", tt.path, typ, tt.wantType, body)
			}
			if tt.wantCode != "" && !strings.Contains(string(body), `"code":"`+tt.wantCode+`"`) {
				t.Errorf("GET %s error = %s, want code %s", tt.path, body, tt.wantCode)
			}
		})
	}
}

// staticTokens hands out a fixed OAuth access token.
type staticTokens struct{ token string }

func (s staticTokens) Token(context.Context, string) (string, error)      { return s.token, nil }
func (s staticTokens) Invalidate(context.Context, string) (string, error) { return s.token, nil }
func (s staticTokens) Headers(kind string) map[string]string {
	if kind == "anthropic" {
		return map[string]string{"anthropic-beta": "oauth-2025-04-20"}
	}
	return nil
}
func (s staticTokens) Status(string) (string, string) { return "ok", "" }

func TestModelsOAuthProviders(t *testing.T) {
	u := newModelUpstreams(t)
	h := newHarness(t, `key("k", "sk-client")
max = provider("max", kind = "anthropic", base_url = "`+u.ant.URL+`", oauth = "claude-max")
codex = provider("codex", kind = "openai", base_url = "`+u.oai.URL+`/v1", oauth = "chatgpt", models = {"codex-fast": "gpt-5-codex"})
def route(req, ctx):
    return [max]
`, func(c *Config) { c.Tokens = staticTokens{"oauth-access-token"} })

	resp, body := h.do(http.MethodGet, "/v1/models", "", "Authorization", "Bearer sk-client")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/models = %d %s, want 200", resp.StatusCode, body)
	}
	var list struct {
		Data []struct{ ID, OwnedBy string }
	}
	mustUnmarshal(t, body, &list)
	var got []string
	for _, m := range list.Data {
		got = append(got, m.ID)
	}
	if diff := cmp.Diff([]string{"claude-haiku-4-5", "claude-sonnet-4-5", "codex-fast"}, got); diff != "" {
		t.Errorf("models (-want +got):\n%s", diff)
	}
	for _, r := range u.ant.Requests() {
		if r.Header.Get("Authorization") != "Bearer oauth-access-token" || r.Header.Get("X-Api-Key") != "" ||
			!strings.Contains(r.Header.Get("anthropic-beta"), "oauth-2025-04-20") {
			t.Errorf("anthropic OAuth listing headers = %v", r.Header)
		}
	}
	if n := u.oai.Count(); n != 0 {
		t.Errorf("a ChatGPT subscription provider's upstream got %d models requests, want 0 (no public models endpoint)", n)
	}
}

func TestDecodeModelPage(t *testing.T) {
	tests := []struct {
		proto      llm.Protocol
		body       string
		wantIDs    []string
		wantCursor string
	}{
		{llm.ProtocolOpenAI, openAIModelsBody, []string{"gpt-4o", "text-embedding-3-small"}, ""},
		{llm.ProtocolAnthropic, anthropicModelsPage1, []string{"claude-sonnet-4-5"}, "claude-sonnet-4-5"},
		{llm.ProtocolAnthropic, anthropicModelsPage2, []string{"claude-haiku-4-5"}, ""},
		{llm.ProtocolGemini, geminiModelsPage1, []string{"gemini-2.5-flash"}, "page-2"},
		{llm.ProtocolGemini, geminiModelsPage2, []string{"gemini-embedding-001"}, ""},
		{llm.ProtocolOpenAI, `{"data":[{"id":""},{"id":"x"}]}`, []string{"x"}, ""},
		{llm.ProtocolGemini, `{}`, nil, ""},
	}
	for _, tt := range tests {
		models, cursor, err := decodeModelPage(tt.proto, []byte(tt.body))
		if err != nil {
			t.Errorf("decodeModelPage(%s, %.30q) error: %v", tt.proto, tt.body, err)
			continue
		}
		var ids []string
		for _, m := range models {
			ids = append(ids, m.ID)
		}
		if !cmp.Equal(ids, tt.wantIDs) || cursor != tt.wantCursor {
			t.Errorf("decodeModelPage(%s, %.30q) = %v, %q, want %v, %q", tt.proto, tt.body, ids, cursor, tt.wantIDs, tt.wantCursor)
		}
	}
}

func FuzzDecodeModelPage(f *testing.F) {
	for _, b := range []string{openAIModelsBody, anthropicModelsPage1, geminiModelsPage1, `{"data":null}`, `[]`} {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, p := range []llm.Protocol{llm.ProtocolOpenAI, llm.ProtocolAnthropic, llm.ProtocolGemini} {
			models, _, err := decodeModelPage(p, body)
			if err != nil {
				continue
			}
			for _, m := range models {
				if m.ID == "" {
					t.Errorf("decodeModelPage(%s, %q) listed a model without an id", p, body)
				}
			}
		}
	})
}

// decodeModelPage decodes one page of an upstream list with protocol p's
// lister.
func decodeModelPage(p llm.Protocol, body []byte) ([]llm.Model, string, error) {
	return builtinAdapters()[p].(ModelLister).DecodeModels(body)
}

func mustUnmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
}

// BenchmarkModelsListWarm measures GET /v1/models with a warm cache: the
// policy's aliases merged with three upstream lists, no upstream request.
func BenchmarkModelsListWarm(b *testing.B) {
	for _, shape := range []struct {
		name string
		path string
		hdr  []string
	}{
		{"openai", "/v1/models", []string{"Authorization", "Bearer sk-client"}},
		{"anthropic", "/v1/models", []string{"x-api-key", "sk-client", "anthropic-version", "2023-06-01"}},
		{"gemini", "/v1beta/models", []string{"x-goog-api-key", "sk-client"}},
	} {
		b.Run(shape.name, func(b *testing.B) {
			u := newModelUpstreams(b)
			gw := benchModelsGateway(b, modelsPolicy(u))
			req := httptest.NewRequest(http.MethodGet, shape.path, nil)
			for i := 0; i+1 < len(shape.hdr); i += 2 {
				req.Header.Set(shape.hdr[i], shape.hdr[i+1])
			}
			gw.ServeHTTP(httptest.NewRecorder(), req) // warm the cache
			before := u.oai.Count() + u.ant.Count() + u.gem.Count()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				w := httptest.NewRecorder()
				gw.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("GET %s = %d", shape.path, w.Code)
				}
			}
			if after := u.oai.Count() + u.ant.Count() + u.gem.Count(); after != before {
				b.Fatalf("warm listings made %d upstream requests", after-before)
			}
		})
	}
}

// benchModelsGateway serves policy with the demo provider, called directly.
func benchModelsGateway(b *testing.B, policy string) *Server {
	b.Helper()
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.star"), []byte(policy), 0o644); err != nil {
		b.Fatal(err)
	}
	eng, err := engine.New(context.Background(), engine.Config{Path: dir, Kinds: ProviderKinds()})
	if err != nil {
		b.Fatal(err)
	}
	return New(Config{Policies: eng, Demo: demo.New(demo.Config{}).Transport()})
}

// TestModelsGetSlashID gets a model whose id contains a slash, as
// OpenAI-compatible routers name them (openai/gpt-4o).
func TestModelsGetSlashID(t *testing.T) {
	h := newHarness(t, `key("k", "sk-client")
d = provider("d", kind = "demo", models = {"openai/gpt-4o": "demo"})
def route(req, ctx):
    return [d]
`)
	resp, body := h.do(http.MethodGet, "/v1/models/openai/gpt-4o", "", "Authorization", "Bearer sk-client")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"id":"openai/gpt-4o"`) {
		t.Fatalf("GET /v1/models/openai/gpt-4o = %d %s, want 200 with the id", resp.StatusCode, body)
	}
	if resp, body := h.do(http.MethodGet, "/v1/models/openai/nope", "", "Authorization", "Bearer sk-client"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /v1/models/openai/nope = %d %s, want 404", resp.StatusCode, body)
	}
}
