package gateway

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
)

func TestScrubBody(t *testing.T) {
	h := http.Header{}
	h.Set("Authorization", "Bearer sk-secret-123456")
	h.Set("X-Api-Key", "ak-other-654321")
	h.Set("Content-Type", "application/json-long-enough")
	secrets := credentials(h)
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"no secret here", "no secret here"},
		{`{"error":"you sent Bearer sk-secret-123456"}`, `{"error":"you sent Bearer [REDACTED]"}`},
		{"a ak-other-654321 b sk-secret-123456 c sk-secret-123456", "a [REDACTED] b [REDACTED] c [REDACTED]"},
		{"ends with a partial sk-secret-12", "ends with a partial sk-secret-12"},
		{"data: sk-sk-secret-123456\n\n", "data: sk-[REDACTED]\n\n"},
		{"application/json-long-enough is not a credential", "application/json-long-enough is not a credential"},
	} {
		for name, r := range map[string]io.Reader{"whole": strings.NewReader(tc.in), "one byte at a time": iotest.OneByteReader(strings.NewReader(tc.in))} {
			got, err := io.ReadAll(scrubBody(io.NopCloser(r), secrets))
			if err != nil || string(got) != tc.want {
				t.Errorf("scrub(%q) read %s = %q, %v; want %q", tc.in, name, got, err, tc.want)
			}
		}
	}
}

// TestScrubBodyDoesNotDelayEvents: a complete SSE event is returned as
// soon as it is read, without waiting for more input.
func TestScrubBodyDoesNotDelayEvents(t *testing.T) {
	pr, pw := io.Pipe()
	r := scrubBody(pr, [][]byte{[]byte("data-secret")})
	go pw.Write([]byte("event: x\ndata: {}\n\n"))
	buf := make([]byte, 64)
	n, err := r.Read(buf)
	if err != nil || string(buf[:n]) != "event: x\ndata: {}\n\n" {
		t.Errorf("Read = %q, %v; want the whole event at once", buf[:n], err)
	}
	pw.Close()
}

func TestScrubHeader(t *testing.T) {
	h := http.Header{
		"X-Echo":      {"Bearer sk-secret-123456", "clean"},
		"X-Both":      {"sk-secret-123456 and ak-other-654321, sk-secret-123456 again"},
		"Retry-After": {"3"},
	}
	scrubHeader(h, [][]byte{[]byte("sk-secret-123456"), []byte("ak-other-654321")})
	if got := h["X-Echo"]; got[0] != "Bearer [REDACTED]" || got[1] != "clean" || h.Get("Retry-After") != "3" {
		t.Errorf("scrubHeader left %v", h)
	}
	if got := h.Get("X-Both"); got != "[REDACTED] and [REDACTED], [REDACTED] again" {
		t.Errorf("scrubHeader left X-Both %q", got)
	}
}

// TestPartialSecret: the held-back tail is the longest tail of what was
// read that a secret starts with, found whichever secret and whatever the
// repeats inside it.
func TestPartialSecret(t *testing.T) {
	secrets := [][]byte{[]byte("sk-abcab-d"), []byte("aaaab")}
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"", 0},
		{"no", 0},
		{"x s", 1},
		{"x sk-abcab", 8},
		{"x sk-abcab-", 9},
		{"x sk-abcab-d", 0}, // a whole secret is the scrub's, not held back
		{"sk-ab sk-abca", 7},
		{"xaaa", 3},
		{"aaaaaaa", 4}, // "aaaa": the longest proper prefix of "aaaab"
		{"x sk-a", 4},
		{"b", 0},
	} {
		if got := partialSecret([]byte(tc.in), secrets); got != tc.want {
			t.Errorf("partialSecret(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func BenchmarkScrubBody(b *testing.B) {
	ev := strings.Repeat(`data: {"choices":[{"delta":{"content":"hello world"}}]}`+"\n\n", 200)
	secrets := [][]byte{[]byte("sk-secret-1234567890abcdef")}
	b.SetBytes(int64(len(ev)))
	for b.Loop() {
		_, _ = io.Copy(io.Discard, scrubBody(io.NopCloser(strings.NewReader(ev)), secrets))
	}
}
