package requestlog

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The writer on PostgreSQL (Run calls runPG) differs from SQLite's in what
// a failure means. A SQLite file is local: a failed commit is a bad row or
// a full disk. A server is remote: while it is unreachable the rows wait
// in memory, bounded by WriterConfig.BufferRows and BufferBytes, and are
// written when it answers again; a row that arrives to a full buffer is
// shed and counted (WriterStats.Shed), never dropped silently. Rows are
// written with COPY, up to pgMaxBatch per transaction, at least every
// BatchDelay, so a replica killed with kill -9 loses only the rows of the
// last BatchDelay plus one COPY.

// pgMaxBatch is the most rows one COPY transaction writes. It is also the
// request id sequence's increment: a batch takes one nextval and numbers
// its rows from it.
const pgMaxBatch = 4096

// pgWriteTimeout bounds one write transaction, so that a server that
// stops answering without closing the connection turns into a retry, not
// a writer stuck with the buffer filling behind it.
const pgWriteTimeout = 10 * time.Second

// pgDrainTimeout is how long a stopping writer keeps retrying an
// unreachable server before it counts the rows still held as failed.
const pgDrainTimeout = 10 * time.Second

// Backoff between attempts while the server is unreachable.
const (
	pgRetryMin = 100 * time.Millisecond
	pgRetryMax = 2 * time.Second
)

// pgRow is a record held for PostgreSQL: its request id once numbered
// (kept across retries, so that a batch whose commit was lost in transit
// and written again shows as the same id twice, not as two requests) and
// its estimated size in memory.
type pgRow struct {
	r    *Record
	id   int64
	size int64
}

// recordSize estimates the memory a held record takes, for BufferBytes.
func recordSize(r *Record) int64 {
	n := 320 + len(r.RequestID) + len(r.Key) + len(r.Endpoint) + len(r.ProtocolIn) + len(r.ProtocolOut) +
		len(r.Model) + len(r.UpstreamModel) + len(r.Provider) + len(r.ErrorClass) + len(r.ErrorMessage) +
		len(r.PriceSource) + len(r.PolicyHash) + len(r.StickyKey) + len(r.Sticky) + len(r.Features)
	for _, s := range r.Notes {
		n += 16 + len(s)
	}
	for _, a := range r.Attempts {
		n += 96 + len(a.Provider) + len(a.Model) + len(a.Class) + len(a.Error)
	}
	return int64(n)
}

// pgWriter writes batches of rows with COPY. It is used by runPG's
// goroutine only.
type pgWriter struct {
	db   *DB
	vals []any         // one row's values, reused: CopyFrom encodes each row at once
	ny   *netpollYield // the quiet pace's yield (see pgQuietRows)
}

// pgBusyRows is how many rows a full batch or a backlog encodes between
// runtime.Gosched calls: a 4,096-row COPY after an outage would otherwise
// hold the only processor for about 10 ms at a time.
const pgBusyRows = 128

// yield is called every pgQuietRows rows (n so far) of a COPY's encoding:
// a quiet batch waits behind the network each time, a busy one lets the
// goroutines already runnable run every pgBusyRows rows.
func (pw *pgWriter) yield(quiet bool, n int) {
	switch {
	case quiet:
		pw.ny.yield()
	case n%pgBusyRows == 0:
		runtime.Gosched()
	}
}

// pgQuietRows is how many rows a quiet batch encodes between yields. With
// one core (GOMAXPROCS=1) encoding a COPY holds the only processor, about
// 2 µs a row: a hundred rows every 100 ms at 1k RPS would stall the
// requests that arrive meanwhile by up to 0.2 ms. A batch smaller than
// WriterConfig.BatchSize (the log keeps up) yields behind the network
// every pgQuietRows rows, as the SQLite writer's quiet pace does; a full
// batch or a backlog is encoded in one go.
const pgQuietRows = 8

// The COPY columns, in the order pgWriter.requestValues and
// attemptValues give them.
var (
	pgRequestCols = []string{
		"id", "request_id", "time_ms", "key", "endpoint", "protocol_in", "protocol_out", "model", "upstream_model", "provider",
		"stream", "status", "error_class", "error_message", "latency_us", "ttft_us",
		"input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "reasoning_tokens",
		"usage_estimated", "cost_micros", "price_source", "policy_hash", "sticky_key", "sticky", "notes", "features",
		"limit_name", "would_refuse",
	}
	pgAttemptCols = []string{"request_row", "time_ms", "n", "provider", "model", "status", "class", "error", "latency_us", "first_byte"}
)

