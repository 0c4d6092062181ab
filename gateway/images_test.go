package gateway

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmgw/llmgw/imagefetch"
	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/providers/providertest"
)

// onePixelPNG is a 1×1 PNG.
var onePixelPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")

// mediaServer serves an image and a PDF on 127.0.0.1 and counts the
// requests for each path.
type mediaServer struct {
	*httptest.Server
	// guards the following
	mu   sync.Mutex
	hits map[string]int
}

func newMediaServer(t *testing.T) *mediaServer {
	t.Helper()
	m := &mediaServer{hits: map[string]int{}}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.hits[r.URL.Path]++
		m.mu.Unlock()
		switch r.URL.Path {
		case "/cat.png":
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(onePixelPNG)
		case "/report.pdf":
			_, _ = w.Write([]byte("%PDF-1.7\n%%EOF\n"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(m.Close)
	return m
}

func (m *mediaServer) requests() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{}
	for k, v := range m.hits {
		out[k] = v
	}
	return out
}

// allowLoopbackImages is the test allowance that lets the fetcher reach
// httptest servers; production refuses loopback.
func allowLoopbackImages(c *Config) {
	c.Images = imagefetch.New(imagefetch.Config{Allow: func(a netip.Addr) bool { return a.IsLoopback() }})
}

// geminiHarness routes every request to a fake Gemini upstream.
func geminiHarness(t *testing.T, reply string, mod ...func(*Config)) (*harness, *providertest.Server) {
	t.Helper()
	up := providertest.New(t, providertest.FixtureReply(t, reply))
	h := newHarness(t, `key("k", "sk-client")
`+providerDecl("g", "gemini", up.URL, "")+"def route(req, ctx):\n    return [g]\n", mod...)
	return h, up
}

// inlineBlobs returns the inlineData and fileData parts of a Gemini
// request body.
func inlineBlobs(t *testing.T, body []byte) (inline []map[string]string, files int) {
	t.Helper()
	var req struct {
		Contents []struct {
			Parts []struct {
				InlineData map[string]string `json:"inlineData"`
				FileData   map[string]string `json:"fileData"`
			} `json:"parts"`
		} `json:"contents"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatalf("upstream body is not a Gemini request: %v\n%s", err, body)
	}
	for _, c := range req.Contents {
		for _, p := range c.Parts {
			if p.InlineData != nil {
				inline = append(inline, p.InlineData)
			}
			if p.FileData != nil {
				files++
			}
		}
	}
	return inline, files
}

func TestImagesInlinedForGemini(t *testing.T) {
	media := newMediaServer(t)
	img, pdf := media.URL+"/cat.png", media.URL+"/report.pdf"
	png64 := base64.StdEncoding.EncodeToString(onePixelPNG)
	pdf64 := base64.StdEncoding.EncodeToString([]byte("%PDF-1.7\n%%EOF\n"))
	tests := []struct {
		name, path, body, reply string
		want                    []map[string]string
	}{
		{
			"openai chat", "/v1/chat/completions",
			`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"what is this?"},
			{"type":"image_url","image_url":{"url":"` + img + `?sig=1"}},{"type":"image_url","image_url":{"url":"` + img + `?sig=1","detail":"low"}}]}]}`,
			"gemini_nonstream_text.response.json",
			[]map[string]string{{"mimeType": "image/png", "data": png64}, {"mimeType": "image/png", "data": png64}},
		},
		{
			"openai chat stream", "/v1/chat/completions",
			`{"model":"m","stream":true,"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"` + img + `"}}]}]}`,
			"gemini_stream_single_chunk.sse",
			[]map[string]string{{"mimeType": "image/png", "data": png64}},
		},
		{
			"anthropic image and document", "/v1/messages",
			`{"model":"m","max_tokens":100,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"` + img + `"}},
			{"type":"document","source":{"type":"url","url":"` + pdf + `"}},{"type":"text","text":"compare"}]}]}`,
			"gemini_nonstream_text.response.json",
			[]map[string]string{{"mimeType": "image/png", "data": png64}, {"mimeType": "application/pdf", "data": pdf64}},
		},
		{
			"responses", "/v1/responses",
			`{"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":"` + img + `"}]}]}`,
			"gemini_nonstream_text.response.json",
			[]map[string]string{{"mimeType": "image/png", "data": png64}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := media.requests()
			h, up := geminiHarness(t, tt.reply, allowLoopbackImages)
			resp, b := h.post(tt.path, tt.body, "Authorization", "Bearer sk-client")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("POST %s = %d %s, want 200", tt.path, resp.StatusCode, b)
			}
			reqs := up.Requests()
			if len(reqs) != 1 {
				t.Fatalf("upstream got %d requests, want 1", len(reqs))
			}
			inline, files := inlineBlobs(t, reqs[0].Body)
			if diff := cmp.Diff(tt.want, inline); diff != "" {
				t.Errorf("upstream inlineData (-want +got):\n%s", diff)
			}
			if files != 0 {
				t.Errorf("upstream got %d fileData parts, want 0", files)
			}
			after := media.requests()
			for _, p := range []string{"/cat.png", "/report.pdf"} {
				if n := after[p] - before[p]; n > 1 {
					t.Errorf("%s fetched %d times, want at most once", p, n)
				}
			}
		})
	}
}

