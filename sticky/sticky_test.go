package sticky

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// clock is a manual clock for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestTTLAfterLastUse(t *testing.T) {
	clk := newClock()
	tab := New(Config{Now: clk.Now})

	tab.Bind("k", "openai")
	clk.Advance(59 * time.Minute)
	if p, ok := tab.Get("k"); !ok || p != "openai" {
		t.Fatalf("Get(k) after 59m = %q, %v, want openai, true", p, ok)
	}
	// Get is not a use: the binding still expires 1h after Bind.
	clk.Advance(time.Minute)
	if p, ok := tab.Get("k"); ok {
		t.Fatalf("Get(k) 1h after Bind = %q, true, want expired", p)
	}
	if n := tab.Len(); n != 0 {
		t.Errorf("Len() after lazy expiry = %d, want 0", n)
	}

	// Touch extends the binding to 1h after the last use.
	tab.Bind("k", "openai")
	clk.Advance(50 * time.Minute)
	tab.Touch("k")
	clk.Advance(50 * time.Minute)
	if p, ok := tab.Get("k"); !ok || p != "openai" {
		t.Fatalf("Get(k) 50m after Touch = %q, %v, want openai, true", p, ok)
	}
	clk.Advance(10 * time.Minute)
	if p, ok := tab.Get("k"); ok {
		t.Fatalf("Get(k) 1h after Touch = %q, true, want expired", p)
	}

	// Touch does not revive an expired binding.
	tab.Bind("k", "openai")
	clk.Advance(time.Hour)
	tab.Touch("k")
	if p, ok := tab.Get("k"); ok {
		t.Fatalf("Get(k) after Touch of an expired binding = %q, true, want none", p)
	}
}

func TestCustomTTL(t *testing.T) {
	clk := newClock()
	tab := New(Config{Now: clk.Now, TTL: time.Minute})
	tab.Bind("k", "a")
	clk.Advance(59 * time.Second)
	if _, ok := tab.Get("k"); !ok {
		t.Fatalf("Get(k) after 59s with TTL 1m = _, false, want true")
	}
	clk.Advance(time.Second)
	if _, ok := tab.Get("k"); ok {
		t.Fatalf("Get(k) after 60s with TTL 1m = _, true, want false")
	}
}

func TestBindMoves(t *testing.T) {
	clk := newClock()
	tab := New(Config{Now: clk.Now})
	tab.Bind("k", "anthropic-main")
	clk.Advance(30 * time.Minute)
	tab.Bind("k", "openai-main") // the bound provider failed; the request failed over
	if p, ok := tab.Get("k"); !ok || p != "openai-main" {
		t.Fatalf("Get(k) after move = %q, %v, want openai-main, true", p, ok)
	}
	if n := tab.Len(); n != 1 {
		t.Errorf("Len() after move = %d, want 1", n)
	}
	// The move counts as a use.
	clk.Advance(59 * time.Minute)
	if _, ok := tab.Get("k"); !ok {
		t.Errorf("Get(k) 59m after the move = _, false, want true")
	}
}

func TestDelete(t *testing.T) {
	tab := New(Config{})
	tab.Bind("k", "a")
	tab.Delete("k")
	tab.Delete("absent")
	if p, ok := tab.Get("k"); ok {
		t.Fatalf("Get(k) after Delete = %q, true, want none", p)
	}
	if n := tab.Len(); n != 0 {
		t.Errorf("Len() after Delete = %d, want 0", n)
	}
}

func TestCountByProvider(t *testing.T) {
	clk := newClock()
	tab := New(Config{Now: clk.Now})
	for i := range 10 {
		tab.Bind("old"+strconv.Itoa(i), "a")
	}
	clk.Advance(30 * time.Minute)
	for i := range 5 {
		tab.Bind("new"+strconv.Itoa(i), "b")
	}
	tab.Bind("old0", "b") // moved and refreshed
	want := map[string]int{"a": 9, "b": 6}
	if diff := cmp.Diff(want, tab.CountByProvider()); diff != "" {
		t.Errorf("CountByProvider() mismatch (-want +got):\n%s", diff)
	}
	clk.Advance(31 * time.Minute) // the first 9 "a" bindings expire
	want = map[string]int{"b": 6}
	if diff := cmp.Diff(want, tab.CountByProvider()); diff != "" {
		t.Errorf("CountByProvider() after expiry mismatch (-want +got):\n%s", diff)
	}
}

