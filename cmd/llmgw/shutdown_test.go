package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/llmgw/llmgw/providers/providertest"
	"github.com/llmgw/llmgw/requestlog"
	"github.com/llmgw/llmgw/sse"
)

// gatedStream is a fake Anthropic upstream that streams a recorded
// transcript: the first `before` events at once, then nothing until
// release is closed (or the request is cancelled), then the rest.
type gatedStream struct {
	*httptest.Server
	release    chan struct{}
	cancelled  chan struct{} // closed when the gateway first cancels an upstream request
	cancelOnce sync.Once
}

func newGatedStream(t *testing.T, fixture string, before int) *gatedStream {
	t.Helper()
	var events [][]byte
	rd := sse.NewReader(bytes.NewReader(providertest.Fixture(t, fixture)))
	for {
		ev, err := rd.Next()
		if err != nil {
			break
		}
		events = append(events, bytes.Clone(ev.Raw))
	}
	if len(events) <= before {
		t.Fatalf("%s has %d events, want more than %d", fixture, len(events), before)
	}
	g := &gatedStream{release: make(chan struct{}), cancelled: make(chan struct{})}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for i, ev := range events {
			if i == before {
				select {
				case <-g.release:
				case <-r.Context().Done():
					g.cancelOnce.Do(func() { close(g.cancelled) })
					return
				}
			}
			if _, err := w.Write(ev); err != nil {
				return
			}
			_ = rc.Flush()
		}
	}))
	t.Cleanup(func() {
		select {
		case <-g.release:
		default:
			close(g.release)
		}
		g.Close()
	})
	return g
}

func upstreamPolicy(url string) string {
	return `up = provider("up", kind = "anthropic", base_url = "` + url + `", api_key = "sk-upstream")

def route(req, ctx):
    return [up]
`
}

// startSlowStream sends a streaming Anthropic request and returns the
// response once its first event has arrived; the rest of the body is left
// to the caller.
func startSlowStream(t *testing.T, g *binaryGateway, model string) (*http.Response, *bytes.Buffer) {
	t.Helper()
	body := `{"model":"` + model + `","max_tokens":600,"stream":true,"messages":[{"role":"user","content":"take your time"}]}`
	req, _ := http.NewRequest(http.MethodPost, g.url+"/v1/messages", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("anthropic-version", "2023-06-01")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("stream: status %d: %s", resp.StatusCode, b)
	}
	// Read up to the first event so the stream is surely in flight.
	var seen bytes.Buffer
	buf := make([]byte, 1)
	for !strings.Contains(seen.String(), "\n\n") {
		if _, err := resp.Body.Read(buf); err != nil {
			t.Fatalf("stream ended before its first event: %v: %s", err, seen.String())
		}
		seen.Write(buf)
	}
	return resp, &seen
}

// waitRefused dials addr until a new connection is refused, for at most 5 s,
// and fails the test if the gateway keeps accepting.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	for range 100 {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s still accepts connections after SIGTERM", addr)
}

// TestSIGTERM is graceful shutdown of the real binary, in parallel
// subtests sharing one build.
func TestSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and signals the binary")
	}
	bin := buildLLMGW(t)
	t.Run("drains in-flight stream", func(t *testing.T) { testDrainsInFlightStream(t, bin) })
	t.Run("cuts stream past grace", func(t *testing.T) { testCutsStreamPastGrace(t, bin) })
	t.Run("second signal cuts at once", func(t *testing.T) { testSecondSignalCutsAtOnce(t, bin) })
}