// TestImagesRefused: with the production fetcher (no test allowance), a
// URL on a private, loopback or link-local address is refused with a 400
// in the caller's shape, nothing is fetched and no upstream is called.
func TestImagesRefused(t *testing.T) {
	media := newMediaServer(t)
	var many []string
	for i := range maxRemoteMedia + 1 {
		many = append(many, fmt.Sprintf(`{"type":"image_url","image_url":{"url":"https://img.example/%d.png"}}`, i))
	}
	tests := []struct {
		name, path, body, shape, want string
	}{
		{"too many", "/v1/chat/completions",
			`{"model":"m","messages":[{"role":"user","content":[` + strings.Join(many, ",") + `]}]}`,
			"openai", fmt.Sprintf("too many remote images to fetch for a Gemini upstream: %d, at most %d", maxRemoteMedia+1, maxRemoteMedia)},
		{"loopback", "/v1/chat/completions",
			`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"` + media.URL + `/cat.png"}}]}]}`,
			"openai", "image URL refused: resolves to a private, loopback or link-local address: " + media.URL + "/cat.png"},
		{"metadata", "/v1/chat/completions",
			`{"model":"m","stream":true,"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"http://169.254.169.254/latest/meta-data/?token=secret"}}]}]}`,
			"openai", "image URL refused: resolves to a private, loopback or link-local address: http://169.254.169.254/latest/meta-data/"},
		{"private", "/v1/messages",
			`{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"http://10.0.0.7/x.png"}}]}]}`,
			"anthropic", "image URL refused: resolves to a private, loopback or link-local address: http://10.0.0.7/x.png"},
		{"scheme", "/v1/chat/completions",
			`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"file:///etc/passwd"}}]}]}`,
			"openai", "image URL refused: only http and https URLs can be fetched: file:///etc/passwd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, up := geminiHarness(t, "gemini_nonstream_text.response.json")
			resp, b := h.post(tt.path, tt.body, "Authorization", "Bearer sk-client")
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("POST %s = %d %s, want 400", tt.path, resp.StatusCode, b)
			}
			shape, typ, msg := errorShape(t, b)
			if shape != tt.shape || typ != "invalid_request_error" || msg != tt.want {
				t.Errorf("error = %s %s %q, want %s invalid_request_error %q", shape, typ, msg, tt.shape, tt.want)
			}
			if strings.Contains(string(b), "secret") {
				t.Errorf("error body echoes the URL's query: %s", b)
			}
			if n := up.Count(); n != 0 {
				t.Errorf("upstream got %d requests, want 0", n)
			}
			rec := h.rec.last(t)
			if rec.Status != http.StatusBadRequest || rec.ErrorClass != "bad_request" {
				t.Errorf("log row status %d class %q, want 400 bad_request", rec.Status, rec.ErrorClass)
			}
		})
	}
	if n := media.requests()["/cat.png"]; n != 0 {
		t.Errorf("the loopback image server saw %d requests, want 0", n)
	}
}

// TestImagesNotFetchedForOtherUpstreams: only Gemini needs inlining; an
// OpenAI upstream receives the URL itself.
func TestImagesNotFetchedForOtherUpstreams(t *testing.T) {
	media := newMediaServer(t)
	up := providertest.New(t, providertest.FixtureReply(t, "openai_cassette_chat-image-to-text.response.200.json"))
	h := newHarness(t, `key("k", "sk-client")
`+providerDecl("o", "openai", up.URL, "")+"def route(req, ctx):\n    return [o]\n", allowLoopbackImages)
	url := media.URL + "/cat.png"
	resp, b := h.post("/v1/messages", `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"`+url+`"}}]}]}`,
		"x-api-key", "sk-client")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/messages = %d %s, want 200", resp.StatusCode, b)
	}
	if reqs := up.Requests(); len(reqs) != 1 || !strings.Contains(string(reqs[0].Body), url) {
		t.Errorf("upstream requests = %d, want one carrying %s", len(reqs), url)
	}
	if n := media.requests()["/cat.png"]; n != 0 {
		t.Errorf("image fetched %d times, want 0", n)
	}
}