// pgText is s as a PostgreSQL text value: capped as the SQLite writer caps
// it, and valid UTF-8 without NUL bytes, which PostgreSQL's text refuses
// (a refused value would fail its whole batch).
func pgText(s string, limit int) string {
	s = capColumn(s, limit)
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// rowTime is the time a record is logged under: its own, or now.
func rowTime(r *Record, now time.Time) int64 {
	if r.Time.IsZero() {
		return now.UnixMilli()
	}
	return r.Time.UnixMilli()
}

func (pw *pgWriter) requestValues(row pgRow, now time.Time) []any {
	r := row.r
	notesJ, featuresJ, wouldJ := r.jsonColumns()
	var notes, features any // NULL unless present
	if notesJ != "" {
		notes = notesJ
	}
	if featuresJ != "" {
		features = pgText(featuresJ, MaxFeaturesBytes+64)
	}
	var cost any
	if r.CostMicros != nil {
		cost = *r.CostMicros
	}
	would := pgText(wouldJ, MaxTextBytes)
	u := r.Usage
	pw.vals = append(pw.vals[:0],
		row.id, pgText(r.RequestID, MaxTextBytes), rowTime(r, now), pgText(r.Key, MaxLabelBytes), pgText(r.Endpoint, MaxLabelBytes),
		pgText(r.ProtocolIn, MaxLabelBytes), pgText(r.ProtocolOut, MaxLabelBytes), pgText(r.Model, MaxLabelBytes),
		pgText(r.UpstreamModel, MaxLabelBytes), pgText(r.Provider, MaxLabelBytes),
		r.Stream, int32(r.Status), pgText(r.ErrorClass, MaxLabelBytes), pgText(r.ErrorMessage, MaxTextBytes),
		r.Latency.Microseconds(), r.TTFT.Microseconds(),
		u.InputTokens, u.OutputTokens, u.CacheReadTokens, u.CacheWriteTokens, u.CacheWrite1hTokens, u.ReasoningTokens,
		r.UsageEstimated, cost, pgText(r.PriceSource, MaxLabelBytes), pgText(r.PolicyHash, MaxLabelBytes),
		pgText(r.StickyKey, MaxTextBytes), pgText(r.Sticky, MaxLabelBytes), notes, features,
		pgText(r.Limit, MaxLabelBytes), would,
	)
	return pw.vals
}

func (pw *pgWriter) attemptValues(id, ms int64, a Attempt) []any {
	pw.vals = append(pw.vals[:0],
		id, ms, int32(a.N), pgText(a.Provider, MaxLabelBytes), pgText(a.Model, MaxLabelBytes), int32(a.Status),
		pgText(a.Class, MaxLabelBytes), pgText(a.Error, MaxTextBytes), a.Latency.Microseconds(), a.FirstByte,
	)
	return pw.vals
}

// number gives the rows without an id one, from a single nextval of the
// block sequence (len(rows) <= pgMaxBatch).
func (pw *pgWriter) number(ctx context.Context, rows []pgRow) error {
	need := false
	for _, r := range rows {
		if r.id == 0 {
			need = true
			break
		}
	}
	if !need {
		return nil
	}
	var base int64
	if err := pw.db.pg.QueryRow(ctx, "SELECT nextval('requests_id_seq')").Scan(&base); err != nil {
		return err
	}
	for i := range rows {
		if rows[i].id == 0 {
			rows[i].id = base + int64(i)
		}
	}
	return nil
}

// write writes rows (at most pgMaxBatch) in one transaction: their days'
// partitions first, then the requests and the attempts with COPY. When
// quiet, the encoding yields every pgQuietRows rows (see pgQuietRows).
func (pw *pgWriter) write(ctx context.Context, rows []pgRow, now time.Time, quiet bool) error {
	ctx, cancel := context.WithTimeout(ctx, pgWriteTimeout)
	defer cancel()
	if err := pw.number(ctx, rows); err != nil {
		return err
	}
	times := make([]int64, len(rows))
	attempts := 0
	for i, r := range rows {
		times[i] = rowTime(r.r, now)
		attempts += len(r.r.Attempts)
	}
	if err := pw.db.parts.ensure(ctx, daysOf(times)); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, pw.db.pg, func(tx pgx.Tx) error {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"requests"}, pgRequestCols, pgx.CopyFromFunc(func() func() ([]any, error) {
			i := 0
			return func() ([]any, error) {
				if i == len(rows) {
					return nil, nil
				}
				if i++; i%pgQuietRows == 0 {
					pw.yield(quiet, i)
				}
				return pw.requestValues(rows[i-1], now), nil
			}
		}()))
		if err != nil || attempts == 0 {
			return err
		}
		i, j, k := 0, 0, 0
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"attempts"}, pgAttemptCols, pgx.CopyFromFunc(func() ([]any, error) {
			for i < len(rows) && j == len(rows[i].r.Attempts) {
				i, j = i+1, 0
			}
			if i == len(rows) {
				return nil, nil
			}
			j++
			if k++; k%(2*pgQuietRows) == 0 { // an attempt row is half a request's
				pw.yield(quiet, k/2)
			}
			return pw.attemptValues(rows[i].id, times[i], rows[i].r.Attempts[j-1]), nil
		}))
		return err
	})
}

