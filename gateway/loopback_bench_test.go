package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/metrics"
	"github.com/llmgw/llmgw/requestlog"
)

// The loopback benchmarks measure what bench/run measures, inside one Go
// process so that they run in CI: real sockets on both sides, the policy,
// SQLite logging, metrics and an info-level structured log, against a bare
// httputil.ReverseProxy to the same upstream in the same run. Compare
// BenchmarkLoopbackGateway with BenchmarkLoopbackBareProxy as a ratio: the
// absolute figures move with the machine's load.

const loopbackReply = `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Hello!"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}`

const loopbackBody = `{"model":"gpt-4o","messages":[{"role":"user","content":"Hello, how are you?"}]}`

func loopbackUpstream(b *testing.B) *httptest.Server {
	b.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, loopbackReply)
	}))
	b.Cleanup(up.Close)
	return up
}

func loopbackClient(b *testing.B) *http.Client {
	b.Helper()
	tr := &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512}
	b.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func runLoopback(b *testing.B, target string) {
	c := loopbackClient(b)
	b.ReportAllocs()
	b.SetParallelism(16) // 32 in flight on 2 cores
	cpu0 := processCPU()
	b.ResetTimer()
	defer func() {
		// CPU time of the whole process (client, gateway or proxy, and
		// upstream) per request: less sensitive to a busy machine than
		// wall time. The gateway's figure minus the bare proxy's is what
		// llmgw adds over the floor.
		b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
	}()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, target+"/v1/chat/completions", strings.NewReader(loopbackBody))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer sk-client")
			resp, err := c.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

// processCPU is the user plus system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkLoopbackGateway(b *testing.B) {
	up := loopbackUpstream(b)
	dir := b.TempDir()
	src := providerDecl("p", "openai", up.URL, "") + "def route(req, ctx):\n    return [p]\n"
	if err := os.WriteFile(filepath.Join(dir, "main.star"), []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	eng, err := engine.New(ctx, engine.Config{Path: dir, Kinds: ProviderKinds()})
	if err != nil {
		b.Fatal(err)
	}
	db, err := requestlog.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	wr := requestlog.NewWriter(db, requestlog.WriterConfig{})
	done := make(chan error, 1)
	go func() { done <- wr.Run(ctx) }()
	gw := New(Config{Policies: eng, Log: wr, LogDB: db, Metrics: metrics.New(), Logger: zerolog.New(io.Discard).Level(zerolog.InfoLevel)})
	srv := httptest.NewUnstartedServer(gw)
	srv.Config = gw.HTTPServer("")
	srv.Start()
	defer srv.Close()
	runLoopback(b, srv.URL)
	b.StopTimer()
	if err := wr.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	cancel()
	<-done
}

func BenchmarkLoopbackBareProxy(b *testing.B) {
	up := loopbackUpstream(b)
	u, _ := url.Parse(up.URL)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024}
	srv := httptest.NewServer(rp)
	defer srv.Close()
	runLoopback(b, srv.URL)
}
