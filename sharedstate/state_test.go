package sharedstate

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/llmgw/llmgw/health"
	"github.com/llmgw/llmgw/sharedstate/redistest"
	"github.com/llmgw/llmgw/sticky"
)

func TestOpenRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "http://127.0.0.1:6379", "redis://:secret@127.0.0.1:6379/notadb"} {
		_, err := Open(Config{URL: u})
		if err == nil {
			t.Errorf("Open(%q) = nil error, want one", u)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("Open(%q) error %q shows the password", u, err)
		}
	}
}

// TestStickySharedAcrossReplicas checks that a binding made through one
// State is seen by another at once, expires as in-process bindings do,
// and that no sticky key (which may hold a client key) reaches Redis.
func TestStickySharedAcrossReplicas(t *testing.T) {
	url, prefix := sharedRedis(t)
	a := start(t, Config{URL: url, Prefix: prefix, ReplicaID: "a"}, true)
	b := start(t, Config{URL: url, Prefix: prefix, ReplicaID: "b"}, true)
	ttl := 2 * time.Second
	sa := a.Sticky(sticky.New(sticky.Config{TTL: ttl}))
	sb := b.Sticky(sticky.New(sticky.Config{TTL: ttl}))

	key := "sk-client-secret:session-1"
	if p, ok := sb.Get(key); ok {
		t.Fatalf("Get before any Bind = %q, want none", p)
	}
	sa.Bind(key, "openai")
	if p, ok := sb.Get(key); !ok || p != "openai" {
		t.Fatalf("replica b Get = %q, %v; want openai from replica a's Bind", p, ok)
	}
	// b rebinds (a failover there); a, which has the old binding cached,
	// follows as soon as b's message arrives, well within the cache's cap.
	sa.Get(key)
	sb.Bind(key, "anthropic")
	took := eventually(t, cacheFor/2, "replica a follows b's rebind", func() bool { p, _ := sa.Get(key); return p == "anthropic" })
	t.Logf("a followed the rebind in %v", took)
	// b's local copy serves it too (for a fallback); a's copy follows the
	// move, and a replica that only read a binding holds no copy.
	if p, _ := sb.Local().Get(key); p != "anthropic" {
		t.Errorf("replica b local copy = %q, want anthropic", p)
	}
	if p, _ := sa.Local().Get(key); p != "anthropic" {
		t.Errorf("replica a local copy = %q after the move, want anthropic", p)
	}
	sa.Bind("other", "openai")
	sb.Get("other")
	if _, ok := sb.Local().Get("other"); ok {
		t.Error("a read made a local copy, which would outlive the binding")
	}

	rdb := client(t, url)
	ctx := context.Background()
	// A change no message announces (written straight into Redis, with a
	// longer life than the binding it replaces) is seen once the cached
	// answer expires: never later than the binding it cached would have
	// (within the cache's cap, 2 s here).
	rdb.Set(ctx, sa.key(key), "gemini", 10*ttl)
	took = eventually(t, ttl+3*time.Second, "a silent change is seen once the cached binding expires", func() bool { p, _ := sa.Get(key); return p == "gemini" })
	t.Logf("a saw the silent change in %v", took)
	sb.Bind(key, "anthropic")
	keys, err := rdb.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	var found string
	for _, k := range keys {
		if strings.Contains(k, "secret") || strings.Contains(k, "session-1") {
			t.Errorf("Redis key %q holds the sticky key", k)
		}
		if strings.HasPrefix(k, prefix+"s:") {
			found = k
		}
	}
	if found == "" {
		t.Fatalf("no sticky key under %s in %v", prefix, keys)
	}
	found = sa.key(key) // the session's own (another was bound earlier)
	if pttl := rdb.PTTL(ctx, found).Val(); pttl <= ttl-500*time.Millisecond || pttl > ttl {
		t.Errorf("binding PTTL %v, want about the table's TTL %v", pttl, ttl)
	}
	// Touch renews it through the queue.
	time.Sleep(600 * time.Millisecond)
	sa.Touch(key)
	eventually(t, time.Second, "Touch renews the binding's expiry", func() bool {
		return rdb.PTTL(ctx, found).Val() > ttl-300*time.Millisecond
	})
	eventually(t, 3*ttl, "the binding expires in Redis", func() bool {
		_, ok := sb.Get(key)
		return !ok
	})
}

