package sharedstate

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/llmgw/llmgw/limits"
)

// admitCalls counts the admit script's runs on a client: the round trips
// a request waits for.
type admitCalls struct{ n atomic.Int64 }

func (h *admitCalls) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *admitCalls) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		a := cmd.Args()
		if len(a) > 1 {
			src, _ := a[1].(string)
			if src == admitScript.Hash() || strings.Contains(src, "local function over(") {
				h.n.Add(1)
			}
		}
		return next(ctx, cmd)
	}
}

func (h *admitCalls) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// refilling reports whether a grant for counter key is in flight.
func (a *allowances) refilling(key string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	e := a.m[key]
	return e != nil && e.refilling
}

// anyRefilling reports whether any grant is in flight.
func (a *allowances) anyRefilling() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, e := range a.m {
		if e.refilling {
			return true
		}
	}
	return false
}

var errTestOutage = errors.New("test: Redis declared unreachable")

// TestAllowancesSpareRoundTrips admits a busy counter's requests one after
// another: after the first two, nearly all are admitted in process, and
// once they are settled and the unused allowance handed back, Redis counts
// exactly the requests made, in the seconds they were admitted, with their
// real tokens.
func TestAllowancesSpareRoundTrips(t *testing.T) {
	url, prefix := sharedRedis(t)
	s := start(t, Config{URL: url, Prefix: prefix, ReplicaID: "a"}, true)
	calls := &admitCalls{}
	s.rdb.AddHook(calls)
	l := s.Limits(limits.NewMemory(time.UTC))
	ctx := context.Background()
	c := limits.Charge{Limit: "busy", Each: "session-1", Bounds: limits.Bounds{RPM: 1 << 30, TPM: 1 << 40}}
	now := time.Now()
	const n = 300
	var tickets []limits.Ticket
	for i := range n {
		v, err := l.Admit(ctx, now, []limits.Charge{c}, 50)
		if err != nil || v.Refusal != nil {
			t.Fatalf("Admit #%d = %s, %v", i, show(v), err)
		}
		tickets = append(tickets, v.Ticket)
		if i%10 == 9 {
			now = now.Add(100 * time.Millisecond) // ten requests a second
		}
		// Let a background refill land, as the time between requests
		// would: the test is about counts, not races.
		eventually(t, 2*time.Second, "refills done", func() bool { return !l.allow.refilling(l.counterKey(&c)) })
	}
	if got := calls.n.Load(); got > n/10 {
		t.Errorf("%d of %d admissions ran the admit script, want at most %d", got, n, n/10)
	}
	if got := s.Status().AllowanceAdmits; got < n-n/10 {
		t.Errorf("AllowanceAdmits = %d, want at least %d", got, n-n/10)
	}
	for _, tk := range tickets {
		if err := l.Settle(ctx, now, tk, 70, 0); err != nil {
			t.Fatal(err)
		}
	}
	l.allow.sweepNow(now.Add(DefaultAllowance))
	settled(t, s)
	u, err := l.Usage(ctx, now, c)
	if err != nil {
		t.Fatal(err)
	}
	if want := (limits.Usage{Requests: n, Tokens: n * 70}); u != want {
		t.Errorf("after settling: usage %+v, want %+v", u, want)
	}
}

// TestAllowancesNeverOverAdmit drives one counter to its bound through
// three replicas at once: allowances never let more through than the
// bound, and once the unused ones are handed back the bound admits
// exactly.
func TestAllowancesNeverOverAdmit(t *testing.T) {
	stores := threeReplicaLimits(t)
	const bound = 2000
	charges := []limits.Charge{{Limit: "team", Bounds: limits.Bounds{RPM: bound}}}
	now := time.Now()
	var admitted atomic.Int64
	admit := func(per int) {
		var wg sync.WaitGroup
		for r := range stores {
			wg.Go(func() {
				for range per {
					v, err := stores[r].Admit(context.Background(), now, charges, 0)
					if err != nil {
						t.Error(err)
						return
					}
					if v.Refusal == nil {
						admitted.Add(1)
					}
				}
			})
		}
		wg.Wait()
	}
	admit(1000)
	if got := admitted.Load(); got > bound {
		t.Fatalf("admitted %d of 3000 against rpm = %d", got, bound)
	}
	allowed := int64(0)
	for _, st := range stores {
		allowed += st.s.Status().AllowanceAdmits
	}
	if allowed == 0 {
		t.Error("no request was admitted from an allowance: the test exercises nothing")
	}
	// Hand back what is left, and use the rest of the bound.
	for _, st := range stores {
		eventually(t, 2*time.Second, "refills done", func() bool { return !st.allow.anyRefilling() })
		st.allow.sweepNow(now.Add(DefaultAllowance))
		settled(t, st.s)
	}
	admit(1000)
	if got := admitted.Load(); got != bound {
		t.Errorf("admitted %d against rpm = %d once allowances were handed back, want exactly %d", got, bound, bound)
	}
}

