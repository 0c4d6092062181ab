package health

import (
	"encoding/json"
	"math/rand/v2"
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

// newTracker returns a Tracker on clk without jitter, base 1 s, max 10 s.
func newTracker(clk *clock) *Tracker {
	return New(Config{Now: clk.Now, BaseCooldown: time.Second, MaxCooldown: 10 * time.Second, Jitter: -1})
}

// wantState fails the test unless name is in state want with the given
// availability.
func wantState(t *testing.T, tr *Tracker, name string, want State, avail bool) {
	t.Helper()
	if got := tr.Snapshot(name).State; got != want {
		t.Errorf("Snapshot(%s).State = %s, want %s", name, got, want)
	}
	if got := tr.Available(name); got != avail {
		t.Errorf("Available(%s) = %v, want %v", name, got, avail)
	}
}

func TestUnknownProviderIsHealthy(t *testing.T) {
	tr := New(Config{})
	wantState(t, tr, "never-seen", Healthy, true)
	if got := tr.All(); len(got) != 0 {
		t.Errorf("All() after queries only = %v, want none: reads must not create providers", got)
	}
}

func TestForget(t *testing.T) {
	tr := New(Config{})
	done := tr.Begin("old")
	tr.MarkFailed("old", "500")
	tr.Begin("kept")(Outcome{})
	tr.Forget("old")
	done(Outcome{Err: true, MarkFailed: true})
	wantState(t, tr, "old", Healthy, true)
	if got := tr.All(); len(got) != 1 || got[0].Name != "kept" {
		t.Errorf("All() after Forget(old) = %v, want only kept", got)
	}
}

func TestBackoffGrowsAndCaps(t *testing.T) {
	clk := newClock()
	tr := newTracker(clk)
	wants := []time.Duration{1, 2, 4, 8, 10, 10}
	for i, want := range wants {
		want *= time.Second
		if i == 0 {
			tr.MarkFailed("p", "500")
		} else {
			// The half-open trial fails and doubles the backoff.
			done := tr.Begin("p")
			done(Outcome{Err: true, MarkFailed: true, Reason: "500"})
		}
		st := tr.Snapshot("p")
		if st.State != Cooling || st.CooldownLeft != want {
			t.Fatalf("failure %d: Snapshot(p) = %s for %v, want %s for %v", i+1, st.State, st.CooldownLeft, Cooling, want)
		}
		clk.Advance(want - time.Nanosecond)
		wantState(t, tr, "p", Cooling, false)
		clk.Advance(time.Nanosecond)
		wantState(t, tr, "p", HalfOpen, true)
	}
}

func TestMarkFailedWhileCoolingDoesNotGrow(t *testing.T) {
	clk := newClock()
	tr := newTracker(clk)
	tr.MarkFailed("p", "first")
	clk.Advance(500 * time.Millisecond)
	// Requests that were in flight when p failed fail too.
	for range 5 {
		tr.MarkFailed("p", "in flight")
	}
	if got, want := tr.Snapshot("p").CooldownLeft, 500*time.Millisecond; got != want {
		t.Errorf("CooldownLeft after repeated failures = %v, want %v (unchanged)", got, want)
	}
	if got, want := tr.Snapshot("p").LastError, "in flight"; got != want {
		t.Errorf("LastError = %q, want %q", got, want)
	}
	clk.Advance(500 * time.Millisecond)
	tr.MarkFailed("p", "trial") // second failure: 2 s, not 2^6 s
	if got, want := tr.Snapshot("p").CooldownLeft, 2*time.Second; got != want {
		t.Errorf("CooldownLeft after the trial failed = %v, want %v", got, want)
	}
}

func TestJitterWithinBounds(t *testing.T) {
	tests := []struct {
		rand float64
		want time.Duration
	}{
		{0, 8 * time.Second},
		{0.5, 10 * time.Second},
		{0.75, 11 * time.Second},
	}
	for _, tt := range tests {
		clk := newClock()
		tr := New(Config{Now: clk.Now, BaseCooldown: 10 * time.Second, Jitter: 0.2, Rand: func() float64 { return tt.rand }})
		tr.MarkFailed("p", "x")
		if got := tr.Snapshot("p").CooldownLeft; got != tt.want {
			t.Errorf("cooldown with Rand() = %v: got %v, want %v", tt.rand, got, tt.want)
		}
	}

	// With real randomness, every cooldown stays within ±20 % of the
	// un-jittered backoff, and the jitter actually spreads them.
	rng := rand.New(rand.NewPCG(1, 2))
	clk := newClock()
	tr := New(Config{Now: clk.Now, Rand: rng.Float64}) // defaults: 1 s base, 5 min max, ±20 %
	lo, hi := time.Duration(1<<62), time.Duration(0)
	for i := range 1000 {
		name := "p" + strconv.Itoa(i)
		tr.MarkFailed(name, "x")
		d := tr.Snapshot(name).CooldownLeft
		if d < 800*time.Millisecond || d > 1200*time.Millisecond {
			t.Fatalf("first cooldown = %v, want within 1s ± 20%%", d)
		}
		lo, hi = min(lo, d), max(hi, d)
	}
	if hi-lo < 200*time.Millisecond {
		t.Errorf("cooldowns spread over [%v, %v], want jitter to spread them over most of [800ms, 1.2s]", lo, hi)
	}
}

func TestRetryAfterHonouredExactly(t *testing.T) {
	clk := newClock()
	tr := newTracker(clk)
	done := tr.Begin("p")
	done(Outcome{Err: true, Cooldown: 30 * time.Second, Reason: "429"})
	st := tr.Snapshot("p")
	if st.State != Cooling || st.CooldownLeft != 30*time.Second {
		t.Fatalf("after 429 with Retry-After 30s: %s for %v, want %s for 30s", st.State, st.CooldownLeft, Cooling)
	}
	clk.Advance(30*time.Second - time.Nanosecond)
	wantState(t, tr, "p", Cooling, false)
	clk.Advance(time.Nanosecond)
	wantState(t, tr, "p", HalfOpen, true)

	// A rate limit does not grow the backoff: a later failure starts at
	// the base.
	tr.Succeed("p")
	tr.Cooldown("p", 5*time.Second, "429")
	clk.Advance(5 * time.Second)
	tr.MarkFailed("p", "500")
	if got, want := tr.Snapshot("p").CooldownLeft, time.Second; got != want {
		t.Errorf("backoff after a 429 then a 500 = %v, want %v", got, want)
	}
}

func TestCooldownNeverShortens(t *testing.T) {
	clk := newClock()
	tr := newTracker(clk)
	tr.Cooldown("p", time.Minute, "429")
	tr.Cooldown("p", 5*time.Second, "429")
	if got, want := tr.Snapshot("p").CooldownLeft, time.Minute; got != want {
		t.Errorf("CooldownLeft after 60s then 5s = %v, want %v", got, want)
	}
	tr.Cooldown("p", 2*time.Minute, "429")
	if got, want := tr.Snapshot("p").CooldownLeft, 2*time.Minute; got != want {
		t.Errorf("CooldownLeft after a longer Retry-After = %v, want %v", got, want)
	}
}

func TestCooldownDefault(t *testing.T) {
	clk := newClock()
	tr := newTracker(clk)
	tr.Cooldown("p", 0, "429 without retry-after")
	if got, want := tr.Snapshot("p").CooldownLeft, 60*time.Second; got != want {
		t.Errorf("Cooldown(p, 0) left %v, want %v", got, want)
	}
}

func TestHalfOpenAdmitsOneTrial(t *testing.T) {
	clk := newClock()
	tr := newTracker(clk)
	tr.MarkFailed("p", "502")
	clk.Advance(time.Second)
	wantState(t, tr, "p", HalfOpen, true)
	// Available has no side effect: asking again still says yes.
	wantState(t, tr, "p", HalfOpen, true)

	trial := tr.Begin("p")
	wantState(t, tr, "p", HalfOpen, false) // others wait for the trial

	trial(Outcome{Latency: 120 * time.Millisecond})
	wantState(t, tr, "p", Healthy, true)
	if got := tr.Snapshot("p").ConsecutiveFailures; got != 0 {
		t.Errorf("ConsecutiveFailures after the trial succeeded = %d, want 0", got)
	}
	// The backoff was reset.
	tr.MarkFailed("p", "502")
	if got, want := tr.Snapshot("p").CooldownLeft, time.Second; got != want {
		t.Errorf("backoff after recovery = %v, want %v", got, want)
	}
}

func TestHalfOpenFailureBacksOffLonger(t *testing.T) {
	clk := newClock()
	tr := newTracker(clk)
	tr.MarkFailed("p", "timeout")
	clk.Advance(time.Second)
	trial := tr.Begin("p")
	trial(Outcome{Err: true, MarkFailed: true, Reason: "timeout"})
	st := tr.Snapshot("p")
	if st.State != Cooling || st.CooldownLeft != 2*time.Second {
		t.Fatalf("after a failed trial: %s for %v, want %s for 2s", st.State, st.CooldownLeft, Cooling)
	}
	clk.Advance(2 * time.Second)
	wantState(t, tr, "p", HalfOpen, true) // the trial's slot was released
}

func TestHalfOpenTrialWithoutVerdict(t *testing.T) {
	clk := newClock()
	tr := newTracker(clk)
	tr.MarkFailed("p", "500")
	clk.Advance(time.Second)
	trial := tr.Begin("p")
	// The trial failed in a way that says nothing about p (a 400 for a bad
	// request, a 503 to retry): p stays half-open for the next trial.
	trial(Outcome{Err: true, Reason: "400"})
	wantState(t, tr, "p", HalfOpen, true)
}

func TestSuccessDuringCooldownKeepsCooldown(t *testing.T) {
	clk := newClock()
	tr := newTracker(clk)
	slow := tr.Begin("p") // began before p failed
	tr.MarkFailed("p", "500")
	slow(Outcome{Latency: time.Second})
	wantState(t, tr, "p", Cooling, false)
	// An explicit Succeed (an operator, a probe) does end it.
	tr.Succeed("p")
	wantState(t, tr, "p", Healthy, true)
}

func TestInFlightAndCounters(t *testing.T) {
	clk := newClock()
	tr := New(Config{Now: clk.Now, Window: 1}) // alpha 1: the averages are the last sample
	d1, d2, d3 := tr.Begin("p"), tr.Begin("p"), tr.Begin("p")
	if got := tr.Snapshot("p").InFlight; got != 3 {
		t.Fatalf("InFlight after 3 Begins = %d, want 3", got)
	}
	d1(Outcome{Latency: 250 * time.Millisecond})
	d1(Outcome{Err: true}) // a second call is ignored
	clk.Advance(time.Minute)
	d2(Outcome{Err: true, Reason: "503"})

	want := Status{
		Name: "p", State: Healthy, ErrorRate: 1, LatencyMS: 250, InFlight: 1,
		Requests: 2, Failures: 1, LastError: "503", LastErrorAt: clk.Now(), ConsecutiveFailures: 1,
	}
	if diff := cmp.Diff(want, tr.Snapshot("p")); diff != "" {
		t.Errorf("Snapshot(p) mismatch (-want +got):\n%s", diff)
	}
	d3(Outcome{Latency: 50 * time.Millisecond})
	st := tr.Snapshot("p")
	if st.InFlight != 0 || st.ErrorRate != 0 || st.LatencyMS != 50 || st.ConsecutiveFailures != 0 {
		t.Errorf("Snapshot(p) after the last success = %+v, want nothing in flight, error rate 0, latency 50ms, no consecutive failures", st)
	}
}

func TestMovingAverages(t *testing.T) {
	tr := New(Config{Window: 3}) // alpha = 0.5
	for _, o := range []Outcome{
		{Latency: 100 * time.Millisecond},
		{Err: true},
		{Latency: 300 * time.Millisecond},
		{Err: true},
	} {
		tr.Begin("p")(o)
	}
	st := tr.Snapshot("p")
	// error rate: 0 → 0.5 → 0.25 → 0.625; latency: 100 → 200.
	if st.ErrorRate != 0.625 || st.LatencyMS != 200 {
		t.Errorf("Snapshot(p) = error rate %v, latency %vms, want 0.625, 200ms", st.ErrorRate, st.LatencyMS)
	}
}

func TestAllSortedAndJSON(t *testing.T) {
	clk := newClock()
	tr := newTracker(clk)
	tr.Begin("openai")(Outcome{Latency: 1500 * time.Millisecond})
	tr.Cooldown("anthropic", 90*time.Second, "429")
	got := tr.All()
	names := []string{got[0].Name, got[1].Name}
	if diff := cmp.Diff([]string{"anthropic", "openai"}, names); diff != "" {
		t.Fatalf("All() names mismatch (-want +got):\n%s", diff)
	}

	b, err := json.Marshal(got[0])
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"name": "anthropic", "state": "cooldown", "cooldown_left_s": 90.0,
		"error_rate": 0.0, "latency_ms": 0.0, "in_flight": 0.0, "requests": 0.0, "failures": 0.0,
		"last_error": "429", "last_error_at": "2026-01-01T00:00:00Z", "consecutive_failures": 0.0,
	}
	if diff := cmp.Diff(want, fields); diff != "" {
		t.Errorf("json.Marshal(Status) mismatch (-want +got):\n%s", diff)
	}
	var back Status
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got[0], back); diff != "" {
		t.Errorf("Status JSON round trip mismatch (-want +got):\n%s", diff)
	}
}

