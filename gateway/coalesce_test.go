package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmgw/llmgw/providers/providertest"
)

// flushCounter counts the flushes a handler makes on its response.
type flushCounter struct {
	http.ResponseWriter
	n *atomic.Int32
}

func (f flushCounter) Flush() {
	f.n.Add(1)
	f.ResponseWriter.(http.Flusher).Flush()
}

func (f flushCounter) Unwrap() http.ResponseWriter { return f.ResponseWriter }

// TestStreamCoalescesBufferedEvents sends six events in one upstream write
// and then holds the stream open. All six must reach the client while the
// upstream waits (nothing written may wait behind a read of the upstream),
// and in one flush, not one each: the relay flushes only before it reads.
// Same protocol, converted, and Gemini's JSON-array mode.
func TestStreamCoalescesBufferedEvents(t *testing.T) {
	openaiChunk := func(i int) string {
		return fmt.Sprintf(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"c%d"},"finish_reason":null}]}`+"\n\n", i)
	}
	openaiEnd := `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":6,"total_tokens":9}}` + "\n\n" +
		"data: [DONE]\n\n"
	geminiChunk := func(i int) string {
		return fmt.Sprintf(`data: {"candidates":[{"content":{"parts":[{"text":"c%d"}],"role":"model"},"index":0}]}`+"\r\n\r\n", i)
	}
	geminiEnd := `data: {"candidates":[{"content":{"parts":[{"text":"."}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":6,"totalTokenCount":9}}` + "\r\n\r\n"

	for _, tc := range []struct {
		name, kind, path, body string
		chunk                  func(int) string
		end                    string
	}{
		{"same protocol", "openai", "/v1/chat/completions", `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`, openaiChunk, openaiEnd},
		{"converted", "openai", "/v1/messages", `{"model":"m","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, openaiChunk, openaiEnd},
		{"gemini array", "gemini", "/v1beta/models/m:streamGenerateContent", `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`, geminiChunk, geminiEnd},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{}) // the upstream may end the stream
			stop := make(chan struct{})    // the test is over, whatever happened
			up := providertest.New(t, providertest.Reply{})
			up.Handle(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				var burst strings.Builder
				for i := range 6 {
					burst.WriteString(tc.chunk(i))
				}
				_, _ = w.Write([]byte(burst.String()))
				w.(http.Flusher).Flush()
				select {
				case <-release:
				case <-stop:
					return
				case <-r.Context().Done():
					return
				}
				_, _ = w.Write([]byte(tc.end))
			})
			h := newHarness(t, providerDecl("p", tc.kind, up.URL, "")+"def route(req, ctx):\n    return [p]\n")
			var flushes atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				h.gw.ServeHTTP(flushCounter{w, &flushes}, r)
			}))
			defer srv.Close()
			defer close(stop) // before srv.Close, which waits for the handler

			// Every wait is bounded: headers that are never flushed fail
			// the test instead of hanging it.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("anthropic-version", "2023-06-01")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("no response headers while the upstream held the stream open (not flushed before the read?): %v", err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			seen := make(chan error, 1)
			go func() {
				// Raw reads, not lines: in Gemini's array mode an element
				// ends only when the next one starts.
				var got strings.Builder
				buf := make([]byte, 4096)
				for range 1000 {
					n, err := resp.Body.Read(buf)
					got.Write(buf[:n])
					if strings.Contains(got.String(), `c5"`) {
						seen <- nil
						return
					}
					if err != nil {
						seen <- fmt.Errorf("stream ended before the sixth event (%v): %q", err, got.String())
						return
					}
				}
				seen <- fmt.Errorf("no sixth event in 1000 reads")
			}()
			select {
			case err := <-seen:
				if err != nil {
					t.Fatal(err)
				}
			case <-ctx.Done():
				t.Fatal("the buffered events did not reach the client while the upstream held the stream open: not flushed before the read")
			}
			// The burst may reach the gateway in two reads; one flush per
			// event would be six.
			if n := flushes.Load(); n < 1 || n > 2 {
				t.Errorf("%d flushes for six events the upstream sent together, want 1 or 2", n)
			}
			close(release)
		})
	}
}
