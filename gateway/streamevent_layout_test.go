package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/llmgw/llmgw/internal/fixtures"
	"github.com/llmgw/llmgw/providers/providertest"
	"github.com/llmgw/llmgw/sse"
)

// TestStreamEventsReadInAnyLayout: an error in place of a stream's first
// event, and a stream's final event, are recognised whatever the JSON's
// layout and whether or not the upstream names its events.
func TestStreamEventsReadInAnyLayout(t *testing.T) {
	errs := []struct {
		name, data string
		status     int
	}{
		{"", `{"error":{"message":"Overloaded","type":"server_error","code":null}}`, http.StatusBadGateway},
		{"", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, 529},
		{"error", `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`, http.StatusTooManyRequests},
		{"", `{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}`, 503},
	}
	notErrs := []string{
		`{"id":"c","object":"chat.completion.chunk","error":null,"choices":[{"index":0,"delta":{"content":"{\"error\":1}"}}]}`,
		`{"type":"message_start","message":{"id":"m","type":"message","error":{"x":1}}}`,
	}
	finals := []sse.Event{
		{Data: []byte(`{"type":"message_stop"}`)},
		{Data: []byte(`{"type":"response.completed","sequence_number":9,"response":{"id":"r","status":"completed"}}`)},
		{Data: []byte(`{"candidates":[{"content":{"parts":[{"text":"x"}],"role":"model"},"finishReason":"STOP"}]}`)},
	}
	notFinals := []sse.Event{
		{Data: []byte(`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"text":"\"type\":\"message_stop\""}`)},
		{Data: []byte(`{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`)},
	}
	for _, l := range fixtures.Layouts {
		for _, e := range errs {
			st, _, msg, ok := streamError(sse.Event{Name: e.name, Data: fixtures.Relayout([]byte(e.data), l)})
			if !ok || st != e.status || msg == "" {
				t.Errorf("%s layout: streamError(%s) = %d %q %v, want %d", l, e.data, st, msg, ok, e.status)
			}
		}
		for _, d := range notErrs {
			if _, _, _, ok := streamError(sse.Event{Data: fixtures.Relayout([]byte(d), l)}); ok {
				t.Errorf("%s layout: streamError(%s) = true", l, d)
			}
		}
		for _, ev := range finals {
			if ev.Data = fixtures.Relayout(ev.Data, l); !finalEvent(ev) {
				t.Errorf("%s layout: finalEvent(%s) = false", l, ev.Data)
			}
		}
		for _, ev := range notFinals {
			if ev.Data = fixtures.Relayout(ev.Data, l); finalEvent(ev) {
				t.Errorf("%s layout: finalEvent(%s) = true", l, ev.Data)
			}
		}
	}
}

// TestSpacedErrorEventFailsOver: an upstream that answers a stream with
// an error event written with blanks (as a Python server does) has failed
// before its first byte, so the request fails over.
func TestSpacedErrorEventFailsOver(t *testing.T) {
	for _, l := range fixtures.Layouts {
		t.Run(l, func(t *testing.T) {
			data := fixtures.Relayout([]byte(`{"error":{"message":"Overloaded","type":"server_error","code":503}}`), l)
			a := providertest.New(t, providertest.Reply{SSE: true, Body: []byte("data: " + strings.ReplaceAll(string(data), "\n", "\ndata: ") + "\n\n")})
			b := providertest.New(t, providertest.FixtureReply(t, "openai_chat_stream_text_with_usage.sse"))
			h := twoProviders(t, a, b, "")
			resp, body := h.post("/v1/chat/completions", `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
			if resp.StatusCode != http.StatusOK || b.Count() != 1 || !strings.Contains(string(body), "[DONE]") {
				t.Fatalf("status %d, b called %d times, body %.200s", resp.StatusCode, b.Count(), body)
			}
			if rec := h.rec.last(t); rec.Provider != "b" || rec.ErrorClass != "" {
				t.Errorf("logged provider %q, error class %q", rec.Provider, rec.ErrorClass)
			}
		})
	}
}

// FuzzStreamEventLayouts: streamError and finalEvent answer the same for
// a JSON event however it is laid out, and never panic.
func FuzzStreamEventLayouts(f *testing.F) {
	f.Add("", `{"error":{"message":"x","code":429}}`)
	f.Add("error", `{"type":"error","error":{"type":"overloaded_error","message":"o"}}`)
	f.Add("", `{"type":"message_stop"}`)
	f.Add("", `{"type":"response.incomplete","response":{}}`)
	f.Add("message_delta", `{"candidates":[{"finishReason":"STOP"}]}`)
	f.Add("", `[DONE]`)
	f.Fuzz(func(t *testing.T, name, data string) {
		ev := sse.Event{Name: name, Data: []byte(data)}
		st, typ, msg, isErr := streamError(ev)
		final := finalEvent(ev)
		if !json.Valid(ev.Data) {
			return
		}
		for _, l := range fixtures.Layouts {
			ev.Data = fixtures.Relayout([]byte(data), l)
			st2, typ2, msg2, isErr2 := streamError(ev)
			if st2 != st || typ2 != typ || msg2 != msg || isErr2 != isErr {
				t.Fatalf("%s layout of %q: streamError = %d %q %q %v, compact gave %d %q %q %v", l, ev.Data, st2, typ2, msg2, isErr2, st, typ, msg, isErr)
			}
			if f := finalEvent(ev); f != final {
				t.Fatalf("%s layout of %q: finalEvent = %v, as given %v", l, ev.Data, f, final)
			}
		}
	})
}
