package requestlog

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"
)

// Counters are the totals of a set of requests. A request is an error when
// its status is 0 (no response) or at least 400.
type Counters struct {
	Requests         int64 `json:"requests"`
	Errors           int64 `json:"errors"`
	InputTokens      int64 `json:"input_tokens"`
	OutputTokens     int64 `json:"output_tokens"`
	CacheReadTokens  int64 `json:"cache_read_tokens"`
	CacheWriteTokens int64 `json:"cache_write_tokens"`
	// CacheReadShare is the share of all input tokens (uncached, cache
	// reads and cache writes) that were read from a prompt cache, 0 to 1:
	// how much of an agent's resent prefix the provider served cached.
	CacheReadShare  float64 `json:"cache_read_share"`
	ReasoningTokens int64   `json:"reasoning_tokens"`
	// CostUSD is the sum of the priced requests' costs, in dollars (for
	// display; CostMicros is exact).
	CostUSD    float64 `json:"cost_usd"`
	CostMicros int64   `json:"cost_micros"`
	// Unpriced counts requests that used tokens but have no cost (their
	// model is not in the price table): the usage CostUSD leaves out. A
	// request without usage (most failures) costs nothing and is not
	// unpriced, although its cost is stored as NULL too.
	Unpriced int64 `json:"unpriced"`
	// LatencyMsAvg is the mean request latency in milliseconds.
	LatencyMsAvg float64 `json:"latency_ms_avg"`
	// LatencyMsP50 and LatencyMsP95 are latency percentiles in
	// milliseconds, computed for totals only (absent elsewhere and when
	// there are no requests).
	LatencyMsP50 *float64 `json:"latency_ms_p50,omitempty"`
	LatencyMsP95 *float64 `json:"latency_ms_p95,omitempty"`
}

// ModelCounters are the Counters of one requested model.
type ModelCounters struct {
	Model string `json:"model"`
	Counters
}

// ServedModelCounters are the Counters of one pair of requested model and
// the model sent to the provider that served (or last failed) it: a
// route's model override, a provider's models mapping, or the same name.
// ServedModel is "" for requests that reached no upstream.
type ServedModelCounters struct {
	Model       string `json:"model"`
	ServedModel string `json:"served_model"`
	Counters
}

// ProviderCounters are the Counters of one provider: the requests it
// served or was the last to fail, and every upstream attempt made to it.
// A request that failed over from A to B is B's request, and A's failed
// attempt shows in A's AttemptErrors and Failovers (A may have no requests
// at all). A request refused before any upstream was called (a client's
// body that no candidate's protocol could carry) is no provider's.
type ProviderCounters struct {
	Provider string `json:"provider"`
	Counters
	// Attempts counts the upstream calls made to the provider.
	Attempts int64 `json:"attempts"`
	// AttemptErrors counts the attempts that failed: an error status, no
	// response, or a stream that broke after it started. An attempt the
	// client abandoned is not the provider's failure.
	AttemptErrors int64 `json:"attempt_errors"`
	// Failovers counts the failed attempts the policy classified
	// "failover" or "cooldown": the request moved on to the next
	// candidate (when one was left), as the failovers metric counts them.
	Failovers int64 `json:"failovers"`
}

// KeyCounters are the Counters of one client key (by name).
type KeyCounters struct {
	Key string `json:"key"`
	Counters
}

// Stats is what `llmgw stats --json` prints: totals since a time, and the
// same counters by requested model, by requested and served model,
// provider and client key, busiest first.
type Stats struct {
	Since time.Time `json:"since"`
	Counters
	ByModel       []ModelCounters       `json:"by_model"`
	ByServedModel []ServedModelCounters `json:"by_served_model"`
	ByProvider    []ProviderCounters    `json:"by_provider"`
	ByKey         []KeyCounters         `json:"by_key"`
}

