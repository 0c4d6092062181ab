package sharedstate

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmgw/llmgw/limits"
	"github.com/llmgw/llmgw/sticky"
)

// BenchmarkSticky is a sticky request's path on Redis: Get (one round
// trip), then Touch (queued). Compare BenchmarkStickyLocal.
func BenchmarkSticky(b *testing.B) {
	url, prefix := sharedRedis(b)
	s := start(b, Config{URL: url, Prefix: prefix, ReplicaID: "bench", Timeout: time.Second}, true)
	st := s.Sticky(sticky.New(sticky.Config{}))
	for i := range 1000 {
		st.Bind("key:session-"+strconv.Itoa(i), "openai")
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			k := "key:session-" + strconv.Itoa(i%1000)
			if _, ok := st.Get(k); !ok {
				b.Error("binding lost")
				return
			}
			st.Touch(k)
			i++
		}
	})
	if !s.Shared() {
		b.Fatalf("fell back during the benchmark: %+v", s.Status())
	}
}

// BenchmarkStickyLocal is the same path on the in-process table alone.
func BenchmarkStickyLocal(b *testing.B) {
	st := sticky.New(sticky.Config{})
	for i := range 1000 {
		st.Bind("key:session-"+strconv.Itoa(i), "openai")
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			k := "key:session-" + strconv.Itoa(i%1000)
			st.Get(k)
			st.Touch(k)
			i++
		}
	})
}

// BenchmarkLimits is a limited request's path on Redis: Admit against two
// counters (an rpm per key and a daily usd budget), then Settle.
func BenchmarkLimits(b *testing.B) {
	charges := []limits.Charge{
		{Limit: "per-key", Each: "team-a", Bounds: limits.Bounds{RPM: 1 << 40}},
		{Limit: "budget", Bounds: limits.Bounds{USDMicros: 1 << 50, Per: limits.PerDay}},
	}
	benchAdmitSettle(b, func() []limits.Charge { return charges })
}

// BenchmarkLimitsSessions is Admit and Settle against one per-session rpm
// counter, over 1000 sessions in turn: counters that each see a request
// now and then, as a per-session or per-user limit's do, rather than one
// hot counter.
func BenchmarkLimitsSessions(b *testing.B) {
	var next atomic.Int64
	benchAdmitSettle(b, func() []limits.Charge {
		each := "session-" + strconv.FormatInt(next.Add(1)%1000, 10)
		return []limits.Charge{{Limit: "per-session", Each: each, Bounds: limits.Bounds{RPM: 1 << 40}}}
	})
}

// benchAdmitSettle admits and settles, in parallel, the requests whose
// charges next gives, on a replica joined to the machine's Redis.
func benchAdmitSettle(b *testing.B, next func() []limits.Charge) {
	url, prefix := sharedRedis(b)
	s := start(b, Config{URL: url, Prefix: prefix, ReplicaID: "bench", Timeout: time.Second}, true)
	l := s.Limits(limits.NewMemory(nil))
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			now := time.Now()
			v, err := l.Admit(ctx, now, next(), 100)
			if err != nil || v.Refusal != nil {
				b.Errorf("Admit = %+v, %v", v, err)
				return
			}
			l.Settle(ctx, now, v.Ticket, 120, 30)
		}
	})
	if !s.Shared() {
		b.Fatalf("fell back during the benchmark: %+v", s.Status())
	}
}
