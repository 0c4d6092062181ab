package main

import (
	"context"
	"fmt"
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
	n, err := gateway.RebuildLimits(ctx, db, pol, mem, t0)
	if err != nil {
		return nil, err
	}
	logger.Info().Int("rows", n).Int("limits", len(pol.Limits())).Str("zone", loc.String()).
		Dur("took", time.Since(t0)).Msg("limit counters rebuilt from the request log")
	return mem, nil
}