// testDrainsInFlightStream: after SIGTERM the gateway stops
// accepting at once, lets the stream in flight finish with all its events,
// logs it with its full usage and exits 0.
func testDrainsInFlightStream(t *testing.T, bin string) {
	t.Parallel()
	up := newGatedStream(t, "anthropic_stream_text_end_turn.sse", 2)
	g := startBinary(t, bin, upstreamPolicy(up.URL), nil, "--shutdown-grace", "20s", "--log-level", "debug")
	resp, head := startSlowStream(t, g, "claude-sonnet-4-5")
	id := resp.Header.Get("X-Request-Id")

	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitRefused(t, g.addr)
	select {
	case <-g.done:
		t.Fatalf("llmgw exited with a stream in flight: %v\n%s", g.err, g.logs.String())
	default:
	}

	close(up.release)
	names, err := readSSE(io.MultiReader(head, resp.Body))
	if err != nil {
		t.Errorf("reading the drained stream: %v", err)
	}
	want := []string{"message_start", "content_block_start", "ping", "content_block_delta", "content_block_stop", "message_delta", "message_stop"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("events of the drained stream = %v, want %v", names, want)
	}
	if code := g.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d, want 0\n%s", code, g.logs.String())
	}

	d := loggedRequest(t, g.db, id)
	if d.Status != http.StatusOK || d.InputTokens != 31 || d.OutputTokens != 547 || d.UsageEstimated {
		t.Errorf("logged row = status %d, %d in, %d out, estimated %v; want 200, 31 in, 547 out, reported",
			d.Status, d.InputTokens, d.OutputTokens, d.UsageEstimated)
	}
}

// testCutsStreamPastGrace: a stream that outlasts the grace period
// is cut, its upstream request cancelled, and the process still exits 0
// with the request logged.
func testCutsStreamPastGrace(t *testing.T, bin string) {
	t.Parallel()
	up := newGatedStream(t, "anthropic_stream_text_end_turn.sse", 2)
	g := startBinary(t, bin, upstreamPolicy(up.URL), nil, "--shutdown-grace", "1s")
	resp, head := startSlowStream(t, g, "claude-sonnet-4-5")
	id := resp.Header.Get("X-Request-Id")

	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	names, _ := readSSE(io.MultiReader(head, resp.Body))
	for _, n := range names {
		if n == "message_stop" {
			t.Errorf("the stream past the grace period completed: %v", names)
		}
	}
	select {
	case <-up.cancelled:
	case <-time.After(10 * time.Second):
		t.Errorf("the upstream request was not cancelled when the stream was cut")
	}
	if code := g.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("exit code after SIGTERM past the grace = %d, want 0\n%s", code, g.logs.String())
	}
	if d := loggedRequest(t, g.db, id); !d.Stream || d.InputTokens != 31 {
		t.Errorf("logged row of the cut stream = stream %v, %d input tokens; want a stream with its 31 input tokens", d.Stream, d.InputTokens)
	}
}

// loggedRequest opens the request log after the process is gone and
// returns the row of request id.
func loggedRequest(t *testing.T, path, id string) *requestlog.RequestDetail {
	t.Helper()
	ctx := context.Background()
	db, err := requestlog.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d, err := db.Request(ctx, id)
	if err != nil {
		t.Fatalf("request %q in the log: %v", id, err)
	}
	return d
}

// testSecondSignalCutsAtOnce: a second signal ends a long grace period
// at once; the stream is cut, logged, and the process exits 0.
func testSecondSignalCutsAtOnce(t *testing.T, bin string) {
	t.Parallel()
	up := newGatedStream(t, "anthropic_stream_text_end_turn.sse", 2)
	g := startBinary(t, bin, upstreamPolicy(up.URL), nil, "--shutdown-grace", "10m")
	resp, _ := startSlowStream(t, g, "claude-sonnet-4-5")
	id := resp.Header.Get("X-Request-Id")

	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for i := 0; !strings.Contains(g.logs.String(), "shutting down"); i++ {
		if i == 1000 {
			t.Fatalf("no shutdown after SIGTERM:\n%s", g.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := g.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code after a second SIGTERM = %d, want 0\n%s", code, g.logs.String())
	}
	if d := loggedRequest(t, g.db, id); !d.Stream {
		t.Errorf("logged row of the cut stream = %+v, want the stream", d.RequestItem)
	}
}
