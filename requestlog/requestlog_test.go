package requestlog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/pricing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// t0 is a fixed time on a day boundary, so buckets are easy to reason about.
var t0 = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

func openTest(t testing.TB) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "llmgw.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// startWriter runs a Writer on db until the test ends (or stop is called).
func startWriter(t testing.TB, db *DB, cfg WriterConfig) (w *Writer, stop func()) {
	t.Helper()
	w = NewWriter(db, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-errc; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return w, stop
}

func countRows(t testing.TB, db *DB, table string) int64 {
	t.Helper()
	var n int64
	if err := db.read.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func ptr[T any](v T) *T { return &v }

// fullRecord has every field set.
func fullRecord() *Record {
	return &Record{
		Time:          t0.Add(90 * time.Second),
		RequestID:     "req-full",
		Key:           "team-a",
		Endpoint:      "/v1/messages",
		ProtocolIn:    "anthropic",
		ProtocolOut:   "openai",
		Model:         "claude-sonnet-4-5",
		UpstreamModel: "gpt-4.1",
		Provider:      "openai-main",
		Stream:        true,
		Status:        200,
		ErrorClass:    "",
		ErrorMessage:  "anthropic-main: 529 overloaded (api key sk-a…[redacted])",
		Latency:       1234567 * time.Microsecond,
		TTFT:          250 * time.Millisecond,
		Usage: llm.Usage{InputTokens: 1000, OutputTokens: 500, CacheReadTokens: 2000,
			CacheWriteTokens: 300, CacheWrite1hTokens: 100, ReasoningTokens: 50},
		UsageEstimated: true,
		CostMicros:     ptr[int64](7500),
		PriceSource:    "builtin",
		PolicyHash:     "ab12cd",
		StickyKey:      "team-a:sess-1",
		Sticky:         "miss",
		Notes:          []string{"claude → gpt-4.1 failover", `quote " and ünïcode`},
		Features:       json.RawMessage(`{"model":"claude-sonnet-4-5","stream":true}`),
		Attempts: []Attempt{
			{N: 1, Provider: "anthropic-main", Model: "claude-sonnet-4-5", Status: 529, Class: "failover",
				Error: "overloaded", Latency: 300 * time.Millisecond},
			{N: 2, Provider: "openai-main", Model: "gpt-4.1", Status: 200, Latency: 900 * time.Millisecond, FirstByte: true},
		},
	}
}

func TestOpenMigrates(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "llmgw.db")
	for i := 0; i < 2; i++ { // the second Open finds the schema current
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("Open #%d: %v", i+1, err)
		}
		var version int
		var mode string
		db.write.QueryRow("PRAGMA user_version").Scan(&version)
		db.read.QueryRow("PRAGMA journal_mode").Scan(&mode)
		if version != len(migrations) || mode != "wal" {
			t.Errorf("Open #%d: user_version, journal_mode = %d, %q, want %d, wal", i+1, version, mode, len(migrations))
		}
		if i == 1 {
			if _, err := db.write.Exec("PRAGMA user_version = 99"); err != nil {
				t.Fatal(err)
			}
		}
		db.Close()
	}
	if _, err := Open(ctx, path); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open(version 99) error = %v, want a schema too new error", err)
	}
	if _, err := Open(ctx, "bad?name"); err == nil {
		t.Errorf("Open(%q) error = nil, want an error", "bad?name")
	}
}

func TestReadPoolIsReadOnly(t *testing.T) {
	db := openTest(t)
	if _, err := db.read.Exec("DELETE FROM requests"); err == nil {
		t.Errorf("read pool accepted a DELETE, want query_only")
	}
}

// TestWriteCacheSize checks the write connection's page cache is the
// smaller writeCacheKiB (SQLite's default would keep 4 MB resident) and
// the read pool's is left at SQLite's default.
func TestWriteCacheSize(t *testing.T) {
	db := openTest(t)
	for _, c := range []struct {
		name string
		pool *sql.DB
		want int
	}{
		{"write", db.write, -writeCacheKiB},
		{"read", db.read, -2000},
	} {
		var got int
		if err := c.pool.QueryRow("PRAGMA cache_size").Scan(&got); err != nil {
			t.Fatalf("%s: PRAGMA cache_size: %v", c.name, err)
		}
		if got != c.want {
			t.Errorf("%s: cache_size = %d, want %d", c.name, got, c.want)
		}
	}
}

