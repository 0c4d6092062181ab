package route_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/llmgw/llmgw/health"
	"github.com/llmgw/llmgw/route"
	"github.com/llmgw/llmgw/sticky"
)

// These tests run route, health and sticky together through walk, a
// minimal attempt loop with the default failure classes, to check that the
// pieces compose into the rules of the contract. The gateway's own loop
// lives in gateway; walk only mirrors its use of these packages.

// reply is what a fake provider answers to one attempt.
type reply struct {
	status     int           // 200 for success; 0 for a connection error
	retryAfter time.Duration // for 429
}

// walker owns the shared state of the attempt loop.
type walker struct {
	tracker *health.Tracker
	table   *sticky.Table
	intn    func(int) int
}

// result is what one request did.
type result struct {
	served   string   // "" when every attempt failed
	attempts []string // providers, in the order tried
	status   int      // the final status
}

// walk serves one request bound by key among cands, calling upstream for
// each attempt.
func (w *walker) walk(key string, cands []route.Candidate, upstream func(provider string) reply) result {
	bound, _ := w.table.Get(key)
	order, _ := route.Order(cands, route.Options{Sticky: bound, Available: w.tracker.Available, Intn: w.intn})
	var res result
	for _, c := range order {
		for try := 0; try < 2; try++ { // 503 and 529 are retried once
			done := w.tracker.Begin(c.Provider)
			res.attempts = append(res.attempts, c.Provider)
			r := upstream(c.Provider)
			res.status = r.status
			switch {
			case r.status == 200:
				done(health.Outcome{Latency: 100 * time.Millisecond})
				if bound == c.Provider {
					w.table.Touch(key)
				} else {
					w.table.Bind(key, c.Provider) // bind, or move after a failover
				}
				res.served = c.Provider
				return res
			case r.status == 429:
				done(health.Outcome{Err: true, Cooldown: r.retryAfter, Reason: "429"})
			case r.status == 503 || r.status == 529:
				done(health.Outcome{Err: true, Reason: strconv.Itoa(r.status)})
				if try == 0 {
					continue
				}
			case r.status == 0 || r.status == 401 || r.status == 403 || r.status >= 500:
				done(health.Outcome{Err: true, MarkFailed: true, Reason: strconv.Itoa(r.status)})
			default: // other 4xx: the client's fault, returned as is
				done(health.Outcome{Err: true, Reason: strconv.Itoa(r.status)})
				return res
			}
			break
		}
	}
	return res
}

// clock is a manual clock for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

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

func newWalker(clk *clock) *walker {
	return &walker{
		tracker: health.New(health.Config{Now: clk.Now, BaseCooldown: 10 * time.Second, Jitter: -1}),
		table:   sticky.New(sticky.Config{Now: clk.Now}),
	}
}

// fakes answers each provider with its entry in replies, 200 when absent.
func fakes(replies map[string]reply) func(string) reply {
	return func(p string) reply {
		if r, ok := replies[p]; ok {
			return r
		}
		return reply{status: 200}
	}
}

var twoInATier = []route.Candidate{
	{Provider: "a", Priority: 1, Weight: 100},
	{Provider: "b", Priority: 1, Weight: 100},
	{Provider: "backup", Priority: 2, Weight: 100},
}

func TestStickyMovesOnFailure(t *testing.T) {
	clk := &clock{}
	w := newWalker(clk)
	ok := fakes(nil)

	// Policy order decides the first request (no Intn); the binding
	// keeps the session on "a" after that.
	if got := w.walk("team:s1", twoInATier, ok).served; got != "a" {
		t.Fatalf("first request served by %s, want a", got)
	}
	// Another session is bound to "b" by hand; stickiness beats weights.
	w.table.Bind("team:s2", "b")
	if got := w.walk("team:s2", twoInATier, ok).served; got != "b" {
		t.Fatalf("request bound to b served by %s, want b", got)
	}

	// "b" fails: the request fails over and the binding moves.
	res := w.walk("team:s2", twoInATier, fakes(map[string]reply{"b": {status: 500}}))
	if diff := cmp.Diff([]string{"b", "a"}, res.attempts); diff != "" {
		t.Errorf("attempts when the bound provider fails mismatch (-want +got):\n%s", diff)
	}
	if p, _ := w.table.Get("team:s2"); p != "a" {
		t.Errorf("binding after failover = %s, want a", p)
	}

	// Once "b" has recovered, the session stays where it moved.
	clk.Advance(time.Minute)
	w.tracker.Succeed("b")
	if got := w.walk("team:s2", twoInATier, ok).served; got != "a" {
		t.Errorf("after b recovered, the moved session was served by %s, want a", got)
	}

	// An idle binding expires an hour after its last use.
	clk.Advance(time.Hour)
	if p, ok := w.table.Get("team:s2"); ok {
		t.Errorf("binding after an idle hour = %s, want expired", p)
	}
}

func TestRetryAfterCooldownAndRecovery(t *testing.T) {
	clk := &clock{}
	w := newWalker(clk)
	res := w.walk("k1", twoInATier, fakes(map[string]reply{"a": {status: 429, retryAfter: 30 * time.Second}}))
	if diff := cmp.Diff([]string{"a", "b"}, res.attempts); diff != "" {
		t.Fatalf("attempts on a 429 mismatch (-want +got):\n%s", diff)
	}

	// For 30 s, "a" is tried last.
	clk.Advance(29 * time.Second)
	if got := w.walk("k2", twoInATier, fakes(nil)).served; got != "b" {
		t.Errorf("served during a's cooldown by %s, want b", got)
	}
	order, _ := route.Order(twoInATier, route.Options{Available: w.tracker.Available})
	if last := order[len(order)-1].Provider; last != "a" {
		t.Errorf("order during a's cooldown ends with %s, want a", last)
	}

	// At 30 s "a" is half-open; the next request is its trial.
	clk.Advance(time.Second)
	if got := w.walk("k3", twoInATier, fakes(nil)).served; got != "a" {
		t.Errorf("served after the cooldown by %s, want a (the trial)", got)
	}
	if st := w.tracker.Snapshot("a"); st.State != health.Healthy {
		t.Errorf("a after a successful trial: %s, want %s", st.State, health.Healthy)
	}
}

