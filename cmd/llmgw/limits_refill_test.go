package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/gateway"
	"github.com/llmgw/llmgw/limits"
	"github.com/llmgw/llmgw/requestlog"
)

// TestRefillAllForFallback: the counters a replica falls back to are
// rebuilt from the request log (what the cluster logged while the replica
// counted on Redis), not left as they were at its start; a second
// fallback within refillEvery keeps them.
func TestRefillAllForFallback(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := "p = provider(\"p\", kind = \"demo\")\nlimit(\"per-key\", rpm = 100, each = \"key\")\ndef route(req, ctx):\n    return [p]\n"
	if err := os.WriteFile(filepath.Join(dir, "main.star"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(ctx, engine.Config{Kinds: gateway.ProviderKinds(), Path: dir, SkipTests: true})
	if err != nil {
		t.Fatal(err)
	}
	db, err := requestlog.Open(ctx, filepath.Join(t.TempDir(), "llmgw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	features, _ := json.Marshal(engine.LoggedInputs{Complete: true, Request: engine.Request{Model: "m", Protocol: "openai", Key: "team"}})
	logRows := func(n int) {
		recs := make([]*requestlog.Record, n)
		for i := range recs {
			recs[i] = &requestlog.Record{Time: time.Now().Add(-time.Duration(10-i) * time.Second), RequestID: fmt.Sprintf("r-%d-%d", n, i),
				Key: "team", Model: "m", Provider: "p", Status: 200, Features: features}
		}
		writeRecords(t, db, recs)
	}
	logRows(3) // what the cluster logged while this replica counted on Redis

	mem := limits.NewMemory(nil) // as rebuilt at start: before those rows
	r := newLimitReloads(ctx, db, mem, eng.Policy(), zerolog.Nop())
	c := limits.Charge{Limit: "per-key", Each: "team", Bounds: limits.Bounds{RPM: 100}}
	r.refillAll(eng.Policy())
	if u, _ := mem.Usage(ctx, time.Now(), c); u.Requests != 3 {
		t.Fatalf("after the refill: %+v, want the 3 logged requests", u)
	}
	logRows(2)
	r.refillAll(eng.Policy())
	if u, _ := mem.Usage(ctx, time.Now(), c); u.Requests != 3 {
		t.Errorf("a second refill within %v read the log again: %+v", refillEvery, u)
	}
}
