package requestlog

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Rows are inserted with multi-row INSERT statements of at most
// rowsPerInsert requests (and attemptsPerInsert attempts: a pace's
// statements carry twice as many attempts as requests), which costs a
// fraction of one statement per row. Request ids are assigned here, from
// the table's largest id, so that attempts can refer to them; this is safe
// because the writer is the only one inserting requests and does so inside
// a BEGIN IMMEDIATE transaction.
const (
	rowsPerInsert     = 32
	attemptsPerInsert = 2 * rowsPerInsert
)

// pace is how the writer shares the processor while it writes a batch.
// With GOMAXPROCS=1 (one core) every statement and every commit holds the
// only P: requests whose bytes have arrived wait until the writer lets go.
type pace struct {
	txRows        int  // most rows per transaction; 0: the whole batch
	stmtRows      int  // most requests per INSERT: a power of two <= rowsPerInsert
	behindNetwork bool // yield until the network is polled (netpollYield), not with runtime.Gosched
}

var (
	// quietPace is for a log that keeps up easily (the batch was closed
	// by BatchDelay, not by filling): short statements (about 30 µs for 4
	// rows) and short transactions (a commit writes each page to the WAL
	// with two pwrite calls: about 0.4 ms for 100 rows), and after each
	// the writer waits behind the requests that arrived meanwhile (see
	// netpollYield for why neither Gosched nor a timed pause does that).
	// It costs more CPU per row, which a quiet gateway has to spare.
	quietPace = pace{txRows: 16, stmtRows: 4, behindNetwork: true}
	// busyPace is for a full batch or a backlog: whole batches and large
	// statements, the least CPU per row, so that a saturated gateway still
	// logs every request.
	busyPace = pace{stmtRows: rowsPerInsert}
)

// yield lets other goroutines run between statements and transactions,
// as p says.
func (ins *inserter) yield(p pace) {
	if p.behindNetwork {
		ins.ny.yield()
		return
	}
	runtime.Gosched()
}

// The columns a row binds, in order, each with its placeholder: "?", or
// text for a NOT NULL text column. The writer binds an empty string as NULL
// there (see inserter.text) because the driver copies every bound string
// into C memory and frees it after the statement, and an empty one costs as
// much as any; a typical row leaves five or more text columns empty.
var (
	requestCols = []column{
		{"id", "?"}, {"request_id", text}, {"time_ms", "?"}, {"key", text}, {"endpoint", text},
		{"protocol_in", text}, {"protocol_out", text}, {"model", text}, {"upstream_model", text}, {"provider", text},
		{"stream", "?"}, {"status", "?"}, {"error_class", text}, {"error_message", text}, {"latency_us", "?"}, {"ttft_us", "?"},
		{"input_tokens", "?"}, {"output_tokens", "?"}, {"cache_read_tokens", "?"}, {"cache_write_tokens", "?"},
		{"cache_write_1h_tokens", "?"}, {"reasoning_tokens", "?"},
		{"usage_estimated", "?"}, {"cost_micros", "?"}, {"price_source", text}, {"policy_hash", text},
		{"sticky_key", text}, {"sticky", text}, {"notes", "?"}, {"features", "?"},
		{"limit_name", text}, {"would_refuse", text},
	}
	attemptCols = []column{
		{"request_row", "?"}, {"n", "?"}, {"provider", text}, {"model", text}, {"status", "?"},
		{"class", text}, {"error", text}, {"latency_us", "?"}, {"first_byte", "?"},
	}
)

// text is the placeholder of a NOT NULL text column: a NULL argument
// stores the empty string.
const text = "ifnull(?, '')"

// column is a column's name and the placeholder that binds it.
type column struct{ name, placeholder string }

// multiInsert returns an INSERT of n rows of cols.
func multiInsert(table string, cols []column, n int) string {
	names := make([]string, len(cols))
	holders := make([]string, len(cols))
	for i, c := range cols {
		names[i], holders[i] = c.name, c.placeholder
	}
	row := "(" + strings.Join(holders, ",") + ")"
	return "INSERT INTO " + table + " (" + strings.Join(names, ", ") + ") VALUES " + strings.TrimSuffix(strings.Repeat(row+",", n), ",")
}

