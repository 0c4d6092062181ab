package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/llmgw/llmgw/providers/providertest"
)

func TestBodyClass(t *testing.T) {
	tests := []struct {
		n     int64
		class int
		ok    bool
	}{
		{0, 0, false}, {minPooledBody - 1, 0, false}, {minPooledBody, 0, true}, {minPooledBody + 1, 1, true},
		{64 << 10, 1, true}, {100 << 10, 2, true}, {16 << 20, 9, true}, {16<<20 + 1, 0, false},
	}
	for _, tt := range tests {
		if c, ok := bodyClass(tt.n); c != tt.class || ok != tt.ok {
			t.Errorf("bodyClass(%d) = %d, %v; want %d, %v", tt.n, c, ok, tt.class, tt.ok)
		}
	}
	var p bodyBuffers
	for _, size := range []int64{-1, 0, 100, minPooledBody - 2} {
		if b := p.get(size); b != nil {
			t.Errorf("get(%d) = a buffer of %d, want nil (not pooled)", size, cap(b))
		}
	}
	if b := p.get(100 << 10); len(b) != 0 || cap(b) != 128<<10 {
		t.Errorf("get(100 KiB) = len %d cap %d, want 0, 128 KiB", len(b), cap(b))
	}
}

// TestSharedBodyOutlivesEveryReader checks the reference counting: the
// buffer goes back to the pool only when the exchange and every reader
// have let go, once, whatever the order.
func TestSharedBodyOutlivesEveryReader(t *testing.T) {
	var p bodyBuffers
	s := newSharedBody(&p, p.get(40 << 10)[:10])
	r1, r2 := s.reader(s.buf), s.reader(s.buf[:5])
	s.release() // the exchange is done first: the transport still reads
	if s.buf == nil {
		t.Fatal("buffer released while two readers are open")
	}
	if b, err := io.ReadAll(r2); err != nil || len(b) != 5 {
		t.Fatalf("ReadAll(r2) = %d bytes, %v; want 5, nil", len(b), err)
	}
	r2.Close()
	r2.Close() // a second Close is not a second release
	if s.buf == nil {
		t.Fatal("buffer released while a reader is open")
	}
	r1.Close()
	if s.buf != nil {
		t.Fatal("buffer not released after the last reader closed")
	}
	if _, err := r1.Read(make([]byte, 1)); !errors.Is(err, errBodyClosed) {
		t.Errorf("Read after Close = %v, want errBodyClosed", err)
	}
}

// TestSharedReaderCloseWaitsForRead closes a reader while another
// goroutine reads it, as net/http does with a cancelled request: once
// Close has returned, no read copies from the buffer (run with -race,
// which sees a copy racing with the reuse below).
func TestSharedReaderCloseWaitsForRead(t *testing.T) {
	for range 50 {
		var p bodyBuffers
		s := newSharedBody(&p, append(p.get(40<<10), strings.Repeat("x", 40<<10)...))
		r := s.reader(s.buf)
		s.release()
		buf := s.buf
		done := make(chan struct{})
		go func() {
			defer close(done)
			p := make([]byte, 64)
			for {
				if _, err := r.Read(p); err != nil {
					return
				}
			}
		}()
		r.Close()
		for i := range buf {
			buf[i] = 'y' // what the next request's read would do
		}
		<-done
	}
}

// TestLargeBodiesAreNeverMixed sends many large bodies at once, each
// different, half of them to an upstream that answers before it reads the
// body (net/http's transport then goes on writing the body after
// RoundTrip has returned and the exchange has finished): with the buffers
// recycled between requests, every byte each upstream reads must still be
// its client's.
func TestLargeBodiesAreNeverMixed(t *testing.T) {
	reply := providertest.Fixture(t, "anthropic_nonstream_tool_use_response.json")
	var mu sync.Mutex
	got := map[string][32]byte{}
	record := func(r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m struct {
			Metadata struct {
				UserID string `json:"user_id"`
			} `json:"metadata"`
		}
		_ = json.Unmarshal(b, &m)
		mu.Lock()
		got[m.Metadata.UserID] = sha256.Sum256(b)
		mu.Unlock()
	}
	answer := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(reply)
	}
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record(r)
		answer(w)
	}))
	t.Cleanup(echo.Close)
	early := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.EnableFullDuplex(); err != nil {
			t.Error(err)
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(reply)))
		answer(w)
		_ = rc.Flush() // the whole answer is out before the body is read
		record(r)
	}))
	t.Cleanup(early.Close)
	h := newHarness(t, providerDecl("echo", "anthropic", echo.URL, "")+providerDecl("early", "anthropic", early.URL, "")+
		"def route(req, ctx):\n    return [early] if req.model == \"early\" else [echo]\n")

	const clients, each = 8, 12
	sent := make([]map[string][32]byte, clients)
	var wg sync.WaitGroup
	for c := range clients {
		sent[c] = map[string][32]byte{}
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 1))
			for i := range each {
				id, model := fmt.Sprintf("client-%d-%d", c, i), "echo"
				if i%2 == 1 {
					model = "early"
				}
				text := strings.Repeat(fmt.Sprintf("%s says %x. ", id, rng.Uint64()), 40+rng.IntN(8000))
				body := fmt.Sprintf(`{"model":%q,"max_tokens":16,"metadata":{"user_id":%q},"messages":[{"role":"user","content":%q}]}`, model, id, text)
				resp, out := h.do(http.MethodPost, "/v1/messages", body, "anthropic-version", "2023-06-01")
				if resp.StatusCode != http.StatusOK {
					t.Errorf("%s (%d bytes to %s): status %d: %s", id, len(body), model, resp.StatusCode, out)
					return
				}
				sent[c][id] = sha256.Sum256([]byte(body))
			}
		})
	}
	wg.Wait()
	echo.Close() // waits for the handlers still reading
	early.Close()
	mu.Lock()
	defer mu.Unlock()
	checked := 0
	for c := range clients {
		for id, want := range sent[c] {
			if got[id] != want {
				t.Errorf("%s: the upstream read other bytes than the client sent", id)
			}
			checked++
		}
	}
	if checked != clients*each {
		t.Errorf("checked %d bodies, want %d", checked, clients*each)
	}
}