// pgTransient reports whether err means the server could not be reached
// or could not take the write now (worth retrying the same rows), as
// opposed to a row it refuses (which retrying cannot fix).
func pgTransient(err error) bool {
	var se schemaError
	if errors.As(err, &se) {
		return false
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return true // network, timeout, pool closed: no answer from the server
	}
	switch pe.Code[:2] {
	case "08", // connection exception
		"40", // transaction rollback (serialization, deadlock)
		"53", // insufficient resources (disk full, too many connections)
		"57", // operator intervention (shutdown, cannot connect now)
		"58": // system error
		return true
	}
	return false
}

// pgNoPartition reports whether err is a row without a partition: another
// replica's retention dropped a day this writer thought it had.
func pgNoPartition(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "23514" || pe.Code == "42P01")
}

// pgState is runPG's state: the rows held and the outage's backoff.
type pgState struct {
	w       *Writer
	pw      *pgWriter
	pending []pgRow
	bytes   int64
	retryAt time.Time // zero: not backing off
	backoff time.Duration
	waiters []chan struct{} // Flush calls waiting for pending to empty
}

// hold adds r to the buffer, or sheds it (counted) when the buffer is
// full.
func (s *pgState) hold(r *Record) {
	size := recordSize(r)
	cfg := s.w.cfg
	if len(s.pending) >= cfg.BufferRows || s.bytes+size > cfg.BufferBytes {
		s.w.shed.Add(1)
		return
	}
	s.pending = append(s.pending, pgRow{r: r, size: size})
	s.bytes += size
	s.w.buffered.Store(int64(len(s.pending)))
	s.w.bufferedBytes.Store(s.bytes)
}

// take moves what is queued now into the buffer.
func (s *pgState) take() {
	for n := len(s.w.queue); n > 0; n-- {
		s.hold(<-s.w.queue)
	}
}

// done removes the first n held rows.
func (s *pgState) done(n int) {
	for _, r := range s.pending[:n] {
		s.bytes -= r.size
	}
	clear(s.pending[:n])
	s.pending = s.pending[n:]
	if len(s.pending) == 0 {
		s.pending = nil // let a large outage's array go
	}
	s.w.buffered.Store(int64(len(s.pending)))
	s.w.bufferedBytes.Store(s.bytes)
}

// compact removes the rows an interrupted oneByOne pass settled.
func (s *pgState) compact() {
	kept := s.pending[:0]
	for _, r := range s.pending {
		if r.r == nil {
			s.bytes -= r.size
			continue
		}
		kept = append(kept, r)
	}
	clear(s.pending[len(kept):])
	s.pending = kept
	s.w.buffered.Store(int64(len(s.pending)))
	s.w.bufferedBytes.Store(s.bytes)
}

// flush writes the held rows, a batch at a time, until they are all
// written or the server fails; then it backs off. It answers the Flush
// calls waiting once nothing is held.
func (s *pgState) flush(ctx context.Context) {
	w := s.w
	s.compact()
	for len(s.pending) > 0 {
		n := min(len(s.pending), pgMaxBatch)
		batch := s.pending[:n]
		now := w.cfg.Now()
		quiet := len(s.pending) < w.cfg.BatchSize
		err := s.pw.write(ctx, batch, now, quiet)
		if err != nil && pgNoPartition(err) {
			w.db.parts.forget()
			err = s.pw.write(ctx, batch, now, quiet)
		}
		switch {
		case err == nil:
			w.written.Add(int64(n))
			w.batches.Add(1)
			s.done(n)
			s.recovered()
			if err := w.db.saveHeldSources(ctx); err != nil {
				w.cfg.OnError(err)
			}
		case pgTransient(err):
			s.down(err)
			return
		default:
			// A row the server refuses: write them one by one so that it
			// cannot take the others with it.
			if !s.oneByOne(ctx, batch, now, err) {
				return
			}
			s.done(n)
			s.recovered()
		}
	}
	for _, c := range s.waiters {
		close(c)
	}
	s.waiters = nil
}

