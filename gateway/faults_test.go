package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmgw/llmgw/providers/providertest"
	"github.com/llmgw/llmgw/requestlog"
	"github.com/llmgw/llmgw/sse"
)

// Fault tests: every upstream or client fault ends with a defined outcome
// in the caller's protocol, one log row saying what happened, and no
// goroutine or file descriptor left behind. Each runs through a real
// gateway on a loopback server with a real HTTP client, on a pass-through
// route (OpenAI client, OpenAI upstream) and on converted ones (Anthropic
// and Gemini clients, OpenAI upstream).

// faultRoute is a front door in front of an OpenAI upstream.
type faultRoute struct {
	name  string
	shape string // the caller's error shape, as errorShape names it
	path  func(stream bool) string
	body  func(stream bool) string
	// array is Gemini's streamGenerateContent without alt=sse: the stream
	// is one JSON array, its elements sent as they come. Such a route
	// only streams.
	array bool
}

var faultRoutes = []faultRoute{
	{
		name: "openai pass-through", shape: "openai",
		path: func(bool) string { return "/v1/chat/completions" },
		body: func(stream bool) string {
			return fmt.Sprintf(`{"model":"gpt-4o","stream":%t,"messages":[{"role":"user","content":"hi"}]}`, stream)
		},
	},
	{
		name: "anthropic to openai", shape: "anthropic",
		path: func(bool) string { return "/v1/messages" },
		body: func(stream bool) string {
			return fmt.Sprintf(`{"model":"gpt-4o","max_tokens":64,"stream":%t,"messages":[{"role":"user","content":"hi"}]}`, stream)
		},
	},
	{
		name: "gemini to openai", shape: "gemini",
		path: func(stream bool) string {
			if stream {
				return "/v1beta/models/gpt-4o:streamGenerateContent?alt=sse"
			}
			return "/v1beta/models/gpt-4o:generateContent"
		},
		body: func(bool) string { return `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}` },
	},
	{
		name: "gemini JSON array to openai", shape: "gemini", array: true,
		path: func(bool) string { return "/v1beta/models/gpt-4o:streamGenerateContent" },
		body: func(bool) string { return `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}` },
	},
}

// Outcomes a client can see.
const (
	outcomeOK          = "ok"           // a complete answer
	outcomeError       = "error"        // an error body in the caller's shape
	outcomeStreamError = "stream error" // a 200 stream ending with the caller's error event
)

// faultCase is one fault of provider a, optionally followed in the route
// by b, a healthy provider.
type faultCase struct {
	name   string
	modes  []bool // the stream values to run
	dead   bool   // a's address refuses connections
	a      providertest.Reply
	aDecl  string // more of a's declaration
	backup bool
	cfg    func(*Config)

	status  int    // what the client gets
	outcome string // how the body looks
	class   string // the log row's error class
	attempt string // the log's class for a's attempt ("" when it served)
	aborted bool   // a sees its request cancelled
}

var (
	both      = []bool{false, true}
	nonStream = []bool{false}
	streaming = []bool{true}
)

const htmlPage = "<html><head><title>502 Bad Gateway</title></head>\n<body><h1>Bad Gateway</h1></body></html>\n"

