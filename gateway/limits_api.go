package gateway

import (
	"context"
	"net/http"
	"sort"
	"time"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/limits"
	"github.com/llmgw/llmgw/requestlog"
)

// limitCountersTop bounds the counters GET /api/limits lists per limit: a
// limit split per session may hold thousands, and an operator wants the
// ones nearest their bound.
const limitCountersTop = 20

// limitsView is GET /api/limits.
type limitsView struct {
	// Since and Until are the period Refused and WouldRefuse count (the
	// request log); the counters are read at Until.
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	// TZ is the time zone of the usd days and months, when the store
	// says.
	TZ     string      `json:"tz,omitempty"`
	Limits []limitView `json:"limits"`
	// Table is the in-process store's table of counters, absent for a
	// store shared by replicas (whose counters expire on Redis).
	Table *limitTableView `json:"table,omitempty"`
}

// limitTableView is how full the in-process counters' table is.
type limitTableView struct {
	Counters int   `json:"counters"`
	Bound    int   `json:"bound"`
	Evicted  int64 `json:"evicted"`
}

// limitView is one limit() of the live policy: its definition, its use
// now, and what it refused in the period.
type limitView struct {
	Name        string   `json:"name"`
	RPM         int64    `json:"rpm,omitempty"`
	TPM         int64    `json:"tpm,omitempty"`
	USD         float64  `json:"usd,omitempty"`
	Per         string   `json:"per,omitempty"`
	Concurrency int64    `json:"concurrency,omitempty"`
	Keys        []string `json:"keys,omitempty"`
	Models      []string `json:"models,omitempty"`
	Each        string   `json:"each,omitempty"`
	Shadow      bool     `json:"shadow"`
	WaitS       float64  `json:"wait_s,omitempty"`
	// Use is the used fraction of the tightest bound of the busiest
	// counter (1: spent), as llmgw_limit_use_ratio exports it.
	Use float64 `json:"use"`
	// Counters are the busiest counters in use, highest share first (at
	// most 20); Each is "" for a limit's one shared counter.
	Counters []counterView `json:"counters"`
	// Refused counts the requests the limit answered 429 in the period;
	// WouldRefuse those a shadow limit would have refused (served).
	Refused     int64 `json:"refused"`
	WouldRefuse int64 `json:"would_refuse"`
}

type counterView struct {
	Each     string  `json:"each"`
	Requests int64   `json:"requests"`
	Tokens   int64   `json:"tokens"`
	USD      float64 `json:"usd"`
	InFlight int64   `json:"in_flight"`
	Share    float64 `json:"share"`
}

// limitCounters is what a Store may offer to list its counters
// (limits.Memory has it); a Store without it is read counter by counter
// where the counters can be named (see readCounters).
type limitCounters interface {
	Counters(now time.Time, bounds map[string]limits.Bounds, top int) map[string][]limits.CounterUsage
}

// apiLimits is GET /api/limits?since=24h: each limit of the live policy
// with its current use (from the limits store) and its refusals and
// would-refusals in the period (from the request log, when there is one).
func (s *Server) apiLimits(w http.ResponseWriter, r *http.Request) {
	since, err := parseSince(r.URL.Query().Get("since"), 24*time.Hour)
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	now := s.now()
	out := limitsView{Since: now.Add(-since), Until: now, Limits: []limitView{}}
	if l, ok := s.cfg.Limits.(interface{ Location() *time.Location }); ok {
		out.TZ = l.Location().String()
	}
	if t, ok := s.cfg.Limits.(limitTable); ok {
		held, bound, evicted := t.Table()
		out.Table = &limitTableView{Counters: held, Bound: bound, Evicted: evicted}
	}
	pol := s.cfg.Policies.Policy()
	if pol == nil || len(pol.Limits()) == 0 {
		writeJSON(w, http.StatusOK, out)
		return
	}
	var counts map[string]requestlog.LimitCount
	if s.cfg.LogDB != nil {
		counts, err = s.cfg.LogDB.LimitCounts(r.Context(), out.Since, out.Until)
		if err != nil {
			queryError(w, err, "limits query failed")
			return
		}
	}
	counters := s.readCounters(r.Context(), pol, now)
	for _, d := range pol.Limits() {
		v := limitView{Name: d.Name, RPM: d.RPM, TPM: d.TPM, USD: float64(d.USDMicros) / 1e6, Per: string(d.Per),
			Concurrency: d.Concurrency, Keys: d.Keys, Models: d.Models, Each: d.Each, Shadow: d.Shadow,
			WaitS: d.Wait.Seconds(), Counters: []counterView{}}
		for _, c := range counters[d.Name] {
			v.Counters = append(v.Counters, counterView{Each: c.Each, Requests: c.Requests, Tokens: c.Tokens,
				USD: float64(c.USDMicros) / 1e6, InFlight: c.InFlight, Share: c.Share})
			v.Use = max(v.Use, c.Share)
		}
		c := counts[d.Name]
		v.Refused, v.WouldRefuse = c.Refused, c.WouldRefuse
		out.Limits = append(out.Limits, v)
	}
	writeJSON(w, http.StatusOK, out)
}

// readCounters lists the busiest counters of each of pol's limits. A
// Store that cannot list its counters (one shared by replicas) is asked
// for the counters that can be named: a limit's shared one, and one per
// declared client key for a limit split per key; counters per user,
// session or metadata value are then not listed.
func (s *Server) readCounters(ctx context.Context, pol *engine.Policy, now time.Time) map[string][]limits.CounterUsage {
	bounds := make(map[string]limits.Bounds, len(pol.Limits()))
	for _, d := range pol.Limits() {
		bounds[d.Name] = d.Bounds
	}
	if lc, ok := s.cfg.Limits.(limitCounters); ok {
		return lc.Counters(now, bounds, limitCountersTop)
	}
	out := map[string][]limits.CounterUsage{}
	for _, d := range pol.Limits() {
		var eachs []string
		switch d.Each {
		case "":
			eachs = []string{""}
		case "key":
			for _, k := range pol.Keys {
				if len(d.Keys) == 0 || contains(d.Keys, k.Name) {
					eachs = append(eachs, k.Name)
				}
			}
		}
		var cs []limits.CounterUsage
		for _, each := range eachs {
			u, err := s.cfg.Limits.Usage(ctx, now, limits.Charge{Limit: d.Name, Each: each, Bounds: d.Bounds, Shadow: d.Shadow})
			if err != nil || u == (limits.Usage{}) {
				continue
			}
			cs = append(cs, limits.CounterUsage{Each: each, Usage: u, Share: d.Share(u)})
		}
		sort.Slice(cs, func(i, j int) bool {
			if cs[i].Share != cs[j].Share {
				return cs[i].Share > cs[j].Share
			}
			return cs[i].Each < cs[j].Each
		})
		if len(cs) > limitCountersTop {
			cs = cs[:limitCountersTop]
		}
		out[d.Name] = cs
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
