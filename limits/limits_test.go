package limits

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)

func admit(t *testing.T, m *Memory, now time.Time, tokens int64, cs ...Charge) Verdict {
	t.Helper()
	v, err := m.Admit(context.Background(), now, cs, tokens)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		pat, name string
		want      bool
	}{
		{"gpt-4o", "gpt-4o", true},
		{"gpt-4o", "gpt-4o-mini", false},
		{"gpt-*", "gpt-4o-mini", true},
		{"*-mini", "gpt-4o-mini", true},
		{"*-mini", "gpt-4o", false},
		{"openai/*", "openai/gpt-4o", true},
		{"claude-*-4*", "claude-sonnet-4-5", true},
		{"claude-*-4*", "claude-3-haiku", false},
		{"*", "", true},
		{"a*a", "a", false},
	} {
		if got := Glob(tc.pat, tc.name); got != tc.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", tc.pat, tc.name, got, tc.want)
		}
	}
}

func TestChargeMatchesAndEach(t *testing.T) {
	s := &Subject{Key: "team-a", User: "u1", Session: "s1", Model: "gpt-4o", Metadata: map[string]string{"team": "red"}}
	for _, tc := range []struct {
		def  Def
		ok   bool
		each string
	}{
		{Def{Name: "all"}, true, ""},
		{Def{Name: "k", Each: "key"}, true, "team-a"},
		{Def{Name: "u", Each: "user"}, true, "u1"},
		{Def{Name: "s", Each: "session"}, true, "s1"},
		{Def{Name: "m", Each: "metadata.team"}, true, "red"},
		{Def{Name: "mm", Each: "metadata.none"}, true, ""},
		{Def{Name: "keys", Keys: []string{"team-b", "team-a"}}, true, ""},
		{Def{Name: "nokey", Keys: []string{"team-b"}}, false, ""},
		{Def{Name: "models", Models: []string{"claude-*", "gpt-*"}}, true, ""},
		{Def{Name: "nomodel", Models: []string{"claude-*"}}, false, ""},
	} {
		c, ok := tc.def.Charge(s)
		if ok != tc.ok || c.Each != tc.each || (ok && c.Limit != tc.def.Name) {
			t.Errorf("%s: Charge = %+v, %v; want each %q, %v", tc.def.Name, c, ok, tc.each, tc.ok)
		}
	}
	long := &Subject{Session: strings.Repeat("s", 1<<20)}
	c, _ := (&Def{Name: "s", Each: "session"}).Charge(long)
	if len(c.Each) > MaxEach || !strings.HasPrefix(c.Each, "sha256:") {
		t.Errorf("a 1 MiB session's counter is named %d bytes (%.20q), want its hash", len(c.Each), c.Each)
	}
	for _, e := range []string{"", "key", "user", "session", "metadata.x"} {
		if err := CheckEach(e); err != nil {
			t.Errorf("CheckEach(%q): %v", e, err)
		}
	}
	for _, e := range []string{"keys", "metadata.", "model"} {
		if CheckEach(e) == nil {
			t.Errorf("CheckEach(%q) accepted", e)
		}
	}
}

// TestExactUnderConcurrency: 20 parallel admissions against rpm = 10 let
// exactly 10 through, and concurrency = 3 holds three in flight at most.
func TestExactUnderConcurrency(t *testing.T) {
	for _, b := range []Bounds{{RPM: 10}, {Concurrency: 10}} {
		m := NewMemory(nil)
		c := Charge{Limit: "l", Bounds: b}
		var ok atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				v, _ := m.Admit(context.Background(), t0, []Charge{c}, 1)
				if v.Refusal == nil {
					ok.Add(1)
				}
			}()
		}
		close(start)
		wg.Wait()
		if ok.Load() != 10 {
			t.Errorf("%+v: %d admitted of 20, want exactly 10", b, ok.Load())
		}
	}
}