// inserter holds the writer's prepared statements, keyed by row count.
// It is used by Run's goroutine only.
//
// It works on the write connection's driver connection (sql.Conn.Raw)
// rather than through database/sql: the writer's values are already the
// driver's types, and database/sql's per-argument conversion was the
// largest allocation of a logged request (about 1.8 KB of 16 KB) besides
// costing CPU. The statements belong to one driver connection; if the pool
// ever replaces it, they are prepared again on the new one.
type inserter struct {
	db       *sql.DB
	dc       any // the driver connection the statements were prepared on
	maxID    driver.Stmt
	requests map[int]driver.Stmt
	attempts map[int]driver.Stmt
	args     []driver.NamedValue     // reused by every statement
	labels   map[string]driver.Value // boxed names reused from row to row (see label)
	ny       *netpollYield           // the quiet pace's yield; nil: a timed park
}

func (w *Writer) prepare(ctx context.Context) (*inserter, error) {
	ins := &inserter{db: w.db.write}
	if err := ins.raw(ctx, func(any) error { return nil }); err != nil {
		return nil, fmt.Errorf("requestlog: writer: prepare: %w", err)
	}
	ins.ny = startNetpollYield()
	return ins, nil
}

// raw runs f on the write connection's driver connection, with the
// statements prepared on it.
func (ins *inserter) raw(ctx context.Context, f func(dc any) error) error {
	conn, err := ins.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		if dc != ins.dc {
			ins.closeStmts()
			if err := ins.prepareOn(ctx, dc); err != nil {
				ins.closeStmts()
				return err
			}
		}
		return f(dc)
	})
}

// prepareOn prepares every power of two up to a full chunk, and exec
// splits a chunk of any other size into those: compiling a many-row
// INSERT from text costs more than executing it.
func (ins *inserter) prepareOn(ctx context.Context, dc any) error {
	pc, ok := dc.(driver.ConnPrepareContext)
	if !ok {
		return fmt.Errorf("driver connection %T cannot prepare statements", dc)
	}
	ins.dc, ins.requests, ins.attempts = dc, map[int]driver.Stmt{}, map[int]driver.Stmt{}
	var err error
	if ins.maxID, err = pc.PrepareContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM requests"); err != nil {
		return err
	}
	for _, p := range []struct {
		cache map[int]driver.Stmt
		table string
		cols  []column
		sizes []int
	}{
		{ins.requests, "requests", requestCols, powersOfTwo(rowsPerInsert)},
		{ins.attempts, "attempts", attemptCols, powersOfTwo(attemptsPerInsert)},
	} {
		for _, n := range p.sizes {
			st, err := pc.PrepareContext(ctx, multiInsert(p.table, p.cols, n))
			if err != nil {
				return err
			}
			p.cache[n] = st
		}
	}
	return nil
}

func (ins *inserter) closeStmts() {
	if ins.maxID != nil {
		ins.maxID.Close()
	}
	for _, st := range ins.requests {
		st.Close()
	}
	for _, st := range ins.attempts {
		st.Close()
	}
	ins.dc, ins.maxID, ins.requests, ins.attempts = nil, nil, nil, nil
}

// close finalizes the statements, on their connection.
func (ins *inserter) close() {
	ins.ny.stop()
	conn, err := ins.db.Conn(context.Background())
	if err != nil {
		return
	}
	defer conn.Close()
	_ = conn.Raw(func(dc any) error {
		if dc == ins.dc {
			ins.closeStmts()
		}
		return nil
	})
}