// TestFailoverResendsTheSameLargeBody checks that a second attempt sends
// the body the first did, byte for byte, from the recycled buffer.
func TestFailoverResendsTheSameLargeBody(t *testing.T) {
	a := providertest.New(t, providertest.FixtureReply(t, "anthropic_nonstream_tool_use_response.json"))
	a.Enqueue(providertest.Reply{Status: 500, Body: []byte(`{"type":"error","error":{"type":"api_error","message":"boom"}}`)})
	b := providertest.New(t, providertest.FixtureReply(t, "anthropic_nonstream_tool_use_response.json"))
	h := newHarness(t, providerDecl("a", "anthropic", a.URL, "")+providerDecl("b", "anthropic", b.URL, "priority = 2")+
		"def route(req, ctx):\n    return [a, b]\n")
	body := fmt.Sprintf(`{"model":"claude","max_tokens":16,"messages":[{"role":"user","content":%q}]}`, strings.Repeat("large body ", 10000))
	resp, out := h.do(http.MethodPost, "/v1/messages", body, "anthropic-version", "2023-06-01")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, out)
	}
	if a.Count() != 1 || b.Count() != 1 {
		t.Fatalf("requests a=%d b=%d, want 1 each", a.Count(), b.Count())
	}
	for name, up := range map[string]*providertest.Server{"a": a, "b": b} {
		if got := string(up.Requests()[0].Body); got != body {
			t.Errorf("%s received %d bytes, not the client's %d", name, len(got), len(body))
		}
	}
}

// lateTransport answers each request at once and reads its body only when
// the next request arrives, after the exchange that sent it has finished
// and the next has read its own body: what net/http's transport may do
// (RoundTrip may return before it has read and closed the request body).
type lateTransport struct {
	reply []byte

	// guards the following
	mu      sync.Mutex
	pending *http.Request
	read    [][]byte // each body, as it was read late
}

func (l *lateTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.drainLocked()
	l.pending = req
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(l.reply)), ContentLength: int64(len(l.reply)), Request: req}, nil
}

func (l *lateTransport) drainLocked() {
	if l.pending != nil {
		b, _ := io.ReadAll(l.pending.Body)
		l.pending.Body.Close()
		l.read, l.pending = append(l.read, b), nil
	}
}

// TestBodyReadAfterTheExchangeIsTheClients checks that a body the
// transport reads after the exchange has finished is still the client's,
// though the next request has meanwhile been read into a recycled buffer
// of the same size.
func TestBodyReadAfterTheExchangeIsTheClients(t *testing.T) {
	late := &lateTransport{reply: providertest.Fixture(t, "anthropic_nonstream_tool_use_response.json")}
	h := newHarness(t, `d = provider("d", kind = "demo")`+"\ndef route(req, ctx):\n    return [d]\n",
		func(c *Config) { c.Demo = late })
	var sent []string
	for i := range 8 {
		body := fmt.Sprintf(`{"model":"claude","max_tokens":16,"messages":[{"role":"user","content":%q}]}`,
			strings.Repeat(fmt.Sprintf("request %d. ", i), 4000)) // about 44 KB each: one size class
		resp, out := h.do(http.MethodPost, "/v1/messages", body, "anthropic-version", "2023-06-01")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: status %d: %s", i, resp.StatusCode, out)
		}
		sent = append(sent, body)
	}
	late.mu.Lock()
	defer late.mu.Unlock()
	late.drainLocked()
	if len(late.read) != len(sent) {
		t.Fatalf("the transport read %d bodies, want %d", len(late.read), len(sent))
	}
	for i, b := range late.read {
		if string(b) != sent[i] {
			at := 0
			for at < min(len(b), len(sent[i])) && b[at] == sent[i][at] {
				at++
			}
			t.Errorf("request %d: the transport read another body than the client's (%d bytes, %d sent; first difference at byte %d)", i, len(b), len(sent[i]), at)
		}
	}
}
