// Package providertest runs fake upstream providers for tests: httptest
// servers on 127.0.0.1 that answer with recorded provider transcripts (the
// files in the repository's testdata/fixtures) or canned replies, with fault
// injection: any status code, Retry-After headers, delays before headers,
// stalls between stream events and connections cut mid-stream (with a TCP
// reset, as a crashed upstream or a middlebox would).
//
// It records every request it receives so that tests can assert what the
// gateway sent upstream (headers, body, path), for example that no client
// key ever reaches a provider.
package providertest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmgw/llmgw/internal/fixtures"
	"github.com/llmgw/llmgw/sse"
)

// Reply is one canned answer.
type Reply struct {
	// Status is the HTTP status; 0 means 200.
	Status int
	// Header is added to the response. Content-Type defaults to
	// text/event-stream when SSE is set, application/json otherwise.
	Header http.Header
	// Body is the response body. With SSE set it is split into events and
	// written one event at a time with a flush after each.
	Body []byte
	// SSE streams Body event by event.
	SSE bool
	// Delay is waited before the headers are written (a stall before the
	// first byte).
	Delay time.Duration
	// EventDelay is waited before each stream event after the first.
	EventDelay time.Duration
	// CutAfter, when positive, resets the connection (TCP RST) after that
	// many stream events (a reset mid-stream). With SSE unset, a positive
	// value announces the whole body's Content-Length and resets after
	// CutAfter bytes (a reset mid-body).
	CutAfter int
}

// Request is a request the fake upstream received.
type Request struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
}

// Server is a fake upstream.
type Server struct {
	*httptest.Server

	// guards the following
	mu       sync.Mutex
	queue    []Reply
	def      Reply
	requests []Request
	aborted  int
	handler  http.HandlerFunc
}

// New starts a fake upstream answering def to every request for which no
// queued reply is waiting. It is closed when the test ends.
func New(t testing.TB, def Reply) *Server {
	t.Helper()
	s := &Server{def: def}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Enqueue makes the next requests get these replies, in order, before the
// default applies again.
func (s *Server) Enqueue(r ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, r...)
}

// SetDefault replaces the default reply.
func (s *Server) SetDefault(r Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.def = r
}

// Handle replaces the canned replies with a handler of the test's own; the
// request is still recorded.
func (s *Server) Handle(h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handler = h
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count returns how many requests were received.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// Aborted returns how many canned replies were abandoned unfinished because
// the request's context ended (the caller hung up or cancelled) during a
// Delay or an EventDelay: what a test checks to see that a cancellation
// reached the upstream.
func (s *Server) Aborted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.aborted
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.requests = append(s.requests, Request{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Header: r.Header.Clone(), Body: body,
	})
	h := s.handler
	reply := s.def
	if len(s.queue) > 0 {
		reply, s.queue = s.queue[0], s.queue[1:]
	}
	s.mu.Unlock()
	if h != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		h(w, r)
		return
	}
	if !write(w, r, reply) {
		s.mu.Lock()
		s.aborted++
		s.mu.Unlock()
	}
}

// Write answers r with reply. It is exported for tests that build their own
// handlers around canned replies.
func Write(w http.ResponseWriter, r *http.Request, reply Reply) { write(w, r, reply) }

// write answers r with reply and reports false if it gave up because the
// request's context ended.
func write(w http.ResponseWriter, r *http.Request, reply Reply) bool {
	if !sleep(r, reply.Delay) {
		return false
	}
	for k, vs := range reply.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if w.Header().Get("Content-Type") == "" {
		if reply.SSE {
			w.Header().Set("Content-Type", "text/event-stream")
		} else {
			w.Header().Set("Content-Type", "application/json")
		}
	}
	status := reply.Status
	if status == 0 {
		status = http.StatusOK
	}
	if !reply.SSE {
		if reply.CutAfter > 0 && reply.CutAfter < len(reply.Body) {
			w.Header().Set("Content-Length", fmt.Sprint(len(reply.Body)))
			w.WriteHeader(status)
			_, _ = w.Write(reply.Body[:reply.CutAfter])
			cut(w)
			return true
		}
		w.WriteHeader(status)
		_, _ = w.Write(reply.Body)
		return true
	}
	w.WriteHeader(status)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	rd := sse.NewReader(bytes.NewReader(reply.Body))
	for n := 0; ; n++ {
		ev, err := rd.Next()
		if err != nil {
			return true
		}
		if reply.CutAfter > 0 && n == reply.CutAfter {
			cut(w)
			return true
		}
		if n > 0 && !sleep(r, reply.EventDelay) {
			return false
		}
		if _, err := w.Write(ev.Raw); err != nil {
			return r.Context().Err() == nil
		}
		_ = rc.Flush()
	}
}

// cut resets the connection without finishing the response, as a crashed
// upstream or a middlebox would: what was written is flushed, then the
// socket is closed with SO_LINGER 0 so that the peer gets an RST rather
// than an orderly FIN.
func cut(w http.ResponseWriter) {
	_ = http.NewResponseController(w).Flush()
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

func sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// Fixture returns the bytes of a recorded fixture in the repository's
// testdata/fixtures directory (see package internal/fixtures).
func Fixture(t testing.TB, name string) []byte {
	t.Helper()
	return fixtures.Read(t, name)
}

// FixtureReply returns a reply that replays a fixture: streamed event by
// event for .sse files, as a JSON body otherwise, with the status taken
// from a ".response.NNN." file name when there is one.
func FixtureReply(t testing.TB, name string) Reply {
	t.Helper()
	r := Reply{Body: Fixture(t, name), SSE: strings.HasSuffix(name, ".sse")}
	for _, part := range strings.Split(name, ".") {
		var code int
		if len(part) == 3 {
			if _, err := fmt.Sscanf(part, "%d", &code); err == nil && code >= 100 {
				r.Status = code
			}
		}
	}
	return r
}

// AgentBody returns a long agent history in the shape Claude Code sends
// to /v1/messages: 300 turns of text and tool use, about 100 KB, the body
// size where a gateway's per-byte work outweighs its per-request work.
func AgentBody(stream bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"model":"claude-sonnet-4-5","max_tokens":32000,"stream":%t,"system":[{"type":"text","text":"You are Claude Code."}],"messages":[`, stream)
	for i := range 300 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"role":"user","content":[{"type":"text","text":"step %d: %s"}]},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_%d","name":"Bash","input":{"command":"ls -la /tmp/%d"}}]}`, i, strings.Repeat("lorem ipsum ", 20), i, i)
	}
	b.WriteString(`],"tools":[{"name":"Bash","input_schema":{"type":"object"}}],"metadata":{"user_id":"user_abc_session_1"}}`)
	return b.String()
}
