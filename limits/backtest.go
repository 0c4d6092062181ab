package limits

import (
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
type Backtest struct {
	defs    []Def
	m       *Memory
	charges []Charge
}

// NewBacktest returns a Backtest of defs with empty counters, usd periods
// in loc (nil: UTC).
func NewBacktest(defs []Def, loc *time.Location) *Backtest {
	return &Backtest{defs: defs, m: NewMemory(loc)}
}

// Usage is the usage of counter c at now, as ctx.usage reads it.
func (b *Backtest) Usage(now time.Time, c Charge) Usage {
	u, _ := b.m.Usage(context.Background(), now, c)
	return u
}

// Step sends ev through the limits, as the gateway would have: the
// refusals it met (the enforced one, or the shadow ones it went over) and
// whether it was admitted. An admitted request is settled at once with its
// real tokens and cost; concurrency is not back-tested (see Replay).
// Events must come in time order.
func (b *Backtest) Step(ev *Event) (refusals []Replayed, admitted bool) {
	b.charges = Charges(b.charges[:0], b.defs, &ev.Subject)
	if len(b.charges) == 0 {
		return nil, true
	}
	for j := range b.charges {
		b.charges[j].Bounds.Concurrency = 0
	}
	ctx := context.Background()
	v, _ := b.m.Admit(ctx, ev.Time, b.charges, ev.EstimatedTokens)
	if v.Refusal != nil {
		return []Replayed{{Time: ev.Time, Key: ev.Subject.Key, Refusal: *v.Refusal}}, false
	}
	for _, r := range v.WouldRefuse {
		refusals = append(refusals, Replayed{Time: ev.Time, Key: ev.Subject.Key, Refusal: r})
	}
	_ = b.m.Settle(ctx, ev.Time, v.Ticket, ev.Tokens, ev.USDMicros)
	return refusals, true
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
// route() read when it decided.
func (b *Backtest) Add(ev *Event) {
	b.charges = Charges(b.charges[:0], b.defs, &ev.Subject)
	if len(b.charges) > 0 {
		b.m.Add(ev.Time, b.charges, ev.Tokens, ev.USDMicros)
	}
}