func faultCases(t *testing.T) []faultCase {
	okBody := providertest.Fixture(t, "openai_cassette_chat-tools.response.200.json")
	stream := providertest.Fixture(t, "openai_chat_stream_text_with_usage.sse")
	sseHeader := http.Header{"Content-Type": {"text/event-stream"}}
	short := func(c *Config) { c.RequestTimeout = 300 * time.Millisecond }
	idle := func(c *Config) { c.StreamIdleTimeout = 500 * time.Millisecond }
	return []faultCase{
		{name: "connection refused", modes: both, dead: true,
			status: 502, outcome: outcomeError, class: "exhausted", attempt: "failover"},
		{name: "connection refused fails over", modes: both, dead: true, backup: true,
			status: 200, outcome: outcomeOK, attempt: "failover"},
		{name: "reset mid-body", modes: nonStream, a: providertest.Reply{Body: okBody, CutAfter: len(okBody) / 2},
			status: 502, outcome: outcomeError, class: "exhausted", attempt: "failover"},
		{name: "reset mid-body fails over", modes: nonStream, a: providertest.Reply{Body: okBody, CutAfter: len(okBody) / 2}, backup: true,
			status: 200, outcome: outcomeOK, attempt: "failover"},
		{name: "reset mid-stream does not fail over", modes: streaming, a: providertest.Reply{Body: stream, SSE: true, CutAfter: 3}, backup: true,
			status: 200, outcome: outcomeStreamError, class: "stream"},
		{name: "stall before headers fails over on the first-byte timeout", modes: both, a: providertest.Reply{Delay: 20 * time.Second},
			aDecl: "timeout = 0.2", backup: true,
			status: 200, outcome: outcomeOK, attempt: "failover", aborted: true},
		{name: "stall before headers ends at the request timeout", modes: both, a: providertest.Reply{Delay: 20 * time.Second}, cfg: short,
			status: 504, outcome: outcomeError, class: "exhausted", attempt: "failover", aborted: true},
		{name: "stall between events is cut by the idle timeout", modes: streaming, a: providertest.Reply{Body: stream, SSE: true, EventDelay: 20 * time.Second},
			cfg: idle, backup: true,
			status: 200, outcome: outcomeStreamError, class: "stream", aborted: true},
		{name: "stall before the first event fails over on the idle timeout", modes: streaming, a: providertest.Reply{Body: append([]byte(": ping\n\n"), stream...), SSE: true, EventDelay: 20 * time.Second},
			cfg: idle, backup: true,
			status: 200, outcome: outcomeOK, attempt: "failover", aborted: true},
		{name: "HTML instead of SSE", modes: streaming, a: providertest.Reply{Header: sseHeader, Body: []byte(htmlPage)},
			status: 502, outcome: outcomeError, class: "exhausted", attempt: "failover"},
		{name: "random bytes instead of SSE fail over", modes: streaming, a: providertest.Reply{Header: sseHeader, Body: garbage(64 << 10)}, backup: true,
			status: 200, outcome: outcomeOK, attempt: "failover"},
		{name: "empty 200 fails over", modes: both, backup: true,
			status: 200, outcome: outcomeOK, attempt: "failover"},
		{name: "HTML instead of JSON", modes: nonStream, a: providertest.Reply{Header: http.Header{"Content-Type": {"text/html"}}, Body: []byte(htmlPage)},
			status: 502, outcome: outcomeError, class: "exhausted", attempt: "failover"},
		{name: "200 with an error body fails over", modes: nonStream, backup: true,
			a:      providertest.Reply{Body: []byte(`{"error":{"message":"quota exceeded","type":"server_error","code":null}}`)},
			status: 200, outcome: outcomeOK, attempt: "failover"},
		{name: "200 with an error body and nowhere to go", modes: nonStream,
			a:      providertest.Reply{Body: []byte(`{"error":{"message":"quota exceeded","type":"server_error","code":null}}`)},
			status: 502, outcome: outcomeError, class: "exhausted", attempt: "failover"},
		{name: "stream opening with an error event fails over", modes: streaming, backup: true,
			a:      providertest.Reply{SSE: true, Body: []byte("data: {\"error\":{\"message\":\"internal error\",\"type\":\"server_error\"}}\n\n")},
			status: 200, outcome: outcomeOK, attempt: "failover"},
	}
}

// garbage is n random bytes, the same every run.
func garbage(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return b
}

func TestUpstreamFaults(t *testing.T) {
	for _, fc := range faultCases(t) {
		for _, stream := range fc.modes {
			for _, rt := range faultRoutes {
				if rt.array && !stream {
					continue
				}
				name := fmt.Sprintf("%s/%s/stream=%t", fc.name, rt.name, stream)
				t.Run(name, func(t *testing.T) { runFault(t, fc, rt, stream) })
			}
		}
	}
}

