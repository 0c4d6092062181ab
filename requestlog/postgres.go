package requestlog

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

// IsURL reports whether a --db value names a PostgreSQL server
// (postgres:// or postgresql://) rather than a SQLite file.
func IsURL(db string) bool {
	s := strings.ToLower(strings.TrimSpace(db))
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Redact returns a --db value fit for a log line or an error: a URL
// without its password; a path as it is.
func Redact(db string) string {
	if !IsURL(db) {
		return db
	}
	u, err := url.Parse(normalizeURL(db))
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	return u.Redacted()
}

// normalizeURL trims a --db URL and lowers its scheme, which pgx reads
// only in lower case.
func normalizeURL(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "://"); i > 0 {
		s = strings.ToLower(s[:i]) + s[i:]
	}
	return s
}

// Backend names the engine that holds the log: "sqlite" or "postgres".
func (db *DB) Backend() string {
	if db.pg != nil {
		return "postgres"
	}
	return "sqlite"
}

// pgConnectTimeout bounds a connection attempt when the URL sets none, so
// that an unreachable server fails a write in seconds and the writer
// buffers rather than hangs.
const pgConnectTimeout = 5 * time.Second

// openPostgres opens the log on the server at rawURL. The request log's
// tables live in the URL's database and search_path (search_path=... or
// options=-csearch_path=... selects a schema, created if missing).
//
// The schema is migrated, and the next days' partitions created, by the
// first connection the pool makes (prepareSchema, its AfterConnect hook),
// so that a replica started while the server is unreachable serves all
// the same: its writer holds the rows, and the first connection that
// succeeds migrates before anything reads or writes. Open tries that
// connection at once: a server that answers but refuses (a bad password, a
// schema newer than this llmgw, no right to create tables) fails Open; one
// that does not answer does not (see Ping).
//
// With readOnly (OpenReadOnly's), each new connection checks the schema's
// version (checkSchema) instead of migrating it, no partition is created,
// and every session is read-only.
func openPostgres(ctx context.Context, rawURL string, readOnly bool) (*DB, error) {
	rawURL = normalizeURL(rawURL)
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		// pgx's message may quote the URL, password included.
		return nil, fmt.Errorf("requestlog: open %s: bad PostgreSQL URL", Redact(rawURL))
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = pgConnectTimeout
	}
	if !strings.Contains(rawURL, "pool_max_conns") {
		cfg.MaxConns = 8 // the writer's one, and the dashboard's and API's reads
	}
	db := &DB{parts: newPartitions(), readOnly: readOnly}
	cfg.AfterConnect = db.prepareSchema
	if readOnly {
		cfg.AfterConnect = checkSchema
		// A query this package gets wrong fails rather than writes.
		cfg.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("requestlog: open %s: %w", Redact(rawURL), err)
	}
	db.pg, db.parts.pool = pool, pool
	db.read = stdlib.OpenDBFromPool(pool)
	if !readOnly {
		db.write = db.read
	}
	if err := pool.Ping(ctx); err != nil && !pgTransient(err) {
		db.Close()
		return nil, fmt.Errorf("requestlog: open %s: %w", Redact(rawURL), err)
	}
	return db, nil
}

// checkSchema is a read-only pool's AfterConnect hook: the connection is
// refused unless the search_path holds a request log of this llmgw's
// schema version.
func checkSchema(ctx context.Context, conn *pgx.Conn) error {
	var version int
	err := conn.QueryRow(ctx, "SELECT version FROM requestlog_schema").Scan(&version)
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "42P01", errors.Is(err, pgx.ErrNoRows): // undefined_table
		version = 0
	case err != nil:
		return fmt.Errorf("read schema version: %w", err)
	}
	if err := schemaCurrent(version, len(pgMigrations)); err != nil {
		return schemaError{err}
	}
	return nil
}

// prepareSchema is the pool's AfterConnect hook: until one connection has
// migrated the schema and created the next days' partitions, each new
// connection tries (one at a time); after that it does nothing.
func (db *DB) prepareSchema(ctx context.Context, conn *pgx.Conn) error {
	if db.migrated.Load() {
		return nil
	}
	db.migrating.Lock()
	defer db.migrating.Unlock()
	if db.migrated.Load() {
		return nil
	}
	if err := migratePG(ctx, conn); err != nil {
		return err
	}
	if err := db.parts.aheadOn(ctx, conn, time.Now()); err != nil {
		return err
	}
	db.migrated.Store(true)
	return nil
}

// Ping reports whether the log can be reached now: for PostgreSQL, that a
// connection can be made and the schema is ready. The gateway starts
// without it (rows wait in the writer) and says so.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return fmt.Errorf("requestlog: %w", err)
	}
	return nil
}

// sameDay is the join condition, beside a.request_row = requests.id, that
// lets PostgreSQL read an attempt (alias a) in its request's day partition
// only; SQLite's attempts have no time. Attempts carry their request's
// time_ms exactly.
func (db *DB) sameDay() string {
	if db.pg == nil {
		return ""
	}
	return " AND a.time_ms = requests.time_ms"
}

// rebind returns q with SQLite's ? placeholders numbered $1, $2, ... for
// PostgreSQL. The log's queries hold no ? inside a string literal.
func (db *DB) rebind(q string) string {
	if db.pg == nil {
		return q
	}
	if v, ok := db.rebound.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	s := b.String()
	db.rebound.Store(q, s)
	return s
}

// Partitions returns the day partitions of a log on PostgreSQL, oldest
// first; nil for SQLite.
func (db *DB) Partitions(ctx context.Context) ([]Partition, error) {
	if db.pg == nil {
		return nil, nil
	}
	out, err := db.parts.list(ctx)
	if err != nil {
		return nil, fmt.Errorf("requestlog: partitions: %w", err)
	}
	return out, nil
}

// prunePG drops the day partitions wholly before the cutoff (a row stays
// up to a day past its retention), creates the next days' partitions,
// and deletes the policy sources no remaining request refers to.
func (db *DB) prunePG(ctx context.Context, before time.Time) (int64, error) {
	n, err := db.parts.drop(ctx, before)
	if err != nil {
		return n, fmt.Errorf("requestlog: prune: %w", err)
	}
	if err := db.parts.ahead(ctx, time.Now()); err != nil {
		return n, fmt.Errorf("requestlog: prune: %w", err)
	}
	if _, err := db.pg.Exec(ctx, `DELETE FROM policy_sources WHERE saved_ms < $1
		AND NOT EXISTS (SELECT 1 FROM requests WHERE requests.policy_hash = policy_sources.hash)`, before.UnixMilli()); err != nil {
		return n, fmt.Errorf("requestlog: prune policy sources: %w", err)
	}
	return n, nil
}