// TestCooldownSharedWithinASecond checks that a cooldown one replica's
// tracker starts reaches a peer's tracker within a second, and that a
// replica joining later adopts the cooldowns still running.
func TestCooldownSharedWithinASecond(t *testing.T) {
	url, prefix := sharedRedis(t)
	newTracker := func(s *State) *health.Tracker {
		tr := health.New(health.Config{OnCooldown: s.OnCooldown, Jitter: -1, BaseCooldown: 30 * time.Second})
		s.FollowHealth(tr)
		return tr
	}
	sa := start(t, Config{URL: url, Prefix: prefix, ReplicaID: "a"}, false)
	ta := newTracker(sa)
	sb := start(t, Config{URL: url, Prefix: prefix, ReplicaID: "b"}, false)
	tb := newTracker(sb)
	waitShared(t, sa, true, 5*time.Second)
	waitShared(t, sb, true, 5*time.Second)

	ta.Cooldown("openai", 20*time.Second, "429")
	took := eventually(t, time.Second, "replica b honours a's cooldown", func() bool { return !tb.Available("openai") })
	t.Logf("cooldown reached the peer in %v", took)
	if st := tb.Snapshot("openai"); st.State != health.Cooling || st.CooldownLeft < 18*time.Second || st.LastError != "429" {
		t.Errorf("peer's view %+v, want cooling ~20s with reason 429", st)
	}
	// b must not echo it back as a new cooldown of its own: a's own
	// tracker stays as it was.
	if st := ta.Snapshot("openai"); st.Failures != 0 {
		t.Errorf("a's tracker changed: %+v", st)
	}

	sc := start(t, Config{URL: url, Prefix: prefix, ReplicaID: "c"}, false)
	tc := newTracker(sc)
	waitShared(t, sc, true, 5*time.Second)
	if tc.Available("openai") {
		t.Errorf("a replica joining later does not honour the running cooldown")
	}
}

// TestFallbackAndRejoin runs a private Redis, kills it, and checks that
// the replica falls back at once (calls answer from local state, fast),
// counts and reports it, and rejoins when Redis is back.
func TestFallbackAndRejoin(t *testing.T) {
	srv := redistest.Start(t)
	s := start(t, Config{URL: srv.URL(), ReplicaID: "r"}, true)
	st := s.Sticky(sticky.New(sticky.Config{}))
	st.Bind("k", "p1")

	srv.Kill()
	// The first call after the kill may pay one timeout; it falls back.
	begin := time.Now()
	if p, ok := st.Get("k"); !ok || p != "p1" {
		t.Errorf("Get with Redis down = %q, %v; want the local p1", p, ok)
	}
	if d := time.Since(begin); d > 500*time.Millisecond {
		t.Errorf("Get with Redis down took %v", d)
	}
	waitShared(t, s, false, 3*time.Second)
	// Now the circuit is open: calls cost nothing.
	begin = time.Now()
	for range 1000 {
		st.Get("k")
		st.Bind("k2", "p2")
		st.Touch("k")
	}
	if d := time.Since(begin); d > 100*time.Millisecond {
		t.Errorf("3000 calls with the circuit open took %v, want no Redis wait", d)
	}
	stat := s.Status()
	if stat.Shared || stat.Fallbacks != 1 || stat.Errors == 0 || stat.LastError == "" {
		t.Errorf("status during the outage %+v, want shared false, 1 fallback, errors", stat)
	}
	if reps := s.Replicas(context.Background()); len(reps) != 1 || reps[0].Shared || !reps[0].Self {
		t.Errorf("Replicas during the outage = %+v, want this one alone, not shared", reps)
	}

	srv.Restart()
	waitShared(t, s, true, 3*time.Second)
	stat = s.Status()
	if stat.Rejoins != 1 || stat.Fallbacks != 1 {
		t.Errorf("status after rejoining %+v, want 1 fallback and 1 rejoin", stat)
	}
	// Redis came back empty: the bindings this replica holds are written
	// back as their sessions come, so they keep their provider, and a
	// binding another replica wrote first wins.
	if p, ok := st.Get("k"); !ok || p != "p1" {
		t.Errorf("Get after Redis came back empty = %q, %v; want this replica's p1", p, ok)
	}
	rdb := client(t, srv.URL())
	if v, _ := rdb.Get(context.Background(), st.key("k")).Result(); v != "p1" {
		t.Errorf("the binding was not written back: Redis has %q", v)
	}
	rdb.Set(context.Background(), st.key("k2"), "peer", time.Minute)
	if p, _ := st.Get("k2"); p != "peer" {
		t.Errorf("Get = %q; want the peer's binding, written first", p)
	}
	if _, ok := st.Get("never-bound"); ok {
		t.Error("a key never bound is found")
	}
	st.Bind("k3", "p3")
	if v, err := rdb.Get(context.Background(), st.key("k3")).Result(); err != nil || v != "p3" {
		t.Errorf("after rejoining, Bind wrote %q, %v; want p3", v, err)
	}
}