// TestSlidingWindow: a burst at the end of one minute and another at the
// start of the next are one window; 60 s after the first, it has left.
func TestSlidingWindow(t *testing.T) {
	m := NewMemory(nil)
	c := Charge{Limit: "l", Bounds: Bounds{RPM: 10}}
	late := t0.Add(59*time.Second + 500*time.Millisecond) // 10:00:59.5
	for i := range 10 {
		if v := admit(t, m, late, 0, c); v.Refusal != nil {
			t.Fatalf("request %d refused: %+v", i, v.Refusal)
		}
	}
	early := t0.Add(60*time.Second + 200*time.Millisecond) // 10:01:00.2, a new calendar minute
	v := admit(t, m, early, 0, c)
	if v.Refusal == nil || v.Refusal.Bound != BoundRPM {
		t.Fatalf("burst across the minute boundary admitted: %+v", v)
	}
	// The burst was at second 59; it leaves at 10:01:59.
	if want := 58*time.Second + 800*time.Millisecond; v.Refusal.RetryAfter != want {
		t.Errorf("RetryAfter = %v, want %v", v.RetryAfter(), want)
	}
	if v := admit(t, m, t0.Add(118*time.Second), 0, c); v.Refusal == nil {
		t.Errorf("admitted at 10:01:58, while the burst is still in the window")
	}
	if v := admit(t, m, t0.Add(119*time.Second), 0, c); v.Refusal != nil {
		t.Errorf("refused at 10:01:59, after the burst left the window: %+v", v.Refusal)
	}
}

func (v Verdict) RetryAfter() time.Duration {
	if v.Refusal == nil {
		return 0
	}
	return v.Refusal.RetryAfter
}

func TestTokensEstimateAndSettle(t *testing.T) {
	m := NewMemory(nil)
	c := Charge{Limit: "l", Bounds: Bounds{TPM: 1000}}
	// A request larger than the bound passes alone in an empty window.
	v := admit(t, m, t0, 1500, c)
	if v.Refusal != nil {
		t.Fatalf("first request refused: %+v", v.Refusal)
	}
	// Settled with fewer real tokens: 400 remain in the window.
	if err := m.Settle(context.Background(), t0.Add(2*time.Second), v.Ticket, 400, 0); err != nil {
		t.Fatal(err)
	}
	u, _ := m.Usage(context.Background(), t0.Add(2*time.Second), c)
	if u.Tokens != 400 || u.Requests != 1 || u.InFlight != 0 {
		t.Fatalf("usage after settle = %+v, want 400 tokens, 1 request, none in flight", u)
	}
	if v := admit(t, m, t0.Add(3*time.Second), 600, c); v.Refusal != nil {
		t.Errorf("600 more (1000 in all) refused: %+v", v.Refusal)
	}
	v = admit(t, m, t0.Add(4*time.Second), 1, c)
	if v.Refusal == nil || v.Refusal.Bound != BoundTPM {
		t.Fatalf("over tpm admitted: %+v", v)
	}
	// The 400 settled at t0+2s leave first: then 601 fits.
	if v.Refusal.RetryAfter != 58*time.Second {
		t.Errorf("RetryAfter = %v, want 58s", v.Refusal.RetryAfter)
	}
}

func TestUSDPerDayInTimeZone(t *testing.T) {
	tz := time.FixedZone("UTC+2", 2*3600)
	m := NewMemory(tz)
	c := Charge{Limit: "budget", Bounds: Bounds{USDMicros: 1_000_000, Per: PerDay}}
	now := time.Date(2026, 3, 14, 21, 0, 0, 0, time.UTC) // 23:00 in UTC+2
	v := admit(t, m, now, 0, c)
	_ = m.Settle(context.Background(), now, v.Ticket, 10, 1_200_000) // crosses the budget, and counts
	v = admit(t, m, now.Add(30*time.Minute), 0, c)
	if v.Refusal == nil || v.Refusal.Bound != BoundUSD {
		t.Fatalf("spent budget admitted: %+v", v)
	}
	if v.Refusal.RetryAfter != 30*time.Minute {
		t.Errorf("RetryAfter = %v, want 30m (midnight in UTC+2)", v.Refusal.RetryAfter)
	}
	if v := admit(t, m, now.Add(time.Hour), 0, c); v.Refusal != nil {
		t.Errorf("refused after midnight in UTC+2: %+v", v.Refusal)
	}
	// Per month: the spend of the 14th still counts on the 15th.
	mc := Charge{Limit: "monthly", Bounds: Bounds{USDMicros: 1_000_000, Per: PerMonth}}
	m.Add(now, []Charge{mc}, 0, 1_000_000)
	if v := admit(t, m, now.Add(24*time.Hour), 0, mc); v.Refusal == nil {
		t.Errorf("monthly budget spent on the 14th admitted on the 15th")
	}
}

