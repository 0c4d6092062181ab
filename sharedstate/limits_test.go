package sharedstate

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/llmgw/llmgw/limits"
	"github.com/llmgw/llmgw/sharedstate/redistest"
)

// TestLimitsMatchMemory runs the same random traffic (admissions with
// several charges, shadow ones included, settlements, usage reads, time
// moving by up to two windows) through limits.Memory and through the Redis
// store, and requires the same verdicts and usages at every step:
// limits.Memory is the reference of the Store's semantics.
func TestLimitsMatchMemory(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { limitsMatchMemory(t, seed) })
	}
}

func limitsMatchMemory(t *testing.T, seed uint64) {
	url, prefix := sharedRedis(t)
	// A generous timeout: this test is about semantics, not faults; no
	// allowances, which count requests before they are made
	// (TestAllowances* cover them).
	s := start(t, Config{URL: url, Prefix: prefix, ReplicaID: "a", Timeout: 2 * time.Second, Allowance: -1}, true)
	red := s.Limits(limits.NewMemory(time.UTC))
	mem := limits.NewMemory(time.UTC)
	ctx := context.Background()

	defs := []limits.Charge{
		{Limit: "rpm3", Bounds: limits.Bounds{RPM: 3}},
		{Limit: "tpm", Each: "user-a", Bounds: limits.Bounds{TPM: 500}},
		{Limit: "usd", Bounds: limits.Bounds{USDMicros: 2000, Per: limits.PerDay}},
		{Limit: "conc", Bounds: limits.Bounds{Concurrency: 2}},
		{Limit: "shadow", Bounds: limits.Bounds{RPM: 2}, Shadow: true},
		{Limit: "mix", Each: "k", Bounds: limits.Bounds{RPM: 5, TPM: 800, Concurrency: 3}},
	}
	bounds := map[string]limits.Bounds{}
	for _, d := range defs {
		bounds[d.Limit] = d.Bounds
	}
	rng := rand.New(rand.NewPCG(seed, 2))
	now := time.Date(2026, 3, 1, 23, 58, 30, 0, time.UTC)
	type open struct{ rt, mt limits.Ticket }
	var tickets []open
	last := "start"
	for step := range 600 {
		switch op := rng.IntN(10); {
		case op < 5: // admit
			var charges []limits.Charge
			for _, d := range defs {
				if rng.IntN(2) == 0 {
					charges = append(charges, d)
				}
			}
			tokens := int64(rng.IntN(300))
			rv, err := red.Admit(ctx, now, charges, tokens)
			if err != nil {
				t.Fatal(err)
			}
			mv, _ := mem.Admit(ctx, now, charges, tokens)
			if !sameVerdict(rv, mv) {
				t.Fatalf("step %d at %s: Admit(%v, %d)\nredis  %s\nmemory %s", step, now.Format(time.TimeOnly), names(charges), tokens, show(rv), show(mv))
			}
			last = fmt.Sprintf("admit %v %d: %s", names(charges), tokens, show(rv))
			if rv.Refusal == nil {
				tickets = append(tickets, open{rv.Ticket, mv.Ticket})
			}
		case op < 8 && len(tickets) > 0: // settle
			i := rng.IntN(len(tickets))
			tk := tickets[i]
			tickets = append(tickets[:i], tickets[i+1:]...)
			tokens, usd := int64(rng.IntN(400)), int64(rng.IntN(700))
			if err := red.Settle(ctx, now, tk.rt, tokens, usd); err != nil {
				t.Fatal(err)
			}
			settled(t, s)
			mem.Settle(ctx, now, tk.mt, tokens, usd)
			last = fmt.Sprintf("settle %v at %s with %d tokens, %d usd", names(tk.rt.Charges), tk.rt.At.Format(time.TimeOnly), tokens, usd)
		}
		{ // read after every step
			if got, want := listed(red.Counters(now, bounds, 0)), listed(mem.Counters(now, bounds, 0)); got != want {
				t.Fatalf("step %d at %s (last %s): Counters\nredis  %s\nmemory %s", step, now.Format(time.TimeOnly), last, got, want)
			}
			for _, d := range defs {
				ru, _ := red.Usage(ctx, now, d)
				mu, _ := mem.Usage(ctx, now, d)
				if ru != mu {
					t.Fatalf("step %d at %s (last %s): Usage(%s) redis %+v, memory %+v; state %+v", step, now.Format(time.TimeOnly), last, d.Limit, ru, mu, s.Status())
				}
			}
		}
		switch rng.IntN(20) {
		case 0:
			d := time.Duration(rng.IntN(120)) * time.Second
			now = now.Add(d)
			last += fmt.Sprintf("; time +%v", d)
		case 1, 2, 3:
			d := time.Duration(rng.IntN(3000)) * time.Millisecond
			now = now.Add(d)
			last += fmt.Sprintf("; time +%v", d)
		}
	}
	if !s.Shared() {
		t.Fatalf("the store fell back during the test: %+v", s.Status())
	}
}