// TestStartWithoutRedis checks that a replica whose Redis is unreachable
// at start serves from local state, and joins when Redis appears.
func TestStartWithoutRedis(t *testing.T) {
	srv := redistest.Start(t)
	srv.Kill()
	s := start(t, Config{URL: srv.URL(), ReplicaID: "late"}, false)
	eventually(t, 3*time.Second, "the failure to join is counted", func() bool { return s.Status().Fallbacks == 1 })
	if s.Shared() {
		t.Fatal("Shared with no Redis")
	}
	srv.Restart()
	waitShared(t, s, true, 3*time.Second)
}

// TestReplicasAndDrift checks the registry: three replicas, one on
// another policy, flagged; a replica that stops is dropped after its TTL.
func TestReplicasAndDrift(t *testing.T) {
	url, prefix := sharedRedis(t)
	hash := func(h string) func() string { return func() string { return h } }
	a := start(t, Config{URL: url, Prefix: prefix, ReplicaID: "a", Version: "v1", PolicyHash: hash("aaa")}, true)
	start(t, Config{URL: url, Prefix: prefix, ReplicaID: "b", Version: "v1", PolicyHash: hash("aaa")}, true)
	ctx, cancel := context.WithCancel(context.Background())
	c, _ := Open(Config{URL: url, Prefix: prefix, ReplicaID: "c", Version: "v1", PolicyHash: hash("ccc"), ProbeInterval: 50 * time.Millisecond, Heartbeat: 200 * time.Millisecond, ReplicaTTL: time.Second})
	cdone := make(chan struct{})
	go func() { defer close(cdone); c.Run(ctx) }()
	defer func() { cancel(); <-cdone; c.Close() }()
	waitShared(t, c, true, 5*time.Second)

	reps := a.Replicas(context.Background())
	if len(reps) != 3 {
		t.Fatalf("Replicas = %+v, want a, b and c", reps)
	}
	want := map[string]bool{"a": false, "b": false, "c": true}
	for i, r := range reps {
		if r.Drift != want[r.ID] || r.Version != "v1" || r.State != "redis" || r.LastSeen.IsZero() || r.StartedAt.IsZero() {
			t.Errorf("replica %+v, want drift %v, version v1, state redis, times set", r, want[r.ID])
		}
		if (i == 0) != r.Self || (i == 0 && r.ID != "a") {
			t.Errorf("replica #%d %s self=%v; want a first, marked self", i, r.ID, r.Self)
		}
	}
	// c stops: gone from the list (it leaves on shutdown).
	cancel()
	<-cdone
	eventually(t, 3*time.Second, "a stopped replica leaves the list", func() bool { return len(a.Replicas(context.Background())) == 2 })
}

