package limits

import (
	"fmt"
	"testing"
	"time"
)

// backtestEvents is a day of two teams: a spends $0.40 a request against
// a $1 daily budget, b bursts 5 requests in a second against rpm 3.
func backtestEvents() []Event {
	var evs []Event
	for i := range 4 {
		evs = append(evs, Event{Time: t0.Add(time.Duration(i) * time.Hour), Subject: Subject{Key: "a", Model: "gpt-4o"},
			EstimatedTokens: 10, Tokens: 100, USDMicros: 400_000})
	}
	for i := range 5 {
		evs = append(evs, Event{Time: t0.Add(30*time.Minute + time.Duration(i)*100*time.Millisecond), Subject: Subject{Key: "b", Model: "gpt-4o-mini"},
			EstimatedTokens: 10, Tokens: 20, USDMicros: 1})
	}
	// The next day a's budget is fresh.
	evs = append(evs, Event{Time: t0.Add(24 * time.Hour), Subject: Subject{Key: "a", Model: "gpt-4o"}, USDMicros: 400_000})
	return evs
}

var backtestDefs = []Def{
	{Name: "team-daily", Bounds: Bounds{USDMicros: 1_000_000, Per: PerDay}, Each: "key"},
	{Name: "burst", Bounds: Bounds{RPM: 3, Concurrency: 1}, Each: "key", Shadow: true},
	{Name: "mini-only", Bounds: Bounds{RPM: 1}, Models: []string{"*-mini"}, Keys: []string{"nobody"}},
}