func TestFailedTrialBacksOff(t *testing.T) {
	clk := &clock{}
	w := newWalker(clk)
	down := fakes(map[string]reply{"a": {status: 0}}) // connection refused
	w.walk("k", twoInATier, down)
	if st := w.tracker.Snapshot("a"); st.State != health.Cooling || st.CooldownLeft != 10*time.Second {
		t.Fatalf("a after a connection error: %s for %v, want %s for 10s", st.State, st.CooldownLeft, health.Cooling)
	}
	clk.Advance(10 * time.Second)
	res := w.walk("k2", twoInATier, down) // the trial fails
	if diff := cmp.Diff([]string{"a", "b"}, res.attempts); diff != "" {
		t.Errorf("attempts with a failing trial mismatch (-want +got):\n%s", diff)
	}
	if st := w.tracker.Snapshot("a"); st.CooldownLeft != 20*time.Second {
		t.Errorf("a after its trial failed: cooldown %v, want 20s", st.CooldownLeft)
	}
}

func TestBoundedAttempts(t *testing.T) {
	tests := []struct {
		name    string
		replies map[string]reply
		want    []string
		status  int
	}{
		{
			name:    "every provider fails once",
			replies: map[string]reply{"a": {status: 500}, "b": {status: 502}, "backup": {status: 0}},
			want:    []string{"a", "b", "backup"},
			status:  0,
		},
		{
			name:    "503 and 529 retry once then fail over",
			replies: map[string]reply{"a": {status: 503}, "b": {status: 529}, "backup": {status: 401}},
			want:    []string{"a", "a", "b", "b", "backup"},
			status:  401,
		},
		{
			name:    "other 4xx fails at once",
			replies: map[string]reply{"a": {status: 400}},
			want:    []string{"a"},
			status:  400,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWalker(&clock{})
			dup := append(slices.Clone(twoInATier), twoInATier...) // the policy named each twice
			res := w.walk("k", dup, fakes(tt.replies))
			if diff := cmp.Diff(tt.want, res.attempts); diff != "" {
				t.Errorf("attempts mismatch (-want +got):\n%s", diff)
			}
			if res.served != "" || res.status != tt.status {
				t.Errorf("walk() = served by %q with %d, want no one with %d", res.served, res.status, tt.status)
			}
		})
	}
}

// TestConcurrentWalk runs many requests at once over one Tracker and one
// Table, with random failures, under the race detector.
func TestConcurrentWalk(t *testing.T) {
	clk := &clock{}
	w := newWalker(clk)
	var rmu sync.Mutex
	rng := rand.New(rand.NewPCG(9, 9))
	w.intn = func(n int) int { // shared by all goroutines, as in the gateway
		rmu.Lock()
		defer rmu.Unlock()
		return rng.IntN(n)
	}
	cands := []route.Candidate{
		{Provider: "a", Priority: 1, Weight: 60}, {Provider: "b", Priority: 1, Weight: 40},
		{Provider: "c", Priority: 2, Weight: 1}, {Provider: "d", Priority: 3, Weight: 1},
	}
	statuses := []int{200, 200, 200, 200, 200, 200, 429, 500, 503, 0}

	const workers, requests = 32, 200
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			local := rand.New(rand.NewPCG(uint64(g), 1))
			upstream := func(string) reply {
				return reply{status: statuses[local.IntN(len(statuses))], retryAfter: time.Second}
			}
			for i := range requests {
				key := fmt.Sprintf("key%d", (g*requests+i)%50)
				res := w.walk(key, cands, upstream)
				if err := checkAttempts(res); err != nil {
					t.Error(err)
					return
				}
				if i%20 == 0 {
					clk.Advance(time.Second)
					w.tracker.All()
					w.table.CountByProvider()
				}
			}
		})
	}
	wg.Wait()

	for _, st := range w.tracker.All() {
		if st.InFlight != 0 {
			t.Errorf("%s: InFlight after every request ended = %d, want 0", st.Name, st.InFlight)
		}
	}
	for p := range w.table.CountByProvider() {
		if !slices.ContainsFunc(cands, func(c route.Candidate) bool { return c.Provider == p }) {
			t.Errorf("a session is bound to %q, not a candidate", p)
		}
	}
}

// checkAttempts reports a request that tried a provider twice (beyond the
// one 503 retry) or more than four providers.
func checkAttempts(res result) error {
	var distinct []string
	for i, p := range res.attempts {
		if i > 0 && res.attempts[i-1] == p {
			continue // the retry of a 503
		}
		if slices.Contains(distinct, p) {
			return fmt.Errorf("attempts %v: %s tried twice", res.attempts, p)
		}
		distinct = append(distinct, p)
	}
	if len(distinct) > 4 || len(res.attempts) > 8 {
		return fmt.Errorf("attempts %v: more than one per candidate", res.attempts)
	}
	if res.served != "" && res.attempts[len(res.attempts)-1] != res.served {
		return fmt.Errorf("attempts %v: served by %s, not the last attempt", res.attempts, res.served)
	}
	return nil
}
