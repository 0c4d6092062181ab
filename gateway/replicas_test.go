package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/llmgw/llmgw/health"
	"github.com/llmgw/llmgw/internal/testservices"
	"github.com/llmgw/llmgw/limits"
	"github.com/llmgw/llmgw/providers/providertest"
	"github.com/llmgw/llmgw/sharedstate"
	"github.com/llmgw/llmgw/sharedstate/redistest"
	"github.com/llmgw/llmgw/sticky"
)

// replica is one gateway of a test cluster and its shared state.
type replica struct {
	*harness
	state *sharedstate.State
}

// newReplicas serves policy from n gateways on loopback ports that share
// their state through the Redis at url, under prefix, and waits until all
// have joined it.
func newReplicas(t *testing.T, n int, url, prefix, policy string) []replica {
	t.Helper()
	out := make([]replica, n)
	for i := range out {
		var st *sharedstate.State
		h := newHarness(t, policy, func(cfg *Config) {
			pols := cfg.Policies
			var err error
			st, err = sharedstate.Open(sharedstate.Config{
				URL: url, Prefix: prefix, ReplicaID: fmt.Sprintf("replica-%d", i), Version: "test",
				PolicyHash:    func() string { return pols.Policy().Hash },
				ProbeInterval: 50 * time.Millisecond, Heartbeat: 200 * time.Millisecond, ReplicaTTL: 2 * time.Second,
				// Generous: a busy test machine must not look like a Redis
				// failure (the fault test kills Redis, which fails at once).
				Timeout: time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			tr := health.New(health.Config{OnCooldown: st.OnCooldown})
			st.FollowHealth(tr)
			cfg.Health = tr
			cfg.Sticky = st.Sticky(sticky.New(sticky.Config{}))
			cfg.Cluster = st
			cfg.Limits = st.Limits(limits.NewMemory(nil))
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); st.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done; st.Close() })
		out[i] = replica{h, st}
	}
	for _, r := range out {
		deadline := time.Now().Add(5 * time.Second)
		for !r.state.Shared() {
			if time.Now().After(deadline) {
				t.Fatalf("replica %s did not join Redis: %+v", r.state.ReplicaID(), r.state.Status())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return out
}

// redisPrefix returns a prefix of the test's own on the shared Redis and
// removes its keys at the end.
func redisPrefix(t testing.TB, url string) string {
	prefix := fmt.Sprintf("llmgwtest:gw:%d:", time.Now().UnixNano())
	t.Cleanup(func() {
		opt, _ := redis.ParseURL(url)
		c := redis.NewClient(opt)
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		keys, _ := c.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			c.Del(ctx, keys...)
		}
	})
	return prefix
}

// TestReplicasShareStickyBindings sends each of ten sessions round the
// three replicas; a 50/50 split picks a provider per request, so only the
// shared binding keeps each session on one provider everywhere.
func TestReplicasShareStickyBindings(t *testing.T) {
	url := testservices.RedisURL(t)
	a := providertest.New(t, okReply(t))
	b := providertest.New(t, okReply(t))
	reps := newReplicas(t, 3, url, redisPrefix(t, url),
		providerDecl("a", "openai", a.URL, "")+providerDecl("b", "openai", b.URL, "")+
			"def route(req, ctx):\n    return [a, b]\n")
	bySession := map[string]map[string]bool{}
	for round := range 6 {
		for s := range 10 {
			session := fmt.Sprintf("conv-%d", s)
			r := reps[(round+s)%3]
			resp, body := r.post("/v1/chat/completions", chatBody, "x-session-id", session)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s on %s: %d %s", session, r.state.ReplicaID(), resp.StatusCode, body)
			}
			if bySession[session] == nil {
				bySession[session] = map[string]bool{}
			}
			bySession[session][resp.Header.Get("X-LLMGW-Provider")] = true
		}
	}
	for s, provs := range bySession {
		if len(provs) != 1 {
			t.Errorf("session %s was served by %v across the replicas, want one provider", s, provs)
		}
	}
}

// TestReplicasShareCooldown: a 429 seen by one replica cools the provider
// down on the others within a second, and their traffic goes straight to
// the next provider.
func TestReplicasShareCooldown(t *testing.T) {
	url := testservices.RedisURL(t)
	a := providertest.New(t, okReply(t))
	a.Enqueue(providertest.Reply{Status: 429, Header: http.Header{"Retry-After": {"30"}}})
	b := providertest.New(t, okReply(t))
	reps := newReplicas(t, 3, url, redisPrefix(t, url),
		providerDecl("a", "openai", a.URL, "")+providerDecl("b", "openai", b.URL, "priority = 2")+
			"def route(req, ctx):\n    return [a, b]\ndef sticky_key(req, ctx):\n    return None\n")

	if resp, body := reps[0].post("/v1/chat/completions", chatBody); resp.StatusCode != http.StatusOK {
		t.Fatalf("first request: %d %s", resp.StatusCode, body)
	}
	start := time.Now()
	for _, r := range reps[1:] {
		for r.gw.Health().Snapshot("a").State != health.Cooling {
			if time.Since(start) > time.Second {
				t.Fatalf("%s does not honour the cooldown after %v", r.state.ReplicaID(), time.Since(start))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	t.Logf("the cooldown reached both peers in %v", time.Since(start))
	for _, r := range reps[1:] {
		resp, _ := r.post("/v1/chat/completions", chatBody)
		if got := resp.Header.Get("X-LLMGW-Provider"); got != "b" {
			t.Errorf("%s served by %q during a's cooldown, want b", r.state.ReplicaID(), got)
		}
	}
	if a.Count() != 1 {
		t.Errorf("a got %d requests, want only the first (the peers skip it)", a.Count())
	}
}

// TestReplicasShareLimits: rpm = 10 over three replicas, 30 requests
// spread over them at once: exactly 10 are served, the others get 429.
func TestReplicasShareLimits(t *testing.T) {
	url := testservices.RedisURL(t)
	up := providertest.New(t, okReply(t))
	reps := newReplicas(t, 3, url, redisPrefix(t, url),
		providerDecl("a", "openai", up.URL, "")+`limit("team", rpm = 10)
def route(req, ctx):
    return [a]
`)
	var ok, limited, other atomic.Int64
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			resp, body := reps[i%3].post("/v1/chat/completions", chatBody)
			switch resp.StatusCode {
			case http.StatusOK:
				ok.Add(1)
			case http.StatusTooManyRequests:
				limited.Add(1)
			default:
				other.Add(1)
				t.Errorf("request %d: %d %s", i, resp.StatusCode, body)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 10 || limited.Load() != 20 {
		t.Errorf("served %d, limited %d, other %d of 30 across three replicas; want exactly 10 served", ok.Load(), limited.Load(), other.Load())
	}
	if up.Count() != 10 {
		t.Errorf("the upstream got %d requests, want 10", up.Count())
	}
	// Any replica's GET /api/limits shows the cluster's counter.
	resp, body := reps[2].do(http.MethodGet, "/api/limits", "")
	var lv limitsView
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &lv) != nil || len(lv.Limits) != 1 || len(lv.Limits[0].Counters) != 1 ||
		lv.Limits[0].Counters[0].Requests != 10 || lv.Limits[0].Use != 1 {
		t.Errorf("/api/limits on replica 2 = %d %s; want the team counter at 10 requests, use 1", resp.StatusCode, body)
	}
	for _, r := range reps {
		if !r.state.Shared() {
			t.Errorf("%s fell back during the test: %+v", r.state.ReplicaID(), r.state.Status())
		}
	}
}

// TestReplicasSurviveRedisRestart kills a private Redis under load from
// three clients spread over three replicas, then restarts it: no client
// request fails, and /api/cluster shows the fallback and the rejoin.
func TestReplicasSurviveRedisRestart(t *testing.T) {
	srv := redistest.Start(t)
	up := providertest.New(t, okReply(t))
	reps := newReplicas(t, 3, srv.URL(), "llmgw:",
		providerDecl("a", "openai", up.URL, "")+"def route(req, ctx):\n    return [a]\n")

	var sent, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range 3 {
		wg.Go(func() {
			for i := 0; i < 100000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r := reps[(c+i)%3]
				resp, body := r.post("/v1/chat/completions", chatBody, "x-session-id", fmt.Sprintf("c%d-%d", c, i%5))
				sent.Add(1)
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
					t.Errorf("client %d request %d on %s: %d %s", c, i, r.state.ReplicaID(), resp.StatusCode, body)
				}
			}
		})
	}
	cluster := func(r replica) clusterView {
		resp, body := r.do(http.MethodGet, "/api/cluster", "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/api/cluster: %d %s", resp.StatusCode, body)
		}
		var v clusterView
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	waitCluster := func(what string, cond func(clusterView) bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for _, r := range reps {
			for !cond(cluster(r)) {
				if time.Now().After(deadline) {
					t.Fatalf("%s: %s's /api/cluster says %+v", what, r.state.ReplicaID(), cluster(r))
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	time.Sleep(300 * time.Millisecond)
	waitCluster("all joined", func(v clusterView) bool { return v.State.Shared && len(v.Replicas) == 3 })

	srv.Kill()
	waitCluster("fallback shown", func(v clusterView) bool {
		return !v.State.Shared && v.State.Fallbacks >= 1 && len(v.Replicas) == 1 && !v.Replicas[0].Shared
	})
	time.Sleep(300 * time.Millisecond) // load with Redis down
	srv.Restart()
	waitCluster("rejoin shown", func(v clusterView) bool {
		return v.State.Shared && v.State.Rejoins >= 1 && len(v.Replicas) == 3 && !v.Drift
	})
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("%d requests, %d failed", sent.Load(), failed.Load())
	if sent.Load() < 30 {
		t.Errorf("only %d requests were sent under load", sent.Load())
	}
}

// TestClusterAlone: without shared state /api/cluster lists this gateway
// alone, state local, no drift.
func TestClusterAlone(t *testing.T) {
	h := newHarness(t, `
d = provider("d", kind = "demo")
def route(req, ctx):
    return [d]
`, func(c *Config) { c.Version = "v9.9.9" })
	resp, body := h.do(http.MethodGet, "/api/cluster", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/api/cluster: %d %s", resp.StatusCode, body)
	}
	var v clusterView
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	hash := h.eng.Policy().Hash
	if v.State.Backend != "local" || v.State.Shared || v.Drift || v.PolicyHash != hash || len(v.Replicas) != 1 {
		t.Fatalf("/api/cluster alone = %s", body)
	}
	r := v.Replicas[0]
	if r.ID != v.Self || !r.Self || r.PolicyHash != hash || r.Version != "v9.9.9" || r.State != "local" || r.StartedAt.IsZero() || r.LastSeen.IsZero() {
		t.Errorf("the replica = %+v", r)
	}
}
