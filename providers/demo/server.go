package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/sse"
)

// Config sets the pacing and the variety of the demo provider. The zero
// value answers at once, one stream chunk per token.
type Config struct {
	// Latency is waited before the response headers, for every request.
	// Zero means none.
	Latency time.Duration
	// TTFT (time to first token) is waited after the headers and before the
	// first content of a stream. A non-streaming reply waits it too, plus
	// the intervals its stream would have taken. Zero means none.
	TTFT time.Duration
	// Interval is waited between two stream chunks. Zero means none.
	Interval time.Duration
	// Chunks is the number of content chunks (events) of a streamed reply;
	// the text is lengthened with canned sentences when it has fewer tokens.
	// Zero means one chunk per token of the reply.
	Chunks int
	// Seed varies ids, canned sentences and embeddings between Servers;
	// the same Seed and request always give the same reply. Empty is a
	// valid seed.
	Seed string
}

// Server is the demo upstream. It is an http.Handler, safe for concurrent
// use, and holds no state between requests.
type Server struct {
	cfg Config
}

// Interface guards.
var _ http.Handler = (*Server)(nil)

// New returns a demo Server with the given pacing.
func New(cfg Config) *Server {
	if cfg.Chunks < 0 {
		cfg.Chunks = 0
	}
	return &Server{cfg: cfg}
}

// maxBody caps request bodies, as the real APIs do (Anthropic: 32 MB).
const maxBody = 32 << 20

// created is the creation time stamped on every reply (2026-01-01 UTC): a
// fixed value keeps replies deterministic.
const created = 1767225600

// ServeHTTP answers one request in the protocol its path names (see the
// package comment for the endpoints). Unknown paths get 404 and malformed
// bodies 400, each in the protocol's error shape.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if wait(r.Context(), s.cfg.Latency) != nil {
		return
	}
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/v1beta/"):
		s.serveGemini(w, r, strings.TrimPrefix(p, "/v1beta/"))
	case p == "/v1/messages" || p == "/v1/messages/count_tokens":
		s.serveAnthropic(w, r)
	case p == "/v1/models" || strings.HasPrefix(p, "/v1/models/"):
		if r.Header.Get("anthropic-version") != "" {
			s.serveAnthropic(w, r)
			return
		}
		s.serveOpenAI(w, r)
	default:
		s.serveOpenAI(w, r)
	}
}

// method checks the request method and answers 405 when it is wrong.
func method(w http.ResponseWriter, r *http.Request, proto llm.Protocol, want string) bool {
	if r.Method == want {
		return true
	}
	w.Header().Set("Allow", want)
	writeError(w, proto, llm.Errorf(http.StatusMethodNotAllowed, llm.ErrInvalidRequest,
		"method %s is not allowed on %s; use %s", r.Method, r.URL.Path, want))
	return false
}

// decode reads a JSON request body into v. Its error is ready to render.
func decode(r *http.Request, v any) *llm.Error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return llm.Errorf(http.StatusBadRequest, llm.ErrInvalidRequest, "could not read the request body: %v", err)
	}
	if len(body) > maxBody {
		return llm.Errorf(http.StatusRequestEntityTooLarge, llm.ErrTooLarge, "request body is larger than %d bytes", maxBody)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return llm.Errorf(http.StatusBadRequest, llm.ErrInvalidRequest,
			"we could not parse the JSON body of your request: %v", err)
	}
	return nil
}

// notFound answers a path this provider does not serve.
func notFound(w http.ResponseWriter, r *http.Request, proto llm.Protocol) {
	writeError(w, proto, llm.Errorf(http.StatusNotFound, llm.ErrNotFound,
		"invalid URL (%s %s)", r.Method, r.URL.Path))
}

// wait sleeps for d or until ctx is done, whichever comes first.
func wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// generationTime is how long a non-streaming reply of n chunks waits before
// it is written: what the stream would have taken. Replies that generate
// nothing (n == 0: models, token counts, embeddings) do not wait.
func (s *Server) generationTime(n int) time.Duration {
	if n == 0 {
		return 0
	}
	d := s.cfg.TTFT
	if n > 1 {
		d += time.Duration(n-1) * s.cfg.Interval
	}
	return d
}

// writeJSON waits for the generation time of a reply of n chunks and writes
// v as the JSON body.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, n int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("demo: marshal reply: %v", err)) // our own types: a programmer error
	}
	if wait(r.Context(), s.generationTime(n)) != nil {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// stream writes server-sent events with the Server's pacing: Latency has
// been waited before it starts, TTFT is waited before the first content
// event and Interval before every later one.
type stream struct {
	ctx      context.Context
	w        http.ResponseWriter
	rc       *http.ResponseController
	cfg      *Config
	buf      []byte
	contents int   // content events written so far
	err      error // the first write or context error; later calls do nothing
}

// startStream writes the response headers of a stream and returns its
// event writer.
func (s *Server) startStream(w http.ResponseWriter, r *http.Request, contentType string) *stream {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	return &stream{ctx: r.Context(), w: w, rc: http.NewResponseController(w), cfg: &s.cfg}
}

// event writes one SSE event (name may be empty) carrying v as JSON and
// flushes it.
func (st *stream) event(name string, v any) {
	if st.err != nil {
		return
	}
	data, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("demo: marshal event: %v", err)) // our own types: a programmer error
	}
	st.raw(sse.AppendEvent(st.buf[:0], name, data))
}

// content is event for an event that carries generated content: it is
// paced first.
func (st *stream) content(name string, v any) {
	if st.pace() {
		st.event(name, v)
	}
}

// pace waits before a content event: TTFT before the first, Interval before
// the others. It reports whether the stream should go on.
func (st *stream) pace() bool {
	if st.err != nil {
		return false
	}
	d := st.cfg.Interval
	if st.contents == 0 {
		d = st.cfg.TTFT
	}
	st.contents++
	st.err = wait(st.ctx, d)
	return st.err == nil
}

// raw writes b as it is and flushes it.
func (st *stream) raw(b []byte) {
	if st.err != nil {
		return
	}
	st.buf = b
	if _, st.err = st.w.Write(b); st.err != nil {
		return
	}
	if err := st.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		st.err = err
	}
}

// writeError renders e in proto's error shape.
func writeError(w http.ResponseWriter, proto llm.Protocol, e *llm.Error) {
	var v any
	switch proto {
	case llm.ProtocolAnthropic:
		v = anthropicError{Type: "error", Error: anthropicErrorBody{Type: anthropicErrorType(e), Message: e.Message}}
	case llm.ProtocolGemini:
		v = geminiError{Error: geminiErrorBody{Code: e.Status, Message: e.Message, Status: geminiStatus(e.Status)}}
	default:
		v = openAIError{Error: openAIErrorBody{Message: e.Message, Type: openAIErrorType(e),
			Param: nonEmpty(e.Param), Code: nonEmpty(e.Code)}}
	}
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

// nonEmpty returns a pointer to s, or nil (JSON null) when s is empty.
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
