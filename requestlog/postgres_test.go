package requestlog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/llmgw/llmgw/internal/testservices"
	"github.com/llmgw/llmgw/llm"
)

// pgSchemaURL creates a schema of its own on the test server, dropped when
// the test ends, and returns the server's URL with that schema as the
// search_path.
func pgSchemaURL(t testing.TB) string {
	t.Helper()
	base := testservices.PostgresURL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect %s: %v", Redact(base), err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "llmgw_test_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// pgURLOf is the URL a test's log on PostgreSQL was opened with.
func pgURLOf(t testing.TB, db *DB) string {
	t.Helper()
	return db.pg.Config().ConnString()
}

// openPGTest opens a log in a schema of its own.
func openPGTest(t testing.TB) *DB {
	t.Helper()
	return openPGAt(t, pgSchemaURL(t))
}

func openPGAt(t testing.TB, u string) *DB {
	t.Helper()
	db, err := Open(context.Background(), u)
	if err != nil {
		t.Fatalf("Open(%s): %v", Redact(u), err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// crossRecords are records touching every field and every reader's cases:
// the full record, the stats seed, failovers, skips and cancellations,
// sticky hits by session and by key, an unpriced request, a duplicated
// request id.
func crossRecords() []*Record {
	at := t0.Add(time.Minute)
	recs := []*Record{fullRecord()}
	recs = append(recs,
		&Record{Time: t0.Add(1 * time.Minute), RequestID: "a1", Key: "team-a", Model: "gpt-4o", Provider: "openai-main", Status: 200,
			Latency: 100 * time.Millisecond, Usage: llm.Usage{InputTokens: 100, OutputTokens: 10, ReasoningTokens: 2}, CostMicros: ptr[int64](350)},
		&Record{Time: t0.Add(2 * time.Minute), RequestID: "a2", Key: "team-a", Model: "gpt-4o", Provider: "openai-main", Status: 429,
			Latency: 20 * time.Millisecond, ErrorClass: "cooldown", CostMicros: ptr[int64](0)},
		&Record{Time: t0.Add(16 * time.Minute), RequestID: "b1", Key: "team-b", Model: "claude-sonnet-4-5", Provider: "anthropic-main", Status: 200,
			Latency: 300 * time.Millisecond, Usage: llm.Usage{InputTokens: 1000, OutputTokens: 100, CacheReadTokens: 500, CacheWriteTokens: 50},
			CostMicros: ptr[int64](4800), Features: json.RawMessage(`{"model":"claude-sonnet-4-5"}`)},
		&Record{Time: t0.Add(31 * time.Minute), RequestID: "b2", Key: "team-b", Model: "local-llama", Provider: "demo", Status: 0,
			Latency: 5 * time.Millisecond, Usage: llm.Usage{InputTokens: 7}, Features: json.RawMessage(`{"model":"local-llama"}`)},
		&Record{Time: t0.Add(-time.Hour), RequestID: "old", Key: "team-a", Model: "gpt-4o", Provider: "openai-main", Status: 200},
		&Record{Time: at, RequestID: "failover", Model: "claude-sonnet-4-5", UpstreamModel: "sonnet-backup", Provider: "backup", Status: 200,
			Usage: llm.Usage{InputTokens: 10, OutputTokens: 5}, CostMicros: ptr[int64](100), Attempts: []Attempt{
				{N: 1, Provider: "main", Model: "claude-sonnet-4-5", Status: 529, Class: "failover", Error: "overloaded"},
				{N: 2, Provider: "second", Model: "claude-sonnet-4-5", Status: 529, Class: "cooldown", Error: "overloaded"},
				{N: 3, Provider: "backup", Model: "sonnet-backup", Status: 200},
			}},
		&Record{Time: at, RequestID: "refused", Model: "claude-sonnet-4-5", Status: 400, ErrorMessage: "bad image", Attempts: []Attempt{
			{N: 1, Provider: "main", Model: "claude-sonnet-4-5", Status: 400, Class: "skip", Error: "bad image"},
		}},
		&Record{Time: at, RequestID: "cancelled", Model: "gpt-4o", UpstreamModel: "gpt-4o", Provider: "second", Status: 499, ErrorClass: "client_cancelled",
			Attempts: []Attempt{{N: 1, Provider: "second", Model: "gpt-4o", Class: "cancelled"}}},
		&Record{Time: at, RequestID: "s1", Key: "team", StickyKey: "team:conv-1", Sticky: "hit", Features: []byte(`{"key":"team","session":"conv-1"}`)},
		&Record{Time: at, RequestID: "k1", Key: "team", StickyKey: "team", Sticky: "hit", Features: []byte(`{"key":"team"}`)},
		&Record{Time: at, RequestID: "k2", Key: "ci", StickyKey: "ci", Sticky: "hit", Features: []byte(`{"key":"ci","session":""}`)},
		&Record{Time: at, RequestID: "k3", Key: "Ci", StickyKey: "ci", Sticky: "hit"},
		&Record{Time: at, RequestID: "bad-json", Key: "_ci", Sticky: "hit", Features: []byte(`{not json`)},
		&Record{Time: t0.Add(3 * time.Hour), RequestID: "a1", Key: "team-a", Model: "gpt-4o", Provider: "openai-main", Status: 201,
			Notes: []string{"second row with the same id"}, UsageEstimated: true, Stream: true},
		&Record{Time: t0.Add(26 * time.Hour), RequestID: "next-day", Model: "gpt-4o", Provider: "openai-main", Status: 200,
			Usage: llm.Usage{InputTokens: 1, CacheWrite1hTokens: 1}},
		&Record{Time: at, RequestID: "limited", Key: "team-a", Status: 429, ErrorClass: "limited", Limit: "team-a-daily",
			Features: []byte(`{"key":"team-a"}`)},
		&Record{Time: at, RequestID: "shadowed", Key: "team-a", Status: 200, WouldRefuse: []string{"rpm", "tpm"},
			Usage: llm.Usage{InputTokens: 5}, CostMicros: ptr[int64](9), Features: []byte(`{"key":"team-a","model":"gpt-4o"}`)},
	)
	return recs
}

// TestPostgresReadsAsSQLite writes the same records to SQLite and to
// PostgreSQL and checks that every reader answers the same.
func TestPostgresReadsAsSQLite(t *testing.T) {
	ctx := context.Background()
	lite, pg := openTest(t), openPGTest(t)
	for _, db := range []*DB{lite, pg} {
		w, stop := startWriter(t, db, WriterConfig{})
		for _, r := range crossRecords() {
			w.Record(r)
		}
		stop()
		if st := w.Stats(); st.Written != int64(len(crossRecords())) || st.Failed != 0 {
			t.Fatalf("%s: stats %+v, want %d written", db.Backend(), st, len(crossRecords()))
		}
		if err := db.SavePolicySource(ctx, "ab12cd", PolicyFiles{Entry: "main.star", Files: map[string]string{"main.star": "provider(\"x\")\n"}}); err != nil {
			t.Fatal(err)
		}
	}
	if pg.Backend() != "postgres" || lite.Backend() != "sqlite" {
		t.Fatalf("backends %s, %s", lite.Backend(), pg.Backend())
	}
	same := func(name string, read func(db *DB) (any, error)) {
		t.Helper()
		a, err := read(lite)
		if err != nil {
			t.Fatalf("%s on SQLite: %v", name, err)
		}
		b, err := read(pg)
		if err != nil {
			t.Fatalf("%s on PostgreSQL: %v", name, err)
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if d := cmp.Diff(string(ja), string(jb)); d != "" {
			t.Errorf("%s differs (-sqlite +postgres):\n%s", name, d)
		}
		if len(ja) < 20 {
			t.Errorf("%s: suspiciously empty answer %s", name, ja)
		}
	}
	for _, since := range []time.Time{t0.Add(-2 * time.Hour), t0, t0.Add(time.Hour)} {
		same(fmt.Sprint("Stats since ", since), func(db *DB) (any, error) { return db.Stats(ctx, since) })
	}
	for _, q := range []SummaryQuery{
		{Since: t0.Add(-2 * time.Hour), Until: t0.Add(30 * time.Hour)},
		{Since: t0, Until: t0.Add(time.Hour), Bucket: 15 * time.Minute},
	} {
		same(fmt.Sprint("Summary ", q), func(db *DB) (any, error) { return db.Summary(ctx, q) })
	}
	for _, q := range []RequestQuery{
		{Limit: 1000},
		{Limit: 3, Offset: 2},
		{Model: "gpt-4o"}, {Provider: "openai-main", Status: "ok"}, {Key: "team-a", Status: "error"},
		{Status: "429"}, {Since: t0.Add(time.Hour)},
	} {
		same(fmt.Sprint("Requests ", q), func(db *DB) (any, error) { return db.Requests(ctx, q) })
	}
	for _, r := range crossRecords() {
		same("Request "+r.RequestID, func(db *DB) (any, error) { return db.Request(ctx, r.RequestID) })
	}
	same("Features", func(db *DB) (any, error) { return db.Features(ctx, t0.Add(-2*time.Hour)) })
	same("PolicySource", func(db *DB) (any, error) { return db.PolicySource(ctx, "ab12cd") })
	same("Spending", func(db *DB) (any, error) {
		var all []Spent
		err := db.Spending(ctx, t0.Add(-2*time.Hour), func(s Spent) error { all = append(all, s); return nil })
		return all, err
	})
	same("LimitCounts", func(db *DB) (any, error) { return db.LimitCounts(ctx, t0.Add(-2*time.Hour), t0.Add(30*time.Hour)) })
	same("limit columns", func(db *DB) (any, error) {
		rows, err := db.read.QueryContext(ctx, "SELECT request_id, limit_name, would_refuse FROM requests ORDER BY request_id, id")
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out [][3]string
		for rows.Next() {
			var r [3]string
			if err := rows.Scan(&r[0], &r[1], &r[2]); err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, rows.Err()
	})
	for _, db := range []*DB{lite, pg} {
		if _, err := db.Request(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: Request(nope) = %v, want ErrNotFound", db.Backend(), err)
		}
		if _, err := db.PolicySource(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: PolicySource(nope) = %v, want ErrNotFound", db.Backend(), err)
		}
		if _, err := db.Requests(ctx, RequestQuery{Status: "bogus"}); !errors.Is(err, ErrBadQuery) {
			t.Errorf("%s: Requests(status=bogus) = %v, want ErrBadQuery", db.Backend(), err)
		}
	}
	// The full record reads back field for field.
	d, err := pg.Request(ctx, "req-full")
	if err != nil {
		t.Fatal(err)
	}
	full := fullRecord()
	if d.CacheWrite1hTokens != 100 || *d.CostMicros != 7500 || !d.Stream || !d.UsageEstimated || d.StickyKey != full.StickyKey ||
		len(d.Attempts) != 2 || !d.Attempts[1].FirstByte || d.Notes[1] != full.Notes[1] || string(d.Features) != string(full.Features) {
		t.Errorf("PostgreSQL detail of the full record = %+v", d)
	}
}

// TestPostgresTextPostgreSQLRefuses: NUL bytes and invalid UTF-8, which
// SQLite stores and PostgreSQL's text refuses, are written (replaced), not
// lost with their batch.
func TestPostgresTextPostgreSQLRefuses(t *testing.T) {
	db := openPGTest(t)
	w, stop := startWriter(t, db, WriterConfig{})
	w.Record(&Record{Time: t0, RequestID: "nul", Model: "a\x00b", ErrorMessage: "bad \xff byte", Features: []byte("{\"k\":\"\x00\"}")})
	w.Record(&Record{Time: t0, RequestID: "fine"})
	stop()
	if st := w.Stats(); st.Written != 2 || st.Failed != 0 {
		t.Fatalf("stats %+v, want 2 written", st)
	}
	d, err := db.Request(context.Background(), "nul")
	if err != nil {
		t.Fatal(err)
	}
	if d.Model != "a\uFFFDb" || d.Error != "bad \uFFFD byte" {
		t.Errorf("model %q, error %q", d.Model, d.Error)
	}
}

// TestPostgresMigrateTwiceAndConcurrently opens one schema from several
// replicas at once, then again: one migration, no error, the same tables.
func TestPostgresMigrateTwiceAndConcurrently(t *testing.T) {
	u := pgSchemaURL(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := Open(ctx, u)
			if err == nil {
				db.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent Open %d: %v", i, err)
		}
	}
	db := openPGAt(t, u) // and once more, on a migrated schema
	var version int
	if err := db.pg.QueryRow(ctx, "SELECT version FROM requestlog_schema").Scan(&version); err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := db.pg.QueryRow(ctx, "SELECT count(*) FROM requestlog_schema").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if version != len(pgMigrations) || rows != 1 {
		t.Errorf("schema version %d in %d rows, want %d in 1", version, rows, len(pgMigrations))
	}
	parts, err := db.Partitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != partitionsAhead+1 {
		t.Errorf("partitions after open: %+v, want today and %d days ahead", parts, partitionsAhead)
	}
	// A newer schema is refused, not written over.
	if _, err := db.pg.Exec(ctx, "UPDATE requestlog_schema SET version = 99"); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, u); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open of a newer schema: %v, want refused", err)
	}
}

// TestPostgresCreatesItsSchema: a search_path naming a schema that does
// not exist yet gets it created.
func TestPostgresCreatesItsSchema(t *testing.T) {
	u, err := url.Parse(pgSchemaURL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	schema := q.Get("search_path") + "_new"
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db := openPGAt(t, u.String())
	t.Cleanup(func() { _, _ = db.pg.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
	var where string
	if err := db.pg.QueryRow(context.Background(), "SELECT schemaname FROM pg_tables WHERE tablename = 'requestlog_schema' AND schemaname = $1", schema).Scan(&where); err != nil {
		t.Fatalf("the log's tables are not in the new schema %s: %v", schema, err)
	}
}

// TestPostgresRetentionDropsPartitions writes rows over several days and
// prunes: whole days before the cutoff are dropped, tables and all.
func TestPostgresRetentionDropsPartitions(t *testing.T) {
	ctx := context.Background()
	db := openPGTest(t)
	now := time.Now().UTC()
	day := func(n int) time.Time { return now.Add(time.Duration(n) * 24 * time.Hour) }
	w, stop := startWriter(t, db, WriterConfig{})
	for i, n := range []int{-10, -10, -5, -1, 0} {
		w.Record(&Record{Time: day(n), RequestID: fmt.Sprint("r", i), PolicyHash: "h",
			Attempts: []Attempt{{N: 1, Provider: "p"}}})
	}
	stop()
	before, err := db.Partitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, p := range before {
		names[p.Requests] = true
		if p.Attempts == "" || p.Requests == "" {
			t.Errorf("partition %+v lacks a table", p)
		}
	}
	for _, n := range []int{-10, -5, -1, 0, 1, 2} {
		if name := "requests_" + dayName(floorDiv(day(n).UnixMilli(), dayMs)); !names[name] {
			t.Errorf("no partition %s among %v", name, names)
		}
	}
	// Keep 3 days: the days of -10 and -5 end before the cutoff.
	if _, err := db.pg.Exec(ctx, "ANALYZE requests"); err != nil {
		t.Fatal(err)
	}
	n, err := db.Prune(ctx, now.Add(-3*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("Prune dropped %d requests by the estimate after ANALYZE, want 3", n)
	}
	after, err := db.Partitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before)-2 {
		t.Errorf("partitions after prune: %+v, want two days fewer than %+v", after, before)
	}
	if got := countRows(t, db, "requests"); got != 2 {
		t.Errorf("%d requests left, want 2", got)
	}
	if got := countRows(t, db, "attempts"); got != 2 {
		t.Errorf("%d attempts left, want 2", got)
	}
	// Replicas prune at once: each finds the other's drops done.
	other := openPGAt(t, pgURLOf(t, db))
	w3, stop3 := startWriter(t, db, WriterConfig{})
	w3.Record(&Record{Time: day(-9), RequestID: "again"})
	stop3()
	var wg sync.WaitGroup
	for _, d := range []*DB{db, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := d.Prune(ctx, now.Add(-3*24*time.Hour)); err != nil {
				t.Errorf("concurrent Prune: %v", err)
			}
		}()
	}
	wg.Wait()
	// The writer recreates a dropped day when a late row needs it.
	w2, stop2 := startWriter(t, db, WriterConfig{})
	w2.Record(&Record{Time: day(-10), RequestID: "late"})
	stop2()
	if st := w2.Stats(); st.Written != 1 {
		t.Errorf("late row: %+v", st)
	}
}

// TestPostgresReplicasShareOneLog runs three writers, as three replicas
// would, on one schema at once, with rows on days that have no partition
// yet: every row lands once, request ids never collide, and each replica
// reads all of them.
func TestPostgresReplicasShareOneLog(t *testing.T) {
	u := pgSchemaURL(t)
	const replicas, each = 3, 300
	var dbs []*DB
	for range replicas {
		dbs = append(dbs, openPGAt(t, u))
	}
	start := time.Now().Add(10 * 24 * time.Hour) // days ahead of any partition made at open
	var wg sync.WaitGroup
	for i, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, stop := startWriter(t, db, WriterConfig{BatchSize: 16, BatchDelay: 5 * time.Millisecond})
			for n := range each {
				w.Record(&Record{Time: start.Add(time.Duration(n%3) * 24 * time.Hour), RequestID: fmt.Sprintf("rep%d-%d", i, n),
					Attempts: []Attempt{{N: 1, Provider: "p"}, {N: 2, Provider: "q"}}})
			}
			stop()
		}()
	}
	wg.Wait()
	for i, db := range dbs {
		page, err := db.Requests(context.Background(), RequestQuery{Limit: 1, Since: start.Add(-time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != replicas*each {
			t.Errorf("replica %d reads %d requests, want %d", i, page.Total, replicas*each)
		}
	}
	var ids, distinct, orphans int64
	if err := dbs[0].pg.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT id),
		(SELECT count(*) FROM attempts a WHERE NOT EXISTS (SELECT 1 FROM requests r WHERE r.id = a.request_row))
		FROM requests`).Scan(&ids, &distinct, &orphans); err != nil {
		t.Fatal(err)
	}
	if ids != replicas*each || distinct != ids || orphans != 0 {
		t.Errorf("%d rows, %d distinct ids, %d attempts without their request; want %d, %d, 0", ids, distinct, orphans, replicas*each, replicas*each)
	}
	d, err := dbs[2].Request(context.Background(), "rep0-7")
	if err != nil || len(d.Attempts) != 2 {
		t.Errorf("replica 2 reads replica 0's request: %+v, %v", d, err)
	}
}

// TestPostgresStoresLimitVerdicts: the limit that refused a request and
// the shadow limits it went over are kept, as the SQLite log keeps them.
func TestPostgresStoresLimitVerdicts(t *testing.T) {
	db := openPGTest(t)
	w, stop := startWriter(t, db, WriterConfig{})
	w.Record(&Record{Time: t0, RequestID: "refused", Status: 429, ErrorClass: "limited", Limit: "team-a-daily"})
	w.Record(&Record{Time: t0, RequestID: "shadow", Status: 200, WouldRefuse: []string{"rpm", "tpm"}})
	w.Record(&Record{Time: t0, RequestID: "none", Status: 200})
	stop()
	got := map[string][2]string{}
	rows, err := db.pg.Query(context.Background(), "SELECT request_id, limit_name, would_refuse FROM requests")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, limit, would string
		if err := rows.Scan(&id, &limit, &would); err != nil {
			t.Fatal(err)
		}
		got[id] = [2]string{limit, would}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := map[string][2]string{"refused": {"team-a-daily", ""}, "shadow": {"", `["rpm","tpm"]`}, "none": {"", ""}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("limit columns (-want +got):\n%s", d)
	}
}

// TestURLOrFile: a postgres:// or postgresql:// --db is a server, anything
// else a SQLite file; a URL is logged without its password.
func TestURLOrFile(t *testing.T) {
	for _, tc := range []struct {
		db     string
		url    bool
		redact string
	}{
		{"./llmgw.db", false, "./llmgw.db"},
		{"postgres.db", false, "postgres.db"},
		{"postgres://llmgw:s3cret@db:5432/llmgw?sslmode=require", true, "postgres://llmgw:xxxxx@db:5432/llmgw?sslmode=require"},
		{" PostgreSQL://db/llmgw", true, "postgresql://db/llmgw"},
	} {
		if got := IsURL(tc.db); got != tc.url {
			t.Errorf("IsURL(%q) = %v", tc.db, got)
		}
		if got := Redact(tc.db); !strings.EqualFold(strings.TrimSpace(got), strings.TrimSpace(tc.redact)) || strings.Contains(got, "s3cret") {
			t.Errorf("Redact(%q) = %q, want %q", tc.db, got, tc.redact)
		}
		if files := Files(tc.db); (files == nil) != tc.url {
			t.Errorf("Files(%q) = %v", tc.db, files)
		}
	}
	// A URL pgx cannot parse is refused without quoting it.
	if _, err := Open(context.Background(), "postgres://u:s3cret@db:notaport/x"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Open of a bad URL: %v", err)
	}
}

// TestPostgresPartitionDroppedByAnotherReplica: a writer that made a day's
// partitions, which another replica's retention then dropped, makes them
// again for its next row of that day rather than losing it.
func TestPostgresPartitionDroppedByAnotherReplica(t *testing.T) {
	ctx := context.Background()
	a := openPGTest(t)
	b := openPGAt(t, pgURLOf(t, a))
	old := time.Now().Add(-20 * 24 * time.Hour)
	w, stop := startWriter(t, a, WriterConfig{BatchDelay: 10 * time.Millisecond})
	w.Record(&Record{Time: old, RequestID: "first"})
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Prune(ctx, time.Now().Add(-10*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	w.Record(&Record{Time: old, RequestID: "second", Attempts: []Attempt{{N: 1, Provider: "p"}}})
	stop()
	if st := w.Stats(); st.Written != 2 || st.Failed != 0 {
		t.Errorf("stats %+v, want both rows written", st)
	}
	if _, err := a.Request(ctx, "second"); err != nil {
		t.Errorf("the row after the drop: %v", err)
	}
}