// TestReadConnReopenedAfterIdle checks that a read connection closed for
// being idle is replaced by one that still sees the log as it is, read
// only and with the writer's later rows.
func TestReadConnReopenedAfterIdle(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	w, _ := startWriter(t, db, WriterConfig{})
	w.Record(fullRecord())
	if err := w.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if _, err := db.Request(ctx, "req-full"); err != nil {
		t.Fatalf("Request before idle: %v", err)
	}
	// poolIdle (10 s) shortened so the test need not wait for it.
	db.read.SetConnMaxIdleTime(20 * time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	for db.read.Stats().OpenConnections > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("read pool still has %d connections open after 5 s idle", db.read.Stats().OpenConnections)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if db.read.Stats().MaxIdleTimeClosed == 0 {
		t.Errorf("MaxIdleTimeClosed = 0, want the idle connection closed for its idle time")
	}
	r := fullRecord()
	r.RequestID = "req-after-idle"
	w.Record(r)
	if err := w.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	for _, id := range []string{"req-full", "req-after-idle"} {
		if got, err := db.Request(ctx, id); err != nil || got.RequestID != id {
			t.Errorf("Request(%s) after idle = %v, %v; want the row", id, got, err)
		}
	}
	if _, err := db.read.Exec("DELETE FROM requests"); err == nil {
		t.Errorf("reopened read connection accepted a DELETE, want query_only")
	}
}

func TestRoundTrip(t *testing.T) {
	db := openTest(t)
	w, _ := startWriter(t, db, WriterConfig{})
	w.Record(fullRecord())
	if err := w.Flush(context.Background()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	got, err := db.Request(context.Background(), "req-full")
	if err != nil {
		t.Fatalf("Request: %v", err)
	}
	r := fullRecord()
	want := &RequestDetail{
		RequestItem: RequestItem{
			RequestID: r.RequestID, Time: r.Time, Key: r.Key, Model: r.Model, UpstreamModel: r.UpstreamModel,
			Provider: r.Provider, ProtocolIn: r.ProtocolIn, ProtocolOut: r.ProtocolOut, Stream: true, Status: 200,
			Error: r.ErrorMessage, LatencyMs: 1234.567, TTFTMs: 250, InputTokens: 1000, OutputTokens: 500,
			CacheReadTokens: 2000, CacheWriteTokens: 300, ReasoningTokens: 50, CostUSD: ptr(0.0075), UsageEstimated: true,
		},
		Endpoint: r.Endpoint, CacheWrite1hTokens: 100, CostMicros: ptr[int64](7500), PriceSource: "builtin",
		PolicyHash: "ab12cd", StickyKey: "team-a:sess-1", Sticky: "miss", Notes: r.Notes, Features: r.Features,
		Attempts: []AttemptItem{
			{N: 1, Provider: "anthropic-main", Model: "claude-sonnet-4-5", Status: 529, Class: "failover", Error: "overloaded", LatencyMs: 300},
			{N: 2, Provider: "openai-main", Model: "gpt-4.1", Status: 200, LatencyMs: 900, FirstByte: true},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Request(req-full) mismatch (-want +got):\n%s", diff)
	}
	if _, err := db.Request(context.Background(), "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Request(nope) error = %v, want ErrNotFound", err)
	}
}

// TestStoredAsGiven checks that free text is stored verbatim: the log does
// not redact (the gateway does), and no column holds anything the Record
// did not carry.
func TestStoredAsGiven(t *testing.T) {
	db := openTest(t)
	w, _ := startWriter(t, db, WriterConfig{})
	r := &Record{Time: t0, RequestID: "r1", ErrorMessage: "x-api-key: [redacted]; 'quoted' \x00 nul",
		Notes: []string{"", "a\nb", "<script>"}}
	w.Record(r)
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := db.Request(context.Background(), "r1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Error != r.ErrorMessage || !cmp.Equal(got.Notes, r.Notes) {
		t.Errorf("Request(r1) error, notes = %q, %q, want %q, %q", got.Error, got.Notes, r.ErrorMessage, r.Notes)
	}
	if got.CostMicros != nil || got.CostUSD != nil || got.Features != nil {
		t.Errorf("Request(r1) cost, features = %v, %s, want nil (unpriced, none)", got.CostMicros, got.Features)
	}
}

// TestEmptyTextIsEmptyNotNull checks the writer's empty-string binding:
// "" is bound as NULL and the INSERT stores the empty string, so every NOT
// NULL text column of a sparse row holds an empty TEXT value.
func TestEmptyTextIsEmptyNotNull(t *testing.T) {
	db := openTest(t)
	w, _ := startWriter(t, db, WriterConfig{})
	w.Record(&Record{Time: t0, RequestID: "sparse", Attempts: []Attempt{{N: 1}}})
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`SELECT COUNT(*) FROM requests WHERE request_id = 'sparse'` + allText("key", "endpoint", "protocol_in", "protocol_out",
			"model", "upstream_model", "provider", "error_class", "error_message", "price_source", "policy_hash", "sticky_key", "sticky"),
		`SELECT COUNT(*) FROM attempts WHERE 1` + allText("provider", "model", "class", "error"),
	} {
		var n int
		if err := db.read.QueryRow(q).Scan(&n); err != nil || n != 1 {
			t.Errorf("%s = %d, %v; want 1 (every column '')", q, n, err)
		}
	}
}

// allText returns a condition that each of cols holds the empty string,
// stored as text.
func allText(cols ...string) string {
	var b strings.Builder
	for _, c := range cols {
		fmt.Fprintf(&b, " AND %s = '' AND typeof(%s) = 'text'", c, c)
	}
	return b.String()
}

// TestRepeatedLabelsDoNotAllocate checks that the provider, model, key and
// other names that repeat from row to row reach the driver without a new
// allocation each: a row with every name set costs no more allocations
// than a row with none.
func TestRepeatedLabelsDoNotAllocate(t *testing.T) {
	full := benchRecord(1)
	full.ErrorClass, full.Sticky = "failover", "hit"
	bare := *full
	bare.Key, bare.Endpoint, bare.ProtocolIn, bare.ProtocolOut, bare.Model, bare.UpstreamModel = "", "", "", "", "", ""
	bare.Provider, bare.ErrorClass, bare.PriceSource, bare.PolicyHash, bare.Sticky = "", "", "", "", ""
	ins := &inserter{}
	args := ins.appendRequest(nil, 1000, full, t0) // warms the labels and args
	allocs := func(r *Record) float64 {
		return testing.AllocsPerRun(100, func() { args = ins.appendRequest(args[:0], 1000, r, t0) })
	}
	if f, b := allocs(full), allocs(&bare); f > b {
		t.Errorf("appendRequest allocations: %v with names set, %v without; want no more with", f, b)
	}
	if got := len(args); got != len(requestCols) {
		t.Errorf("appendRequest appended %d arguments, want %d (one per column)", got, len(requestCols))
	}
}

func TestCostStoredExactlyAndNullWhenUnpriced(t *testing.T) {
	db := openTest(t)
	w, _ := startWriter(t, db, WriterConfig{})
	prices := pricing.Default()
	u := llm.Usage{InputTokens: 1234, OutputTokens: 567, CacheReadTokens: 8901}
	for i, model := range []string{"claude-opus-4-1-20250805", "my-private-model"} {
		r := &Record{Time: t0, RequestID: fmt.Sprint("r", i), Model: model, Status: 200, Usage: u}
		if c, src, ok := prices.Cost(model, u); ok {
			r.CostMicros, r.PriceSource = ptr(int64(c)), src
		}
		w.Record(r)
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Opus 4.1: 1234 × $15/M + 567 × $75/M + 8901 × $1.50/M
	// = 18510 + 42525 + 13351.5 → 74387 micros (half rounds up).
	const want = 74387
	priced, _ := db.Request(context.Background(), "r0")
	if priced.CostMicros == nil || *priced.CostMicros != want || priced.PriceSource != "builtin" {
		t.Errorf("Request(r0).CostMicros, PriceSource = %v, %q, want %d, builtin", priced.CostMicros, priced.PriceSource, want)
	}
	unpriced, _ := db.Request(context.Background(), "r1")
	if unpriced.CostMicros != nil {
		t.Errorf("Request(r1).CostMicros = %d, want nil", *unpriced.CostMicros)
	}
	var nulls int
	db.read.QueryRow("SELECT COUNT(*) FROM requests WHERE cost_micros IS NULL").Scan(&nulls)
	if nulls != 1 {
		t.Errorf("rows with NULL cost = %d, want 1", nulls)
	}
	st, err := db.Stats(context.Background(), t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if st.CostMicros != want || st.Unpriced != 1 || st.CostUSD != 0.074387 {
		t.Errorf("Stats cost_micros, unpriced, cost_usd = %d, %d, %v, want %d, 1, 0.074387", st.CostMicros, st.Unpriced, st.CostUSD, want)
	}
}

func TestWriterKeepsEveryRowUnderConcurrency(t *testing.T) {
	const goroutines, each = 50, 400 // 20k records
	db := openTest(t)
	// A generous MaxWait so that back-pressure, not shedding, absorbs a
	// slow -race run.
	w, stop := startWriter(t, db, WriterConfig{QueueSize: 1024, MaxWait: time.Minute})
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				w.Record(&Record{Time: t0, RequestID: fmt.Sprintf("g%d-%d", g, i), Status: 200,
					Attempts: []Attempt{{N: 1, Provider: "p"}}})
			}
		}()
	}
	wg.Wait()
	stop()
	const total = goroutines * each
	st := w.Stats()
	if st.Written != total || st.Shed != 0 || st.Failed != 0 || st.Queued != 0 {
		t.Errorf("Stats() = %+v, want Written %d, no shed, failed or queued", st, total)
	}
	if n := countRows(t, db, "requests"); n != total {
		t.Errorf("requests rows = %d, want %d", n, total)
	}
	if n := countRows(t, db, "attempts"); n != total {
		t.Errorf("attempts rows = %d, want %d", n, total)
	}
	if st.Batches >= total/2 {
		t.Errorf("Stats().Batches = %d for %d rows, want batching", st.Batches, total)
	}
	if st.HighWater < 1 || st.HighWater > 1024 {
		t.Errorf("Stats().HighWater = %d, want in [1, 1024]", st.HighWater)
	}
}