func sameVerdict(a, b limits.Verdict) bool {
	if (a.Refusal == nil) != (b.Refusal == nil) {
		return false
	}
	if a.Refusal != nil {
		return *a.Refusal == *b.Refusal
	}
	if len(a.WouldRefuse) != len(b.WouldRefuse) || len(a.Ticket.Charges) != len(b.Ticket.Charges) {
		return false
	}
	for i := range a.WouldRefuse {
		if a.WouldRefuse[i] != b.WouldRefuse[i] {
			return false
		}
	}
	return reflect.DeepEqual(a.Ticket, b.Ticket)
}

func show(v limits.Verdict) string {
	if v.Refusal != nil {
		return fmt.Sprintf("refused %+v", *v.Refusal)
	}
	return fmt.Sprintf("admitted %v, would refuse %+v", names(v.Ticket.Charges), v.WouldRefuse)
}

func names(cs []limits.Charge) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Limit
	}
	return out
}

// TestLimitsAtomicAcrossReplicas admits 40 requests at once through three
// replicas' stores against rpm = 10: exactly ten pass.
func TestLimitsAtomicAcrossReplicas(t *testing.T) {
	stores := threeReplicaLimits(t)
	charges := []limits.Charge{{Limit: "team", Bounds: limits.Bounds{RPM: 10}}}
	now := time.Now()
	results := make(chan bool, 40)
	for i := range 40 {
		go func() {
			v, err := stores[i%3].Admit(context.Background(), now, charges, 0)
			results <- err == nil && v.Refusal == nil
		}()
	}
	admitted := 0
	for range 40 {
		if <-results {
			admitted++
		}
	}
	if admitted != 10 {
		t.Errorf("admitted %d of 40 across three replicas, want exactly 10", admitted)
	}
}

// TestLimitsFallBack checks that with Redis gone the store answers from
// the replica's own counters, without an error.
func TestLimitsFallBack(t *testing.T) {
	srv := redistest.Start(t)
	s := start(t, Config{URL: srv.URL(), ReplicaID: "a"}, true)
	l := s.Limits(limits.NewMemory(nil))
	charges := []limits.Charge{{Limit: "x", Bounds: limits.Bounds{RPM: 2}}}
	now := time.Now()
	for range 2 {
		if v, err := l.Admit(context.Background(), now, charges, 0); err != nil || v.Refusal != nil {
			t.Fatalf("Admit with Redis up = %+v, %v", v, err)
		}
	}
	srv.Kill()
	// The local counters start empty: two more pass, the third is refused.
	for i := range 3 {
		v, err := l.Admit(context.Background(), now, charges, 0)
		if err != nil {
			t.Fatalf("Admit with Redis down returned %v", err)
		}
		if (v.Refusal != nil) != (i == 2) {
			t.Errorf("fallback admission #%d: %s", i, show(v))
		}
	}
	if s.Shared() {
		t.Error("still shared with Redis down")
	}
}

// settled waits until the queued writes (the settlements) have reached
// Redis.
func settled(t testing.TB, s *State) {
	t.Helper()
	eventually(t, 2*time.Second, "the queued writes are sent", func() bool { return s.pending.Load() == 0 })
}

// listed renders what Counters lists, leaving out counters whose only use
// is a request in flight for over two minutes: Redis's index forgets a
// counter two minutes after its last admission, limits.Memory keeps it.
func listed(m map[string][]limits.CounterUsage) string {
	var b strings.Builder
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, c := range m[n] {
			if (c.Usage == limits.Usage{InFlight: c.InFlight}) {
				continue
			}
			fmt.Fprintf(&b, "%s/%s %+v %.3f; ", n, c.Each, c.Usage, c.Share)
		}
	}
	return b.String()
}