func runFault(t *testing.T, fc faultCase, rt faultRoute, stream bool) {
	fx := newFaultFixture(t)

	aURL := deadURL(t)
	var a *providertest.Server
	if !fc.dead {
		a = providertest.New(t, fc.a)
		aURL = a.URL
	}
	var b *providertest.Server
	policy := providerDecl("a", "openai", aURL, fc.aDecl)
	order := "[a]"
	if fc.backup {
		reply := providertest.FixtureReply(t, "openai_cassette_chat-tools.response.200.json")
		if stream {
			reply = providertest.FixtureReply(t, "openai_chat_stream_text_with_usage.sse")
		}
		b = providertest.New(t, reply)
		policy += providerDecl("b", "openai", b.URL, "priority = 2")
		order = "[a, b]"
	}
	policy += "def route(req, ctx):\n    return " + order + "\n"
	var mods []func(*Config)
	if fc.cfg != nil {
		mods = append(mods, fc.cfg)
	}
	h := fx.serve(newHarness(t, policy, mods...))

	resp, body := fx.post(t, h, rt.path(stream), rt.body(stream))
	if resp.StatusCode != fc.status {
		t.Fatalf("status = %d (%.300s), want %d", resp.StatusCode, body, fc.status)
	}
	checkOutcome(t, rt, stream, fc.outcome, resp, body)

	rec := waitRecord(t, h.rec, 1)
	if rec.Status != fc.status || rec.ErrorClass != fc.class {
		t.Errorf("log row status %d class %q (%s), want %d %q", rec.Status, rec.ErrorClass, rec.ErrorMessage, fc.status, fc.class)
	}
	if fc.outcome != outcomeOK && rec.ErrorMessage == "" {
		t.Error("log row has no error message")
	}
	if len(rec.Attempts) == 0 || rec.Attempts[0].Provider != "a" {
		t.Fatalf("log row attempts = %+v, want a first", rec.Attempts)
	}
	if got := rec.Attempts[0].Class; got != fc.attempt {
		t.Errorf("a's attempt class = %q, want %q (attempts %+v)", got, fc.attempt, rec.Attempts)
	}
	if fc.attempt != "" && rec.Attempts[0].Error == "" {
		t.Errorf("a's failed attempt logged no error: %+v", rec.Attempts[0])
	}
	if b != nil {
		wantB := 0
		if fc.outcome == outcomeOK {
			wantB = 1
		}
		if b.Count() != wantB {
			t.Errorf("b received %d requests, want %d", b.Count(), wantB)
		}
	}
	if fc.aborted {
		waitFor(t, "a to see its request cancelled", func() bool { return a.Aborted() > 0 })
	}
}

// faultFixture is what every fault test shares: a client whose
// connections it controls, and a leak check that runs after everything
// else the test set up is closed.
type faultFixture struct {
	tr     *http.Transport
	client *http.Client
	gw     atomic.Pointer[Server]
}

func newFaultFixture(t *testing.T) *faultFixture {
	fx := &faultFixture{tr: &http.Transport{}}
	fx.client = &http.Client{Transport: fx.tr}
	noLeaks(t, fx.tr.CloseIdleConnections, func() {
		if gw := fx.gw.Load(); gw != nil {
			gw.clients.closeIdle()
		}
	})
	return fx
}

// serve registers h's gateway for the idle connection sweep.
func (fx *faultFixture) serve(h *harness) *harness {
	fx.gw.Store(h.gw)
	return h
}

func (fx *faultFixture) post(t *testing.T, h *harness, path, body string) (*http.Response, []byte) {
	t.Helper()
	resp, err := fx.client.Post(h.srv.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: reading the body: %v (got %.300q)", path, err, b)
	}
	return resp, b
}

