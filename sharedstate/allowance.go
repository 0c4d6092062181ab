package sharedstate

import (
	"fmt"
	"sync"
	"time"

	"github.com/llmgw/llmgw/limits"
)

// Allowances spare the request path Redis's round trip for counters that
// are busy and far from their bounds. When a replica admits a request
// through Redis, the admit script may also set aside a few more requests
// of the same counter for that replica (an allowance), counting them at
// once as if admitted, so that every replica sees them used. The replica
// then admits the next requests from the allowance in process, and each
// request's settlement (queued, as every settlement is) moves its count
// from the second the allowance was granted in to the second the request
// was admitted in. Before an allowance runs out, or half-way through its
// life, a background call asks for the next one; what is left when it
// expires is handed back through the write queue.
//
// Exactness at a bound is kept by what the script grants (see grant in
// luaCounter): at most a 64th of what the counter's bounds leave, nothing
// within 64 requests of an rpm bound, and nothing at all to a counter
// with a usd or concurrency bound, whose every request is counted on
// Redis. So rpm = 10 admits exactly ten across the cluster, and a busy
// rpm = 100000 counter costs a round trip every few hundred requests. The
// price is that requests set aside and not yet used count as used until
// they are used or handed back (DefaultAllowance at most): ctx.usage and
// GET /api/limits show them, and a counter driven from far below its bound
// to it within that time may refuse up to the allowances outstanding
// early. Never late: nothing is admitted that Redis did not count.
//
// An allowance belongs to a generation of the State (cacheGen): a fallback
// or a rejoin voids every one.

// DefaultAllowance is how long an allowance lasts when Config.Allowance is
// zero.
const DefaultAllowance = 10 * time.Second

const (
	// allowanceMin and allowanceMax bound the requests one allowance asks
	// for: enough for the counter's rate over an allowance's life.
	allowanceMin, allowanceMax = 4, 1024
	// maxAllowances bounds the counters a replica keeps allowances for;
	// past it new counters are counted on Redis request by request.
	maxAllowances = 65536
	// maxLeases bounds a counter's allowances at once: the current one
	// and the next, asked for before the current one runs out.
	maxLeases = 2
)

// lease is one allowance of a counter.
type lease struct {
	sec        int64 // the Unix second its requests were counted in
	reqs, toks int64 // left
	until      time.Time
}

// allowance is a counter's allowances and what sizes the next.
type allowance struct {
	leases []lease // oldest first
	gen    uint64
	// seen is when the counter was last admitted through Redis;
	// granted when its last allowance was granted, and used the requests
	// admitted from allowances since.
	seen, granted time.Time
	used          int64
	refilling     bool
}

// allowances are a replica's allowances, by counter key.
type allowances struct {
	s    *State
	l    *Limits
	life time.Duration

	mu    sync.Mutex
	m     map[string]*allowance
	swept time.Time
}

func newAllowances(l *Limits, life time.Duration) *allowances {
	return &allowances{s: l.s, l: l, life: life, m: make(map[string]*allowance)}
}

// eligible reports whether a counter with bounds b may have allowances:
// one bounding cost or concurrency is counted on Redis request by request.
func eligible(b *limits.Bounds) bool { return b.USDMicros == 0 && b.Concurrency == 0 }

// take admits a request of tokens estimated tokens with charges (whose
// counters are keys) from the replica's allowances, when every charge has
// one with room; it reports false, taking nothing, otherwise.
func (a *allowances) take(now time.Time, charges []limits.Charge, keys []string, tokens int64) (limits.Verdict, bool) {
	for i := range charges {
		if !eligible(&charges[i].Bounds) {
			return limits.Verdict{}, false
		}
	}
	gen := a.s.cacheGen.Load()
	var pick [4]int
	idx := pick[:0]
	a.mu.Lock()
	a.sweep(now)
	for i, k := range keys {
		e := a.m[k]
		if e == nil || e.gen != gen {
			a.mu.Unlock()
			return limits.Verdict{}, false
		}
		a.expire(e, k, now)
		j := e.find(tokens, charges[i].Bounds.TPM > 0)
		if j < 0 {
			a.mu.Unlock()
			return limits.Verdict{}, false
		}
		idx = append(idx, j)
	}
	held := make([]limits.Hold, len(keys))
	var refill []int
	for i, k := range keys {
		e := a.m[k]
		l := &e.leases[idx[i]]
		l.reqs--
		held[i].Sec = l.sec
		if charges[i].Bounds.TPM > 0 {
			l.toks -= tokens
			held[i].Tokens = tokens
		}
		e.used++
		if l.reqs == 0 {
			a.giveBack(k, now, *l)
			e.leases = append(e.leases[:idx[i]], e.leases[idx[i]+1:]...)
		}
		if !e.refilling && e.low(now, a.life) {
			e.refilling = true
			refill = append(refill, i)
		}
	}
	a.mu.Unlock()
	a.s.allowed.Add(1)
	if len(refill) > 0 {
		a.refill(now, charges, keys, tokens, refill, gen)
	}
	return limits.Verdict{Ticket: limits.Ticket{At: now, Tokens: tokens, Charges: append([]limits.Charge(nil), charges...), Held: held}}, true
}