func TestShadowAndAllOrNothing(t *testing.T) {
	m := NewMemory(nil)
	shadow := Charge{Limit: "shadow", Bounds: Bounds{RPM: 1}, Shadow: true}
	enforced := Charge{Limit: "enforced", Bounds: Bounds{RPM: 2}}
	other := Charge{Limit: "other", Bounds: Bounds{RPM: 100}}
	v := admit(t, m, t0, 0, shadow, enforced, other)
	if v.Refusal != nil || len(v.WouldRefuse) != 0 {
		t.Fatalf("first: %+v", v)
	}
	v = admit(t, m, t0, 0, shadow, enforced, other)
	if v.Refusal != nil || len(v.WouldRefuse) != 1 || v.WouldRefuse[0].Limit != "shadow" || !v.WouldRefuse[0].Shadow {
		t.Fatalf("second: want admitted with shadow would-refuse, got %+v", v)
	}
	v = admit(t, m, t0, 0, other, enforced)
	if v.Refusal == nil || v.Refusal.Limit != "enforced" {
		t.Fatalf("third: want refused by enforced, got %+v", v)
	}
	// Nothing was added to "other" by the refused request; the shadow
	// counter holds only what it let through.
	for _, tc := range []struct {
		c    Charge
		want int64
	}{{other, 2}, {shadow, 1}, {enforced, 2}} {
		if u, _ := m.Usage(context.Background(), t0, tc.c); u.Requests != tc.want {
			t.Errorf("%s: %d requests, want %d", tc.c.Limit, u.Requests, tc.want)
		}
	}
}

func TestConcurrencyReleasedBySettle(t *testing.T) {
	m := NewMemory(nil)
	c := Charge{Limit: "c", Bounds: Bounds{Concurrency: 1}}
	v := admit(t, m, t0, 0, c)
	if w := admit(t, m, t0, 0, c); w.Refusal == nil || w.Refusal.Bound != BoundConcurrency {
		t.Fatalf("second in flight admitted: %+v", w)
	}
	_ = m.Settle(context.Background(), t0, v.Ticket, 0, 0)
	if w := admit(t, m, t0, 0, c); w.Refusal != nil {
		t.Fatalf("refused after release: %+v", w.Refusal)
	}
}

func TestShare(t *testing.T) {
	b := Bounds{RPM: 10, USDMicros: 4_000_000, Per: PerDay}
	if got := b.Share(Usage{Requests: 2, USDMicros: 3_000_000}); got != 0.75 {
		t.Errorf("Share = %v, want 0.75 (the usd bound)", got)
	}
	if got := (Bounds{}).Share(Usage{Requests: 5}); got != 0 {
		t.Errorf("Share with no bound = %v", got)
	}
}

func TestSweepForgetsIdleCounters(t *testing.T) {
	m := NewMemory(nil)
	held := Charge{Limit: "held", Bounds: Bounds{Concurrency: 5}}
	admit(t, m, t0, 0, held)
	const idle = 4 * sweepBatch
	for i := range idle {
		v := admit(t, m, t0, 0, Charge{Limit: "s", Each: fmt.Sprint(i), Bounds: Bounds{RPM: 5}})
		_ = m.Settle(context.Background(), t0, v.Ticket, 0, 0)
	}
	// The sweeps so far ran when all were in the window.
	if n := m.Len(); n != idle+1 {
		t.Fatalf("Len = %d, want %d", n, idle+1)
	}
	later := t0.Add(2 * Window)
	fresh := Charge{Limit: "s", Each: "new", Bounds: Bounds{RPM: 1 << 40}}
	sweep := func() {
		for range sweepEvery {
			v := admit(t, m, later, 0, fresh)
			_ = m.Settle(context.Background(), later, v.Ticket, 0, 0)
		}
	}
	// One sweep looks at one batch: it forgets some, never more.
	sweep()
	if n := m.Len(); n >= idle+2 || n < idle+2-sweepBatch {
		t.Fatalf("Len = %d after one sweep, want between %d and %d", n, idle+2-sweepBatch, idle+1)
	}
	// Left in the end: the new counter, and the one with a request in
	// flight.
	for i := 0; m.Len() > 2 && i < 64; i++ {
		sweep()
	}
	if n := m.Len(); n != 2 {
		t.Errorf("Len = %d after the idle counters left the window, want 2", n)
	}
	if u, _ := m.Usage(context.Background(), later, held); u.InFlight != 1 {
		t.Errorf("the counter with a request in flight has %+v, want it kept", u)
	}
}

