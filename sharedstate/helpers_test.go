package sharedstate

import (
	"context"
	"encoding/hex"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/llmgw/llmgw/internal/testservices"
	"github.com/llmgw/llmgw/limits"
)

// testPrefix returns a key prefix of its own for the test on the shared
// Redis at url, and deletes every key under it when the test ends.
func testPrefix(t testing.TB, url string) string {
	t.Helper()
	var b [6]byte
	for i := range b {
		b[i] = byte(rand.IntN(256))
	}
	prefix := "llmgwtest:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() { deleteKeys(t, url, prefix) })
	return prefix
}

// deleteKeys removes the keys under prefix, best effort.
func deleteKeys(t testing.TB, url, prefix string) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return
	}
	c := redis.NewClient(opt)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if len(keys) > 0 {
		c.Del(ctx, keys...)
	}
}

// sharedRedis returns the machine's Redis and a fresh prefix on it.
func sharedRedis(t testing.TB) (url, prefix string) {
	t.Helper()
	url = testservices.RedisURL(t)
	return url, testPrefix(t, url)
}

// start opens a State with cfg (fast probes and heartbeats unless set),
// runs it until the test ends, and waits until it has joined Redis when
// join is true.
func start(t testing.TB, cfg Config, join bool) *State {
	t.Helper()
	if cfg.Timeout == 0 {
		// Generous: a busy test machine must not look like a Redis
		// failure (the fault tests kill Redis, which fails at once).
		cfg.Timeout = time.Second
	}
	if cfg.ProbeInterval == 0 {
		cfg.ProbeInterval = 50 * time.Millisecond
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = 200 * time.Millisecond
	}
	if cfg.ReplicaTTL == 0 {
		cfg.ReplicaTTL = time.Second
	}
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		s.Close()
	})
	if join {
		waitShared(t, s, true, 5*time.Second)
	}
	return s
}

// waitShared waits until s.Shared() is want, failing the test after
// within.
func waitShared(t testing.TB, s *State, want bool, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for s.Shared() != want {
		if time.Now().After(deadline) {
			t.Fatalf("Shared() stayed %v for %v; status %+v", !want, within, s.Status())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// eventually polls cond every 5 ms until it holds, failing after within.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// threeReplicaLimits returns the limit stores of three replicas, a, b and
// c, joined on the machine's Redis under a fresh prefix.
func threeReplicaLimits(t testing.TB) []*Limits {
	t.Helper()
	url, prefix := sharedRedis(t)
	var stores []*Limits
	for _, id := range []string{"a", "b", "c"} {
		s := start(t, Config{URL: url, Prefix: prefix, ReplicaID: id}, true)
		stores = append(stores, s.Limits(limits.NewMemory(nil)))
	}
	return stores
}
