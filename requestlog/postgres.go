package requestlog

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

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

// openPostgres connects to the server at rawURL, migrates the schema in
// its search_path and creates the partitions of the next days. The
// request log's tables live in the URL's database and search_path
// (options=-csearch_path=... or search_path=... selects a schema).
func openPostgres(ctx context.Context, rawURL string) (*DB, error) {
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
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("requestlog: open %s: %w", Redact(rawURL), err)
	}
	if err := migratePG(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("requestlog: open %s: %w", Redact(rawURL), err)
	}
	parts := newPartitions(pool)
	if err := parts.ahead(ctx, time.Now()); err != nil {
		pool.Close()
		return nil, fmt.Errorf("requestlog: open %s: %w", Redact(rawURL), err)
	}
	sqlDB := stdlib.OpenDBFromPool(pool)
	return &DB{write: sqlDB, read: sqlDB, pg: pool, parts: parts}, nil
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
