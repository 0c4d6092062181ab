package gateway

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/llmgw/llmgw/internal/fixtures"
	"github.com/llmgw/llmgw/providers/providertest"
	"github.com/llmgw/llmgw/sse"
)

// TestHangUpAfterFinalEventIsSuccess: SDKs stop reading at their
// protocol's last event ([DONE], message_stop, response.completed, a
// Gemini chunk with its finishReason) and close the connection. Here the
// upstream sends its whole recorded stream and then keeps the connection
// open, as a busy upstream or a proxy may, so the gateway is still reading
// when the client hangs up: the request is a success with the usage the
// stream reported, not client_cancelled.
func TestHangUpAfterFinalEventIsSuccess(t *testing.T) {
	cases := []struct {
		name, kind, fixture, path, body string
		final                           func(ev sse.Event) bool
		input                           int64
	}{
		{"openai", "openai", "openai_chat_stream_text_with_usage.sse", "/v1/chat/completions",
			`{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`,
			func(ev sse.Event) bool { return string(ev.Data) == "[DONE]" }, 14},
		{"anthropic", "anthropic", "anthropic_stream_text_end_turn.sse", "/v1/messages",
			`{"model":"m","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}`,
			func(ev sse.Event) bool { return ev.Name == "message_stop" }, 31},
		{"responses", "openai", "openai_responses_stream_function_call_o3.sse", "/v1/responses",
			`{"model":"m","stream":true,"input":"hi"}`,
			func(ev sse.Event) bool { return ev.Name == "response.completed" }, 84},
		{"gemini", "gemini", "gemini_stream_single_chunk.sse", "/v1beta/models/m:streamGenerateContent?alt=sse",
			`{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`,
			func(ev sse.Event) bool { return bytes.Contains(ev.Data, []byte(`"finishReason"`)) }, 8},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stream := fixtures.Read(t, c.fixture)
			up := providertest.New(t, providertest.Reply{})
			up.Handle(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write(stream)
				_ = http.NewResponseController(w).Flush()
				// Hold the connection open after the last event.
				select {
				case <-r.Context().Done():
				case <-time.After(10 * time.Second):
				}
			})
			h := newHarness(t, providerDecl("p", c.kind, up.URL, "")+"def route(req, ctx):\n    return [p]\n")
			req, err := http.NewRequest(http.MethodPost, h.srv.URL+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			rd := sse.NewReader(resp.Body)
			for {
				ev, err := rd.Next()
				if err != nil {
					t.Fatalf("stream ended before its final event: %v", err)
				}
				if c.final(ev) {
					break
				}
			}
			resp.Body.Close() // hang up right after the final event
			rec := waitRecord(t, h.rec, 1)
			if rec.ErrorClass != "" || rec.Status != http.StatusOK {
				t.Fatalf("logged status %d, error class %q (%s); want a success", rec.Status, rec.ErrorClass, rec.ErrorMessage)
			}
			if rec.UsageEstimated || rec.Usage.InputTokens+rec.Usage.CacheReadTokens != c.input {
				t.Errorf("logged usage %+v (estimated %v), want the stream's %d input tokens", rec.Usage, rec.UsageEstimated, c.input)
			}
			if a := rec.Attempts[len(rec.Attempts)-1]; a.Error != "" || a.Class != "" {
				t.Errorf("attempt logged as %q / %q", a.Class, a.Error)
			}
		})
	}
}