// TestCountersBounded checks that a client sending a new value with each
// request cannot grow the table past its bound: the least recently used
// counters go, never one with a request in flight, and what went is
// counted.
func TestCountersBounded(t *testing.T) {
	m := NewMemory(nil)
	m.max = 100
	held := Charge{Limit: "per-session", Each: "held", Bounds: Bounds{RPM: 1000, Concurrency: 5}}
	admit(t, m, t0, 0, held)
	// A limit's own counter and a client key's, spent and idle since: the
	// oldest of all, and never forgotten.
	global := Charge{Limit: "daily", Bounds: Bounds{USDMicros: 10_000_000, Per: PerDay}, Pinned: true}
	v := admit(t, m, t0, 0, global)
	_ = m.Settle(context.Background(), t0, v.Ticket, 0, 4_000_000)
	team := Charge{Limit: "team-daily", Each: "support", Bounds: Bounds{USDMicros: 10_000_000, Per: PerDay}, Pinned: true}
	v = admit(t, m, t0, 0, team)
	_ = m.Settle(context.Background(), t0, v.Ticket, 0, 3_000_000)
	for i := range 1000 {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		v := admit(t, m, at, 0, Charge{Limit: "per-session", Each: fmt.Sprint(i), Bounds: Bounds{RPM: 1000}})
		_ = m.Settle(context.Background(), at, v.Ticket, 0, 0)
	}
	n, bound, evicted := m.Table()
	if bound != 100 {
		t.Errorf("Table's bound = %d, want 100", bound)
	}
	if n > 100 {
		t.Errorf("the table holds %d counters, want at most its bound of 100", n)
	}
	if evicted < 900 {
		t.Errorf("evicted = %d, want at least 900 of the 1,001 counters counted", evicted)
	}
	if u, _ := m.Usage(context.Background(), t0.Add(time.Second), held); u.InFlight != 1 || u.Requests != 1 {
		t.Errorf("the counter with a request in flight has %+v, want it kept", u)
	}
	if u, _ := m.Usage(context.Background(), t0.Add(time.Second), global); u.USDMicros != 4_000_000 {
		t.Errorf("the limit's own counter has %+v, want its spend kept", u)
	}
	if u, _ := m.Usage(context.Background(), t0.Add(time.Second), team); u.USDMicros != 3_000_000 {
		t.Errorf("the client key's counter has %+v, want its spend kept", u)
	}
	// Which counters are pinned is the limit's to say.
	for _, tt := range []struct {
		each string
		want bool
	}{{"", true}, {"key", true}, {"user", false}, {"session", false}, {"metadata.team", false}} {
		d := Def{Name: "l", Bounds: Bounds{RPM: 1}, Each: tt.each}
		c, ok := d.Charge(&Subject{Key: "k", User: "u", Session: "s", Metadata: map[string]string{"team": "t"}})
		if !ok || c.Pinned != tt.want {
			t.Errorf("each %q: Charge = %+v, %v, want Pinned %v", tt.each, c, ok, tt.want)
		}
	}
	// The latest values are the ones kept.
	if u, _ := m.Usage(context.Background(), t0.Add(time.Second), Charge{Limit: "per-session", Each: "999"}); u.Requests != 1 {
		t.Errorf("the latest counter has %+v, want its request", u)
	}
}

