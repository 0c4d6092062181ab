package limits

import (
	"context"
	"sync"
	"time"
)

// buckets is the number of one-second buckets of the sliding window.
const buckets = int64(Window / time.Second)

// Counters per session or user come and go: an idle one (nothing in the
// window, nothing in flight, no spend this period) is forgotten so that
// memory follows the active counters. Every sweepEvery admissions a sweep
// looks at sweepBatch counters, from a place Go's map iteration picks at
// random, so that a table of any size is swept a little at a time and
// never holds the mutex, which every request takes, for long.
const (
	sweepEvery = 1024
	sweepBatch = 1024
)

// DefaultMaxCounters bounds the counters a Memory holds, about 50 MB at
// their usual 200 bytes: the values of a limit split per session, user or
// metadata come from clients, and a client that sends a new one with each
// request must not grow the gateway without end. A new counter past the
// bound takes the place of the least recently used idle one among
// evictSample (the forgotten one's count starts again from zero, as a
// new value's would), as nginx's and Kong's local rate limiters do.
const DefaultMaxCounters = 1 << 18

// evictSample is how many counters a new one past the bound looks at to
// pick the one it replaces.
const evictSample = 16

// Memory is the in-process Store: one map of counters under one mutex,
// which makes every call atomic over all its charges. A check touches
// each charge's counter once (a map lookup and a window advance of at most
// 60 buckets), so its cost does not grow with the number of counters.
type Memory struct {
	loc *time.Location

	mu       sync.Mutex
	counters map[counterKey]*counter
	admits   int
	max      int   // DefaultMaxCounters, or a test's bound
	evicted  int64 // counters replaced past max
}

type counterKey struct{ limit, each string }

type counter struct {
	// win holds the seconds of the window that saw requests, oldest
	// first: a counter per session or user that sees a request a minute
	// holds one bucket, not sixty (memory follows traffic, not counters).
	win      []bucket
	head     int64 // the latest second the window advanced to
	last     int64 // the latest second a request was counted in it
	pinned   bool  // Charge.Pinned: never evicted
	reqs     int64 // totals of the live buckets
	toks     int64
	inFlight int64
	// usd is the spend of the period [periodStart, periodEnd) (Unix
	// seconds), per of per.
	usd                    int64
	per                    Period
	periodStart, periodEnd int64
}

type bucket struct {
	sec        int64
	reqs, toks int64
}

// NewMemory returns an empty Memory whose usd periods are calendar days
// and months in loc (nil: UTC).
func NewMemory(loc *time.Location) *Memory {
	if loc == nil {
		loc = time.UTC
	}
	return &Memory{loc: loc, counters: make(map[counterKey]*counter), max: DefaultMaxCounters}
}

// Replace makes from's counters m's, keeping the requests m has in
// flight (a rebuilt copy knows of none): a replica that falls back to its
// own counters swaps in counters rebuilt from the request log, while
// requests admitted on the old ones go on and settle on the new. from is
// not to be used after.
func (m *Memory) Replace(from *Memory) {
	from.mu.Lock()
	counters := from.counters
	from.counters = make(map[counterKey]*counter)
	from.mu.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, c := range m.counters {
		if c.inFlight == 0 {
			continue
		}
		n := counters[k]
		if n == nil {
			n = &counter{head: c.head, last: c.last, pinned: c.pinned, per: c.per, periodStart: c.periodStart, periodEnd: c.periodEnd}
			counters[k] = n
		}
		n.inFlight += c.inFlight
	}
	m.counters = counters
}

// Location is the time zone of the usd periods.
func (m *Memory) Location() *time.Location { return m.loc }

// get returns c's counter, created when missing, advanced to now.
func (m *Memory) get(c *Charge, now time.Time) *counter {
	k := counterKey{c.Limit, c.Each}
	ctr := m.counters[k]
	if ctr == nil {
		if len(m.counters) >= m.max {
			m.evict()
		}
		ctr = &counter{head: now.Unix(), last: now.Unix(), pinned: c.Pinned}
		m.counters[k] = ctr
	}
	ctr.advance(now.Unix())
	if c.Bounds.Per != "" {
		ctr.period(c.Bounds.Per, now, m.loc)
	}
	return ctr
}

// advance moves the window to second sec, dropping the buckets that left
// it. A clock that goes back does not move it.
func (c *counter) advance(sec int64) {
	if sec <= c.head {
		return
	}
	c.head = sec
	i := 0
	for i < len(c.win) && c.win[i].sec <= sec-buckets {
		c.reqs -= c.win[i].reqs
		c.toks -= c.win[i].toks
		i++
	}
	switch {
	case i == len(c.win):
		c.win = nil // an idle counter holds no window
	case i > 0:
		c.win = c.win[:copy(c.win, c.win[i:])]
	}
}

