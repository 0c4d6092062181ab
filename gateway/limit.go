package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/limits"
	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/requestlog"
)

// limitPoll bounds one pause of a request queued by limit(wait = ...)
// before it asks the Store again: capacity freed by a request that ends
// is seen within it.
const limitPoll = 50 * time.Millisecond

// limitState is what the policy's limits decided for one request.
type limitState struct {
	// ticket settles the admitted request at finish; nil when no limit
	// counted it.
	ticket *limits.Ticket
	// refused is the limit that refused the request (429), nil when none.
	refused *limits.Refusal
	// would are the shadow limits the request went over.
	would []limits.Refusal
}

// admitLimits checks the request against the policy's limits before any
// upstream is tried, and adds it to their counters. A request over an
// enforced limit waits for capacity as long as that limit's wait allows
// (bounded, and cancelled with the client), then is refused with 429 in
// its protocol's shape, Retry-After and a message naming the limit.
// With no limit declared it returns at once without allocating.
func (x *exchange) admitLimits(ctx context.Context) error {
	charges := x.pol.Charges(nil, x.feat)
	if len(charges) == 0 {
		return nil
	}
	store := x.s.cfg.Limits
	tokens := int64(x.feat.InputTokensEstimate)
	var deadline time.Time
	for {
		now := x.s.now()
		v, err := store.Admit(ctx, now, charges, tokens)
		if err != nil {
			x.errClass = errGateway
			return &HTTPError{Status: http.StatusServiceUnavailable, Type: llm.ErrOverloaded,
				Message: "llmgw could not check the request against its limits; retry shortly", Err: err}
		}
		if v.Refusal == nil {
			x.lim.ticket = &v.Ticket
			x.lim.would = v.WouldRefuse
			for _, r := range v.WouldRefuse {
				x.s.cfg.Metrics.LimitRefusal(r.Limit, true)
			}
			return nil
		}
		wait := limitWait(x.pol.Limits(), v.Refusal.Limit)
		if deadline.IsZero() {
			deadline = now.Add(wait)
		}
		if ctx.Err() != nil {
			x.errClass, x.errMsg = errClientCancelled, "client disconnected while queued for limit "+strconv.Quote(v.Refusal.Limit)
			return &HTTPError{Status: statusClientClosed, Type: llm.ErrInvalidRequest, Message: "the client closed the request"}
		}
		left := deadline.Sub(now)
		if left <= 0 {
			x.lim.refused = v.Refusal
			x.errClass = errLimited
			x.s.cfg.Metrics.LimitRefusal(v.Refusal.Limit, false)
			return limitError(v.Refusal)
		}
		pause := min(limitPoll, left, max(v.Refusal.RetryAfter, time.Millisecond))
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
}

// limitWait is the wait of the limit named name.
func limitWait(defs []limits.Def, name string) time.Duration {
	for i := range defs {
		if defs[i].Name == name {
			return defs[i].Wait
		}
	}
	return 0
}

// limitError is the 429 a request over a limit gets: its protocol's rate
// limit error (OpenAI's rate_limit_exceeded code, Anthropic's
// rate_limit_error, Gemini's RESOURCE_EXHAUSTED), a message naming the
// limit, and Retry-After in whole seconds, rounded up.
func limitError(r *limits.Refusal) *HTTPError {
	secs := max(1, int64((r.RetryAfter+time.Second-1)/time.Second))
	return &HTTPError{Status: http.StatusTooManyRequests, Type: llm.ErrRateLimit, Code: "rate_limit_exceeded",
		Message: engine.LimitMessage(r), Header: http.Header{"Retry-After": {strconv.FormatInt(secs, 10)}}}
}

// usageEnv makes ctx.usage(name) read the Store, at the decision's time;
// with no limit declared the policy reads no counter and nothing is built.
func (x *exchange) usageEnv(ctx context.Context, env *engine.Env) {
	if len(x.pol.Limits()) == 0 {
		return
	}
	store, now := x.s.cfg.Limits, env.Now
	env.Usage = func(c limits.Charge) limits.Usage {
		u, err := store.Usage(ctx, now, c)
		if err != nil {
			x.logger().Warn().Err(err).Str("limit", c.Limit).Msg("reading a limit's usage failed; the policy sees zero")
		}
		return u
	}
}

// settleLimits ends the request's admission: its real tokens (input,
// cache and output) and its cost replace the estimate, and its in-flight
// slot is released. A stream that crossed a bound mid-way has finished by
// now, and counts in full.
func (x *exchange) settleLimits(cost int64) {
	t := x.lim.ticket
	if t == nil {
		return
	}
	x.lim.ticket = nil
	u := x.usage
	tokens := u.InputTokens + u.CacheReadTokens + u.CacheWriteTokens + u.OutputTokens
	// A context of its own: the client may be gone, and the in-flight
	// slot must be released all the same.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := x.s.cfg.Limits.Settle(ctx, x.s.now(), *t, tokens, cost); err != nil {
		x.logger().Warn().Err(err).Msg("settling the request's limits failed")
	}
}

