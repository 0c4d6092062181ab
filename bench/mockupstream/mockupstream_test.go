package mockupstream

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/llmgw/llmgw/providers/demo"
)

func post(t *testing.T, h http.Handler, path, body string) string {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
	if w.Code != http.StatusOK {
		t.Fatalf("POST %s = %d %s", path, w.Code, w.Body)
	}
	b, _ := io.ReadAll(w.Body)
	return string(b)
}

// TestCannedMatchesDemo: the fast path answers exactly what the demo
// handler would, so benchmarks and the real provider see the same bytes.
func TestCannedMatchesDemo(t *testing.T) {
	h := New(Config{})
	if len(h.canned) != len(cannedRequests) {
		t.Fatalf("canned %d replies, want %d", len(h.canned), len(cannedRequests))
	}
	d := demo.New(demo.Config{})
	for _, c := range cannedRequests {
		if got, want := post(t, h, c.path, c.body), post(t, d, c.path, c.body); got != want {
			t.Errorf("%s stream=%v: canned %q, want the demo's %q", c.path, c.stream, got, want)
		}
	}
}

func TestProfiles(t *testing.T) {
	h := New(Config{Paced: demo.Config{Chunks: 7}, Slow: demo.Config{Latency: time.Hour}})
	body := post(t, h, "/v1/messages", `{"model":"mock-paced","stream":true,"messages":[{"role":"user","content":"x"}]}`)
	if n := strings.Count(body, "event: content_block_delta"); n != 7 {
		t.Errorf("mock-paced stream has %d deltas, want 7", n)
	}
	body = post(t, h, "/v1beta/models/mock-paced:streamGenerateContent?alt=sse", `{"contents":[{"parts":[{"text":"x"}]}]}`)
	if n := strings.Count(body, "data: "); n != 7 {
		t.Errorf("mock-paced gemini stream has %d chunks, want 7", n)
	}
	// mock-slow waits its hour unless the request is cancelled.
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(`{"model":"mock-slow"}`))
	ctx, cancel := contextCancelled(r)
	defer cancel()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r.WithContext(ctx))
	if w.Body.Len() != 0 {
		t.Errorf("mock-slow answered a cancelled request: %s", w.Body)
	}
}

func contextCancelled(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	cancel()
	return ctx, cancel
}