// at returns the bucket of second sec, created when missing, nil when sec
// is outside the window. The pointer is valid until the next call.
func (c *counter) at(sec int64) *bucket {
	if sec <= c.head-buckets || sec > c.head {
		return nil
	}
	i := len(c.win)
	for i > 0 && c.win[i-1].sec > sec {
		i--
	}
	if i > 0 && c.win[i-1].sec == sec {
		return &c.win[i-1]
	}
	c.win = append(c.win, bucket{})
	copy(c.win[i+1:], c.win[i:])
	c.win[i] = bucket{sec: sec}
	return &c.win[i]
}

// period moves the usd spend to the period of per containing now.
func (c *counter) period(per Period, now time.Time, loc *time.Location) {
	sec := now.Unix()
	if per == c.per && sec >= c.periodStart && sec < c.periodEnd {
		return
	}
	start, next := PeriodStart(per, now, loc)
	if per != c.per || start.Unix() != c.periodStart {
		c.usd = 0
	}
	c.per, c.periodStart, c.periodEnd = per, start.Unix(), next.Unix()
}

// over returns the bound of b that a request with tokens estimated
// tokens would pass, and when it would not, or "".
func (c *counter) over(b *Bounds, tokens int64, now time.Time) (string, time.Duration) {
	bound := b.Over(Usage{Requests: c.reqs, Tokens: c.toks, USDMicros: c.usd, InFlight: c.inFlight}, tokens)
	switch bound {
	case BoundRPM:
		return bound, c.expiry(now, c.reqs+1-b.RPM, func(b *bucket) int64 { return b.reqs })
	case BoundTPM:
		need := c.toks + tokens - b.TPM
		if need > c.toks {
			need = c.toks // the request alone is larger: when the window is empty
		}
		return bound, c.expiry(now, need, func(b *bucket) int64 { return b.toks })
	case BoundUSD:
		return bound, time.Unix(c.periodEnd, 0).Sub(now)
	case BoundConcurrency:
		return bound, time.Second
	}
	return "", 0
}

// expiry is how long until need units of the window (as of now, oldest
// first) leave it.
func (c *counter) expiry(now time.Time, need int64, units func(*bucket) int64) time.Duration {
	var got int64
	for i := range c.win {
		b := &c.win[i]
		if got += units(b); got >= need {
			if d := time.Unix(b.sec+buckets, 0).Sub(now); d > 0 {
				return d
			}
			return time.Second
		}
	}
	return Window
}

// Admit implements Store.
func (m *Memory) Admit(_ context.Context, now time.Time, charges []Charge, tokens int64) (Verdict, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var v Verdict
	if len(charges) == 0 {
		return v, nil
	}
	var buf [8]*counter // a request touches few counters: no allocation
	ctrs := buf[:0]
	for i := range charges {
		c := &charges[i]
		ctrs = append(ctrs, m.get(c, now))
		if c.Shadow {
			continue
		}
		if bound, retry := ctrs[i].over(&c.Bounds, tokens, now); bound != "" {
			v.Refusal = &Refusal{Limit: c.Limit, Each: c.Each, Bound: bound, RetryAfter: retry}
			return v, nil
		}
	}
	v.Ticket = Ticket{At: now, Tokens: tokens, Charges: make([]Charge, 0, len(charges))}
	sec := now.Unix()
	for i := range charges {
		c := &charges[i]
		ctr := ctrs[i]
		if c.Shadow {
			if bound, retry := ctr.over(&c.Bounds, tokens, now); bound != "" {
				v.WouldRefuse = append(v.WouldRefuse, Refusal{Limit: c.Limit, Each: c.Each, Bound: bound, Shadow: true, RetryAfter: retry})
				continue
			}
		}
		b := ctr.at(sec)
		b.reqs++
		b.toks += tokens
		ctr.reqs++
		ctr.toks += tokens
		ctr.inFlight++
		ctr.last = max(ctr.last, sec)
		v.Ticket.Charges = append(v.Ticket.Charges, *c)
	}
	if m.admits++; m.admits >= sweepEvery {
		m.admits = 0
		m.sweep(now, sweepBatch)
	}
	return v, nil
}

