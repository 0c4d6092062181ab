package limits

import (
	"container/heap"
	"context"
	"sort"
	"time"
)

// Backtest is Replay one request at a time, for a caller that has to
// decide each request between two of them: `llmgw replay` re-routes every
// logged request with a candidate policy whose route() reads ctx.usage, so
// the counters must stand as they would have at that request's time, and
// the cost a request adds is the one the candidate's routing projects.
// Fed the same events in time order, Step refuses exactly what Replay
// refuses.
//
// An event with an End stays in flight until then, as the logged request
// did: it holds a slot of every concurrency bound it counts in, and its
// real tokens and cost replace its estimate when it ends, as the gateway
// settles a request when it finishes. An event without one is settled at
// once and takes no slot.
type Backtest struct {
	defs    []Def
	m       *Memory
	charges []Charge
	open    inFlight
}

// NewBacktest returns a Backtest of defs with empty counters, usd periods
// in loc (nil: UTC).
func NewBacktest(defs []Def, loc *time.Location) *Backtest {
	return &Backtest{defs: defs, m: NewMemory(loc)}
}

// Usage is the usage of counter c at now, as ctx.usage reads it.
func (b *Backtest) Usage(now time.Time, c Charge) Usage {
	b.advance(now)
	u, _ := b.m.Usage(context.Background(), now, c)
	return u
}

// Step sends ev through the limits, as the gateway would have: the
// refusals it met (the enforced one, or the shadow ones it went over) and
// whether it was admitted. An admitted request is settled with its real
// tokens and cost when it ends (at once when ev has no End). Events must
// come in time order.
func (b *Backtest) Step(ev *Event) (refusals []Replayed, admitted bool) {
	b.advance(ev.Time)
	b.charges = Charges(b.charges[:0], b.defs, &ev.Subject)
	if len(b.charges) == 0 {
		return nil, true
	}
	if !ev.End.After(ev.Time) {
		// How long it would have run is unknown: it takes no slot.
		for j := range b.charges {
			b.charges[j].Bounds.Concurrency = 0
		}
	}
	v, _ := b.m.Admit(context.Background(), ev.Time, b.charges, ev.EstimatedTokens)
	if v.Refusal != nil {
		return []Replayed{{Time: ev.Time, Key: ev.Subject.Key, Refusal: *v.Refusal}}, false
	}
	for _, r := range v.WouldRefuse {
		refusals = append(refusals, Replayed{Time: ev.Time, Key: ev.Subject.Key, Refusal: r})
	}
	b.settle(ev, v.Ticket)
	return refusals, true
}

// settle settles t, ev's admission, when ev ends.
func (b *Backtest) settle(ev *Event, t Ticket) {
	if ev.End.After(ev.Time) {
		heap.Push(&b.open, ending{end: ev.End, ticket: t, tokens: ev.Tokens, usd: ev.USDMicros})
		return
	}
	_ = b.m.Settle(context.Background(), ev.Time, t, ev.Tokens, ev.USDMicros)
}

// advance settles the requests in flight that ended by now, in the order
// they ended.
func (b *Backtest) advance(now time.Time) {
	for len(b.open) > 0 && !b.open[0].end.After(now) {
		e := heap.Pop(&b.open).(ending)
		_ = b.m.Settle(context.Background(), e.end, e.ticket, e.tokens, e.usd)
	}
}

// ending is an admitted request in flight: its ticket, and what settles it
// when it ends.
type ending struct {
	end         time.Time
	ticket      Ticket
	tokens, usd int64
}

// inFlight is a heap of requests in flight, the first to end on top.
type inFlight []ending

func (h inFlight) Len() int           { return len(h) }
func (h inFlight) Less(i, j int) bool { return h[i].end.Before(h[j].end) }
func (h inFlight) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *inFlight) Push(x any)        { *h = append(*h, x.(ending)) }
func (h *inFlight) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// RefusalRun is the replayed refusals of one limit for one client key:
// when they started and stopped and how many there were, what an operator
// reads to see who a limit would have stopped, and when.
type RefusalRun struct {
	Limit  string `json:"limit"`
	Key    string `json:"key"`
	Shadow bool   `json:"shadow,omitempty"`
	// Bounds are the bounds that refused, sorted (a daily budget and an
	// rpm of the same limit may both have).
	Bounds []string  `json:"bounds"`
	First  time.Time `json:"first"`
	Last   time.Time `json:"last"`
	Count  int       `json:"count"`
}

// Runs groups replayed refusals by limit and key, sorted by limit, then
// by first refusal, then by key.
func Runs(rs []Replayed) []RefusalRun {
	type gk struct{ limit, key string }
	idx := map[gk]int{}
	var out []RefusalRun
	for _, r := range rs {
		k := gk{r.Refusal.Limit, r.Key}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, RefusalRun{Limit: k.limit, Key: k.key, Shadow: r.Refusal.Shadow, First: r.Time, Last: r.Time})
		}
		g := &out[i]
		g.Count++
		if r.Time.Before(g.First) {
			g.First = r.Time
		}
		if r.Time.After(g.Last) {
			g.Last = r.Time
		}
		found := false
		for _, b := range g.Bounds {
			found = found || b == r.Refusal.Bound
		}
		if !found {
			g.Bounds = append(g.Bounds, r.Refusal.Bound)
			sort.Strings(g.Bounds)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		if a.Limit != b.Limit {
			return a.Limit < b.Limit
		}
		if !a.First.Equal(b.First) {
			return a.First.Before(b.First)
		}
		return a.Key < b.Key
	})
	return out
}

// Add counts ev whatever the bounds say, as the gateway's own counters
// counted a request it served: the usage a logged policy version's
// route() read when it decided. An event with an End is in flight until
// then, as in Step.
func (b *Backtest) Add(ev *Event) {
	b.advance(ev.Time)
	b.charges = Charges(b.charges[:0], b.defs, &ev.Subject)
	if len(b.charges) == 0 {
		return
	}
	if !ev.End.After(ev.Time) {
		b.m.Add(ev.Time, b.charges, ev.Tokens, ev.USDMicros)
		return
	}
	for j := range b.charges {
		// Counted, never refused: the bounds stay out of the admission
		// (a usd period stays, to count the cost in).
		b.charges[j].Bounds = Bounds{Per: b.charges[j].Bounds.Per}
		b.charges[j].Shadow = false
	}
	v, _ := b.m.Admit(context.Background(), ev.Time, b.charges, ev.EstimatedTokens)
	b.settle(ev, v.Ticket)
}
