package requestlog

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llmgw/llmgw/llm"
)

// seedAttempts writes requests with the attempts the gateway records
// (and the provider it logs: the last one it called):
// failovers, a refusal before any upstream, a client that hung up and a
// stream that broke after it started.
func seedAttempts(t *testing.T, db *DB) {
	t.Helper()
	w, stop := startWriter(t, db, WriterConfig{})
	at := t0.Add(time.Minute)
	for _, r := range []*Record{
		// Two 529s failed over, then served by "backup" with its own model name.
		{Time: at, RequestID: "failover", Model: "claude-sonnet-4-5", UpstreamModel: "sonnet-backup", Provider: "backup", Status: 200,
			Usage: llm.Usage{InputTokens: 10, OutputTokens: 5}, CostMicros: ptr[int64](100), Attempts: []Attempt{
				{N: 1, Provider: "main", Model: "claude-sonnet-4-5", Status: 529, Class: "failover", Error: "overloaded"},
				{N: 2, Provider: "second", Model: "claude-sonnet-4-5", Status: 529, Class: "cooldown", Error: "overloaded"},
				{N: 3, Provider: "backup", Model: "sonnet-backup", Status: 200},
			}},
		// The client's body could not be carried to main's protocol: a 400
		// before any upstream was called, logged without a provider.
		{Time: at, RequestID: "refused", Model: "claude-sonnet-4-5", Status: 400,
			ErrorClass: "", ErrorMessage: "bad image", Attempts: []Attempt{
				{N: 1, Provider: "main", Model: "claude-sonnet-4-5", Status: 400, Class: "skip", Error: "bad image"},
			}},
		// main failed over, then second was skipped: main failed the
		// request, and is logged as its provider.
		{Time: at, RequestID: "exhausted", Model: "gpt-4o", UpstreamModel: "gpt-4o", Provider: "main", Status: 502, ErrorClass: "exhausted",
			Attempts: []Attempt{
				{N: 1, Provider: "main", Model: "gpt-4o", Status: 500, Class: "retry", Error: "boom"},
				{N: 2, Provider: "main", Model: "gpt-4o", Status: 500, Class: "failover", Error: "boom"},
				{N: 3, Provider: "second", Model: "gpt-4o-mini", Status: 400, Class: "skip", Error: "cannot express"},
			}},
		// The client hung up while second was answering.
		{Time: at, RequestID: "cancelled", Model: "gpt-4o", UpstreamModel: "gpt-4o", Provider: "second", Status: 499, ErrorClass: "client_cancelled",
			Attempts: []Attempt{{N: 1, Provider: "second", Model: "gpt-4o", Class: "cancelled"}}},
		// A stream that broke after its first byte: served, and an attempt error.
		{Time: at, RequestID: "broken", Model: "gpt-4o", UpstreamModel: "gpt-4o", Provider: "second", Status: 200, ErrorClass: "stream",
			Usage: llm.Usage{InputTokens: 3}, Attempts: []Attempt{{N: 1, Provider: "second", Model: "gpt-4o", Status: 200, Error: "stream reset", FirstByte: true}}},
	} {
		w.Record(r)
	}
	stop()
}

func TestStatsAttributesAttemptsAndRefusals(t *testing.T) {
	db := openTest(t)
	seedAttempts(t, db)
	st, err := db.Stats(context.Background(), t0)
	if err != nil {
		t.Fatal(err)
	}
	type prov struct {
		Name                                                 string
		Requests, Errors, Attempts, AttemptErrors, Failovers int64
	}
	var got []prov
	for _, p := range st.ByProvider {
		got = append(got, prov{p.Provider, p.Requests, p.Errors, p.Attempts, p.AttemptErrors, p.Failovers})
	}
	want := []prov{
		// second: the cancelled and broken requests (exhausted was main's);
		// attempts: failover's 529 (a failover), cancelled (no error),
		// broken (an error), never the skip.
		{"second", 2, 1, 3, 2, 1},
		// main failed the exhausted request; its attempts: failover's 529,
		// exhausted's retry and failover, never the refused skip. Ties in
		// requests go to the provider with more attempts.
		{"main", 1, 1, 3, 3, 2},
		{"backup", 1, 0, 1, 0, 0},
		// The refused request reached no upstream.
		{"", 1, 1, 0, 0, 0},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Stats by provider mismatch (-want +got):\n%s", diff)
	}

	type served struct {
		Model, Served string
		Requests      int64
	}
	var gotServed []served
	for _, m := range st.ByServedModel {
		gotServed = append(gotServed, served{m.Model, m.ServedModel, m.Requests})
	}
	wantServed := []served{
		{"gpt-4o", "gpt-4o", 3},
		{"claude-sonnet-4-5", "", 1}, // refused: reached no upstream
		{"claude-sonnet-4-5", "sonnet-backup", 1},
	}
	if diff := cmp.Diff(wantServed, gotServed); diff != "" {
		t.Errorf("Stats by served model mismatch (-want +got):\n%s", diff)
	}
	if len(st.ByModel) != 2 || st.ByModel[0].Model != "gpt-4o" || st.ByModel[0].Requests != 3 {
		t.Errorf("Stats by model = %+v, want gpt-4o (3) then claude-sonnet-4-5 (2)", st.ByModel)
	}
}

