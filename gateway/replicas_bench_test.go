package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/health"
	"github.com/llmgw/llmgw/internal/testservices"
	"github.com/llmgw/llmgw/limits"
	"github.com/llmgw/llmgw/sharedstate"
	"github.com/llmgw/llmgw/sticky"
)

// BenchmarkReplicaState measures one request at a time (latency, not
// throughput) through a gateway whose requests each read a sticky binding
// and pass a limit, with the state in process and on the machine's Redis:
// the difference is what --state adds to a request on loopback.
func BenchmarkReplicaState(b *testing.B) {
	for _, mode := range []string{"local", "redis"} {
		b.Run(mode, func(b *testing.B) {
			up := loopbackUpstream(b)
			dir := b.TempDir()
			policy := fmt.Sprintf(`p = provider("p", kind = "openai", base_url = %q, api_key = "sk-up")
limit("per-session", rpm = 100000000, each = "session")
def route(req, ctx):
    return [p]
`, up.URL+"/v1")
			if err := os.WriteFile(filepath.Join(dir, "main.star"), []byte(policy), 0o644); err != nil {
				b.Fatal(err)
			}
			eng, err := engine.New(context.Background(), engine.Config{Path: dir, Kinds: ProviderKinds()})
			if err != nil {
				b.Fatal(err)
			}
			cfg := Config{Policies: eng}
			if mode == "redis" {
				url := testservices.RedisURL(b)
				st, err := sharedstate.Open(sharedstate.Config{URL: url, Prefix: redisPrefix(b, url), Timeout: time.Second})
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() { defer close(done); st.Run(ctx) }()
				b.Cleanup(func() { cancel(); <-done; st.Close() })
				for !st.Shared() {
					time.Sleep(5 * time.Millisecond)
				}
				tr := health.New(health.Config{OnCooldown: st.OnCooldown})
				st.FollowHealth(tr)
				cfg.Health, cfg.Sticky, cfg.Limits, cfg.Cluster = tr, st.Sticky(sticky.New(sticky.Config{})), st.Limits(limits.NewMemory(nil)), st
				b.Cleanup(func() {
					if !st.Shared() {
						b.Errorf("fell back during the benchmark: %+v", st.Status())
					}
				})
			}
			srv := httptest.NewServer(New(cfg))
			b.Cleanup(srv.Close)
			c := loopbackClient(b)
			send := func(i int) {
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions", strings.NewReader(loopbackBody))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("x-session-id", fmt.Sprintf("s%d", i%100))
				resp, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
			for i := range 200 { // bind every session first
				send(i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				send(i)
			}
		})
	}
}