func TestConcurrent(t *testing.T) {
	clk := newClock()
	tr := New(Config{Now: clk.Now}) // the default Rand is safe for concurrent use
	providers := []string{"a", "b", "c", "d"}
	const workers, ops = 16, 2000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range ops {
				p := providers[(w+i)%len(providers)]
				tr.Available(p)
				done := tr.Begin(p)
				switch i % 10 {
				case 0:
					done(Outcome{Err: true, MarkFailed: true, Reason: "500"})
				case 1:
					done(Outcome{Err: true, Cooldown: time.Second, Reason: "429"})
				default:
					done(Outcome{Latency: time.Duration(i) * time.Microsecond})
				}
				if i%50 == 0 {
					clk.Advance(time.Second)
					tr.All()
				}
			}
		})
	}
	wg.Wait()
	var total int64
	for _, st := range tr.All() {
		if st.InFlight != 0 {
			t.Errorf("%s: InFlight after all attempts ended = %d, want 0", st.Name, st.InFlight)
		}
		total += st.Requests
	}
	if total != workers*ops {
		t.Errorf("total Requests = %d, want %d", total, workers*ops)
	}
}

func BenchmarkTrackerBeginEnd(b *testing.B) {
	tr := New(Config{})
	names := []string{"openai-main", "openai-backup", "anthropic-main", "gemini-main"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			p := names[i&3]
			if tr.Available(p) {
				tr.Begin(p)(Outcome{Latency: 300 * time.Millisecond})
			}
			i++
		}
	})
}

