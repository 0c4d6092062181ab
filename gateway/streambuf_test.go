package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestStreamBuffersAreRecycled relays streams one after another through
// the recycled buffers: the first quotes the provider's key split across
// two writes and ends inside an event, on a tail that could begin the key
// again; each next stream must arrive exactly as sent (key redacted),
// with nothing of the stream before it, and the relay must hand its
// buffers back.
func TestStreamBuffersAreRecycled(t *testing.T) {
	const key = "sk-provider-a"
	var n atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		i := n.Add(1)
		io.WriteString(w, `data: {"choices":[{"delta":{"content":"stream `+string(rune('0'+i%10))+`"}}]}`+"\n\n")
		fl.Flush()
		io.WriteString(w, `data: {"choices":[{"delta":{"content":"you sent sk-prov`)
		fl.Flush()
		io.WriteString(w, `ider-a"}}]}`+"\n\n")
		if i == 1 {
			io.WriteString(w, "data: sk-prov") // cut inside an event, on a partial key
			return
		}
		io.WriteString(w, "data: [DONE]\n\n")
	}))
	defer up.Close()
	h := newHarness(t, providerDecl("a", "openai", up.URL, "")+"def route(req, ctx):\n    return [a]\n")
	want := func(i int) string {
		s := `data: {"choices":[{"delta":{"content":"stream ` + string(rune('0'+i%10)) + `"}}]}` + "\n\n" +
			`data: {"choices":[{"delta":{"content":"you sent [REDACTED]"}}]}` + "\n\n"
		if i == 1 {
			// Cut without its final event: the cut event is ended and the
			// client gets the protocol's error event after it.
			return s + "data: sk-prov\n\n" + `data: {"error":{"message":"upstream stream failed: the upstream closed the stream before its final event","type":"server_error","param":null,"code":null}}` + "\n\n"
		}
		return s + "data: [DONE]\n\n"
	}
	returned := false
	for i := 1; i <= 8; i++ {
		_, b := h.post("/v1/chat/completions", `{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`)
		if string(b) != want(i) {
			t.Fatalf("stream %d:\n got %q\nwant %q", i, b, want(i))
		}
		if strings.Contains(string(b), key) {
			t.Fatalf("stream %d carries the provider's key", i)
		}
		// The race detector's sync.Pool drops some of what is put back:
		// one of the streams must have returned its buffers.
		if rb, ok := h.gw.streams.pool.Get().(*relayBuffers); ok {
			returned = true
			if w := rb.scrub.work; len(w) != 0 || cap(w) < scrubChunk {
				t.Errorf("recycled scrub buffer has len %d, cap %d; want empty with room for %d", len(w), cap(w), scrubChunk)
			}
			h.gw.streams.put(rb)
		}
	}
	if !returned {
		t.Error("no stream handed its buffers back")
	}
}

// TestStreamBuffersBounds: a scrub buffer that grew past keptScrubBuffer is
// not kept, one that grew less is, and the scrub reader's grown buffer is
// the one handed back.
func TestStreamBuffersBounds(t *testing.T) {
	var p streamBuffers
	b := p.get()
	b.scrub.work = make([]byte, 10, 2*keptScrubBuffer)
	p.put(b)
	if w := b.scrub.work; len(w) != 0 || cap(w) != scrubChunk {
		t.Errorf("after put, an oversized scrub buffer is len %d, cap %d; want a fresh one of %d", len(w), cap(w), scrubChunk)
	}

	// A read that ends on the start of the key holds that tail back, and
	// the next read needs scrubChunk bytes more than the tail: the buffer
	// grows, and the grown one is what the relay keeps.
	secret := []byte("sk-secret-1234567890")
	in := strings.Repeat("x", scrubChunk-4) + "sk-s" + strings.Repeat("y", scrubChunk)
	body := b.scrubbed(io.NopCloser(iotestHalves(in, scrubChunk)), [][]byte{secret})
	got, err := io.ReadAll(body)
	if err != nil || string(got) != in {
		t.Fatalf("scrubbed read = %d bytes, %v; want the input", len(got), err)
	}
	if c := cap(b.scrub.work); c <= scrubChunk || c > keptScrubBuffer {
		t.Errorf("after a grown read the relay keeps a buffer of cap %d, want the grown one", c)
	}
	p.put(b)
	if c := cap(b.scrub.work); c <= scrubChunk {
		t.Errorf("put dropped a grown buffer of cap %d under the %d limit", c, keptScrubBuffer)
	}
	if b.scrub.r != nil || b.scrub.secrets != nil {
		t.Error("put kept the last stream's body or secrets")
	}

	// Nothing to scrub: the body itself.
	rc := io.NopCloser(strings.NewReader("x"))
	if got := b.scrubbed(rc, nil); got != rc {
		t.Error("scrubbed wraps a body with no secrets to scrub")
	}
}

// iotestHalves reads s in reads of at most n bytes.
func iotestHalves(s string, n int) io.Reader {
	var rs []io.Reader
	for len(s) > n {
		rs = append(rs, strings.NewReader(s[:n]))
		s = s[n:]
	}
	return io.MultiReader(append(rs, strings.NewReader(s))...)
}
