package demo

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// discard is a minimal ResponseWriter, so that benchmarks measure the
// handler rather than httptest's recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Flush()                      {}

func BenchmarkServeHTTP(b *testing.B) {
	s := New(Config{})
	for _, tc := range []struct{ name, path, body string }{
		{"chat", "/v1/chat/completions", chatBody},
		{"chat_stream", streamCases[0].path, streamCases[0].body},
		{"responses_stream", streamCases[1].path, streamCases[1].body},
		{"messages", "/v1/messages", msgBody},
		{"messages_stream", streamCases[2].path, streamCases[2].body},
		{"gemini_stream", streamCases[3].path, streamCases[3].body},
		{"embeddings", "/v1/embeddings", `{"model":"e","input":"hello world"}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodPost, tc.path, nil)
			b.ReportAllocs()
			for b.Loop() {
				r.Body = io.NopCloser(strings.NewReader(tc.body))
				s.ServeHTTP(&discard{h: make(http.Header)}, r)
			}
		})
	}
}

func BenchmarkTransport(b *testing.B) {
	c := &http.Client{Transport: New(Config{}).Transport()}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := c.Post("http://demo.invalid/v1/messages", "application/json",
			strings.NewReader(streamCases[2].body))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