// insert writes batch and its attempts in one transaction, in statements
// of at most p.stmtRows requests (twice that many attempts).
func (ins *inserter) insert(ctx context.Context, batch []*Record, now time.Time, p pace) error {
	return ins.raw(ctx, func(dc any) error {
		bt, ok := dc.(driver.ConnBeginTx)
		if !ok {
			return fmt.Errorf("driver connection %T cannot begin transactions", dc)
		}
		tx, err := bt.BeginTx(ctx, driver.TxOptions{})
		if err != nil {
			return err
		}
		if err := ins.insertTx(ctx, batch, now, p); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			tx.Rollback() // a failed COMMIT (busy) leaves the transaction open
			return err
		}
		return nil
	})
}

// insertTx is insert's work inside the transaction. Request ids are
// assigned from the table's largest id so that attempts can refer to them.
func (ins *inserter) insertTx(ctx context.Context, batch []*Record, now time.Time, p pace) error {
	maxID, err := ins.queryMaxID(ctx)
	if err != nil {
		return err
	}
	// All requests first, then all attempts (the foreign key is checked
	// per statement), each in chunks that match the prepared statements.
	args := ins.args[:0]
	rows := 0
	for i, r := range batch {
		args = ins.appendRequest(args, maxID+1+int64(i), r, now)
		if rows++; rows == p.stmtRows || i == len(batch)-1 {
			if err := ins.exec(ctx, p, ins.requests, "requests", len(requestCols), args); err != nil {
				return err
			}
			args, rows = args[:0], 0
		}
	}
	for i, r := range batch {
		for _, a := range r.Attempts {
			args = ins.appendAttempt(args, maxID+1+int64(i), a)
			if rows++; rows == 2*p.stmtRows {
				if err := ins.exec(ctx, p, ins.attempts, "attempts", len(attemptCols), args); err != nil {
					return err
				}
				args, rows = args[:0], 0
			}
		}
	}
	if rows > 0 {
		if err := ins.exec(ctx, p, ins.attempts, "attempts", len(attemptCols), args); err != nil {
			return err
		}
	}
	ins.args = args[:0]
	return nil
}

