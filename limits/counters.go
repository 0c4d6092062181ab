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
		out[k.limit] = append(out[k.limit], CounterUsage{Each: k.each, Usage: u, Share: b.Share(u)})
	}
	m.mu.Unlock()
	Busiest(out, top)
	return out
}

// Busiest orders each limit's counters busiest first (highest share, then
// by each value) and keeps at most top of them (0: all): the listing every
// Store's Counters gives.
func Busiest(out map[string][]CounterUsage, top int) {
	for name, cs := range out {
		sort.Slice(cs, func(i, j int) bool {
			if cs[i].Share != cs[j].Share {
				return cs[i].Share > cs[j].Share
			}
			return cs[i].Each < cs[j].Each
		})
		if top > 0 && len(cs) > top {
			out[name] = cs[:top:top]
		}
	}
}