// TestLimitsSettleHeldThroughOutage: a request admitted on Redis that ends
// while Redis is unreachable (paused: it keeps its data) is settled when
// the replica rejoins, so its concurrency slot is not kept there; one
// admitted on the replica's own counters during the outage is settled
// there, not on Redis.
func TestLimitsSettleHeldThroughOutage(t *testing.T) {
	srv := redistest.Start(t)
	s := start(t, Config{URL: srv.URL(), ReplicaID: "a", Timeout: 100 * time.Millisecond}, true)
	l := s.Limits(limits.NewMemory(nil))
	ctx := context.Background()
	charges := []limits.Charge{{Limit: "one-at-a-time", Bounds: limits.Bounds{Concurrency: 1}}}
	admit := func() limits.Verdict {
		t.Helper()
		v, err := l.Admit(ctx, time.Now(), charges, 10)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	first := admit()
	if first.Refusal != nil {
		t.Fatalf("first admission refused: %s", show(first))
	}
	if v := admit(); v.Refusal == nil || v.Refusal.Bound != limits.BoundConcurrency {
		t.Fatalf("second admission while the first is in flight: %s", show(v))
	}

	pause := client(t, srv.URL())
	if err := pause.Do(ctx, "CLIENT", "PAUSE", "1500", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	l.Usage(ctx, time.Now(), charges[0]) // times out: the replica falls back
	waitShared(t, s, false, 3*time.Second)
	time.Sleep(time.Millisecond) // the outage's admissions come after its start
	if err := l.Settle(ctx, time.Now(), first.Ticket, 12, 0); err != nil {
		t.Fatal(err)
	}
	local := admit() // on the replica's own counters, empty
	if local.Refusal != nil {
		t.Fatalf("admission during the outage refused: %s", show(local))
	}

	waitShared(t, s, true, 5*time.Second)
	if err := l.Settle(ctx, time.Now(), local.Ticket, 5, 0); err != nil {
		t.Fatal(err)
	}
	settled(t, s)
	u, _ := l.Usage(ctx, time.Now(), charges[0])
	if u.InFlight != 0 || u.Requests != 1 || u.Tokens != 12 {
		t.Errorf("Redis's counter after the rejoin %+v; want the first request settled (12 tokens), nothing in flight, the local one not counted", u)
	}
	if v := admit(); v.Refusal != nil {
		t.Errorf("after the rejoin the slot is still taken: %s", show(v))
	}
}

// TestLimitsCounterCompact checks the counter's size in Redis: a busy
// counter holds at most one entry per second of the window, and one that
// sees a request a minute holds one, so that Redis's memory and each
// script's work follow the traffic and stay bounded.
func TestLimitsCounterCompact(t *testing.T) {
	url, prefix := sharedRedis(t)
	// No allowances: they count requests in the second they are granted
	// in until each request settles, and these are never settled.
	s := start(t, Config{URL: url, Prefix: prefix, ReplicaID: "a", Timeout: 2 * time.Second, Allowance: -1}, true)
	l := s.Limits(limits.NewMemory(time.UTC))
	rc := client(t, url)
	ctx := context.Background()
	const header, entry = 65, 20 // luaCounter's HF and EF
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		each    string
		every   time.Duration
		n       int
		entries int64
	}{
		{"busy: every second for three minutes", "busy", time.Second, 180, 60},
		{"sparse: once a minute", "sparse", time.Minute, 5, 1},
		{"twice a second", "twice", 500 * time.Millisecond, 300, 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := limits.Charge{Limit: "rpm", Each: tt.each, Bounds: limits.Bounds{RPM: 1 << 30}}
			now := t0
			for range tt.n {
				v, err := l.Admit(ctx, now, []limits.Charge{c}, 10)
				if err != nil || v.Refusal != nil {
					t.Fatalf("Admit = %+v, %v", v, err)
				}
				now = now.Add(tt.every)
			}
			n, err := rc.StrLen(ctx, l.counterKey(&c)).Result()
			if err != nil {
				t.Fatal(err)
			}
			if want := header + tt.entries*entry; n != want {
				t.Errorf("counter holds %d bytes, want %d (%d entries)", n, want, tt.entries)
			}
			u, err := l.Usage(ctx, now.Add(-tt.every), c)
			if err != nil {
				t.Fatal(err)
			}
			if want := min(int64(tt.n), int64(limits.Window/tt.every)); u.Requests != want {
				t.Errorf("usage counts %d requests, want %d", u.Requests, want)
			}
		})
	}
}