func (ins *inserter) queryMaxID(ctx context.Context) (int64, error) {
	q, ok := ins.maxID.(driver.StmtQueryContext)
	if !ok {
		return 0, fmt.Errorf("statement %T cannot query", ins.maxID)
	}
	rows, err := q.QueryContext(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	dest := make([]driver.Value, 1)
	if err := rows.Next(dest); err != nil {
		return 0, err
	}
	id, ok := dest[0].(int64)
	if !ok {
		return 0, fmt.Errorf("MAX(id) is %T, want int64", dest[0])
	}
	return id, nil
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
// first (n rows take at most log2(n)+1 statements), yielding the
// processor after each statement as p says.
func (ins *inserter) exec(ctx context.Context, p pace, cache map[int]driver.Stmt, table string, arity int, args []driver.NamedValue) error {
	for len(args) > 0 {
		n := len(args) / arity
		st, ok := cache[n]
		if !ok {
			n = largestBelow(cache, n)
			st = cache[n]
		}
		if st == nil {
			return fmt.Errorf("no prepared INSERT for %d %s", len(args)/arity, table)
		}
		ex, ok := st.(driver.StmtExecContext)
		if !ok {
			return fmt.Errorf("statement %T cannot execute", st)
		}
		chunk := args[:n*arity]
		for i := range chunk {
			chunk[i].Ordinal = i + 1
		}
		if _, err := ex.ExecContext(ctx, chunk); err != nil {
			return err
		}
		args = args[n*arity:]
		ins.yield(p)
	}
	return nil
}

// largestBelow returns the largest prepared size below n, or 0.
func largestBelow(cache map[int]driver.Stmt, n int) int {
	best := 0
	for k := range cache {
		if k < n && k > best {
			best = k
		}
	}
	return best
}

// text returns s as the argument of a text placeholder: NULL for "",
// which the placeholder stores as the empty string.
func (ins *inserter) text(s string) driver.Value {
	if s == "" {
		return nil
	}
	return capColumn(s, MaxTextBytes)
}

// Column caps. A row is written for every request, refused ones included,
// before the client is authenticated: what a column holds must not grow
// with what an anonymous client sends (a megabyte path or model name), or
// the database and every listing that reads it grow with it.
const (
	// MaxLabelBytes caps a label column (model, provider, key, endpoint).
	MaxLabelBytes = 512
	// MaxTextBytes caps a free-text column (an error message, a request id).
	MaxTextBytes = 2048
	// MaxFeaturesBytes caps the logged routing inputs; a larger set is
	// stored as {"complete":false,"truncated_bytes":N}, which replay reads
	// as an incomplete row.
	MaxFeaturesBytes = 256 << 10
)

// capColumn returns s cut to n bytes on a UTF-8 boundary, followed by
// "… (N bytes)" naming its full length, or s itself when it fits.
func capColumn(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "… (" + strconv.Itoa(len(s)) + " bytes)"
}

// maxLabels bounds inserter.labels; past it the cache starts again.
const maxLabels = 1024

// label is text for a value that repeats from row to row (a provider,
// model, endpoint or key name): the first row's driver.Value is kept and
// reused, because storing a string in an interface allocates, about ten
// times a row.
func (ins *inserter) label(s string) driver.Value {
	if s == "" {
		return nil
	}
	if v, ok := ins.labels[s]; ok {
		return v
	}
	s = capColumn(s, MaxLabelBytes)
	if v, ok := ins.labels[s]; ok {
		return v
	}
	if ins.labels == nil || len(ins.labels) >= maxLabels {
		ins.labels = make(map[string]driver.Value, 64)
	}
	s = strings.Clone(s) // never keep a larger buffer alive through a substring
	v := driver.Value(s)
	ins.labels[s] = v
	return v
}

// appendAttempt appends a's row, in attemptCols' order, for request row id.
func (ins *inserter) appendAttempt(args []driver.NamedValue, id int64, a Attempt) []driver.NamedValue {
	for _, v := range [...]driver.Value{
		id, int64(a.N), ins.label(a.Provider), ins.label(a.Model), int64(a.Status), ins.label(a.Class), ins.text(a.Error),
		a.Latency.Microseconds(), a.FirstByte,
	} {
		args = append(args, driver.NamedValue{Value: v})
	}
	return args
}

// appendRequest appends r's row as statement arguments, in requestCols'
// order. Each is a driver.Value (int64, string, bool or nil), so it
// reaches the driver unconverted.
func (ins *inserter) appendRequest(args []driver.NamedValue, id int64, r *Record, now time.Time) []driver.NamedValue {
	notesJ, featuresJ, wouldJ := r.jsonColumns()
	var notes, features, would driver.Value // NULL unless present (NULL binds '' for would)
	if notesJ != "" {
		notes = notesJ
	}
	if featuresJ != "" {
		features = featuresJ
	}
	if wouldJ != "" {
		would = ins.text(wouldJ)
	}
	var cost driver.Value
	if r.CostMicros != nil {
		cost = *r.CostMicros
	}
	u := r.Usage
	for _, v := range [...]driver.Value{
		id, ins.text(r.RequestID), rowTime(r, now), ins.label(r.Key), ins.label(r.Endpoint),
		ins.label(r.ProtocolIn), ins.label(r.ProtocolOut), ins.label(r.Model), ins.label(r.UpstreamModel), ins.label(r.Provider),
		r.Stream, int64(r.Status), ins.label(r.ErrorClass), ins.text(r.ErrorMessage), r.Latency.Microseconds(), r.TTFT.Microseconds(),
		u.InputTokens, u.OutputTokens, u.CacheReadTokens, u.CacheWriteTokens, u.CacheWrite1hTokens, u.ReasoningTokens,
		r.UsageEstimated, cost, ins.label(r.PriceSource), ins.label(r.PolicyHash), ins.text(r.StickyKey), ins.label(r.Sticky), notes, features,
		ins.label(r.Limit), would,
	} {
		args = append(args, driver.NamedValue{Value: v})
	}
	return args
}
