// Package mockupstream is the benchmark harness's upstream: the demo
// provider's handler (all three protocols, JSON and SSE) with a canned fast
// path so that it is never the bottleneck, and pacing profiles selected by
// the requested model so that one mock serves every scenario of bench/run
// whatever the gateway in front of it forwards.
//
// Models:
//   - any model not listed below: Config.Fast pacing; with zero pacing the
//     reply is a canned byte slice per endpoint and mode (no JSON decoding);
//   - "mock-paced": Config.Paced pacing (streams with a fixed chunk count and
//     interval, for time to first content and inter-event gaps);
//   - "mock-slow": Config.Slow pacing (a slow upstream, for holding many
//     streams open).
package mockupstream

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/llmgw/llmgw/providers/demo"
)

// Models selecting the pacing profiles.
const (
	ModelPaced = "mock-paced"
	ModelSlow  = "mock-slow"
)

// Config holds the three pacing profiles.
type Config struct {
	Fast, Paced, Slow demo.Config
}

// Handler serves the mock upstream.
type Handler struct {
	fast, paced, slow *demo.Server
	// canned maps path and stream mode to a complete response, when Fast
	// has no pacing.
	canned map[cannedKey]canned
}

type cannedKey struct {
	path   string
	stream bool
}

type canned struct {
	contentType string
	body        []byte
}

// Canned requests, one per endpoint the fast path serves.
var cannedRequests = []struct {
	path, body string
	stream     bool
}{
	{"/v1/chat/completions", `{"model":"mock","messages":[{"role":"user","content":"Hello, how are you?"}]}`, false},
	{"/v1/chat/completions", `{"model":"mock","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Hello, how are you?"}]}`, true},
	{"/v1/messages", `{"model":"mock","max_tokens":1024,"messages":[{"role":"user","content":"Hello, how are you?"}]}`, false},
	{"/v1/messages", `{"model":"mock","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"Hello, how are you?"}]}`, true},
	{"/v1/responses", `{"model":"mock","input":"Hello, how are you?"}`, false},
	{"/v1/responses", `{"model":"mock","stream":true,"input":"Hello, how are you?"}`, true},
}

// New returns the mock upstream handler.
func New(cfg Config) *Handler {
	h := &Handler{fast: demo.New(cfg.Fast), paced: demo.New(cfg.Paced), slow: demo.New(cfg.Slow)}
	if cfg.Fast.Latency == 0 && cfg.Fast.TTFT == 0 && cfg.Fast.Interval == 0 {
		h.canned = make(map[cannedKey]canned)
		for _, c := range cannedRequests {
			w := httptest.NewRecorder()
			h.fast.ServeHTTP(w, httptest.NewRequest(http.MethodPost, c.path, strings.NewReader(c.body)))
			h.canned[cannedKey{c.path, c.stream}] = canned{w.Header().Get("Content-Type"), w.Body.Bytes()}
		}
	}
	return h
}

var (
	pacedModel = []byte(`"` + ModelPaced + `"`)
	slowModel  = []byte(`"` + ModelSlow + `"`)
	streamTrue = []byte(`"stream":true`)
)

// ServeHTTP picks the profile from the model (in the body, or in a Gemini
// path) and answers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err != nil {
		http.Error(w, "mockupstream: read body", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	switch {
	case bytes.Contains(body, pacedModel) || strings.Contains(r.URL.Path, "/"+ModelPaced+":"):
		h.paced.ServeHTTP(w, r)
		return
	case bytes.Contains(body, slowModel) || strings.Contains(r.URL.Path, "/"+ModelSlow+":"):
		h.slow.ServeHTTP(w, r)
		return
	}
	if h.canned != nil {
		if c, ok := h.canned[cannedKey{r.URL.Path, bytes.Contains(body, streamTrue)}]; ok && r.Method == http.MethodPost {
			w.Header().Set("Content-Type", c.contentType)
			_, _ = w.Write(c.body)
			return
		}
	}
	h.fast.ServeHTTP(w, r)
}