// Settle implements Store.
func (m *Memory) Settle(_ context.Context, now time.Time, t Ticket, tokens, usdMicros int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range t.Charges {
		c := &t.Charges[i]
		ctr := m.get(c, now)
		if b := ctr.at(t.At.Unix()); b != nil {
			d := min(t.Tokens, b.toks)
			b.toks -= d
			ctr.toks -= d
		}
		if tokens > 0 {
			if b := ctr.at(now.Unix()); b != nil {
				b.toks += tokens
				ctr.toks += tokens
			}
		}
		if c.Bounds.Per != "" {
			ctr.usd += usdMicros
		}
		if ctr.inFlight > 0 {
			ctr.inFlight--
		}
	}
	return nil
}

// Usage implements Store.
func (m *Memory) Usage(_ context.Context, now time.Time, c Charge) (Usage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ctr := m.counters[counterKey{c.Limit, c.Each}]
	if ctr == nil {
		return Usage{}, nil
	}
	ctr.advance(now.Unix())
	u := Usage{Requests: ctr.reqs, Tokens: ctr.toks, InFlight: ctr.inFlight}
	if c.Bounds.Per != "" {
		ctr.period(c.Bounds.Per, now, m.loc)
		u.USDMicros = ctr.usd
	}
	return u, nil
}

// Add counts a finished request in charges as if it had been admitted at
// at and settled at once with tokens and usdMicros, whatever the bounds
// say: what the gateway does at start to rebuild the counters from the
// request log, and Replay for each request it lets through.
func (m *Memory) Add(at time.Time, charges []Charge, tokens, usdMicros int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sec := at.Unix()
	for i := range charges {
		c := &charges[i]
		ctr := m.get(c, at)
		if b := ctr.at(sec); b != nil {
			b.reqs++
			b.toks += tokens
			ctr.reqs++
			ctr.toks += tokens
		}
		if c.Bounds.Per != "" {
			ctr.usd += usdMicros
		}
		ctr.last = max(ctr.last, sec)
	}
}

// Peaks returns, for each limit with a counter, the highest share of the
// bounds given for it (by limit name) among its counters at now: the use
// of the limit that /metrics exports.
func (m *Memory) Peaks(now time.Time, bounds map[string]Bounds) map[string]float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]float64, len(bounds))
	for k, ctr := range m.counters {
		b, ok := bounds[k.limit]
		if !ok {
			continue
		}
		s := b.Share(m.usageAt(ctr, b, now))
		if prev, seen := out[k.limit]; !seen || s > prev {
			out[k.limit] = s
		}
	}
	return out
}

// usageAt is ctr's usage at now: the requests and tokens of its window,
// in flight, and the usd of its current day or month when b has one. The
// caller holds m.mu.
func (m *Memory) usageAt(ctr *counter, b Bounds, now time.Time) Usage {
	ctr.advance(now.Unix())
	u := Usage{Requests: ctr.reqs, Tokens: ctr.toks, InFlight: ctr.inFlight}
	if b.Per != "" {
		ctr.period(b.Per, now, m.loc)
		u.USDMicros = ctr.usd
	}
	return u
}

// sweep forgets the idle counters among n of them.
func (m *Memory) sweep(now time.Time, n int) {
	sec := now.Unix()
	for k, ctr := range m.counters {
		if n--; n < 0 {
			return
		}
		ctr.advance(sec)
		if ctr.reqs == 0 && ctr.toks == 0 && ctr.inFlight == 0 && (ctr.usd == 0 || sec >= ctr.periodEnd) {
			delete(m.counters, k)
		}
	}
}

// evict makes room for a new counter in a full table: it forgets the
// least recently used of evictSample counters that are not pinned (a
// limit's own counter and those per client key are never forgotten: a
// budget must not start again because some client sent many sessions)
// and have no request in flight; an idle one, when the sample has one,
// since its last request is the oldest. A table whose sample has none
// grows past its bound rather than refuse.
func (m *Memory) evict() {
	var oldest *counterKey
	var at int64
	n := evictSample
	for k, ctr := range m.counters {
		if n--; n < 0 {
			break
		}
		if !ctr.pinned && ctr.inFlight == 0 && (oldest == nil || ctr.last < at) {
			oldest, at = &k, ctr.last
		}
	}
	if oldest != nil {
		delete(m.counters, *oldest)
		m.evicted++
	}
}

// Len is the number of counters held.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.counters)
}

// Table is the number of counters held, the bound on it
// (DefaultMaxCounters) and how many counters were forgotten, not idle, to
// keep within it: what llmgw_limit_counters and
// llmgw_limit_counters_evicted_total export, and GET /api/limits shows.
func (m *Memory) Table() (held, bound int, evicted int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.counters), m.max, m.evicted
}
