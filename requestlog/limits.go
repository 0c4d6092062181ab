package requestlog

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/llmgw/llmgw/llm"
)

// Spent is a logged request as the limits' counters see it, for
// rebuilding them at start.
type Spent struct {
	Time time.Time
	// Features is the routing input as logged (the engine request as
	// JSON): whose request it was and the model it asked for.
	Features   json.RawMessage
	Usage      llm.Usage
	CostMicros int64 // 0 when unpriced
	// WouldRefuse are the shadow limits the request went over: their
	// counters did not count it.
	WouldRefuse []string
}

// notAdmitted are the error classes of requests refused before a limit
// counted them: unauthenticated, over capacity, refused by the policy or
// by a limit itself. A bad_request was refused before admission when it
// made no attempt (malformed, no model); one with an attempt was admitted
// and then found no candidate that could take it (Spending's query).
const notAdmitted = `('auth', 'capacity', 'policy', 'refused', 'limited')`

// Spending calls fn, oldest first, for each request logged since the
// given time that the policy's limits counted: every request with routing
// features but those refused before admission. It streams: a month of
// rows is never held at once. An error from fn stops it and is returned.
func (db *DB) Spending(ctx context.Context, since time.Time, fn func(Spent) error) error {
	rows, err := db.read.QueryContext(ctx, db.rebind(`SELECT time_ms, features, input_tokens, output_tokens,
		cache_read_tokens, cache_write_tokens, cost_micros, would_refuse
		FROM requests WHERE time_ms >= ? AND features IS NOT NULL AND error_class NOT IN `+notAdmitted+`
		AND (error_class <> 'bad_request' OR EXISTS (SELECT 1 FROM attempts a WHERE a.request_row = requests.id`+db.sameDay()+`))
		ORDER BY time_ms, id`), since.UnixMilli())
	if err != nil {
		return fmt.Errorf("requestlog: spending: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s Spent
		var ms int64
		var features sql.NullString
		var cost sql.NullInt64
		var would string
		u := &s.Usage
		if err := rows.Scan(&ms, &features, &u.InputTokens, &u.OutputTokens, &u.CacheReadTokens,
			&u.CacheWriteTokens, &cost, &would); err != nil {
			return fmt.Errorf("requestlog: spending: %w", err)
		}
		s.Time = time.UnixMilli(ms).UTC()
		s.Features = validJSON(features)
		s.CostMicros = cost.Int64
		if would != "" {
			_ = json.Unmarshal([]byte(would), &s.WouldRefuse) // a damaged value counts the request everywhere
		}
		if err := fn(s); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("requestlog: spending: %w", err)
	}
	return nil
}