// counterCols computes Counters over a WHERE-filtered set of requests, in
// the order scanCounters reads them.
//
// The same text runs on SQLite and PostgreSQL: conditions are counted with
// CASE (PostgreSQL cannot sum a boolean) and sums are cast to BIGINT
// (PostgreSQL sums bigint as numeric), which changes nothing on SQLite.
const counterCols = `COUNT(*),
	CAST(COALESCE(SUM(CASE WHEN status = 0 OR status >= 400 THEN 1 ELSE 0 END), 0) AS BIGINT),
	CAST(COALESCE(SUM(input_tokens), 0) AS BIGINT), CAST(COALESCE(SUM(output_tokens), 0) AS BIGINT),
	CAST(COALESCE(SUM(cache_read_tokens), 0) AS BIGINT), CAST(COALESCE(SUM(cache_write_tokens), 0) AS BIGINT),
	CAST(COALESCE(SUM(reasoning_tokens), 0) AS BIGINT),
	CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT),
	CAST(COALESCE(SUM(CASE WHEN cost_micros IS NULL AND input_tokens + output_tokens + cache_read_tokens + cache_write_tokens > 0 THEN 1 ELSE 0 END), 0) AS BIGINT),
	CAST(COALESCE(AVG(latency_us), 0) AS DOUBLE PRECISION)`

// A request's attempts are rows of the attempts table. An attempt of
// class "skip" is a candidate the gateway refused itself before calling it
// (the request could not be expressed in its protocol): it says nothing
// about that provider and is not counted as its attempt. (The gateway
// does not log such a candidate as the request's provider either.)
//
// attemptCounts computes a provider's attempt counters over the attempts
// (alias a) of a WHERE-filtered set of requests, skipped ones excluded.
const attemptCounts = `COUNT(*),
	CAST(COALESCE(SUM(CASE WHEN a.class != 'cancelled' AND (a.class != '' OR a.error != '' OR a.status = 0 OR a.status >= 400) THEN 1 ELSE 0 END), 0) AS BIGINT),
	CAST(COALESCE(SUM(CASE WHEN a.class IN ('failover', 'cooldown') THEN 1 ELSE 0 END), 0) AS BIGINT)`

func counterDest(c *Counters, avgLatencyUS *float64) []any {
	return []any{&c.Requests, &c.Errors, &c.InputTokens, &c.OutputTokens,
		&c.CacheReadTokens, &c.CacheWriteTokens, &c.ReasoningTokens,
		&c.CostMicros, &c.Unpriced, avgLatencyUS}
}

func (c *Counters) finish(avgLatencyUS float64) {
	c.CostUSD = float64(c.CostMicros) / 1e6
	if in := c.InputTokens + c.CacheReadTokens + c.CacheWriteTokens; in > 0 {
		c.CacheReadShare = float64(int64(float64(c.CacheReadTokens)/float64(in)*1e4+0.5)) / 1e4
	}
	c.LatencyMsAvg = roundMs(avgLatencyUS)
}

// roundMs converts microseconds to milliseconds with three decimals.
func roundMs(us float64) float64 {
	return float64(int64(us+0.5)) / 1000
}

// timeRange is a half-open [since, until) filter; a zero until is open.
type timeRange struct{ since, until time.Time }

func (r timeRange) where() (string, []any) { return r.whereOn("time_ms") }

// whereOn is where on the given time column: "requests.time_ms" where
// attempts are joined (on PostgreSQL they carry a time_ms too).
func (r timeRange) whereOn(col string) (string, []any) {
	if r.until.IsZero() {
		return col + " >= ?", []any{r.since.UnixMilli()}
	}
	return col + " >= ? AND " + col + " < ?", []any{r.since.UnixMilli(), r.until.UnixMilli()}
}

// Stats returns the totals of the requests logged since the given time,
// overall and by model, provider and key.
func (db *DB) Stats(ctx context.Context, since time.Time) (*Stats, error) {
	tr := timeRange{since: since}
	tot, err := db.totals(ctx, tr)
	if err != nil {
		return nil, err
	}
	s := &Stats{Since: since.UTC(), Counters: tot}
	g, err := db.groups(ctx, tr)
	if err != nil {
		return nil, err
	}
	s.ByModel, s.ByServedModel, s.ByProvider, s.ByKey = g.models, g.served, g.providers, g.keys
	return s, nil
}

func (db *DB) totals(ctx context.Context, tr timeRange) (Counters, error) {
	where, args := tr.where()
	var c Counters
	var avg float64
	err := db.read.QueryRowContext(ctx, db.rebind("SELECT "+counterCols+" FROM requests WHERE "+where), args...).
		Scan(counterDest(&c, &avg)...)
	if err != nil {
		return Counters{}, fmt.Errorf("requestlog: totals: %w", err)
	}
	c.finish(avg)
	if c.Requests > 0 {
		if c.LatencyMsP50, err = db.percentile(ctx, where, args, c.Requests, 50); err != nil {
			return Counters{}, err
		}
		if c.LatencyMsP95, err = db.percentile(ctx, where, args, c.Requests, 95); err != nil {
			return Counters{}, err
		}
	}
	return c, nil
}