// TestUnpricedMeansUsageWithoutCost: a failed request without usage has
// no cost (NULL) but is not unpriced; one with usage and no price is.
func TestUnpricedMeansUsageWithoutCost(t *testing.T) {
	db := openTest(t)
	w, stop := startWriter(t, db, WriterConfig{})
	at := t0.Add(time.Minute)
	for _, r := range []*Record{
		{Time: at, RequestID: "failed", Model: "gpt-4o", Provider: "p", Status: 502},
		{Time: at, RequestID: "refused", Model: "gpt-4o", Status: 400},
		{Time: at, RequestID: "priced", Model: "gpt-4o", Provider: "p", Status: 200, Usage: llm.Usage{InputTokens: 5}, CostMicros: ptr[int64](10)},
		{Time: at, RequestID: "free", Model: "demo", Provider: "d", Status: 200, Usage: llm.Usage{InputTokens: 5}, CostMicros: ptr[int64](0)},
		{Time: at, RequestID: "private", Model: "house", Provider: "p", Status: 200, Usage: llm.Usage{CacheReadTokens: 5}},
	} {
		w.Record(r)
	}
	stop()
	st, err := db.Stats(context.Background(), t0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Unpriced != 1 || st.CostMicros != 10 {
		t.Errorf("Stats unpriced, cost_micros = %d, %d, want 1 (the house model), 10", st.Unpriced, st.CostMicros)
	}
	for _, m := range st.ByModel {
		if want := int64(map[string]int{"house": 1}[m.Model]); m.Unpriced != want {
			t.Errorf("Stats by model %s: unpriced = %d, want %d", m.Model, m.Unpriced, want)
		}
	}
}

// TestSummarySplitsStickyHitsBySessionAndKey: a hit whose logged inputs
// name a session was bound by it; any other hit was bound by the client
// key alone (the default sticky key without a session). Misses, rows
// without stickiness and rows outside the range count as neither.
func TestSummarySplitsStickyHitsBySessionAndKey(t *testing.T) {
	db := openTest(t)
	w, stop := startWriter(t, db, WriterConfig{})
	at := t0.Add(time.Minute)
	for _, r := range []*Record{
		{Time: at, RequestID: "s1", Key: "team", StickyKey: "team:conv-1", Sticky: "hit", Features: []byte(`{"key":"team","session":"conv-1"}`)},
		{Time: at, RequestID: "s2", Key: "team", StickyKey: "team:conv-2", Sticky: "hit", Features: []byte(`{"key":"team","session":"conv-2","complete":true}`)},
		{Time: at, RequestID: "k1", Key: "team", StickyKey: "team", Sticky: "hit", Features: []byte(`{"key":"team"}`)},
		{Time: at, RequestID: "k2", Key: "ci", StickyKey: "ci", Sticky: "hit", Features: []byte(`{"key":"ci","session":""}`)},
		{Time: at, RequestID: "k3", Key: "ci", StickyKey: "ci", Sticky: "hit"}, // inputs not logged
		{Time: at, RequestID: "miss", Key: "ci", StickyKey: "ci", Sticky: "miss", Features: []byte(`{"key":"ci"}`)},
		{Time: at, RequestID: "none", Features: []byte(`{"session":"conv-3"}`)},
		{Time: t0.Add(-time.Minute), RequestID: "before", Key: "ci", StickyKey: "ci", Sticky: "hit", Features: []byte(`{"key":"ci"}`)},
	} {
		w.Record(r)
	}
	stop()
	s, err := db.Summary(context.Background(), SummaryQuery{Since: t0, Until: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if s.StickyHitsSession != 2 || s.StickyHitsKey != 3 {
		t.Errorf("sticky hits = %d by session, %d by key; want 2, 3", s.StickyHitsSession, s.StickyHitsKey)
	}
	empty, err := db.Summary(context.Background(), SummaryQuery{Since: t0.Add(time.Hour), Until: t0.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if empty.StickyHitsSession != 0 || empty.StickyHitsKey != 0 {
		t.Errorf("empty range: sticky hits = %d, %d; want 0, 0", empty.StickyHitsSession, empty.StickyHitsKey)
	}
}