// RebuildLimits refills an in-process limits store from the request log,
// so that a restart resets no counter: the cost of every request the
// policy's limits counted since the start of the current day or month
// (the longest usd period declared; in mem's time zone), and the requests
// and tokens of the last minute. Requests in flight at the restart are
// gone with it and hold no slot. It returns the rows read.
//
// only, when not nil, names the limits to refill (those a reload added:
// the others have counted live all along); requests logged from now on are
// left out, the store having counted them live.
func RebuildLimits(ctx context.Context, db *requestlog.DB, pol *engine.Policy, mem *limits.Memory, now time.Time, only map[string]bool) (int, error) {
	var defs []limits.Def
	for _, d := range pol.Limits() {
		if only == nil || only[d.Name] {
			defs = append(defs, d)
		}
	}
	if len(defs) == 0 || db == nil {
		return 0, nil
	}
	since := now.Add(-limits.Window)
	for _, d := range defs {
		if d.Per != "" {
			start, _ := limits.PeriodStart(d.Per, now, mem.Location())
			since = minTime(since, start)
		}
	}
	n := 0
	var charges []limits.Charge
	err := db.Spending(ctx, since, func(s requestlog.Spent) error {
		var in engine.LoggedInputs
		if !s.Time.Before(now) || json.Unmarshal(s.Features, &in) != nil {
			return nil
		}
		n++
		subject := in.Request.LimitSubject()
		charges = limits.Charges(charges[:0], defs, &subject)
		if len(s.WouldRefuse) > 0 {
			// A shadow limit did not count what it would have refused.
			kept := charges[:0]
			for _, c := range charges {
				if !(c.Shadow && slices.Contains(s.WouldRefuse, c.Limit)) {
					kept = append(kept, c)
				}
			}
			charges = kept
		}
		u := s.Usage
		mem.Add(s.Time, charges, u.InputTokens+u.CacheReadTokens+u.CacheWriteTokens+u.OutputTokens, s.CostMicros)
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("gateway: rebuild limits: %w", err)
	}
	return n, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// limitPeaks is what a Store may offer for /metrics: each limit's highest
// share among its counters (limits.Memory has it).
type limitPeaks interface {
	Peaks(now time.Time, bounds map[string]limits.Bounds) map[string]float64
}

// limitTable is what an in-process store (limits.Memory) offers for
// llmgw_limit_counters and llmgw_limit_counters_evicted_total.
type limitTable interface {
	Table() (held, bound int, evicted int64)
}

// limitUse is llmgw_limit_use_ratio at a scrape: every declared limit's
// use, 0 for one without a counter yet.
func (s *Server) limitUse() map[string]float64 {
	pol := s.cfg.Policies.Policy()
	if pol == nil || len(pol.Limits()) == 0 {
		return nil
	}
	bounds := make(map[string]limits.Bounds, len(pol.Limits()))
	for _, d := range pol.Limits() {
		bounds[d.Name] = d.Bounds
	}
	out := map[string]float64{}
	if p, ok := s.cfg.Limits.(limitPeaks); ok {
		out = p.Peaks(s.now(), bounds)
	}
	for name := range bounds {
		if _, ok := out[name]; !ok {
			out[name] = 0
		}
	}
	return out
}
