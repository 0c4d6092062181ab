package providertest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCutResetsTheConnection(t *testing.T) {
	body := []byte(`{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"hello"}}]}`)
	tests := []struct {
		name  string
		reply Reply
	}{
		{"mid-body", Reply{Body: body, CutAfter: 10}},
		{"mid-stream", Reply{SSE: true, Body: []byte("data: {\"a\":1}\n\ndata: {\"a\":2}\n\ndata: {\"a\":3}\n\n"), CutAfter: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(t, tt.reply)
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			resp, err := (&http.Client{Transport: tr}).Post(s.URL, "application/json", strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err == nil {
				t.Fatalf("ReadAll = %q, nil; want the cut to surface as an error", got)
			}
			// The RST is seen as a reset, or as an early EOF when the
			// transport had already read everything sent before it.
			if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("ReadAll error = %v, want a connection reset or unexpected EOF", err)
			}
		})
	}
}

func TestAbortedCountsCancelledReplies(t *testing.T) {
	tests := []struct {
		name  string
		reply Reply
	}{
		{"stall before headers", Reply{Delay: time.Minute}},
		{"stall between events", Reply{SSE: true, Body: []byte("data: {}\n\ndata: {}\n\n"), EventDelay: time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(t, tt.reply)
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			ctx, cancel := context.WithCancel(context.Background())
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, strings.NewReader("{}"))
			go func() {
				for s.Count() == 0 {
					time.Sleep(time.Millisecond)
				}
				cancel()
			}()
			if resp, err := (&http.Client{Transport: tr}).Do(req); err == nil {
				_, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			deadline := time.Now().Add(5 * time.Second)
			for s.Aborted() != 1 {
				if time.Now().After(deadline) {
					t.Fatalf("Aborted() = %d, want 1", s.Aborted())
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}
