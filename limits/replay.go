package limits

import (
	"context"
	"sort"
	"time"
)

// Event is one logged request, as Replay and the start-up rebuild read it.
type Event struct {
	Time    time.Time
	Subject Subject
	// EstimatedTokens is what the gateway estimated before the request
	// (its input); Tokens the real usage, input and output; USDMicros its
	// cost.
	EstimatedTokens int64
	Tokens          int64
	USDMicros       int64
}

// Replayed is a request Replay found over a limit.
type Replayed struct {
	Time    time.Time `json:"time"`
	Key     string    `json:"key"`
	Refusal Refusal   `json:"refusal"`
}

// Replay back-tests defs on logged traffic: events, in time order, go
// through a fresh Memory (usd periods in loc) as the gateway would send
// them, every limit enforced as written (a shadow one reports what it
// would refuse). A request an enforced limit refuses is not counted; one
// admitted is settled at once with its real tokens and cost. Concurrency
// bounds are not back-tested (the log holds no overlap worth trusting):
// each request is settled before the next. It returns the refusals in time
// order, shadow ones included (Refusal.Shadow). Replay is pure: the same
// inputs give the same result.
func Replay(defs []Def, loc *time.Location, events []Event) []Replayed {
	m := NewMemory(loc)
	events = append([]Event(nil), events...)
	sort.SliceStable(events, func(i, j int) bool { return events[i].Time.Before(events[j].Time) })
	var out []Replayed
	var charges []Charge
	ctx := context.Background()
	for i := range events {
		ev := &events[i]
		charges = Charges(charges[:0], defs, &ev.Subject)
		for j := range charges {
			charges[j].Bounds.Concurrency = 0
		}
		if len(charges) == 0 {
			continue
		}
		v, _ := m.Admit(ctx, ev.Time, charges, ev.EstimatedTokens)
		if v.Refusal != nil {
			out = append(out, Replayed{Time: ev.Time, Key: ev.Subject.Key, Refusal: *v.Refusal})
			continue
		}
		for _, r := range v.WouldRefuse {
			out = append(out, Replayed{Time: ev.Time, Key: ev.Subject.Key, Refusal: r})
		}
		_ = m.Settle(ctx, ev.Time, v.Ticket, ev.Tokens, ev.USDMicros)
	}
	return out
}

// Counts sums replayed refusals by limit name.
func Counts(rs []Replayed) map[string]int {
	out := make(map[string]int)
	for _, r := range rs {
		out[r.Refusal.Limit]++
	}
	return out
}