// find is the index of the oldest lease with a request left (and, when
// the counter bounds tokens, tokens for this one), or -1.
func (e *allowance) find(tokens int64, bounded bool) int {
	for j := range e.leases {
		if e.leases[j].reqs > 0 && (!bounded || e.leases[j].toks >= tokens) {
			return j
		}
	}
	return -1
}

// low reports whether the counter's allowances should be topped up: less
// than half the next allowance's size left, or the newest past half its
// life.
func (e *allowance) low(now time.Time, life time.Duration) bool {
	if len(e.leases) == 0 {
		return true
	}
	if len(e.leases) >= maxLeases {
		return false
	}
	var left int64
	for _, l := range e.leases {
		left += l.reqs
	}
	return 2*left <= e.want(now, life) || e.leases[len(e.leases)-1].until.Sub(now) <= life/2
}

// want is the size of the counter's next allowance: its rate since the
// last grant over an allowance's life, within [allowanceMin,
// allowanceMax].
func (e *allowance) want(now time.Time, life time.Duration) int64 {
	w := int64(allowanceMin)
	if el := now.Sub(e.granted); el > 0 && e.used > 0 {
		w = max(w, int64(float64(e.used)*float64(life)/float64(el)))
	}
	return min(w, allowanceMax)
}

// wants are what the admit script may grant each of charges (keys) besides
// admitting the request: nothing to a counter seen for the first time (a
// counter used once would hold an allowance for nothing), to one with
// allowances to spare, or to one that may not have any.
func (a *allowances) wants(now time.Time, charges []limits.Charge, keys []string) []int64 {
	gen := a.s.cacheGen.Load()
	out := make([]int64, len(keys))
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, k := range keys {
		if !eligible(&charges[i].Bounds) {
			continue
		}
		e := a.m[k]
		if e != nil && e.gen != gen {
			a.reset(e, k, now, gen)
		}
		switch {
		case e == nil:
			if len(a.m) < maxAllowances {
				a.m[k] = &allowance{gen: gen, seen: now}
			}
		case now.Sub(e.seen) > a.life && len(e.leases) == 0:
			e.seen = now // idle since: seen for the first time again
		case !e.refilling && e.low(now, a.life):
			e.seen = now
			out[i] = e.want(now, a.life)
		default:
			e.seen = now
		}
	}
	return out
}

// put keeps what the admit or grant script granted: grants[i] is the
// {requests, tokens} of keys[i], zero when none.
func (a *allowances) put(now time.Time, keys []string, grants [][2]int64, gen uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, k := range keys {
		g := grants[i]
		e := a.m[k]
		if g[0] <= 0 {
			continue
		}
		if e == nil || gen != a.s.cacheGen.Load() {
			// Forgotten meanwhile, or voided by a fallback: hand it back.
			a.giveBack(k, now, lease{sec: now.Unix(), reqs: g[0], toks: g[1]})
			continue
		}
		if e.gen != gen {
			a.reset(e, k, now, gen)
		}
		e.leases = append(e.leases, lease{sec: now.Unix(), reqs: g[0], toks: g[1], until: now.Add(a.life)})
		for len(e.leases) > maxLeases {
			a.giveBack(k, now, e.leases[0])
			e.leases = e.leases[1:]
		}
		e.granted, e.used = now, 0
	}
}