func TestReplay(t *testing.T) {
	defs := []Def{
		{Name: "per-key", Bounds: Bounds{RPM: 2}, Each: "key"},
		{Name: "shadow-budget", Bounds: Bounds{USDMicros: 100, Per: PerDay}, Shadow: true},
	}
	var evs []Event
	for i := range 4 {
		evs = append(evs, Event{Time: t0.Add(time.Duration(i) * time.Second), Subject: Subject{Key: "a"}, USDMicros: 60})
	}
	evs = append(evs, Event{Time: t0.Add(10 * time.Second), Subject: Subject{Key: "b"}, USDMicros: 60})
	got := Replay(defs, time.UTC, evs)
	counts := Counts(got)
	// a: requests 3 and 4 over per-key; the shadow budget (100) is
	// reached by the second request, so b's would be refused too.
	if counts["per-key"] != 2 || counts["shadow-budget"] != 1 {
		t.Fatalf("Replay counts = %v (%+v)", counts, got)
	}
	if again := Replay(defs, time.UTC, evs); fmt.Sprint(again) != fmt.Sprint(got) {
		t.Errorf("Replay is not deterministic")
	}
}

// BenchmarkCheck10kKeys is one admission and its settle against a limit
// split per key, over 10,000 keys.
func BenchmarkCheck10kKeys(b *testing.B) {
	m := NewMemory(nil)
	const keys = 10_000
	charges := make([][]Charge, keys)
	for i := range charges {
		charges[i] = []Charge{{Limit: "per-key", Each: fmt.Sprintf("key-%d", i), Bounds: Bounds{RPM: 1 << 40, TPM: 1 << 50, USDMicros: 1 << 50, Per: PerDay, Concurrency: 1 << 20}}}
		v, _ := m.Admit(context.Background(), t0, charges[i], 10)
		_ = m.Settle(context.Background(), t0, v.Ticket, 10, 1)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now := t0.Add(time.Duration(i) * time.Millisecond)
		v, _ := m.Admit(ctx, now, charges[i%keys], 10)
		_ = m.Settle(ctx, now, v.Ticket, 12, 3)
	}
}

// TestMemoryPerCounter: a counter per session that saw one request holds
// one bucket, not a whole window: memory follows traffic.
func TestMemoryPerCounter(t *testing.T) {
	const n = 20_000
	m := NewMemory(nil)
	charges := make([][]Charge, n)
	for i := range charges {
		charges[i] = []Charge{{Limit: "per-session", Each: fmt.Sprintf("session-%06d", i), Bounds: Bounds{RPM: 60, USDMicros: 1e6, Per: PerDay, Concurrency: 4}}}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range charges {
		v, _ := m.Admit(context.Background(), t0, charges[i], 100)
		_ = m.Settle(context.Background(), t0, v.Ticket, 120, 5)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / n
	t.Logf("%.0f bytes per counter (heap %d → %d)", per, before.HeapAlloc, after.HeapAlloc)
	if per > 400 {
		t.Errorf("%.0f bytes per counter with one request, want at most 400", per)
	}
	runtime.KeepAlive(charges)
	runtime.KeepAlive(m)
}

// TestMemoryReplaceKeepsInFlight: counters rebuilt elsewhere replace a
// Memory's, and the requests it had in flight keep their slots and settle
// on the new counters.
func TestMemoryReplaceKeepsInFlight(t *testing.T) {
	conc := Charge{Limit: "conc", Bounds: Bounds{Concurrency: 2}}
	budget := Charge{Limit: "budget", Bounds: Bounds{USDMicros: 1000, Per: PerDay}}
	m := NewMemory(nil)
	held := admit(t, m, t0, 0, conc)
	fresh := NewMemory(nil)
	fresh.Add(t0, []Charge{budget}, 10, 900) // what the log says was spent
	m.Replace(fresh)
	ctx := context.Background()
	if u, _ := m.Usage(ctx, t0, budget); u.USDMicros != 900 {
		t.Errorf("budget after Replace: %+v, want 900 spent", u)
	}
	if u, _ := m.Usage(ctx, t0, conc); u.InFlight != 1 {
		t.Errorf("in flight after Replace: %+v, want 1", u)
	}
	// One slot left of two: the held request still counts.
	admit(t, m, t0, 0, conc)
	if v, _ := m.Admit(ctx, t0, []Charge{conc}, 0); v.Refusal == nil {
		t.Error("a third request was admitted against concurrency = 2")
	}
	_ = m.Settle(ctx, t0, held.Ticket, 0, 0)
	if u, _ := m.Usage(ctx, t0, conc); u.InFlight != 1 {
		t.Errorf("in flight after settling the held request: %+v, want 1", u)
	}
}
