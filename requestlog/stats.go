package requestlog

import (
	"context"
	"database/sql"
	"fmt"
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
	ReasoningTokens  int64 `json:"reasoning_tokens"`
	// CostUSD is the sum of the priced requests' costs, in dollars (for
	// display; CostMicros is exact).
	CostUSD    float64 `json:"cost_usd"`
	CostMicros int64   `json:"cost_micros"`
	// Unpriced counts requests whose cost is unknown (model not in the
	// price table); they are not in CostUSD.
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

// ProviderCounters are the Counters of one provider.
type ProviderCounters struct {
	Provider string `json:"provider"`
	Counters
}

// KeyCounters are the Counters of one client key (by name).
type KeyCounters struct {
	Key string `json:"key"`
	Counters
}

// Stats is what `llmgw stats --json` prints: totals since a time, and the
// same counters by model, provider and client key, busiest first.
type Stats struct {
	Since time.Time `json:"since"`
	Counters
	ByModel    []ModelCounters    `json:"by_model"`
	ByProvider []ProviderCounters `json:"by_provider"`
	ByKey      []KeyCounters      `json:"by_key"`
}

// counterCols computes Counters over a WHERE-filtered set of requests, in
// the order scanCounters reads them.
const counterCols = `COUNT(*),
	COALESCE(SUM(status = 0 OR status >= 400), 0),
	COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0),
	COALESCE(SUM(cache_read_tokens), 0), COALESCE(SUM(cache_write_tokens), 0),
	COALESCE(SUM(reasoning_tokens), 0),
	COALESCE(SUM(cost_micros), 0), COALESCE(SUM(cost_micros IS NULL), 0),
	COALESCE(AVG(latency_us), 0)`

func counterDest(c *Counters, avgLatencyUS *float64) []any {
	return []any{&c.Requests, &c.Errors, &c.InputTokens, &c.OutputTokens,
		&c.CacheReadTokens, &c.CacheWriteTokens, &c.ReasoningTokens,
		&c.CostMicros, &c.Unpriced, avgLatencyUS}
}

func (c *Counters) finish(avgLatencyUS float64) {
	c.CostUSD = float64(c.CostMicros) / 1e6
	c.LatencyMsAvg = roundMs(avgLatencyUS)
}

// roundMs converts microseconds to milliseconds with three decimals.
func roundMs(us float64) float64 {
	return float64(int64(us+0.5)) / 1000
}

// timeRange is a half-open [since, until) filter; a zero until is open.
type timeRange struct{ since, until time.Time }

func (r timeRange) where() (string, []any) {
	if r.until.IsZero() {
		return "time_ms >= ?", []any{r.since.UnixMilli()}
	}
	return "time_ms >= ? AND time_ms < ?", []any{r.since.UnixMilli(), r.until.UnixMilli()}
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
	if err := db.groups(ctx, tr, &s.ByModel, &s.ByProvider, &s.ByKey); err != nil {
		return nil, err
	}
	return s, nil
}

func (db *DB) totals(ctx context.Context, tr timeRange) (Counters, error) {
	where, args := tr.where()
	var c Counters
	var avg float64
	err := db.read.QueryRowContext(ctx, "SELECT "+counterCols+" FROM requests WHERE "+where, args...).
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
	err := db.read.QueryRowContext(ctx, "SELECT latency_us FROM requests WHERE "+where+
		" ORDER BY latency_us LIMIT 1 OFFSET ?", append(args[:len(args):len(args)], rank-1)...).Scan(&us)
	if err != nil {
		return nil, fmt.Errorf("requestlog: latency p%d: %w", p, err)
	}
	ms := roundMs(float64(us))
	return &ms, nil
}

// groups fills the by-model, by-provider and by-key breakdowns.
func (db *DB) groups(ctx context.Context, tr timeRange, models *[]ModelCounters, providers *[]ProviderCounters, keys *[]KeyCounters) error {
	*models, *providers, *keys = []ModelCounters{}, []ProviderCounters{}, []KeyCounters{}
	err := db.groupBy(ctx, tr, "model", func(name string, c Counters) {
		*models = append(*models, ModelCounters{Model: name, Counters: c})
	})
	if err == nil {
		err = db.groupBy(ctx, tr, "provider", func(name string, c Counters) {
			*providers = append(*providers, ProviderCounters{Provider: name, Counters: c})
		})
	}
	if err == nil {
		err = db.groupBy(ctx, tr, "key", func(name string, c Counters) {
			*keys = append(*keys, KeyCounters{Key: name, Counters: c})
		})
	}
	return err
}

// groupBy calls add for each distinct value of col (a constant column
// name, never user input), busiest first.
func (db *DB) groupBy(ctx context.Context, tr timeRange, col string, add func(string, Counters)) error {
	where, args := tr.where()
	q := "SELECT " + col + ", " + counterCols + " FROM requests WHERE " + where +
		" GROUP BY " + col + " ORDER BY COUNT(*) DESC, " + col
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("requestlog: stats by %s: %w", col, err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var c Counters
		var avg float64
		if err := rows.Scan(append([]any{&name}, counterDest(&c, &avg)...)...); err != nil {
			return fmt.Errorf("requestlog: stats by %s: %w", col, err)
		}
		c.finish(avg)
		add(name, c)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("requestlog: stats by %s: %w", col, err)
	}
	return nil
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
// the breakdowns by model, provider and key.
type Summary struct {
	Since         time.Time          `json:"since"`
	Until         time.Time          `json:"until"`
	BucketSeconds int64              `json:"bucket_seconds"`
	Totals        Counters           `json:"totals"`
	Series        []Point            `json:"series"`
	ByModel       []ModelCounters    `json:"by_model"`
	ByProvider    []ProviderCounters `json:"by_provider"`
	ByKey         []KeyCounters      `json:"by_key"`
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
	if err := db.groups(ctx, tr, &s.ByModel, &s.ByProvider, &s.ByKey); err != nil {
		return nil, err
	}
	return s, nil
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
		return q, fmt.Errorf("requestlog: summary: since %s is not before until %s", q.Since.Format(time.RFC3339), q.Until.Format(time.RFC3339))
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
		return q, fmt.Errorf("requestlog: summary: bucket %s must be a whole number of seconds", q.Bucket)
	}
	if span/q.Bucket > maxPoints {
		return q, fmt.Errorf("requestlog: summary: %s in buckets of %s is more than %d points", span, q.Bucket, maxPoints)
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
	rows, err := db.read.QueryContext(ctx, q, append([]any{bms}, args...)...)
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