// percentile returns the p-th percentile latency (nearest rank) of the n
// requests matching where, in milliseconds.
func (db *DB) percentile(ctx context.Context, where string, args []any, n int64, p int64) (*float64, error) {
	rank := max((n*p+99)/100, 1) // nearest-rank: ceil(n·p/100)
	var us int64
	err := db.read.QueryRowContext(ctx, db.rebind("SELECT latency_us FROM requests WHERE "+where+
		" ORDER BY latency_us LIMIT 1 OFFSET ?"), append(args[:len(args):len(args)], rank-1)...).Scan(&us)
	if err != nil {
		return nil, fmt.Errorf("requestlog: latency p%d: %w", p, err)
	}
	ms := roundMs(float64(us))
	return &ms, nil
}

// breakdowns are the groupings Stats and Summary share.
type breakdowns struct {
	models    []ModelCounters
	served    []ServedModelCounters
	providers []ProviderCounters
	keys      []KeyCounters
}

// groups computes the breakdowns by requested model, requested and served
// model, provider (with its attempts) and key.
func (db *DB) groups(ctx context.Context, tr timeRange) (breakdowns, error) {
	g := breakdowns{models: []ModelCounters{}, served: []ServedModelCounters{}, providers: []ProviderCounters{}, keys: []KeyCounters{}}
	err := db.groupBy(ctx, tr, "model", "", func(name, _ string, c Counters) {
		g.models = append(g.models, ModelCounters{Model: name, Counters: c})
	})
	if err == nil {
		err = db.groupBy(ctx, tr, "model", "upstream_model", func(name, served string, c Counters) {
			g.served = append(g.served, ServedModelCounters{Model: name, ServedModel: served, Counters: c})
		})
	}
	if err == nil {
		err = db.groupBy(ctx, tr, "provider", "", func(name, _ string, c Counters) {
			g.providers = append(g.providers, ProviderCounters{Provider: name, Counters: c})
		})
	}
	if err == nil {
		g.providers, err = db.addAttempts(ctx, tr, g.providers)
	}
	if err == nil {
		err = db.groupBy(ctx, tr, "key", "", func(name, _ string, c Counters) {
			g.keys = append(g.keys, KeyCounters{Key: name, Counters: c})
		})
	}
	return g, err
}