func TestBindSweepsExpired(t *testing.T) {
	clk := newClock()
	tab := New(Config{Now: clk.Now})
	const n = 1000
	for i := range n {
		tab.Bind("k"+strconv.Itoa(i), "a")
	}
	clk.Advance(time.Hour)
	// Every shard gets at least one Bind; each sweeps up to sweepBatch
	// expired bindings, so enough Binds clear them all.
	for i := range n {
		tab.Bind("fresh"+strconv.Itoa(i), "b")
	}
	if got := tab.Len(); got != n {
		t.Errorf("Len() after %d expired and %d fresh bindings = %d, want %d", n, n, got, n)
	}
}

func TestMaxEntriesEvictsLeastRecentlyUsed(t *testing.T) {
	clk := newClock()
	const max = 2 * shardCount // two bindings per shard
	tab := New(Config{Now: clk.Now, MaxEntries: max})

	// Find three keys on the same shard.
	var keys []string
	target := tab.shard("k0")
	for i := 0; len(keys) < 3; i++ {
		k := "k" + strconv.Itoa(i)
		if tab.shard(k) == target {
			keys = append(keys, k)
		}
	}
	tab.Bind(keys[0], "a")
	clk.Advance(time.Second)
	tab.Bind(keys[1], "b")
	clk.Advance(time.Second)
	tab.Touch(keys[0]) // keys[1] is now the least recently used
	tab.Bind(keys[2], "c")

	if _, ok := tab.Get(keys[1]); ok {
		t.Errorf("Get(%s) = _, true, want evicted as least recently used", keys[1])
	}
	for _, k := range []string{keys[0], keys[2]} {
		if _, ok := tab.Get(k); !ok {
			t.Errorf("Get(%s) = _, false, want kept", k)
		}
	}

	// However many keys arrive, the table stays within its bound.
	for i := range 10 * max {
		tab.Bind("many"+strconv.Itoa(i), "x")
	}
	if got := tab.Len(); got > max {
		t.Errorf("Len() after %d binds = %d, want <= %d", 10*max, got, max)
	}
}

func TestConcurrent(t *testing.T) {
	clk := newClock()
	tab := New(Config{Now: clk.Now, MaxEntries: 4096})
	const (
		workers = 16
		ops     = 2000
	)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range ops {
				key := "key" + strconv.Itoa((i/4)%300)
				own := fmt.Sprintf("w%d-%d", w, i) // only this goroutine uses it
				tab.Bind(own, "p")
				if p, ok := tab.Get(own); !ok || p != "p" {
					t.Errorf("Get(%s) right after Bind = %q, %v, want p, true", own, p, ok)
					return
				}
				tab.Delete(own)
				switch i % 4 {
				case 0:
					tab.Bind(key, "p"+strconv.Itoa(w%3))
				case 1:
					tab.Touch(key)
				case 2:
					if p, ok := tab.Get(key); ok && p[0] != 'p' {
						t.Errorf("Get(%s) = %q, want a provider bound by a worker", key, p)
					}
				case 3:
					if i%100 == 3 {
						clk.Advance(time.Second)
						tab.CountByProvider()
						tab.Len()
					}
				}
			}
		})
	}
	wg.Wait()
	total := 0
	for _, n := range tab.CountByProvider() {
		total += n
	}
	if total != 300 {
		t.Errorf("live bindings after the run = %d, want 300", total)
	}
}

func BenchmarkTableGetBind(b *testing.B) {
	tab := New(Config{})
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = "team-a:session-" + strconv.Itoa(i)
		tab.Bind(keys[i], "openai-main")
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			k := keys[i&(len(keys)-1)]
			// A request reads its binding, then either refreshes it or
			// (one in four here) moves it after a failover.
			tab.Get(k)
			if i%4 == 0 {
				tab.Bind(k, "openai-backup")
			} else {
				tab.Touch(k)
			}
			i++
		}
	})
}