func TestGracefulStopFlushesEverything(t *testing.T) {
	db := openTest(t)
	const n = 3000
	w := NewWriter(db, WriterConfig{QueueSize: 5000, BatchDelay: time.Hour})
	for i := 0; i < n; i++ { // queued before Run starts
		w.Record(&Record{Time: t0, RequestID: fmt.Sprint(i)})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	w.Record(&Record{Time: t0, RequestID: "last"})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := countRows(t, db, "requests"); got != n+1 {
		t.Errorf("requests rows after stop = %d, want %d", got, n+1)
	}
	// After Run: Record sheds and counts, never blocks or panics; Flush returns.
	w.Record(&Record{RequestID: "late"})
	if st := w.Stats(); st.Shed != 1 || st.Written != n+1 {
		t.Errorf("Stats() after late Record = %+v, want Shed 1, Written %d", st, n+1)
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Errorf("Flush after stop = %v, want nil", err)
	}
	if err := w.Run(context.Background()); err == nil {
		t.Errorf("second Run = nil, want an error")
	}
}

func TestShedWhenFullIsCounted(t *testing.T) {
	db := openTest(t)
	w := NewWriter(db, WriterConfig{QueueSize: 4, MaxWait: -1})
	for i := 0; i < 10; i++ {
		w.Record(&Record{Time: t0, RequestID: fmt.Sprint(i)})
	}
	if st := w.Stats(); st.Shed != 6 || st.Queued != 4 {
		t.Errorf("Stats() = %+v, want Shed 6, Queued 4", st)
	}
	_, stop := func() (*Writer, func()) {
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- w.Run(ctx) }()
		return w, func() { cancel(); <-errc }
	}()
	stop()
	if st := w.Stats(); st.Written != 4 || st.Written+st.Shed != 10 {
		t.Errorf("Stats() = %+v, want Written 4 and Written+Shed 10", st)
	}
}

