package main

import (
	"context"
	"runtime/debug"
	"time"
)

// gcPercent is the collector's target when GOGC is not set: a collection
// once the heap has grown to three times the live data, instead of Go's
// default of twice. llmgw's live heap is small (about 1 MB) and each
// request allocates about 14 KB, so at the default the collector ran every
// few milliseconds under load; at 200 it runs half as often, for 5-10% less
// CPU per request (bench/README.md). The price is a larger heap between
// collections, which releaseMemoryWhenIdle gives back once traffic stops.
const gcPercent = 200

// idleAfter is how long without a finished request counts as idle:
// half a minute, so that the pauses of a working session (a model
// thinking, an agent running its tools, a user reading) do not count.
//
// Giving memory back is not free. release forces a collection, and every
// page handed back is a page fault when the heap grows into it again:
// about 13 µs each on the 2-core VMs bench/README.md measures on, so a few
// MB of heap cost tens of milliseconds of CPU on the next requests. With
// an idleAfter of one second, a gateway with a stream every few seconds
// pays a forced collection and re-faults its heap for nearly every
// request: about 6 faults per stream were measured in the benchmark's
// streaming phases, which start after the gateway has sat idle.
const idleAfter = 30 * time.Second

// idleTick bounds how often releaseMemoryWhenIdle looks, and so how late
// after idleAfter it releases.
const idleTick = time.Second

// releaseMemoryWhenIdle calls release (debug.FreeOSMemory in llmgw) once
// each time traffic stops, and once after start-up: when no request is in
// flight and activity (the count of finished requests) has not changed for
// idleAfter. A busy
// gateway keeps its heap; an idle one holds only what it uses. It returns
// when ctx is done.
//
// A request in flight is traffic even when nothing finishes: release
// forces a collection and hands pages back, a pause of a few milliseconds
// on one core, and a stream longer than idleAfter (most LLM streams) used
// to get one in the middle of its events, every idleAfter.
func releaseMemoryWhenIdle(ctx context.Context, activity, inFlight func() int64, idleAfter time.Duration, release func()) {
	t := time.NewTicker(min(idleAfter/4, idleTick))
	defer t.Stop()
	// Start-up leaves garbage the idle gateway need not hold (the
	// policy's compilation and smoke test, the dashboard's compression:
	// about 2 MB, and no collection has run yet): the first idle period
	// gives it back too.
	last, changed, released := activity(), time.Now(), false
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if cur := activity(); cur != last || inFlight() > 0 {
				last, changed, released = cur, now, false
				continue
			}
			if !released && now.Sub(changed) >= idleAfter {
				release()
				released = true
			}
		}
	}
}

// tuneGC sets gcPercent unless the operator chose GOGC.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}