// TestAllowancesNotForCostOrConcurrency: a counter with a usd or
// concurrency bound counts every request on Redis.
func TestAllowancesNotForCostOrConcurrency(t *testing.T) {
	url, prefix := sharedRedis(t)
	s := start(t, Config{URL: url, Prefix: prefix, ReplicaID: "a"}, true)
	l := s.Limits(limits.NewMemory(time.UTC))
	now := time.Now()
	for _, c := range []limits.Charge{
		{Limit: "conc", Bounds: limits.Bounds{RPM: 1 << 30, Concurrency: 1 << 20}},
		{Limit: "usd", Bounds: limits.Bounds{USDMicros: 1 << 40, Per: limits.PerDay}},
	} {
		for range 50 {
			if v, err := l.Admit(context.Background(), now, []limits.Charge{c}, 1); err != nil || v.Refusal != nil || v.Ticket.Held != nil {
				t.Fatalf("%s: Admit = %s (held %v), %v", c.Limit, show(v), v.Ticket.Held, err)
			}
		}
	}
	if got := s.Status().AllowanceAdmits; got != 0 {
		t.Errorf("AllowanceAdmits = %d, want 0", got)
	}
}

// TestAllowancesVoidedByFallback: after a fallback the replica admits on
// its own counters, not from allowances granted before it.
func TestAllowancesVoidedByFallback(t *testing.T) {
	url, prefix := sharedRedis(t)
	s := start(t, Config{URL: url, Prefix: prefix, ReplicaID: "a"}, true)
	l := s.Limits(limits.NewMemory(time.UTC))
	c := limits.Charge{Limit: "busy", Bounds: limits.Bounds{RPM: 1 << 30}}
	now := time.Now()
	for range 3 {
		if _, err := l.Admit(context.Background(), now, []limits.Charge{c}, 1); err != nil {
			t.Fatal(err)
		}
	}
	if s.Status().AllowanceAdmits == 0 {
		t.Fatal("the third admission did not come from an allowance")
	}
	s.fail(errTestOutage)
	before := s.Status().AllowanceAdmits
	v, err := l.Admit(context.Background(), now, []limits.Charge{c}, 1)
	if err != nil || v.Ticket.Held != nil {
		t.Fatalf("Admit after the fallback = %s (held %v), %v", show(v), v.Ticket.Held, err)
	}
	if got := s.Status().AllowanceAdmits; got != before {
		t.Errorf("AllowanceAdmits moved from %d to %d while fallen back", before, got)
	}
}

// TestAllowancesCountAcrossReplicas: three replicas admit one busy
// counter's requests at once, mostly from their allowances; once every
// request is settled and the unused allowances handed back, Redis counts
// exactly the requests made and their real tokens.
func TestAllowancesCountAcrossReplicas(t *testing.T) {
	stores := threeReplicaLimits(t)
	c := limits.Charge{Limit: "team", Each: "t1", Bounds: limits.Bounds{RPM: 1 << 30, TPM: 1 << 40}}
	now := time.Now()
	const per = 300
	var wg sync.WaitGroup
	for _, st := range stores {
		wg.Go(func() {
			for range per {
				v, err := st.Admit(context.Background(), now, []limits.Charge{c}, 40)
				if err != nil || v.Refusal != nil {
					t.Errorf("Admit = %s, %v", show(v), err)
					return
				}
				if err := st.Settle(context.Background(), now, v.Ticket, 25, 0); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	var allowed int64
	for _, st := range stores {
		eventually(t, 2*time.Second, "refills done", func() bool { return !st.allow.anyRefilling() })
		st.allow.sweepNow(now.Add(DefaultAllowance))
		settled(t, st.s)
		allowed += st.s.Status().AllowanceAdmits
	}
	if allowed < per {
		t.Errorf("%d of %d admissions came from allowances, want most", allowed, 3*per)
	}
	u, err := stores[0].Usage(context.Background(), now, c)
	if err != nil {
		t.Fatal(err)
	}
	if want := (limits.Usage{Requests: 3 * per, Tokens: 3 * per * 25}); u != want {
		t.Errorf("usage %+v, want %+v", u, want)
	}
}