func TestBacktestStepsAsReplay(t *testing.T) {
	evs := backtestEvents()
	want := Replay(backtestDefs, time.UTC, evs)
	bt := NewBacktest(backtestDefs, time.UTC)
	var got []Replayed
	admitted := 0
	for i := range sortedByTime(evs) {
		rs, ok := bt.Step(&evs[i])
		got = append(got, rs...)
		if ok {
			admitted++
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Step by step:\n%v\nReplay:\n%v", got, want)
	}
	// a's fourth request of the day is refused by its budget ($1.20 spent
	// by the third); b's fourth and fifth would be refused by the shadow
	// burst limit, and are served.
	counts := Counts(got)
	if counts["team-daily"] != 1 || counts["burst"] != 2 || counts["mini-only"] != 0 || admitted != len(evs)-1 {
		t.Errorf("counts %v, admitted %d of %d", counts, admitted, len(evs))
	}
	// The counters stand as the candidate's route() would read them.
	u := bt.Usage(t0.Add(24*time.Hour), Charge{Limit: "team-daily", Each: "a", Bounds: backtestDefs[0].Bounds})
	if u.USDMicros != 400_000 {
		t.Errorf("a's usage the next day = %+v, want the new day's $0.40 only", u)
	}

	// Add counts what was served whatever the bounds: all four of a's.
	served := NewBacktest(backtestDefs, time.UTC)
	for i := range evs {
		if evs[i].Subject.Key == "a" && evs[i].Time.Before(t0.Add(24*time.Hour)) {
			served.Add(&evs[i])
		}
	}
	if u := served.Usage(t0.Add(3*time.Hour), Charge{Limit: "team-daily", Each: "a", Bounds: backtestDefs[0].Bounds}); u.USDMicros != 1_600_000 || u.Requests != 1 {
		t.Errorf("a's usage after Add = %+v, want $1.60 and the last request in the window", u)
	}
}

func sortedByTime(evs []Event) []Event {
	for i := 1; i < len(evs); i++ {
		for j := i; j > 0 && evs[j].Time.Before(evs[j-1].Time); j-- {
			evs[j], evs[j-1] = evs[j-1], evs[j]
		}
	}
	return evs
}

func TestRuns(t *testing.T) {
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	rs := []Replayed{
		{Time: at(5), Key: "b", Refusal: Refusal{Limit: "rpm", Bound: BoundRPM, Shadow: true}},
		{Time: at(1), Key: "a", Refusal: Refusal{Limit: "budget", Bound: BoundUSD}},
		{Time: at(9), Key: "a", Refusal: Refusal{Limit: "budget", Bound: BoundUSD}},
		{Time: at(7), Key: "b", Refusal: Refusal{Limit: "rpm", Bound: BoundTPM, Shadow: true}},
		{Time: at(3), Key: "c", Refusal: Refusal{Limit: "budget", Bound: BoundUSD}},
		{Time: at(2), Key: "a", Refusal: Refusal{Limit: "budget", Bound: BoundUSD}},
	}
	got := Runs(rs)
	want := []RefusalRun{
		{Limit: "budget", Key: "a", Bounds: []string{"usd"}, First: at(1), Last: at(9), Count: 3},
		{Limit: "budget", Key: "c", Bounds: []string{"usd"}, First: at(3), Last: at(3), Count: 1},
		{Limit: "rpm", Key: "b", Shadow: true, Bounds: []string{"rpm", "tpm"}, First: at(5), Last: at(7), Count: 2},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Runs =\n%v\nwant\n%v", got, want)
	}
	if Runs(nil) != nil {
		t.Errorf("Runs(nil) is not nil")
	}
}

func TestMemoryCounters(t *testing.T) {
	m := NewMemory(time.UTC)
	b := Bounds{RPM: 4, USDMicros: 1000, Per: PerDay}
	bounds := map[string]Bounds{"per-key": b}
	for i, each := range []string{"a", "b", "b", "c", "c", "c"} {
		m.Add(t0.Add(time.Duration(i)*time.Second), []Charge{{Limit: "per-key", Each: each, Bounds: b}}, 10, 100)
	}
	m.Add(t0, []Charge{{Limit: "undeclared", Bounds: b}}, 1, 1)
	got := m.Counters(t0.Add(10*time.Second), bounds, 2)
	want := []CounterUsage{
		{Each: "c", Usage: Usage{Requests: 3, Tokens: 30, USDMicros: 300}, Share: 0.75},
		{Each: "b", Usage: Usage{Requests: 2, Tokens: 20, USDMicros: 200}, Share: 0.5},
	}
	if len(got) != 1 || fmt.Sprint(got["per-key"]) != fmt.Sprint(want) {
		t.Errorf("Counters top 2 = %v, want %v", got, want)
	}
	// A minute later the window is empty and the day's spend remains.
	all := m.Counters(t0.Add(2*time.Minute), bounds, 0)["per-key"]
	if len(all) != 3 || all[0].Each != "c" || all[0].Requests != 0 || all[0].USDMicros != 300 || all[0].Share != 0.3 {
		t.Errorf("Counters later = %v", all)
	}
	// The next day nothing is in use: no counter listed.
	if next := m.Counters(t0.Add(24*time.Hour), bounds, 0); len(next["per-key"]) != 0 {
		t.Errorf("Counters the next day = %v, want none", next)
	}
}

// BenchmarkBacktestStep is one logged request through a per-key daily
// budget and a shadow per-key rpm, over 10,000 keys: the cost replay adds
// per request when the candidate declares limits.
func BenchmarkBacktestStep(b *testing.B) {
	defs := []Def{
		{Name: "daily", Bounds: Bounds{USDMicros: 1 << 40, Per: PerDay}, Each: "key"},
		{Name: "rpm", Bounds: Bounds{RPM: 60}, Each: "key", Shadow: true},
	}
	const keys = 10_000
	evs := make([]Event, keys)
	for i := range evs {
		evs[i] = Event{Subject: Subject{Key: fmt.Sprintf("key-%d", i), Model: "m"}, EstimatedTokens: 100, Tokens: 150, USDMicros: 20}
	}
	bt := NewBacktest(defs, time.UTC)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev := &evs[i%keys]
		ev.Time = t0.Add(time.Duration(i) * time.Millisecond)
		bt.Step(ev)
	}
}