// oneByOne writes batch a row per transaction after the server refused it
// whole, counting the refused rows as failed. It reports false (nothing
// removed) when the server became unreachable meanwhile.
func (s *pgState) oneByOne(ctx context.Context, batch []pgRow, now time.Time, cause error) bool {
	w := s.w
	w.cfg.OnError(fmt.Errorf("requestlog: write batch of %d to PostgreSQL: %w", len(batch), cause))
	for i := range batch {
		if batch[i].r == nil {
			continue // written by an earlier pass
		}
		err := s.pw.write(ctx, batch[i:i+1], now, false)
		switch {
		case err == nil:
			w.written.Add(1)
			w.batches.Add(1)
		case pgTransient(err):
			s.down(err)
			// Rows written so far stay marked: the next pass skips them.
			return false
		default:
			w.failed.Add(1)
			w.cfg.OnError(fmt.Errorf("requestlog: write request %s: %w", batch[i].r.RequestID, err))
		}
		batch[i].r = nil
	}
	return true
}

// down records a failed attempt to reach the server and schedules the
// next one.
func (s *pgState) down(err error) {
	w := s.w
	if !w.unavailable.Swap(true) {
		w.outages.Add(1)
		w.cfg.OnError(fmt.Errorf("requestlog: PostgreSQL unreachable; holding %d rows in memory until it answers: %w", len(s.pending), err))
	}
	s.backoff = min(max(2*s.backoff, pgRetryMin), pgRetryMax)
	s.retryAt = time.Now().Add(s.backoff)
}

func (s *pgState) recovered() {
	s.w.unavailable.Store(false)
	s.backoff, s.retryAt = 0, time.Time{}
}

// ready reports whether a write may be tried now (not backing off).
func (s *pgState) ready() bool {
	return s.retryAt.IsZero() || !time.Now().Before(s.retryAt)
}

// runPG is Run for a log on PostgreSQL.
func (w *Writer) runPG(ctx context.Context) error {
	wctx := context.WithoutCancel(ctx)
	s := &pgState{w: w, pw: &pgWriter{db: w.db, ny: startNetpollYield()}}
	defer s.pw.ny.stop()
	tick := time.NewTicker(w.cfg.BatchDelay)
	defer tick.Stop()
	maintain := time.NewTicker(w.cfg.PruneEvery)
	defer maintain.Stop()
	if w.cfg.Retention > 0 {
		w.prune(wctx)
	}
	for {
		select {
		case <-ctx.Done():
			w.drain(s.hold)
			deadline := time.Now().Add(w.pgDrain)
			for s.flush(wctx); len(s.pending) > 0 && time.Now().Before(deadline); s.flush(wctx) {
				time.Sleep(time.Until(s.retryAt))
			}
			if n := len(s.pending); n > 0 {
				w.failed.Add(int64(n))
				w.cfg.OnError(fmt.Errorf("requestlog: stopping with PostgreSQL unreachable: %d rows not written", n))
				s.done(n)
			}
			for _, c := range s.waiters {
				close(c)
			}
			return nil
		case r := <-w.queue:
			w.noteDepth(min(len(w.queue)+1, cap(w.queue)))
			s.hold(r)
			s.take()
			if len(s.pending) >= w.cfg.BatchSize && s.ready() {
				s.flush(wctx)
			}
		case <-tick.C:
			s.take()
			if len(s.pending) > 0 && s.ready() {
				s.flush(wctx)
			}
		case reply := <-w.flush:
			s.take()
			s.waiters = append(s.waiters, reply)
			s.flush(wctx)
		case <-maintain.C:
			if w.cfg.Retention > 0 {
				w.prune(wctx)
			} else if err := w.db.parts.ahead(wctx, time.Now()); err != nil {
				w.cfg.OnError(fmt.Errorf("requestlog: %w", err))
			}
		}
	}
}