// groupBy calls add for each distinct value of the column col (and of
// col2 when not ""), busiest first. Both are constant column names, never
// user input.
func (db *DB) groupBy(ctx context.Context, tr timeRange, col, col2 string, add func(string, string, Counters)) error {
	where, args := tr.where()
	keys := "g1"
	sel := col + " AS g1, "
	if col2 != "" {
		keys = "g1, g2"
		sel += col2 + " AS g2, "
	}
	q := "SELECT " + sel + counterCols + " FROM requests WHERE " + where +
		" GROUP BY " + keys + " ORDER BY COUNT(*) DESC, " + keys
	rows, err := db.read.QueryContext(ctx, db.rebind(q), args...)
	if err != nil {
		return fmt.Errorf("requestlog: stats by %s: %w", col, err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, name2 string
		var c Counters
		var avg float64
		dest := []any{&name}
		if col2 != "" {
			dest = append(dest, &name2)
		}
		if err := rows.Scan(append(dest, counterDest(&c, &avg)...)...); err != nil {
			return fmt.Errorf("requestlog: stats by %s: %w", col, err)
		}
		c.finish(avg)
		add(name, name2, c)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("requestlog: stats by %s: %w", col, err)
	}
	return nil
}

// addAttempts fills in the attempt counters of the providers called for
// the requests in tr, adding the providers that served none of them, and
// orders the list by requests, then attempts, then name.
func (db *DB) addAttempts(ctx context.Context, tr timeRange, providers []ProviderCounters) ([]ProviderCounters, error) {
	where, args := tr.whereOn("requests.time_ms")
	q := "SELECT a.provider, " + attemptCounts + " FROM attempts a JOIN requests ON requests.id = a.request_row" + db.sameDay() + " WHERE " +
		where + " AND a.class != 'skip' GROUP BY a.provider"
	rows, err := db.read.QueryContext(ctx, db.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("requestlog: attempts by provider: %w", err)
	}
	defer rows.Close()
	index := make(map[string]int, len(providers))
	for i, p := range providers {
		index[p.Provider] = i
	}
	for rows.Next() {
		var name string
		var attempts, errs, failovers int64
		if err := rows.Scan(&name, &attempts, &errs, &failovers); err != nil {
			return nil, fmt.Errorf("requestlog: attempts by provider: %w", err)
		}
		i, ok := index[name]
		if !ok {
			i = len(providers)
			providers = append(providers, ProviderCounters{Provider: name})
		}
		p := &providers[i]
		p.Attempts, p.AttemptErrors, p.Failovers = attempts, errs, failovers
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("requestlog: attempts by provider: %w", err)
	}
	sort.SliceStable(providers, func(i, j int) bool {
		a, b := providers[i], providers[j]
		if a.Requests != b.Requests {
			return a.Requests > b.Requests
		}
		if a.Attempts != b.Attempts {
			return a.Attempts > b.Attempts
		}
		return a.Provider < b.Provider
	})
	return providers, nil
}

// SummaryQuery selects the time range of a Summary.
type SummaryQuery struct {
	// Since is the start of the range. Zero means 24 hours before Until.
	Since time.Time
	// Until is the end of the range (exclusive). Zero means now.
	Until time.Time
	// Bucket is the width of one series point. Zero picks the smallest of
	// 1m, 5m, 15m, 1h, 6h and 24h that yields at most 300 points.
	Bucket time.Duration
}

// maxPoints bounds the length of a Summary's series.
const maxPoints = 2000

// Point is one bucket of a Summary's series; T is the bucket's start in
// Unix seconds.
type Point struct {
	T int64 `json:"t"`
	Counters
}

// Summary is the dashboard's overview (GET /api/summary): totals, a time
// series with one point per bucket (empty buckets included, zeroed) and
// the breakdowns by model, served model, provider and key.
type Summary struct {
	Since         time.Time             `json:"since"`
	Until         time.Time             `json:"until"`
	BucketSeconds int64                 `json:"bucket_seconds"`
	Totals        Counters              `json:"totals"`
	Series        []Point               `json:"series"`
	ByModel       []ModelCounters       `json:"by_model"`
	ByServedModel []ServedModelCounters `json:"by_served_model"`
	ByProvider    []ProviderCounters    `json:"by_provider"`
	ByKey         []KeyCounters         `json:"by_key"`
	// StickyHitsSession and StickyHitsKey split the requests whose sticky
	// binding decided the pick (sticky "hit") by what bound them: a
	// session, or the client key alone (the logged inputs name no
	// session). Without a sticky_key hook a request without a session is
	// bound by its client key, so every request of that key goes to one
	// provider while the binding lives; StickyHitsKey shows how often
	// that happened, which a 50/50 split in the policy would not suggest.
	StickyHitsSession int64 `json:"sticky_hits_session"`
	StickyHitsKey     int64 `json:"sticky_hits_key"`
	// Writer is the log writer of the replica that answered: rows
	// waiting, held while PostgreSQL is unreachable, shed and failed. The
	// gateway fills it in (DB.Summary leaves it nil), so that a log that
	// is losing rows shows where its figures are read.
	Writer *WriterStats `json:"log_writer,omitempty"`
}

// Summary returns the overview of the requests in q's range. Buckets are
// aligned to multiples of the bucket width since the Unix epoch (UTC).
func (db *DB) Summary(ctx context.Context, q SummaryQuery) (*Summary, error) {
	q, err := q.normalize()
	if err != nil {
		return nil, err
	}
	tr := timeRange{since: q.Since, until: q.Until}
	s := &Summary{Since: q.Since.UTC(), Until: q.Until.UTC(), BucketSeconds: int64(q.Bucket / time.Second)}
	if s.Totals, err = db.totals(ctx, tr); err != nil {
		return nil, err
	}
	if s.Series, err = db.series(ctx, tr, q.Bucket); err != nil {
		return nil, err
	}
	g, err := db.groups(ctx, tr)
	if err != nil {
		return nil, err
	}
	s.ByModel, s.ByServedModel, s.ByProvider, s.ByKey = g.models, g.served, g.providers, g.keys
	if s.StickyHitsSession, s.StickyHitsKey, err = db.stickyHits(ctx, tr); err != nil {
		return nil, err
	}
	return s, nil
}

// stickyHits counts the sticky hits in tr bound by a session and by the
// client key alone. The session is read from the logged inputs (the
// features column, always JSON the gateway wrote); a row whose inputs were
// not logged or were cut for size names no session and counts as bound
// by its key. Only hit rows are parsed.
func (db *DB) stickyHits(ctx context.Context, tr timeRange) (session, key int64, err error) {
	where, args := tr.where()
	// requestlog_session is the PostgreSQL schema's function for the same.
	sessionOf := `CASE WHEN json_valid(features) THEN COALESCE(json_extract(features, '$.session'), '') ELSE '' END`
	if db.pg != nil {
		sessionOf = `requestlog_session(features)`
	}
	q := `SELECT CAST(COALESCE(SUM(CASE WHEN s != '' THEN 1 ELSE 0 END), 0) AS BIGINT), CAST(COALESCE(SUM(CASE WHEN s = '' THEN 1 ELSE 0 END), 0) AS BIGINT) FROM (
		SELECT ` + sessionOf + ` AS s
		FROM requests WHERE ` + where + ` AND sticky = 'hit') AS hits`
	if err := db.read.QueryRowContext(ctx, db.rebind(q), args...).Scan(&session, &key); err != nil {
		return 0, 0, fmt.Errorf("requestlog: summary sticky hits: %w", err)
	}
	return session, key, nil
}

func (q SummaryQuery) normalize() (SummaryQuery, error) {
	if q.Until.IsZero() {
		q.Until = time.Now()
	}
	if q.Since.IsZero() {
		q.Since = q.Until.Add(-24 * time.Hour)
	}
	span := q.Until.Sub(q.Since)
	if span <= 0 {
		return q, fmt.Errorf("requestlog: summary: %w: since %s is not before until %s", ErrBadQuery, q.Since.Format(time.RFC3339), q.Until.Format(time.RFC3339))
	}
	if q.Bucket == 0 {
		q.Bucket = 24 * time.Hour
		for _, b := range []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 6 * time.Hour} {
			if span/b <= 300 {
				q.Bucket = b
				break
			}
		}
	}
	if q.Bucket < time.Second || q.Bucket%time.Second != 0 {
		return q, fmt.Errorf("requestlog: summary: %w: bucket %s must be a whole number of seconds", ErrBadQuery, q.Bucket)
	}
	if span/q.Bucket > maxPoints {
		return q, fmt.Errorf("requestlog: summary: %w: %s in buckets of %s is more than %d points", ErrBadQuery, span, q.Bucket, maxPoints)
	}
	return q, nil
}

