package demo

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// finishing wraps h and closes the returned channel when h returns.
func finishing(h http.Handler) (http.Handler, <-chan struct{}) {
	done := make(chan struct{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		h.ServeHTTP(w, r)
	}), done
}

// bound fails the test if ch is not closed within a generous bound (the
// handler should return at once; the bound only keeps a broken build from
// hanging).
func bound(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not happen", what)
	}
}

func TestTransportNonStream(t *testing.T) {
	c := &http.Client{Transport: New(Config{}).Transport()}
	resp, err := c.Post("http://demo.invalid/v1/chat/completions", "application/json", strings.NewReader(chatBody))
	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("Post = %d %q, want 200 application/json", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	want := call(t, New(Config{}), http.MethodPost, "/v1/chat/completions", chatBody).Body.String()
	if string(body) != want {
		t.Errorf("Transport body = %s, want the handler's %s", body, want)
	}
}

func TestTransportErrorStatus(t *testing.T) {
	c := &http.Client{Transport: New(Config{}).Transport()}
	resp, err := c.Get("http://demo.invalid/v1beta/models/x:nope")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET on a POST endpoint = %d, want 405", resp.StatusCode)
	}
}

// TestTransportStreamsIncrementally reads the first event while the handler
// is still waiting its (hour-long) interval before the second: a Transport
// that buffered the body would never deliver it.
func TestTransportStreamsIncrementally(t *testing.T) {
	h, done := finishing(New(Config{Interval: time.Hour}))
	c := &http.Client{Transport: transport{h: h}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://demo.invalid/v1/messages",
		strings.NewReader(strings.Replace(msgBody, `"model"`, `"stream":true,"model"`, 1)))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	var seen []string
	for len(seen) < 4 { // message_start, content_block_start, ping, first delta
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read after %v: %v", seen, err)
		}
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "event: "); ok {
			seen = append(seen, name)
		}
	}
	if seen[3] != "content_block_delta" {
		t.Errorf("events = %v, want a content_block_delta fourth", seen)
	}
	select {
	case <-done:
		t.Fatal("the handler finished before the first event was read: the body was not streamed")
	default:
	}
	// Cancelling the request stops the handler in its wait, and the reader
	// sees the cancellation, not a clean end of stream.
	cancel()
	bound(t, done, "the handler's return after cancel")
	if _, err := io.ReadAll(br); !errors.Is(err, context.Canceled) {
		t.Errorf("read after cancel: %v, want context.Canceled", err)
	}
}

func TestTransportBodyCloseStopsHandler(t *testing.T) {
	h, done := finishing(New(Config{TTFT: time.Hour}))
	c := &http.Client{Transport: transport{h: h}}
	resp, err := c.Post("http://demo.invalid/v1beta/models/m:streamGenerateContent?alt=sse", "application/json", strings.NewReader(gemBody))
	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	resp.Body.Close()
	bound(t, done, "the handler's return after the body was closed")
}

func TestTransportCancelBeforeHeaders(t *testing.T) {
	h, done := finishing(New(Config{Latency: time.Hour}))
	c := &http.Client{Transport: transport{h: h}}
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://demo.invalid/v1/responses", strings.NewReader(respBody))
	errc := make(chan error, 1)
	go func() {
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	cancel()
	bound(t, done, "the handler's return after cancel")
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Do = %v, want context.Canceled", err)
	}
}

func TestTransportHandlerPanic(t *testing.T) {
	c := &http.Client{Transport: transport{h: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	})}}
	resp, err := c.Get("http://demo.invalid/")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Error("reading the body of a panicking handler succeeded, want an error")
	}
}
