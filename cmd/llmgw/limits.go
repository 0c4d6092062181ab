package main

import (
	"context"
	"fmt"
	"sync"
	"time"
	_ "time/tzdata" // --limit-tz works where the system has no zoneinfo (containers)

	"github.com/rs/zerolog"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/gateway"
	"github.com/llmgw/llmgw/limits"
	"github.com/llmgw/llmgw/requestlog"
)

// limitZone parses --limit-tz: an IANA zone name ("Europe/Paris"), UTC
// or Local.
func limitZone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("--limit-tz: unknown time zone %q (want an IANA name such as Europe/Paris, or UTC)", name)
	}
	return loc, nil
}

// startLimits builds the in-process limits store, its usd days and months
// in zone, and refills it from the request log, so that a restart spends
// no budget twice.
func startLimits(ctx context.Context, zone string, db *requestlog.DB, pol *engine.Policy, logger zerolog.Logger) (*limits.Memory, error) {
	loc, err := limitZone(zone)
	if err != nil {
		return nil, err
	}
	mem := limits.NewMemory(loc)
	if len(pol.Limits()) == 0 {
		return mem, nil
	}
	t0 := time.Now()
	n, err := gateway.RebuildLimits(ctx, db, pol, mem, t0, nil)
	if err != nil {
		// A log that cannot be read (PostgreSQL unreachable while this
		// replica starts) must not keep the gateway down: it serves with
		// counters that start from zero, which may let a budget be spent
		// twice over the outage, and says so.
		logger.Warn().Err(err).Int("limits", len(pol.Limits())).
			Msg("limit counters start empty: the request log could not be read to refill them")
		return mem, nil
	}
	logger.Info().Int("rows", n).Int("limits", len(pol.Limits())).Str("zone", loc.String()).
		Dur("took", time.Since(t0)).Msg("limit counters rebuilt from the request log")
	return mem, nil
}

// limitReloads refills, after a reload, the counters of the limits it
// added: without it a daily budget added at noon would ignore the
// morning's spend until the next start, and count it after.
type limitReloads struct {
	ctx    context.Context
	db     *requestlog.DB
	mem    *limits.Memory
	logger zerolog.Logger

	mu    sync.Mutex
	known map[string]bool // the limit names counted so far
	// refilled is when refillAll last rebuilt every counter.
	refilled time.Time
}

// refillEvery bounds how often refillAll reads the log: a Redis that comes
// and goes would otherwise have each fallback read a month of rows for a
// monthly budget. Within it the counters of the last refill, which have
// counted this replica's traffic while it was on its own since, serve.
const refillEvery = time.Minute

func newLimitReloads(ctx context.Context, db *requestlog.DB, mem *limits.Memory, pol *engine.Policy, logger zerolog.Logger) *limitReloads {
	r := &limitReloads{ctx: ctx, db: db, mem: mem, logger: logger, known: map[string]bool{}}
	for _, d := range pol.Limits() {
		r.known[d.Name] = true
	}
	return r
}

// reloaded refills the limits of pol that no earlier version declared.
func (r *limitReloads) reloaded(pol *engine.Policy) {
	r.mu.Lock()
	defer r.mu.Unlock()
	added := map[string]bool{}
	for _, d := range pol.Limits() {
		if !r.known[d.Name] {
			added[d.Name], r.known[d.Name] = true, true
		}
	}
	if len(added) == 0 {
		return
	}
	n, err := gateway.RebuildLimits(r.ctx, r.db, pol, r.mem, time.Now(), added)
	if err != nil {
		r.logger.Error().Err(err).Msg("the limits a reload added start from zero: their counters could not be read from the request log")
		return
	}
	r.logger.Info().Int("rows", n).Int("limits", len(added)).Msg("counters of the limits the reload added rebuilt from the request log")
}

// refillAll rebuilds every counter of pol from the request log and swaps
// them in, keeping the requests in flight: a replica falling back to its
// own counters (Redis unreachable) would otherwise enforce the counters
// it rebuilt at start, which know nothing of what the cluster spent
// since. With the log on PostgreSQL the rebuilt counters are the
// cluster's (as of the log's last rows); on SQLite, this replica's. A log
// that cannot be read leaves the counters as they are.
func (r *limitReloads) refillAll(pol *engine.Policy) {
	if len(pol.Limits()) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t0 := time.Now()
	if t0.Sub(r.refilled) < refillEvery {
		return
	}
	fresh := limits.NewMemory(r.mem.Location())
	n, err := gateway.RebuildLimits(r.ctx, r.db, pol, fresh, t0, nil)
	if err != nil {
		r.logger.Error().Err(err).Msg("the limit counters this replica falls back to could not be refilled from the request log: they count from its start")
		return
	}
	r.mem.Replace(fresh)
	r.refilled = t0
	for _, d := range pol.Limits() {
		r.known[d.Name] = true
	}
	r.logger.Info().Int("rows", n).Int("limits", len(pol.Limits())).Dur("took", time.Since(t0)).
		Msg("limit counters refilled from the request log for the fallback")
}