func TestBackPressureWaitsForRoom(t *testing.T) {
	db := openTest(t)
	w := NewWriter(db, WriterConfig{QueueSize: 1, MaxWait: time.Minute})
	w.Record(&Record{Time: t0, RequestID: "a"}) // fills the queue
	blocked := make(chan struct{})
	go func() {
		w.Record(&Record{Time: t0, RequestID: "b"}) // waits for room
		close(blocked)
	}()
	// Run frees room; the blocked Record gets in instead of being shed.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	<-blocked
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
	if st := w.Stats(); st.Written != 2 || st.Shed != 0 {
		t.Errorf("Stats() = %+v, want Written 2, Shed 0", st)
	}
}

func TestBackPressureThenShed(t *testing.T) {
	db := openTest(t)
	w := NewWriter(db, WriterConfig{QueueSize: 1, MaxWait: 5 * time.Millisecond})
	w.Record(&Record{RequestID: "a"})
	w.Record(&Record{RequestID: "b"}) // no Run: waits MaxWait, then sheds
	if st := w.Stats(); st.Shed != 1 {
		t.Errorf("Stats().Shed = %d, want 1", st.Shed)
	}
}

func TestStopWhileRecordIsBlocked(t *testing.T) {
	db := openTest(t)
	w := NewWriter(db, WriterConfig{QueueSize: 2, MaxWait: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.Record(&Record{Time: t0, RequestID: fmt.Sprint(i)})
		}()
	}
	cancel() // races with the Records on purpose
	<-done
	wg.Wait()
	st := w.Stats()
	if n := countRows(t, db, "requests"); n != st.Written || st.Written+st.Shed != 200 {
		t.Errorf("rows = %d, Stats() = %+v, want rows == Written and Written+Shed == 200", n, st)
	}
}