// series returns one point per bucket overlapping tr, zeros included.
func (db *DB) series(ctx context.Context, tr timeRange, bucket time.Duration) ([]Point, error) {
	bms := bucket.Milliseconds()
	first := floorDiv(tr.since.UnixMilli(), bms)
	last := floorDiv(tr.until.UnixMilli()-1, bms)
	points := make([]Point, last-first+1)
	for i := range points {
		points[i].T = (first + int64(i)) * bms / 1000
	}
	where, args := tr.where()
	q := "SELECT time_ms / ? AS b, " + counterCols + " FROM requests WHERE " + where + " GROUP BY b"
	rows, err := db.read.QueryContext(ctx, db.rebind(q), append([]any{bms}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("requestlog: summary series: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var b int64
		var c Counters
		var avg float64
		if err := rows.Scan(append([]any{&b}, counterDest(&c, &avg)...)...); err != nil {
			return nil, fmt.Errorf("requestlog: summary series: %w", err)
		}
		if i := b - first; i >= 0 && i < int64(len(points)) {
			c.finish(avg)
			points[i].Counters = c
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("requestlog: summary series: %w", err)
	}
	return points, nil
}

// floorDiv is a / b rounded toward negative infinity (b > 0); SQLite's
// integer division truncates, which matches for the non-negative times
// the log holds.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// nullInt64 returns a *int64 for a nullable column.
func nullInt64(n sql.NullInt64) *int64 {
	if !n.Valid {
		return nil
	}
	v := n.Int64
	return &v
}
