package requestlog

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"time"
)

// Rows are inserted with multi-row INSERT statements, rowsPerInsert
// requests (and attemptsPerInsert attempts) per statement, which costs a
// fraction of one statement per row. Request ids are assigned here, from
// the table's largest id, so that attempts can refer to them; this is safe
// because the writer is the only one inserting requests and does so inside
// a BEGIN IMMEDIATE transaction.
const (
	rowsPerInsert     = 32
	attemptsPerInsert = 64
)

const requestCols = `id, request_id, time_ms, key, endpoint, protocol_in, protocol_out, model, upstream_model, provider,
	stream, status, error_class, error_message, latency_us, ttft_us,
	input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, reasoning_tokens,
	usage_estimated, cost_micros, price_source, policy_hash, sticky_key, sticky, notes, features`

const requestArity = 30 // columns in requestCols

const attemptCols = `request_row, n, provider, model, status, class, error, latency_us, first_byte`

const attemptArity = 9

// multiInsert returns an INSERT of n rows of arity placeholders each.
func multiInsert(table, cols string, arity, n int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", arity), ",") + ")"
	return "INSERT INTO " + table + " (" + cols + ") VALUES " + strings.TrimSuffix(strings.Repeat(row+",", n), ",")
}

// inserter holds the writer's prepared statements, keyed by row count.
// It is used by Run's goroutine only.
type inserter struct {
	db       *sql.DB
	requests map[int]*sql.Stmt
	attempts map[int]*sql.Stmt
}

func (w *Writer) prepare(ctx context.Context) (*inserter, error) {
	ins := &inserter{db: w.db.write, requests: map[int]*sql.Stmt{}, attempts: map[int]*sql.Stmt{}}
	// Every power of two up to a full chunk is prepared, and exec splits a
	// chunk of any other size into those: compiling a many-row INSERT from
	// text costs more than executing it. Statements cannot be prepared
	// later: inside a transaction the one write connection is taken.
	for _, p := range []struct {
		cache       map[int]*sql.Stmt
		table, cols string
		arity       int
		sizes       []int
	}{
		{ins.requests, "requests", requestCols, requestArity, powersOfTwo(rowsPerInsert)},
		{ins.attempts, "attempts", attemptCols, attemptArity, powersOfTwo(attemptsPerInsert)},
	} {
		for _, n := range p.sizes {
			s, err := ins.db.PrepareContext(ctx, multiInsert(p.table, p.cols, p.arity, n))
			if err != nil {
				ins.close()
				return nil, fmt.Errorf("requestlog: writer: prepare: %w", err)
			}
			p.cache[n] = s
		}
	}
	return ins, nil
}

func (ins *inserter) close() {
	for _, s := range ins.requests {
		s.Close()
	}
	for _, s := range ins.attempts {
		s.Close()
	}
}

// insert writes batch and its attempts in one transaction.
func (ins *inserter) insert(ctx context.Context, batch []*Record, now time.Time) error {
	tx, err := ins.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // no-op after Commit
	var maxID int64
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM requests").Scan(&maxID); err != nil {
		return err
	}
	// All requests first, then all attempts (the foreign key is checked
	// per statement), each in chunks that match the prepared statements.
	args := make([]any, 0, rowsPerInsert*requestArity)
	for i, r := range batch {
		args = appendRequestArgs(args, maxID+1+int64(i), r, now)
		if len(args) == cap(args) || i == len(batch)-1 {
			if err := ins.exec(ctx, tx, ins.requests, "requests", requestCols, requestArity, args); err != nil {
				return err
			}
			args = args[:0]
		}
	}
	args = make([]any, 0, attemptsPerInsert*attemptArity)
	for i, r := range batch {
		for _, a := range r.Attempts {
			args = append(args, maxID+1+int64(i), a.N, a.Provider, a.Model, a.Status, a.Class, a.Error,
				a.Latency.Microseconds(), a.FirstByte)
			if len(args) == cap(args) {
				if err := ins.exec(ctx, tx, ins.attempts, "attempts", attemptCols, attemptArity, args); err != nil {
					return err
				}
				args = args[:0]
			}
		}
	}
	if len(args) > 0 {
		if err := ins.exec(ctx, tx, ins.attempts, "attempts", attemptCols, attemptArity, args); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// powersOfTwo returns 1, 2, 4, ... up to limit (a power of two).
func powersOfTwo(limit int) []int {
	var out []int
	for n := 1; n <= limit; n *= 2 {
		out = append(out, n)
	}
	return out
}

// exec inserts the rows in args with the prepared statements, largest
// first (n rows take at most log2(n)+1 statements), or from text for a
// size nothing was prepared for. After each statement it yields the
// processor: with GOMAXPROCS=1 a batch commit would otherwise hold the
// only P for milliseconds while requests wait (the p99 latency).
func (ins *inserter) exec(ctx context.Context, tx *sql.Tx, cache map[int]*sql.Stmt, table, cols string, arity int, args []any) error {
	for len(args) > 0 {
		n := len(args) / arity
		var err error
		if s, ok := cache[n]; ok {
			_, err = tx.StmtContext(ctx, s).ExecContext(ctx, args...)
		} else if k := largestBelow(cache, n); k > 0 {
			n = k
			_, err = tx.StmtContext(ctx, cache[k]).ExecContext(ctx, args[:k*arity]...)
		} else {
			_, err = tx.ExecContext(ctx, multiInsert(table, cols, arity, n), args...)
		}
		if err != nil {
			return err
		}
		args = args[n*arity:]
		runtime.Gosched()
	}
	return nil
}

// largestBelow returns the largest prepared size below n, or 0.
func largestBelow(cache map[int]*sql.Stmt, n int) int {
	best := 0
	for k := range cache {
		if k < n && k > best {
			best = k
		}
	}
	return best
}

func appendRequestArgs(args []any, id int64, r *Record, now time.Time) []any {
	t := r.Time
	if t.IsZero() {
		t = now
	}
	var notes, features any // NULL unless present
	if len(r.Notes) > 0 {
		b, _ := json.Marshal(r.Notes) // a []string always marshals
		notes = string(b)
	}
	if len(r.Features) > 0 {
		features = string(r.Features)
	}
	var cost any
	if r.CostMicros != nil {
		cost = *r.CostMicros
	}
	u := r.Usage
	return append(args,
		id, r.RequestID, t.UnixMilli(), r.Key, r.Endpoint, r.ProtocolIn, r.ProtocolOut, r.Model, r.UpstreamModel, r.Provider,
		r.Stream, r.Status, r.ErrorClass, r.ErrorMessage, r.Latency.Microseconds(), r.TTFT.Microseconds(),
		u.InputTokens, u.OutputTokens, u.CacheReadTokens, u.CacheWriteTokens, u.CacheWrite1hTokens, u.ReasoningTokens,
		r.UsageEstimated, cost, r.PriceSource, r.PolicyHash, r.StickyKey, r.Sticky, notes, features,
	)
}