// refill asks Redis, in the background, for the next allowances of the
// charges at idx.
func (a *allowances) refill(now time.Time, charges []limits.Charge, keys []string, tokens int64, idx []int, gen uint64) {
	ks := make([]string, 2*len(idx))
	args := make([]any, 0, 2+4*len(idx))
	args = append(args, now.Unix(), max(tokens, 1))
	a.mu.Lock()
	for n, i := range idx {
		c := &charges[i]
		ks[n] = keys[i]
		ks[len(idx)+n] = a.l.indexKey(c.Limit)
		want := int64(allowanceMin)
		if e := a.m[keys[i]]; e != nil {
			want = e.want(now, a.life)
		}
		args = append(args, c.Bounds.RPM, c.Bounds.TPM, want, c.Each)
	}
	a.mu.Unlock()
	go func() {
		grants, err := a.grant(ks, args)
		if err != nil {
			a.s.fail(err)
		}
		put := make([][2]int64, len(idx))
		if err == nil {
			copy(put, grants)
		}
		a.put(now, ks[:len(idx)], put, gen)
		a.mu.Lock()
		for _, k := range ks[:len(idx)] {
			if e := a.m[k]; e != nil {
				e.refilling = false
			}
		}
		a.mu.Unlock()
	}()
}

// grant runs the grant script.
func (a *allowances) grant(keys []string, args []any) ([][2]int64, error) {
	ctx, cancel := a.s.callCtx()
	defer cancel()
	res, err := grantScript.Run(ctx, a.s.rdb, keys, args...).Slice()
	if err != nil {
		return nil, err
	}
	n := len(keys) / 2
	if len(res) != n {
		return nil, fmt.Errorf("sharedstate: limits: unexpected grant answer %v", res)
	}
	out := make([][2]int64, n)
	for i, r := range res {
		g, ok := grantOf(r)
		if !ok {
			return nil, fmt.Errorf("sharedstate: limits: unexpected grant answer %v", res)
		}
		out[i] = g
	}
	return out, nil
}

// grantOf reads a script's {requests, tokens}.
func grantOf(r any) ([2]int64, bool) {
	p, ok := r.([]any)
	if !ok || len(p) != 2 {
		return [2]int64{}, false
	}
	g, ok1 := p[0].(int64)
	t, ok2 := p[1].(int64)
	return [2]int64{g, t}, ok1 && ok2
}

// expire hands back e's leases past their life.
func (a *allowances) expire(e *allowance, key string, now time.Time) {
	n := 0
	for _, l := range e.leases {
		if now.Before(l.until) {
			e.leases[n] = l
			n++
			continue
		}
		a.giveBack(key, now, l)
	}
	e.leases = e.leases[:n]
}

// reset voids e's leases, from an earlier generation, handing them back
// should Redis still have them.
func (a *allowances) reset(e *allowance, key string, now time.Time, gen uint64) {
	for _, l := range e.leases {
		a.giveBack(key, now, l)
	}
	*e = allowance{gen: gen, seen: now}
}

// giveBack queues the return of what l did not use.
func (a *allowances) giveBack(key string, now time.Time, l lease) {
	if l.reqs <= 0 && l.toks <= 0 {
		return
	}
	a.s.enqueue(write{op: opReturn, keys: []string{key}, args: []any{now.Unix(), l.sec, max(l.reqs, 0), max(l.toks, 0)}})
}

// sweepMax bounds the counters one sweep visits, so that a sweep holds
// the admissions' lock for tens of microseconds, not for a pass over
// every counter. Map order is random: successive sweeps visit them all in
// time, and an allowance that is never visited expires on its next use or
// leaves Redis's window on its own within a minute.
const sweepMax = 1024

// sweep, at most once a second, hands back the expired leases of up to
// sweepMax counters and forgets those idle for an allowance's life.
func (a *allowances) sweep(now time.Time) {
	if now.Sub(a.swept) < time.Second {
		return
	}
	a.swept = now
	n := 0
	for k, e := range a.m {
		if n++; n > sweepMax {
			break
		}
		a.expire(e, k, now)
		if len(e.leases) == 0 && !e.refilling && now.Sub(e.seen) > a.life {
			delete(a.m, k)
		}
	}
}

// sweepNow runs sweep whatever its last run.
func (a *allowances) sweepNow(now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.swept = time.Time{}
	a.sweep(now)
}