// TestReplayConcurrency back-tests a concurrency bound from the requests'
// ends: a request that starts while two others are in flight is refused,
// one that starts after one of them ended is admitted, and an event
// without an end takes no slot.
func TestReplayConcurrency(t *testing.T) {
	defs := []Def{{Name: "two-at-once", Bounds: Bounds{Concurrency: 2}, Each: "key"}}
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	ev := func(start, end int) Event {
		e := Event{Time: at(start), Subject: Subject{Key: "a"}}
		if end > start {
			e.End = at(end)
		}
		return e
	}
	evs := []Event{
		ev(0, 10), // in flight 0-10
		ev(1, 5),  // 1-5
		ev(2, 3),  // refused: two in flight
		ev(5, 9),  // admitted: the second ended at 5
		ev(6, 7),  // refused: 0-10 and 5-9 in flight
		ev(6, 0),  // no end known: takes no slot, refused by none
		ev(10, 12),
	}
	got := Replay(defs, time.UTC, evs)
	var times []int
	for _, r := range got {
		if r.Refusal.Bound != BoundConcurrency {
			t.Errorf("refused by %s, want concurrency", r.Refusal.Bound)
		}
		times = append(times, int(r.Time.Sub(t0)/time.Second))
	}
	if fmt.Sprint(times) != "[2 6]" {
		t.Errorf("refused at seconds %v, want [2 6]", times)
	}

	// ctx.usage sees the requests in flight at each time.
	bt := NewBacktest(defs, time.UTC)
	for i := range evs[:2] {
		bt.Step(&evs[i])
	}
	c := Charge{Limit: "two-at-once", Each: "a", Bounds: defs[0].Bounds}
	for _, tc := range []struct {
		at   int
		want int64
	}{{2, 2}, {5, 1}, {10, 0}} {
		if u := bt.Usage(at(tc.at), c); u.InFlight != tc.want {
			t.Errorf("in flight at %ds = %d, want %d", tc.at, u.InFlight, tc.want)
		}
	}
}

// TestBacktestSettlesAtEnd: a request's real tokens replace its estimate
// when it ends, as the gateway settles it when it finishes.
func TestBacktestSettlesAtEnd(t *testing.T) {
	defs := []Def{{Name: "tpm", Bounds: Bounds{TPM: 1 << 30}}}
	bt := NewBacktest(defs, time.UTC)
	ev := Event{Time: t0, End: t0.Add(3 * time.Second), EstimatedTokens: 10, Tokens: 500}
	if _, ok := bt.Step(&ev); !ok {
		t.Fatal("refused")
	}
	c := Charge{Limit: "tpm", Bounds: defs[0].Bounds}
	if u := bt.Usage(t0.Add(time.Second), c); u.Tokens != 10 || u.InFlight != 1 {
		t.Errorf("before the end: %+v, want the estimate (10 tokens) in flight", u)
	}
	if u := bt.Usage(t0.Add(4*time.Second), c); u.Tokens != 500 || u.InFlight != 0 {
		t.Errorf("after the end: %+v, want 500 tokens, none in flight", u)
	}
	// Add counts a served request the same way.
	bt.Add(&Event{Time: t0.Add(5 * time.Second), End: t0.Add(6 * time.Second), EstimatedTokens: 1, Tokens: 7})
	if u := bt.Usage(t0.Add(5*time.Second), c); u.Requests != 2 || u.InFlight != 1 {
		t.Errorf("after Add: %+v, want 2 requests, 1 in flight", u)
	}
	if u := bt.Usage(t0.Add(7*time.Second), c); u.Tokens != 507 {
		t.Errorf("after Add's end: %+v, want 507 tokens", u)
	}
}

// TestMemoryCountersTopIsBusiest: keeping the top while reading gives
// what sorting every counter and cutting would, ties included.
func TestMemoryCountersTopIsBusiest(t *testing.T) {
	m := NewMemory(nil)
	bounds := map[string]Bounds{"per-session": {RPM: 50}}
	// Requests per session from a fixed permutation, with many ties.
	for i := range 300 {
		each := fmt.Sprintf("s%03d", (i*37)%300)
		for range (i*7)%11 + 1 {
			admit(t, m, t0, 0, Charge{Limit: "per-session", Each: each, Bounds: bounds["per-session"]})
		}
	}
	all := m.Counters(t0, bounds, 0)["per-session"]
	for _, top := range []int{1, 5, 20, 299, 300, 301} {
		got := m.Counters(t0, bounds, top)["per-session"]
		want := all[:min(top, len(all))]
		if len(got) != len(want) {
			t.Fatalf("top %d: %d counters, want %d", top, len(got), len(want))
		}
		for i := range want {
			if got[i].Each != want[i].Each || got[i].Share != want[i].Share {
				t.Errorf("top %d: counter %d = %s %v, want %s %v", top, i, got[i].Each, got[i].Share, want[i].Each, want[i].Share)
				break
			}
		}
	}
}
