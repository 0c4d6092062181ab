package limits

import (
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
	// End is when the request ended (its time plus its latency): until
	// then it holds a slot of the concurrency bounds it counts in. Zero
	// (or not after Time) when unknown: it is settled at once and takes
	// no slot.
	End time.Time
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
// admitted stays in flight until its End, holding a slot of the
// concurrency bounds it counts in, and is then settled with its real
// tokens and cost (an event without an End is settled at once). A
// request a limit's wait would have queued is refused here: how long it
// would have waited is not back-tested. It returns the refusals in time
// order, shadow ones included (Refusal.Shadow). Replay is pure: the same
// inputs give the same result.
func Replay(defs []Def, loc *time.Location, events []Event) []Replayed {
	events = append([]Event(nil), events...)
	sort.SliceStable(events, func(i, j int) bool { return events[i].Time.Before(events[j].Time) })
	bt := NewBacktest(defs, loc)
	var out []Replayed
	for i := range events {
		rs, _ := bt.Step(&events[i])
		out = append(out, rs...)
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