// TestInlinePartsCopies: inlining never modifies the decoded request it
// starts from, tool results included.
func TestInlinePartsCopies(t *testing.T) {
	msgs := []llm.Message{
		{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: "hi"}, {Kind: llm.PartImage, URL: "https://example.com/a.png"}}},
		{Role: llm.RoleTool, Parts: []llm.Part{{Kind: llm.PartToolResult, ToolCallID: "c1", Content: []llm.Part{
			{Kind: llm.PartText, Text: "shot"}, {Kind: llm.PartImage, URL: "https://example.com/b.png"}}}}},
		{Role: llm.RoleUser, Parts: []llm.Part{
			{Kind: llm.PartImage, URL: "data:image/png;base64,AAAA"},
			{Kind: llm.PartImage, URL: "https://generativelanguage.googleapis.com/v1beta/files/abc"},
			{Kind: llm.PartDocument, URL: "gs://bucket/doc.pdf"},
			{Kind: llm.PartImage, URL: "https://example.com/a.png"},
		}},
	}
	if got, want := remoteMedia(msgs), []string{"https://example.com/a.png", "https://example.com/b.png"}; !cmp.Equal(got, want) {
		t.Fatalf("remoteMedia = %q, want %q", got, want)
	}
	orig := cloneMessages(msgs)
	got := map[string]inlined{
		"https://example.com/a.png": {mediaType: "image/png", data: "QQ=="},
		"https://example.com/b.png": {mediaType: "image/jpeg", data: "Qg=="},
	}
	out := inlineMessages(msgs, got)
	if diff := cmp.Diff(orig, msgs); diff != "" {
		t.Errorf("inlineMessages modified its input (-before +after):\n%s", diff)
	}
	want := cloneMessages(msgs)
	want[0].Parts[1] = llm.Part{Kind: llm.PartImage, MediaType: "image/png", Data: "QQ=="}
	want[1].Parts[0].Content[1] = llm.Part{Kind: llm.PartImage, MediaType: "image/jpeg", Data: "Qg=="}
	want[2].Parts[3] = llm.Part{Kind: llm.PartImage, MediaType: "image/png", Data: "QQ=="}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("inlineMessages (-want +got):\n%s", diff)
	}
}

func cloneMessages(msgs []llm.Message) []llm.Message {
	b, _ := json.Marshal(msgs)
	var out []llm.Message
	_ = json.Unmarshal(b, &out)
	return out
}

// TestImagesFetchedOnceAcrossFailover: a failover to a second Gemini
// provider reuses the bytes fetched for the first.
func TestImagesFetchedOnceAcrossFailover(t *testing.T) {
	media := newMediaServer(t)
	first := providertest.New(t, providertest.Reply{Status: http.StatusInternalServerError, Body: []byte(`{"error":{"code":500,"message":"boom","status":"INTERNAL"}}`)})
	second := providertest.New(t, providertest.FixtureReply(t, "gemini_nonstream_text.response.json"))
	h := newHarness(t, `key("k", "sk-client")
`+providerDecl("g1", "gemini", first.URL, "priority = 1")+providerDecl("g2", "gemini", second.URL, "priority = 2")+
		"def route(req, ctx):\n    return [g1, g2]\n", allowLoopbackImages)
	resp, b := h.post("/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"`+media.URL+`/cat.png"}}]}]}`,
		"Authorization", "Bearer sk-client")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST = %d %s, want 200", resp.StatusCode, b)
	}
	for _, up := range []*providertest.Server{first, second} {
		reqs := up.Requests()
		if len(reqs) != 1 {
			t.Fatalf("upstream got %d requests, want 1", len(reqs))
		}
		if inline, _ := inlineBlobs(t, reqs[0].Body); len(inline) != 1 || inline[0]["mimeType"] != "image/png" {
			t.Errorf("upstream inlineData = %v, want one image/png", inline)
		}
	}
	if n := media.requests()["/cat.png"]; n != 1 {
		t.Errorf("image fetched %d times, want 1", n)
	}
}