// TestReopenAfterUncleanStop copies the database file and its WAL while
// the writer is live (what a crash leaves on disk: no checkpoint, no
// clean close) and opens the copy.
func TestReopenAfterUncleanStop(t *testing.T) {
	db := openTest(t)
	w, _ := startWriter(t, db, WriterConfig{})
	for i := 0; i < 500; i++ {
		w.Record(&Record{Time: t0, RequestID: fmt.Sprint(i), Status: 200})
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var src string
	db.write.QueryRow("SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&src)
	dst := filepath.Join(t.TempDir(), "crashed.db")
	for _, suffix := range []string{"", "-wal"} {
		data, err := os.ReadFile(src + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst+suffix, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if fi, err := os.Stat(dst + "-wal"); err != nil || fi.Size() == 0 {
		t.Fatalf("copied WAL: %v, %v; want a non-empty WAL (no checkpoint yet)", fi, err)
	}
	db2, err := Open(context.Background(), dst)
	if err != nil {
		t.Fatalf("Open after unclean stop: %v", err)
	}
	defer db2.Close()
	var check string
	db2.write.QueryRow("PRAGMA integrity_check").Scan(&check)
	if n := countRows(t, db2, "requests"); n != 500 || check != "ok" {
		t.Errorf("after reopen: rows, integrity_check = %d, %q, want 500, ok", n, check)
	}
	w2, stop := startWriter(t, db2, WriterConfig{})
	w2.Record(&Record{Time: t0, RequestID: "after"})
	stop()
	if n := countRows(t, db2, "requests"); n != 501 {
		t.Errorf("rows after writing to the reopened file = %d, want 501", n)
	}
}

func TestPruneAndRetention(t *testing.T) {
	db := openTest(t)
	w, stop := startWriter(t, db, WriterConfig{})
	for i := 0; i < 10; i++ {
		w.Record(&Record{Time: t0.Add(time.Duration(i) * time.Hour), RequestID: fmt.Sprint(i),
			Attempts: []Attempt{{N: 1}, {N: 2}}})
	}
	stop()
	n, err := db.Prune(context.Background(), t0.Add(4*time.Hour))
	if err != nil || n != 4 {
		t.Fatalf("Prune(t0+4h) = %d, %v, want 4, nil", n, err)
	}
	if r, a := countRows(t, db, "requests"), countRows(t, db, "attempts"); r != 6 || a != 12 {
		t.Errorf("after Prune: requests, attempts = %d, %d, want 6, 12", r, a)
	}
	// Retention inside Run: keep 2h before a clock at t0+9h30m.
	w2 := NewWriter(db, WriterConfig{Retention: 2 * time.Hour, Now: func() time.Time { return t0.Add(9*time.Hour + 30*time.Minute) }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w2.Run(ctx) }()
	if err := w2.Flush(context.Background()); err != nil { // Run has pruned once at start
		t.Fatal(err)
	}
	cancel()
	<-done
	if r := countRows(t, db, "requests"); r != 2 {
		t.Errorf("after retention: requests = %d, want 2 (t0+8h, t0+9h)", r)
	}
}

func TestWriteErrorsAreReportedAndCounted(t *testing.T) {
	db := openTest(t)
	var mu sync.Mutex
	var errs []error
	w, stop := startWriter(t, db, WriterConfig{OnError: func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}})
	w.Record(&Record{Time: t0, RequestID: "ok"})
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Break the table under the writer: further inserts fail.
	if _, err := db.write.Exec("DROP TABLE attempts"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		w.Record(&Record{Time: t0, RequestID: fmt.Sprint(i), Attempts: []Attempt{{N: 1}}})
	}
	stop()
	st := w.Stats()
	mu.Lock()
	defer mu.Unlock()
	if st.Written != 1 || st.Failed != 5 || len(errs) == 0 {
		t.Errorf("Stats() = %+v with %d errors reported, want Written 1, Failed 5, errors reported", st, len(errs))
	}
}

// seed writes a fixed set of requests for the query tests.
func seed(t testing.TB, db *DB) {
	t.Helper()
	w, stop := startWriter(t, db, WriterConfig{})
	rows := []*Record{
		{Time: t0.Add(1 * time.Minute), RequestID: "a1", Key: "team-a", Model: "gpt-4o", Provider: "openai-main", Status: 200,
			Latency: 100 * time.Millisecond, Usage: llm.Usage{InputTokens: 100, OutputTokens: 10, ReasoningTokens: 2}, CostMicros: ptr[int64](350)},
		{Time: t0.Add(2 * time.Minute), RequestID: "a2", Key: "team-a", Model: "gpt-4o", Provider: "openai-main", Status: 429,
			Latency: 20 * time.Millisecond, ErrorClass: "cooldown", CostMicros: ptr[int64](0)},
		{Time: t0.Add(16 * time.Minute), RequestID: "b1", Key: "team-b", Model: "claude-sonnet-4-5", Provider: "anthropic-main", Status: 200,
			Latency: 300 * time.Millisecond, Usage: llm.Usage{InputTokens: 1000, OutputTokens: 100, CacheReadTokens: 500, CacheWriteTokens: 50},
			CostMicros: ptr[int64](4800), Features: json.RawMessage(`{"model":"claude-sonnet-4-5"}`)},
		{Time: t0.Add(31 * time.Minute), RequestID: "b2", Key: "team-b", Model: "local-llama", Provider: "demo", Status: 0,
			Latency: 5 * time.Millisecond, Usage: llm.Usage{InputTokens: 7}, Features: json.RawMessage(`{"model":"local-llama"}`)},
		{Time: t0.Add(-time.Hour), RequestID: "old", Key: "team-a", Model: "gpt-4o", Provider: "openai-main", Status: 200},
	}
	for _, r := range rows {
		w.Record(r)
	}
	stop()
}

func TestStatsGolden(t *testing.T) {
	db := openTest(t)
	seed(t, db)
	st, err := db.Stats(context.Background(), t0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/stats.golden.json", got)
	// Latencies 5, 20, 100, 300 ms: nearest-rank p50 is 20, p95 is 300.
	if st.LatencyMsP50 == nil || *st.LatencyMsP50 != 20 || st.LatencyMsP95 == nil || *st.LatencyMsP95 != 300 {
		t.Errorf("Stats(t0) latency p50, p95 = %v, %v, want 20, 300", st.LatencyMsP50, st.LatencyMsP95)
	}
	if st.Requests != 4 || st.Errors != 2 || st.InputTokens != 1107 || st.CostMicros != 5150 || st.Unpriced != 1 {
		t.Errorf("Stats(t0) totals = %+v, want 4 requests, 2 errors, 1107 input tokens, 5150 micros, 1 unpriced", st.Counters)
	}
}

func TestSummaryBuckets(t *testing.T) {
	db := openTest(t)
	seed(t, db)
	s, err := db.Summary(context.Background(), SummaryQuery{Since: t0, Until: t0.Add(time.Hour), Bucket: 15 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	type pt struct{ T, Requests, Errors, Cost int64 }
	var got []pt
	for _, p := range s.Series {
		got = append(got, pt{p.T, p.Requests, p.Errors, p.CostMicros})
	}
	base := t0.Unix()
	want := []pt{{base, 2, 1, 350}, {base + 900, 1, 0, 4800}, {base + 1800, 1, 1, 0}, {base + 2700, 0, 0, 0}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Summary series mismatch (-want +got):\n%s", diff)
	}
	if s.BucketSeconds != 900 || s.Totals.Requests != 4 || len(s.ByModel) != 3 || s.ByModel[0].Model != "gpt-4o" {
		t.Errorf("Summary = bucket %d, totals %d, by_model %+v; want 900, 4, gpt-4o first of 3", s.BucketSeconds, s.Totals.Requests, s.ByModel)
	}
	out, _ := json.MarshalIndent(s, "", "  ")
	golden(t, "testdata/summary.golden.json", out)
}

func TestSummaryQueryNormalize(t *testing.T) {
	tests := []struct {
		q       SummaryQuery
		bucket  time.Duration
		wantErr bool
	}{
		{SummaryQuery{Since: t0, Until: t0.Add(time.Hour)}, time.Minute, false},
		{SummaryQuery{Since: t0, Until: t0.Add(24 * time.Hour)}, 5 * time.Minute, false},
		{SummaryQuery{Since: t0, Until: t0.Add(30 * 24 * time.Hour)}, 6 * time.Hour, false},
		{SummaryQuery{Since: t0, Until: t0.Add(3 * 365 * 24 * time.Hour)}, 24 * time.Hour, false},
		{SummaryQuery{Until: t0}, 5 * time.Minute, false},
		{SummaryQuery{Since: t0, Until: t0}, 0, true},
		{SummaryQuery{Since: t0, Until: t0.Add(time.Hour), Bucket: time.Millisecond}, 0, true},
		{SummaryQuery{Since: t0, Until: t0.Add(24 * time.Hour), Bucket: time.Second}, 0, true},
	}
	for _, tt := range tests {
		got, err := tt.q.normalize()
		if (err != nil) != tt.wantErr || (err == nil && got.Bucket != tt.bucket) {
			t.Errorf("%+v.normalize() = bucket %s, %v, want %s, error %v", tt.q, got.Bucket, err, tt.bucket, tt.wantErr)
		}
	}
}

func TestRequestsFilters(t *testing.T) {
	db := openTest(t)
	seed(t, db)
	tests := []struct {
		q       RequestQuery
		total   int64
		ids     []string
		wantErr bool
	}{
		{RequestQuery{}, 5, []string{"b2", "b1", "a2", "a1", "old"}, false},
		{RequestQuery{Limit: 2}, 5, []string{"b2", "b1"}, false},
		{RequestQuery{Limit: 2, Offset: 2}, 5, []string{"a2", "a1"}, false},
		{RequestQuery{Since: t0}, 4, []string{"b2", "b1", "a2", "a1"}, false},
		{RequestQuery{Model: "gpt-4o"}, 3, []string{"a2", "a1", "old"}, false},
		{RequestQuery{Provider: "anthropic-main"}, 1, []string{"b1"}, false},
		{RequestQuery{Key: "team-b"}, 2, []string{"b2", "b1"}, false},
		{RequestQuery{Status: "ok"}, 3, []string{"b1", "a1", "old"}, false},
		{RequestQuery{Status: "error"}, 2, []string{"b2", "a2"}, false},
		{RequestQuery{Status: "429"}, 1, []string{"a2"}, false},
		{RequestQuery{Status: "404", Key: "team-a"}, 0, []string{}, false},
		{RequestQuery{Status: "bad"}, 0, nil, true},
		{RequestQuery{Model: "x' OR 1=1 --"}, 0, []string{}, false},
	}
	for _, tt := range tests {
		page, err := db.Requests(context.Background(), tt.q)
		if (err != nil) != tt.wantErr {
			t.Errorf("Requests(%+v) error = %v, want error %v", tt.q, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		ids := []string{}
		for _, it := range page.Items {
			ids = append(ids, it.RequestID)
		}
		if page.Total != tt.total || !cmp.Equal(ids, tt.ids) {
			t.Errorf("Requests(%+v) = %d, %v, want %d, %v", tt.q, page.Total, ids, tt.total, tt.ids)
		}
	}
	page, _ := db.Requests(context.Background(), RequestQuery{Limit: 1})
	out, _ := json.MarshalIndent(page, "", "  ")
	golden(t, "testdata/requests.golden.json", out)
}

func TestFeatures(t *testing.T) {
	db := openTest(t)
	seed(t, db)
	got, err := db.Features(context.Background(), t0)
	if err != nil {
		t.Fatal(err)
	}
	want := []LoggedDecision{
		{RequestID: "b1", Time: t0.Add(16 * time.Minute), Features: json.RawMessage(`{"model":"claude-sonnet-4-5"}`),
			Provider: "anthropic-main", Model: "claude-sonnet-4-5", Status: 200,
			Usage: llm.Usage{InputTokens: 1000, OutputTokens: 100, CacheReadTokens: 500, CacheWriteTokens: 50}, CostMicros: ptr[int64](4800),
			Key: "team-b", Latency: 300 * time.Millisecond},
		{RequestID: "b2", Time: t0.Add(31 * time.Minute), Features: json.RawMessage(`{"model":"local-llama"}`),
			Provider: "demo", Model: "local-llama", Usage: llm.Usage{InputTokens: 7}, Key: "team-b", Latency: 5 * time.Millisecond},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Features(t0) mismatch (-want +got):\n%s", diff)
	}
}

// TestReadsDuringWrites checks that queries answer while the writer is
// busy (separate read pool on a WAL file): it reads until every row is
// written, at least three times (a fixed count of reads outlasted the
// writes by far under -race, where a Stats query takes about 0.4 s).
func TestReadsDuringWrites(t *testing.T) {
	const rows = 5000
	db := openTest(t)
	w, stop := startWriter(t, db, WriterConfig{BatchSize: 64, BatchDelay: time.Millisecond})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < rows; i++ {
			w.Record(&Record{Time: t0, RequestID: fmt.Sprint(i), Model: "m"})
		}
	}()
	reads, during := 0, 0
	for ; reads < 1000; reads++ {
		writing := w.Stats().Written < rows
		if !writing && reads >= 3 {
			break
		}
		if writing {
			during++
		}
		if _, err := db.Stats(context.Background(), t0); err != nil {
			t.Fatalf("Stats during writes: %v", err)
		}
		if _, err := db.Requests(context.Background(), RequestQuery{Limit: 10}); err != nil {
			t.Fatalf("Requests during writes: %v", err)
		}
	}
	<-done
	stop()
	if during == 0 {
		t.Errorf("none of %d reads started before the writes ended", reads)
	}
	if n := countRows(t, db, "requests"); n != rows {
		t.Errorf("rows = %d, want %d", n, rows)
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

func TestRunOnClosedDBCountsQueuedAsFailed(t *testing.T) {
	db := openTest(t)
	w := NewWriter(db, WriterConfig{})
	w.Record(&Record{RequestID: "a"})
	db.Close()
	if err := w.Run(context.Background()); err == nil {
		t.Fatalf("Run on a closed DB = nil, want an error")
	}
	w.Record(&Record{RequestID: "b"})
	if st := w.Stats(); st.Failed != 1 || st.Shed != 1 {
		t.Errorf("Stats() = %+v, want Failed 1 (queued), Shed 1 (after stop)", st)
	}
}

func TestSQLHandleSharesTheFile(t *testing.T) {
	db := openTest(t)
	w, stop := startWriter(t, db, WriterConfig{})
	ctx := context.Background()
	if _, err := db.SQL().ExecContext(ctx, "CREATE TABLE oauth_tokens (name TEXT PRIMARY KEY, blob BLOB)"); err != nil {
		t.Fatalf("create through SQL(): %v", err)
	}
	for i := 0; i < 50; i++ {
		w.Record(&Record{Time: t0, RequestID: fmt.Sprint(i)})
		if _, err := db.SQL().ExecContext(ctx, "INSERT OR REPLACE INTO oauth_tokens VALUES ('a', ?)", []byte{byte(i)}); err != nil {
			t.Fatalf("write through SQL() while logging: %v", err)
		}
	}
	stop()
	if n := countRows(t, db, "requests"); n != 50 {
		t.Errorf("requests rows = %d, want 50", n)
	}
}

// TestWriterPace checks how the writer shares the processor: a batch
// closed by BatchDelay (a quiet log) is written in transactions of at most
// quietPace.txRows rows, a full batch (a busy log) in one transaction, and
// either way every request and attempt lands with its own attempts.
func TestWriterPace(t *testing.T) {
	for _, tc := range []struct {
		name        string
		rows        int
		batchSize   int
		wantBatches int64
	}{
		{"quiet: closed by the delay", 40, 256, 3}, // 16 + 16 + 8
		{"busy: a full batch", 64, 64, 1},
		{"quiet: one odd row", 1, 256, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openTest(t)
			w := NewWriter(db, WriterConfig{BatchSize: tc.batchSize, BatchDelay: 20 * time.Millisecond})
			for i := range tc.rows { // queued before Run: the first batch takes them all
				w.Record(&Record{Time: t0, RequestID: fmt.Sprint(i), Status: 200,
					Attempts: []Attempt{{N: 1, Provider: "a", Status: 500}, {N: 2, Provider: "b", Status: 200}}})
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- w.Run(ctx) }()
			if err := w.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			st := w.Stats()
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Run: %v", err)
			}
			if st.Written != int64(tc.rows) || st.Batches != tc.wantBatches {
				t.Errorf("Stats() = %+v, want %d written in %d transactions", st, tc.rows, tc.wantBatches)
			}
			if n := countRows(t, db, "attempts"); n != int64(2*tc.rows) {
				t.Errorf("attempts rows = %d, want %d", n, 2*tc.rows)
			}
			// Each request's attempts point at it, across transactions.
			var bad int64
			if err := db.read.QueryRow(`SELECT COUNT(*) FROM attempts a JOIN requests r ON r.id = a.request_row
				WHERE a.provider != CASE a.n WHEN 1 THEN 'a' ELSE 'b' END`).Scan(&bad); err != nil || bad != 0 {
				t.Errorf("mismatched attempts = %d (%v), want 0", bad, err)
			}
			var orphans int64
			if err := db.read.QueryRow(`SELECT COUNT(*) FROM requests r WHERE (SELECT COUNT(*) FROM attempts a WHERE a.request_row = r.id) != 2`).Scan(&orphans); err != nil || orphans != 0 {
				t.Errorf("requests without their 2 attempts = %d (%v), want 0", orphans, err)
			}
		})
	}
}

// TestFilesAreWhatSQLiteWrites checks Files against the files a written
// log leaves in its directory: every one of them is named.
func TestFilesAreWhatSQLiteWrites(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "llmgw.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w := NewWriter(db, WriterConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	w.Record(&Record{RequestID: "r1", Status: 200})
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for _, f := range Files(path) {
		named[filepath.Base(f)] = true
	}
	for _, e := range entries {
		if !named[e.Name()] {
			t.Errorf("%s is written by the request log but not in Files", e.Name())
		}
	}
	if len(entries) < 2 {
		t.Errorf("only %d files in the directory: the WAL should be there while the log is open", len(entries))
	}
	cancel()
	<-done
}

// Replay decides a logged request under the policy that decided it: the
// log keeps each version's source once, by hash, and Features carries
// what the decision was (its policy, sticky binding, attempts).
func TestPolicySourcesAndDecisionContext(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	files := PolicyFiles{Entry: "policies.star", Files: map[string]string{"policies.star": "def route(req, ctx):\n    return []\n"}}
	if err := db.SavePolicySource(ctx, "h1", files); err != nil {
		t.Fatal(err)
	}
	if err := db.SavePolicySource(ctx, "h1", PolicyFiles{Entry: "other", Files: map[string]string{"other": "x"}}); err != nil {
		t.Fatal(err) // stored once: the second save changes nothing
	}
	got, err := db.PolicySource(ctx, "h1")
	if err != nil || cmp.Diff(files, got) != "" {
		t.Errorf("PolicySource(h1) = %v, %v, want %v", got, err, files)
	}
	if _, err := db.PolicySource(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("PolicySource(nope) = %v, want ErrNotFound", err)
	}

	w, stop := startWriter(t, db, WriterConfig{})
	w.Record(&Record{Time: t0, RequestID: "r1", Key: "k", Provider: "b", Model: "m", PolicyHash: "h1",
		StickyKey: "k", Sticky: "hit", Features: json.RawMessage(`{"model":"m"}`),
		Attempts: []Attempt{{N: 1, Provider: "a", Class: "failover"}, {N: 2, Provider: "b", Class: "ok"}}})
	stop()
	logged, err := db.Features(ctx, t0)
	if err != nil || len(logged) != 1 {
		t.Fatalf("Features = %v, %v", logged, err)
	}
	d := logged[0]
	if d.PolicyHash != "h1" || d.Key != "k" || d.StickyKey != "k" || d.Sticky != "hit" || d.Attempts != 2 || d.FirstProvider != "a" {
		t.Errorf("Features = %+v", d)
	}

	// Pruning keeps a source while a request refers to it.
	if _, err := db.Prune(ctx, t0.Add(time.Hour*24*365*10)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PolicySource(ctx, "h1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("after pruning every request, PolicySource(h1) = %v, want ErrNotFound", err)
	}
}