// FuzzTracker runs arbitrary sequences of operations on one provider and
// checks the invariants that hold after each.
func FuzzTracker(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 0, 0, 2, 6, 6, 1})
	f.Add([]byte{3, 6, 0, 1, 6, 6, 6, 0, 2})
	f.Fuzz(func(t *testing.T, ops []byte) {
		clk := newClock()
		const maxCooldown = 8 * time.Second
		tr := New(Config{Now: clk.Now, BaseCooldown: time.Second, MaxCooldown: maxCooldown, Jitter: 0.5, Rand: func() float64 { return 0.999 }})
		var open []func(Outcome)
		longest := time.Duration(0) // longest explicit cooldown
		for i, op := range ops {
			switch op % 8 {
			case 0:
				open = append(open, tr.Begin("p"))
			case 1, 2, 3:
				if len(open) == 0 {
					continue
				}
				done := open[0]
				open = open[1:]
				switch op % 8 {
				case 1:
					done(Outcome{Latency: time.Duration(op) * time.Millisecond})
				case 2:
					done(Outcome{Err: true, MarkFailed: true})
				case 3:
					d := time.Duration(op) * 100 * time.Millisecond
					longest = max(longest, d)
					done(Outcome{Err: true, Cooldown: d})
				}
			case 4:
				tr.MarkFailed("p", "x")
			case 5:
				tr.Succeed("p")
			case 6:
				clk.Advance(time.Duration(op) * 50 * time.Millisecond)
			case 7:
				tr.Available("p")
			}
			st := tr.Snapshot("p")
			avail := tr.Available("p")
			switch {
			case st.InFlight != len(open):
				t.Fatalf("op %d: InFlight = %d, want %d", i, st.InFlight, len(open))
			case (st.State == Cooling) != (st.CooldownLeft > 0):
				t.Fatalf("op %d: state %s with %v cooldown left", i, st.State, st.CooldownLeft)
			case st.State == Cooling && avail, st.State == Healthy && !avail:
				t.Fatalf("op %d: state %s but Available = %v", i, st.State, avail)
			case st.CooldownLeft > max(maxCooldown*3/2, longest):
				t.Fatalf("op %d: cooldown left %v, want at most max(%v, %v)", i, st.CooldownLeft, maxCooldown*3/2, longest)
			}
		}
	})
}

// TestCancelledCountsNothing: an attempt the client abandoned ends the
// attempt and hands a half-open trial on, but moves no counter.
func TestCancelledCountsNothing(t *testing.T) {
	clk := newClock()
	tr := New(Config{Now: clk.Now, Window: 1})
	d := tr.Begin("p")
	d(Outcome{Latency: 100 * time.Millisecond})
	before := tr.Snapshot("p")
	tr.Begin("p")(Outcome{Cancelled: true, Err: true, Reason: "ignored"})
	if diff := cmp.Diff(before, tr.Snapshot("p")); diff != "" {
		t.Errorf("Snapshot(p) after a cancelled attempt changed (-before +after):\n%s", diff)
	}

	// A cancelled half-open trial lets the next attempt be the trial.
	tr2 := newTracker(clk)
	tr2.MarkFailed("q", "500")
	clk.Advance(2 * time.Second)
	wantState(t, tr2, "q", HalfOpen, true)
	tr2.Begin("q")(Outcome{Cancelled: true})
	if !tr2.Available("q") {
		t.Errorf("Available(q) after a cancelled trial = false, want true (the trial is free again)")
	}
}