func TestMarkDrift(t *testing.T) {
	for _, tc := range []struct {
		hashes []string
		major  string
		drift  []bool
	}{
		{[]string{"x"}, "x", []bool{false}},
		{[]string{"x", "x", "y"}, "x", []bool{false, false, true}},
		{[]string{"x", "y"}, "", []bool{true, true}},
		{[]string{"x", "y", "y", "z"}, "y", []bool{true, false, false, true}},
	} {
		rs := make([]Replica, len(tc.hashes))
		for i, h := range tc.hashes {
			rs[i].PolicyHash = h
		}
		if got := MarkDrift(rs); got != tc.major {
			t.Errorf("MarkDrift(%v) = %q, want %q", tc.hashes, got, tc.major)
		}
		for i := range rs {
			if rs[i].Drift != tc.drift[i] {
				t.Errorf("MarkDrift(%v): #%d drift %v, want %v", tc.hashes, i, rs[i].Drift, tc.drift[i])
			}
		}
	}
}

func client(t testing.TB, url string) *redis.Client {
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

// TestFlappingBacksOff: a Redis that fails again soon after each rejoin
// is probed less and less often (twice the wait each time, up to
// maxBackoff), so that an overloaded Redis does not make requests wait at
// every other probe.
func TestFlappingBacksOff(t *testing.T) {
	url, prefix := sharedRedis(t)
	s := start(t, Config{URL: url, Prefix: prefix, ReplicaID: "a", ProbeInterval: 10 * time.Millisecond}, true)
	backoff := func() time.Duration {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.backoff
	}
	want := 10 * time.Millisecond
	for i := range 4 {
		s.fail(errors.New("a timeout, say"))
		if got := backoff(); got != want {
			t.Errorf("fallback #%d soon after joining: next probe in %v, want %v", i+1, got, want)
		}
		waitShared(t, s, true, 5*time.Second)
		want *= 2
	}
	if st := s.Status(); st.Fallbacks != 4 || st.Rejoins != 4 {
		t.Errorf("status %+v, want 4 fallbacks and 4 rejoins", st)
	}
}

// TestTouchRenewsOncePerSecond: a busy session's uses renew its binding in
// Redis once a second, not once a request.
func TestTouchRenewsOncePerSecond(t *testing.T) {
	srv := redistest.Start(t)
	s := start(t, Config{URL: srv.URL(), ReplicaID: "a"}, true)
	st := s.Sticky(sticky.New(sticky.Config{}))
	st.Bind("k", "p")
	rdb := client(t, srv.URL())
	ctx := context.Background()
	rdb.ConfigResetStat(ctx)
	for range 100 {
		if p, _ := st.Get("k"); p != "p" {
			t.Fatalf("Get = %q", p)
		}
		st.Touch("k")
	}
	settled(t, s)
	stats := rdb.Info(ctx, "commandstats").Val()
	if !strings.Contains(stats, "cmdstat_pexpire:calls=1,") {
		t.Errorf("100 uses within a second renewed the binding other than once:\n%s", stats)
	}
	if strings.Contains(stats, "cmdstat_get:") {
		t.Errorf("the lookups went to Redis, not the cache:\n%s", stats)
	}
}

// TestOnFallbackHooks: the hooks run once per fallback, not while the
// replica stays fallen back.
func TestOnFallbackHooks(t *testing.T) {
	url, prefix := sharedRedis(t)
	s := start(t, Config{URL: url, Prefix: prefix, ReplicaID: "a", ProbeInterval: time.Hour}, true)
	var calls atomic.Int64
	s.OnFallback(func() { calls.Add(1) })
	s.fail(errTestOutage)
	s.fail(errTestOutage)
	eventually(t, 2*time.Second, "the hook runs", func() bool { return calls.Load() >= 1 })
	time.Sleep(50 * time.Millisecond)
	if n := calls.Load(); n != 1 {
		t.Errorf("hook ran %d times for one fallback, want 1", n)
	}
}