// deadURL is the address of a port nothing listens on.
func deadURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// checkOutcome checks that a response body is what the outcome promises,
// in the route's protocol.
func checkOutcome(t *testing.T, rt faultRoute, stream bool, outcome string, resp *http.Response, body []byte) {
	t.Helper()
	switch outcome {
	case outcomeError:
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("error Content-Type = %q, want application/json", ct)
		}
		if shape, _, msg := errorShape(t, body); shape != rt.shape || msg == "" {
			t.Errorf("error body is a %s error with message %q, want a %s error: %s", shape, msg, rt.shape, body)
		}
	case outcomeStreamError:
		evs := streamEvents(t, body)
		if len(evs) == 0 {
			t.Fatalf("stream has no events, want an error event last: %s", body)
		}
		last := evs[len(evs)-1]
		if shape, _, msg := errorShape(t, last.Data); shape != rt.shape || msg == "" {
			t.Errorf("last event is a %s error with message %q, want a %s error", shape, msg, rt.shape)
		}
		if rt.shape == "anthropic" && last.Name != "error" {
			t.Errorf("last event is %q, want an Anthropic event: error", last.Name)
		}
	case outcomeOK:
		if !stream {
			var v map[string]any
			if err := json.Unmarshal(body, &v); err != nil || v["error"] != nil {
				t.Errorf("body is not an answer: %s", body)
			}
			return
		}
		evs := streamEvents(t, body)
		for _, ev := range evs {
			if ev.Name == "error" || bytes.HasPrefix(ev.Data, []byte(`{"error"`)) {
				t.Fatalf("successful stream has an error event: %s", ev.Data)
			}
		}
		end := map[string]string{"openai": "[DONE]", "anthropic": `"message_stop"`, "gemini": `"finishReason"`}[rt.shape]
		if !bytes.Contains(body, []byte(end)) {
			t.Errorf("stream does not finish (no %s): %.300s", end, body)
		}
	}
}

// event is a parsed SSE event with its own copy of the data.
type event struct {
	Name string
	Data []byte
}

// streamEvents returns the events of an SSE body, or the elements of a
// Gemini JSON array stream, without comments and OpenAI's [DONE].
func streamEvents(t *testing.T, body []byte) []event {
	t.Helper()
	var evs []event
	if bytes.HasPrefix(body, []byte("[")) {
		var elems []json.RawMessage
		if err := json.Unmarshal(body, &elems); err != nil {
			t.Fatalf("the stream is not a JSON array: %v: %.300s", err, body)
		}
		for _, e := range elems {
			evs = append(evs, event{Data: e})
		}
		return evs
	}
	rd := sse.NewReader(bytes.NewReader(body))
	for {
		ev, err := rd.Next()
		if err == io.EOF {
			return evs
		}
		if err != nil {
			t.Fatalf("the stream is not SSE: %v", err)
		}
		if ev.Comment || string(ev.Data) == "[DONE]" {
			continue
		}
		evs = append(evs, event{ev.Name, append([]byte(nil), ev.Data...)})
	}
}

