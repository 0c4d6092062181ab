package main

import (
	"context"
	"os"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// TestReleaseMemoryWhenIdle checks that memory is released once per idle
// period: once after start-up's quiet, not while requests keep finishing,
// once after they stop, not again while still idle, again after the next
// burst, and never while a request is in flight, even when nothing
// finishes for many idle periods (a long stream).
func TestReleaseMemoryWhenIdle(t *testing.T) {
	var activity, inFlight, releases atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	const idle = 40 * time.Millisecond
	go func() {
		defer close(done)
		releaseMemoryWhenIdle(ctx, activity.Load, inFlight.Load, idle, func() { releases.Add(1) })
	}()
	defer func() { cancel(); <-done }()

	busy := func(d time.Duration) {
		for end := time.Now().Add(d); time.Now().Before(end); {
			activity.Add(1)
			time.Sleep(idle / 8)
		}
	}
	waitFor := func(want int64) {
		t.Helper()
		for i := 0; i < 200 && releases.Load() < want; i++ {
			time.Sleep(idle / 4)
		}
		if got := releases.Load(); got != want {
			t.Fatalf("releases = %d, want %d", got, want)
		}
	}

	waitFor(1) // start-up's garbage, with no traffic yet
	time.Sleep(3 * idle)
	if got := releases.Load(); got != 1 {
		t.Fatalf("releases while idle since start = %d, want 1", got)
	}
	busy(4 * idle)
	if got := releases.Load(); got != 1 {
		t.Fatalf("releases while busy = %d, want 1", got)
	}
	waitFor(2)
	time.Sleep(4 * idle) // still idle: no second release
	waitFor(2)
	busy(2 * idle)
	waitFor(3)

	// Requests finish, then a stream runs for many idle periods with
	// nothing finishing.
	busy(2 * idle)
	inFlight.Add(1)
	time.Sleep(6 * idle)
	if got := releases.Load(); got != 3 {
		t.Fatalf("releases while a request was in flight = %d, want 3 (none during it)", got)
	}
	inFlight.Add(-1)
	activity.Add(1) // it finished
	waitFor(4)
}

func TestTuneGCKeepsTheOperatorsGOGC(t *testing.T) {
	var seen []string
	tuneGC(func(k string) string { seen = append(seen, k); return "50" })
	if len(seen) != 1 || seen[0] != "GOGC" {
		t.Errorf("tuneGC read %v, want GOGC", seen)
	}
}

// TestBenchWaitsForIdle: bench/run measures idle RSS after waiting
// IDLE_WAIT seconds; shorter than idleAfter (plus a tick) it would measure
// a heap the gateway has not given back yet.
func TestBenchWaitsForIdle(t *testing.T) {
	b, err := os.ReadFile("../../bench/run")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^IDLE_WAIT=(\d+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("bench/run sets no IDLE_WAIT")
	}
	n, _ := strconv.Atoi(string(m[1]))
	if wait := time.Duration(n) * time.Second; wait <= idleAfter+idleTick {
		t.Errorf("bench/run waits %v before measuring idle RSS; llmgw releases memory only after %v (+ up to %v)", wait, idleAfter, idleTick)
	}
}
