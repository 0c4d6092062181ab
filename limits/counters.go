package limits

import (
	"sort"
	"time"
)

// CounterUsage is one counter's usage and share at some time, as the
// admin API and the dashboard list a limit's counters.
type CounterUsage struct {
	// Each is the counter's each value ("" for a shared limit's one).
	Each string `json:"each"`
	Usage
	Share float64 `json:"share"`
}

// Counters returns, for each limit named in bounds that has counters, its
// busiest counters at now: at most top of them (0: all), highest share
// first, then by each value. A limit split per session or user may hold
// thousands of counters; an operator wants the ones near their bound.
//
// With top > 0 only the top busiest of each limit are kept while the
// counters are read, so that a table of a few hundred thousand counters
// costs no more memory than top of them.
func (m *Memory) Counters(now time.Time, bounds map[string]Bounds, top int) map[string][]CounterUsage {
	m.mu.Lock()
	out := make(map[string][]CounterUsage, len(bounds))
	for k, ctr := range m.counters {
		b, ok := bounds[k.limit]
		if !ok {
			continue
		}
		u := m.usageAt(ctr, b, now)
		if u == (Usage{}) {
			continue
		}
		out[k.limit] = keepBusiest(out[k.limit], CounterUsage{Each: k.each, Usage: u, Share: b.Share(u)}, top)
	}
	m.mu.Unlock()
	Busiest(out, top)
	return out
}

// busier reports whether a comes before b in Busiest's order: a higher
// share, then a lower each value.
func busier(a, b *CounterUsage) bool {
	if a.Share != b.Share {
		return a.Share > b.Share
	}
	return a.Each < b.Each
}

// keepBusiest adds c to cs, which holds at most top counters (0: no
// bound): past top, c takes the place of the least busy when it is
// busier.
func keepBusiest(cs []CounterUsage, c CounterUsage, top int) []CounterUsage {
	if top <= 0 || len(cs) < top {
		return append(cs, c)
	}
	least := 0
	for i := 1; i < len(cs); i++ {
		if busier(&cs[least], &cs[i]) {
			least = i
		}
	}
	if busier(&c, &cs[least]) {
		cs[least] = c
	}
	return cs
}

// Busiest orders each limit's counters busiest first (highest share, then
// by each value) and keeps at most top of them (0: all): the listing every
// Store's Counters gives.
func Busiest(out map[string][]CounterUsage, top int) {
	for name, cs := range out {
		sort.Slice(cs, func(i, j int) bool { return busier(&cs[i], &cs[j]) })
		if top > 0 && len(cs) > top {
			out[name] = cs[:top:top]
		}
	}
}