// waitRecord waits for the n-th log row: a request whose client went away
// is logged when the gateway notices, not when the client returns.
func waitRecord(t *testing.T, rec *memRecorder, n int) *requestlog.Record {
	t.Helper()
	waitFor(t, fmt.Sprintf("log row %d", n), func() bool { return len(rec.all()) >= n })
	return rec.all()[n-1]
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestClientDisconnect(t *testing.T) {
	// A first chunk with text, so that every client protocol gets bytes
	// to read before it hangs up.
	hello := `data: {"id":"c","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":"Hello"},"finish_reason":null}]}` + "\n\n"
	stream := append([]byte(hello), providertest.Fixture(t, "openai_chat_stream_text_with_usage.sse")...)
	chatty := []byte(hello + strings.Repeat(`data: {"id":"c","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{"content":"more"},"finish_reason":null}]}`+"\n\n", 5000))
	tests := []struct {
		name    string
		stream  bool
		a       providertest.Reply
		status  int    // the log row's
		attempt string // the log's class for a's attempt
	}{
		// The answer has started: the row keeps its 200 and says the
		// client left.
		{"mid-stream", true, providertest.Reply{Body: stream, SSE: true, EventDelay: 20 * time.Second}, 200, ""},
		// The gateway may see its write fail before the request's context
		// is cancelled: still the client's doing.
		{"mid-stream with the upstream still talking", true, providertest.Reply{Body: chatty, SSE: true, EventDelay: 2 * time.Millisecond}, 200, ""},
		// Nothing was sent yet: 499, as nginx logs it.
		{"while waiting for the answer", false, providertest.Reply{Delay: 20 * time.Second}, 499, "cancelled"},
		{"while waiting for the stream", true, providertest.Reply{Delay: 20 * time.Second}, 499, "cancelled"},
	}
	for _, tt := range tests {
		for _, rt := range faultRoutes {
			if rt.array && !tt.stream {
				continue
			}
			t.Run(tt.name+"/"+rt.name, func(t *testing.T) {
				fx := newFaultFixture(t)
				a := providertest.New(t, tt.a)
				b := providertest.New(t, providertest.FixtureReply(t, "openai_chat_stream_text_with_usage.sse"))
				h := fx.serve(newHarness(t, providerDecl("a", "openai", a.URL, "")+providerDecl("b", "openai", b.URL, "priority = 2")+
					"def route(req, ctx):\n    return [a, b]\n"))

				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.srv.URL+rt.path(tt.stream), strings.NewReader(rt.body(tt.stream)))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/json")
				done := make(chan error, 1)
				go func() {
					resp, err := fx.client.Do(req)
					if err == nil {
						// Read the first bytes, then hang up.
						_, err = io.ReadFull(resp.Body, make([]byte, 1))
						cancel()
						resp.Body.Close()
					}
					done <- err
				}()
				if !tt.stream || tt.a.Delay > 0 {
					waitFor(t, "a to receive the request", func() bool { return a.Count() == 1 })
					cancel()
				}
				if err := <-done; err != nil && tt.a.Delay == 0 {
					t.Fatalf("client: %v", err)
				}

				waitFor(t, "a to see its request cancelled", func() bool { return a.Aborted() == 1 })
				rec := waitRecord(t, h.rec, 1)
				if rec.Status != tt.status || rec.ErrorClass != "client_cancelled" {
					t.Errorf("log row status %d class %q (%s), want %d client_cancelled", rec.Status, rec.ErrorClass, rec.ErrorMessage, tt.status)
				}
				if len(rec.Attempts) != 1 || rec.Attempts[0].Class != tt.attempt {
					t.Errorf("log row attempts = %+v, want one, classed %q", rec.Attempts, tt.attempt)
				}
				if b.Count() != 0 {
					t.Errorf("failed over to b for a client that left")
				}
				if st := h.gw.Health().Snapshot("a"); st.State != "" && st.State != "healthy" {
					t.Errorf("a's health = %s after a client hung up, want healthy", st.State)
				}
			})
		}
	}
}

// TestSlowClient streams a long answer to a client that reads slowly and
// then stops reading: every event arrives in order, and while the client
// is stalled the gateway does not drain the upstream into memory (the
// upstream blocks on TCP back-pressure well before the end).
func TestSlowClient(t *testing.T) {
	const (
		events    = 1500
		eventSize = 1 << 10
	)
	for _, rt := range faultRoutes {
		t.Run(rt.name, func(t *testing.T) {
			fx := newFaultFixture(t)
			sb := &smallBuffers{}
			fx.tr.DialContext = sb.dial

			var written atomic.Int64
			up := providertest.New(t, providertest.Reply{})
			up.Handle(func(w http.ResponseWriter, r *http.Request) {
				conn, _, err := http.NewResponseController(w).Hijack()
				if err != nil {
					t.Error(err)
					return
				}
				defer conn.Close()
				sb.add(conn)
				// A close-delimited body: the bytes written are the bytes
				// sent, with no chunking in between.
				if _, err := io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"); err != nil {
					return
				}
				for i := range events {
					ev := fmt.Sprintf("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"~%06d~%s\"},\"finish_reason\":null}]}\n\n",
						i, strings.Repeat("x", eventSize))
					n, err := io.WriteString(conn, ev)
					written.Add(int64(n))
					if err != nil {
						return
					}
				}
				io.WriteString(conn, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")
			})
			h := newHarness(t, providerDecl("p", "openai", up.URL, "")+"def route(req, ctx):\n    return [p]\n")
			fx.serve(h)
			srv := httptest.NewUnstartedServer(h.gw)
			srv.Listener = sb.listen(srv.Listener)
			srv.Start()
			t.Cleanup(srv.Close)

			resp, err := fx.client.Post(srv.URL+rt.path(true), "application/json", strings.NewReader(rt.body(true)))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			// A byte a millisecond for a while...
			var got bytes.Buffer
			one := make([]byte, 1)
			for range 300 {
				if _, err := io.ReadFull(resp.Body, one); err != nil {
					t.Fatalf("slow read: %v", err)
				}
				got.WriteByte(one[0])
				time.Sleep(time.Millisecond)
			}
			// ...then nothing: the upstream must stall on back-pressure.
			last := int64(-1)
			waitFor(t, "the upstream to stall", func() bool {
				n := written.Load()
				if n == last {
					return true
				}
				last = n
				time.Sleep(100 * time.Millisecond)
				return false
			})
			total := int64(events * (eventSize + 100))
			if last >= total*3/4 {
				t.Errorf("the upstream wrote %d of about %d bytes to a stalled client: the gateway buffers without bound", last, total)
			}
			t.Logf("upstream stalled after %d of about %d bytes", last, total)
			sb.grow()

			if _, err := got.ReadFrom(resp.Body); err != nil {
				t.Fatalf("reading the rest: %v", err)
			}
			checkOutcome(t, rt, true, outcomeOK, resp, got.Bytes())
			next := 0
			for _, ev := range streamEvents(t, got.Bytes()) {
				for _, m := range seqs(ev.Data) {
					if m != next {
						t.Fatalf("event %d arrived where %d was due", m, next)
					}
					next++
				}
			}
			if next != events {
				t.Errorf("%d events arrived, want %d", next, events)
			}
			if rec := waitRecord(t, h.rec, 1); rec.Status != 200 || rec.ErrorClass != "" {
				t.Errorf("log row status %d class %q, want 200 and no error", rec.Status, rec.ErrorClass)
			}
		})
	}
}

// seqs returns the sequence numbers (~000042~) in an event, in order.
func seqs(b []byte) []int {
	var out []int
	for {
		i := bytes.IndexByte(b, '~')
		if i < 0 || i+8 > len(b) || b[i+7] != '~' {
			return out
		}
		var n int
		if _, err := fmt.Sscanf(string(b[i+1:i+7]), "%d", &n); err == nil {
			out = append(out, n)
		}
		b = b[i+8:]
	}
}

// smallBuffers makes TCP back-pressure reach the gateway after a few
// kilobytes instead of the megabytes that loopback autotuning allows: it
// shrinks the socket buffers of the connections it sees, and grows them
// back once the test has seen the back-pressure (small windows and
// delayed ACKs make a long transfer slow).
type smallBuffers struct {
	mu    sync.Mutex
	conns []*net.TCPConn
}

const smallBuffer = 16 << 10

func (sb *smallBuffers) add(c net.Conn) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	_ = tc.SetReadBuffer(smallBuffer)
	_ = tc.SetWriteBuffer(smallBuffer)
	sb.mu.Lock()
	defer sb.mu.Unlock()
	sb.conns = append(sb.conns, tc)
}

func (sb *smallBuffers) grow() {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	for _, c := range sb.conns {
		_ = c.SetReadBuffer(4 << 20)
		_ = c.SetWriteBuffer(4 << 20)
	}
}

func (sb *smallBuffers) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err == nil {
		sb.add(c)
	}
	return c, err
}

// listen wraps l so that the connections it accepts get small buffers.
func (sb *smallBuffers) listen(l net.Listener) net.Listener { return smallBufferListener{l, sb} }

type smallBufferListener struct {
	net.Listener
	sb *smallBuffers
}

func (l smallBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.sb.add(c)
	}
	return c, err
}
