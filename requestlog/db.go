package requestlog

import (
	"context"
	"database/sql"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// ErrNotFound is returned by Request when no request has the given id.
var ErrNotFound = errors.New("requestlog: not found")

// ErrBadQuery wraps the errors of a query the caller asked wrongly (an
// empty time range, a bucket too fine, an unknown status filter), so that
// an HTTP front end can answer 400 rather than 500.
var ErrBadQuery = errors.New("bad query")

//go:embed schema.sql
var schemaV1 string

//go:embed schema_v2.sql
var schemaV2 string

//go:embed schema_v3.sql
var schemaV3 string

//go:embed schema_v4.sql
var schemaV4 string

// migrations[i] moves the schema from user_version i to i+1. Append only;
// never edit a released step.
var migrations = [...]string{schemaV1, schemaV2, schemaV3, schemaV4}

// Files returns the files SQLite keeps for a request log at path: the
// database, its write-ahead log and shared-memory index (WAL mode), and
// the rollback journal of a migration. The policy watcher ignores them
// when they sit beside the policy.
func Files(path string) []string {
	if IsURL(path) {
		return nil
	}
	return []string{path, path + "-wal", path + "-shm", path + "-journal"}
}

// busyTimeout is how long a connection waits for a lock held by another
// connection (or another process, such as llmgw stats) before failing.
const busyTimeout = 5 * time.Second

// poolIdle is how long a connection of the read and shared pools stays
// open unused. Each SQLite connection holds its own page cache and parsed
// schema outside the Go heap (up to 4 MB at the default cache_size, see
// writeCacheKiB), and the gateway's traffic does not read the log: the
// readers open at start (the limit counters) and when the dashboard or the
// admin API asks, and were otherwise kept for the life of the process.
// Closed, their memory goes back to SQLite's allocator, which hands the
// next connection the same pages instead of growing (and decommits what it
// keeps beyond a few MB). Reopening one costs a file open and a schema
// parse, and a dashboard that refreshes every few seconds keeps its
// connections.
const poolIdle = 10 * time.Second

// writeCacheKiB is the write connection's page cache (PRAGMA cache_size,
// in KiB), a quarter of SQLite's default 2,000 KiB. SQLite's memory lives
// outside the Go heap, and its allocator keeps what it freed mapped for
// reuse, so this cache, filled within the first few thousand logged
// requests, stays resident for the life of the process, at about 8 KB of
// memory per 4 KB page (the allocator's size class): an idle gateway held
// 11.6-12.0 MB of anonymous memory with the default, 8.5-8.8 MB at this size
// (bench/README.md). The writer only appends: each batch touches the
// right-hand edge of the table and its indexes and the few pages above
// them, and the rest is read back from the operating system's cache when
// needed. Writing a million rows ran at the same speed at both sizes
// (84-87k rows/s with the default, 81-90k at this size,
// BenchmarkWriterBatch/batch=256).
const writeCacheKiB = 512

// DB is the request log: one SQLite database in WAL mode, or a PostgreSQL
// database (see postgres.go). On SQLite it holds a single write
// connection (the Writer's batches and Prune), a separate pool of
// read-only connections for queries, so that dashboard reads never wait
// for a batch commit and never block it, and a small general pool for
// other packages (SQL). On PostgreSQL one pgx pool serves all three. A DB
// is safe for concurrent use.
type DB struct {
	write  *sql.DB // one connection: SQLite has one writer at a time
	read   *sql.DB // query_only pool
	shared *sql.DB // SQL(): other packages' tables; nil on PostgreSQL

	pg        *pgxpool.Pool // non-nil: the log is on PostgreSQL
	parts     *partitions   // PostgreSQL's day partitions
	rebound   sync.Map      // query text → its PostgreSQL form (rebind)
	migrating sync.Mutex    // one connection migrates at a time (prepareSchema)
	migrated  atomic.Bool   // the PostgreSQL schema is ready

	readOnly bool // OpenReadOnly's: a SQLite log has its read pool only

	sourcesMu      sync.Mutex        // guards heldSources
	heldSources    map[string]string // policy sources PostgreSQL could not take yet, by hash
	hasHeldSources atomic.Bool
}

// Open opens the request log. A postgres:// or postgresql:// URL opens
// the log on that PostgreSQL server (see IsURL); anything else is a SQLite
// file, created if needed and switched to WAL with synchronous=NORMAL. The
// schema is migrated to the current version; a database written by a
// newer llmgw is refused.
func Open(ctx context.Context, path string) (*DB, error) {
	if IsURL(path) {
		return openPostgres(ctx, path, false)
	}
	if err := checkPath(path); err != nil {
		return nil, err
	}
	params := fmt.Sprintf("?_busy_timeout=%d&_foreign_keys=1", busyTimeout.Milliseconds())
	write, err := sql.Open("sqlite", path+params+"&_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate&_pragma=temp_store(memory)"+
		fmt.Sprintf("&_pragma=cache_size(-%d)", writeCacheKiB))
	if err != nil {
		return nil, fmt.Errorf("requestlog: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	db := &DB{write: write}
	if err := db.migrate(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("requestlog: open %s: %w", path, err)
	}
	// The read pool is opened after the migration so that WAL mode (a
	// property of the file) is already on when its connections attach.
	read, err := openReadPool(path + params + "&_synchronous=NORMAL&_query_only=1")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("requestlog: open %s: %w", path, err)
	}
	db.read = read
	shared, err := sql.Open("sqlite", path+params+"&_synchronous=NORMAL&_txlock=immediate")
	if err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("requestlog: open %s: %w", path, err)
	}
	shared.SetMaxOpenConns(2)
	shared.SetConnMaxIdleTime(poolIdle)
	db.shared = shared
	return db, nil
}

// OpenReadOnly opens an existing request log to read it, as the
// commands that report on a log (stats, replay) do: it never creates,
// migrates or writes anything, so that an operator's newer llmgw run
// against a log that older replicas still write does not change its
// schema under them. A log whose schema is not this llmgw's current one
// is refused with a message that says which side is behind; so is a
// database that holds no request log.
//
// On PostgreSQL the schema is checked by the first connection the pool
// makes; a server that does not answer fails the first query, not Open.
// Only the read methods may be called on the DB it returns.
func OpenReadOnly(ctx context.Context, path string) (*DB, error) {
	if IsURL(path) {
		return openPostgres(ctx, path, true)
	}
	if err := checkPath(path); err != nil {
		return nil, err
	}
	// mode=ro: SQLite never creates the file or writes it, and a missing
	// file is an error rather than a new empty log.
	read, err := openReadPool("file:" + strings.ReplaceAll(path, "%", "%25") + fmt.Sprintf("?mode=ro&_busy_timeout=%d&_query_only=1", busyTimeout.Milliseconds()))
	if err != nil {
		return nil, fmt.Errorf("requestlog: open %s: %w", path, err)
	}
	var version int
	if err := read.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		read.Close()
		return nil, fmt.Errorf("requestlog: open %s: read schema version: %w", path, err)
	}
	if err := schemaCurrent(version, len(migrations)); err != nil {
		read.Close()
		return nil, fmt.Errorf("requestlog: open %s: %w", path, err)
	}
	return &DB{read: read, readOnly: true}, nil
}

// checkPath refuses a SQLite path the driver's DSN would misread.
func checkPath(path string) error {
	if path == "" || strings.ContainsAny(path, "?#") {
		return fmt.Errorf("requestlog: open %q: path must be non-empty without '?' or '#'", path)
	}
	return nil
}

// openReadPool opens the pool of SQLite connections that read the log:
// four at most, closed after poolIdle unused.
func openReadPool(dsn string) (*sql.DB, error) {
	read, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	read.SetMaxOpenConns(4)
	read.SetMaxIdleConns(4)
	read.SetConnMaxIdleTime(poolIdle)
	return read, nil
}

// schemaCurrent says why a log of schema version have cannot be read by
// this llmgw, whose schema is version want; nil when they are the same.
func schemaCurrent(have, want int) error {
	switch {
	case have == 0:
		return errors.New("it holds no request log (llmgw start creates one as it serves)")
	case have < want:
		return fmt.Errorf("its schema is version %d, older than this llmgw's %d: llmgw start with this log migrates it (commands that only read it never do)", have, want)
	case have > want:
		return fmt.Errorf("its schema is version %d, newer than this llmgw knows (%d): use the llmgw that writes it", have, want)
	}
	return nil
}

// Close closes the connection pools. The Writer must have stopped first.
func (db *DB) Close() error {
	if db.pg != nil {
		err := db.read.Close()
		db.pg.Close()
		return err
	}
	if db.readOnly {
		return db.read.Close()
	}
	return errors.Join(db.shared.Close(), db.read.Close(), db.write.Close())
}

// SQL returns a handle on the same file for packages that keep their own
// tables in it, such as oauth (they create and migrate their tables
// themselves; names must not clash with requests and attempts). It is a
// pool of two connections separate from the log writer's: a write
// through it waits at most the busy timeout (5 s) for a batch commit.
// It is nil for a log on PostgreSQL, whose SQL dialect those packages do
// not speak.
func (db *DB) SQL() *sql.DB { return db.shared }

func (db *DB) migrate(ctx context.Context) error {
	var version int
	if err := db.write.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this llmgw knows (%d)", version, len(migrations))
	}
	for v := version; v < len(migrations); v++ {
		tx, err := db.write.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrate to version %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate to version %d: %w", v+1, err)
		}
		// PRAGMA takes no bound parameters; v+1 is an integer we control.
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate to version %d: %w", v+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate to version %d: %w", v+1, err)
		}
	}
	return nil
}

// pruneChunk bounds how many requests one Prune transaction deletes, so a
// large prune never holds the write lock for long.
const pruneChunk = 5000

// Prune deletes the requests (and their attempts) logged before the given
// time and returns how many requests it deleted. It works in short
// transactions of at most pruneChunk requests.
//
// On PostgreSQL it drops the day partitions that end at or before the
// cutoff instead (see prunePG), and the count is the planner's estimate.
func (db *DB) Prune(ctx context.Context, before time.Time) (int64, error) {
	if db.pg != nil {
		return db.prunePG(ctx, before)
	}
	var total int64
	for {
		res, err := db.write.ExecContext(ctx,
			`DELETE FROM requests WHERE id IN (SELECT id FROM requests WHERE time_ms < ? LIMIT ?)`,
			before.UnixMilli(), pruneChunk)
		if err != nil {
			return total, fmt.Errorf("requestlog: prune: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("requestlog: prune: %w", err)
		}
		total += n
		if n < pruneChunk {
			break
		}
	}
	// Policy sources no remaining request was decided by, saved before the
	// cutoff (the live version's is kept even before its first request).
	if _, err := db.write.ExecContext(ctx, `DELETE FROM policy_sources WHERE saved_ms < ?
		AND hash NOT IN (SELECT DISTINCT policy_hash FROM requests)`, before.UnixMilli()); err != nil {
		return total, fmt.Errorf("requestlog: prune policy sources: %w", err)
	}
	return total, nil
}

// PolicyFiles is one policy version's source as the log keeps it.
type PolicyFiles struct {
	// Entry is the entry file's name, one of Files.
	Entry string `json:"entry"`
	// Files maps each file of the policy directory (relative name) to its
	// contents as the version loaded them.
	Files map[string]string `json:"files"`
}

// SavePolicySource stores a policy version's files under its hash, once:
// saving a hash already stored does nothing. The gateway saves each
// version it loads, so that replay can re-decide a logged request under
// the version that decided it. On PostgreSQL, a server that does not
// answer is not an error: the source is held in memory and saved by the
// writer with the next rows it writes (saveHeldSources).
func (db *DB) SavePolicySource(ctx context.Context, hash string, src PolicyFiles) error {
	b, err := json.Marshal(src)
	if err != nil {
		return fmt.Errorf("requestlog: save policy %s: %w", hash, err)
	}
	if err := db.saveSource(ctx, hash, string(b)); err != nil {
		if db.pg == nil || !pgTransient(err) {
			return fmt.Errorf("requestlog: save policy %s: %w", hash, err)
		}
		db.sourcesMu.Lock()
		if db.heldSources == nil {
			db.heldSources = map[string]string{}
		}
		db.heldSources[hash] = string(b)
		db.hasHeldSources.Store(true)
		db.sourcesMu.Unlock()
	}
	return nil
}

func (db *DB) saveSource(ctx context.Context, hash, files string) error {
	_, err := db.write.ExecContext(ctx, db.rebind(`INSERT INTO policy_sources (hash, files, saved_ms) VALUES (?, ?, ?)
		ON CONFLICT (hash) DO NOTHING`), hash, files, time.Now().UnixMilli())
	return err
}

// saveHeldSources saves the policy sources held while PostgreSQL did not
// answer; the writer calls it once the server takes rows again.
func (db *DB) saveHeldSources(ctx context.Context) error {
	if !db.hasHeldSources.Load() {
		return nil
	}
	db.sourcesMu.Lock()
	defer db.sourcesMu.Unlock()
	for hash, files := range db.heldSources {
		if err := db.saveSource(ctx, hash, files); err != nil {
			return fmt.Errorf("requestlog: save policy %s: %w", hash, err)
		}
		delete(db.heldSources, hash)
	}
	db.hasHeldSources.Store(false)
	return nil
}

// PolicySource returns the files of the policy version with this hash, or
// ErrNotFound when it was not saved (a log written before sources were
// kept, or pruned).
func (db *DB) PolicySource(ctx context.Context, hash string) (PolicyFiles, error) {
	var raw string
	err := db.read.QueryRowContext(ctx, db.rebind(`SELECT files FROM policy_sources WHERE hash = ?`), hash).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return PolicyFiles{}, ErrNotFound
	}
	if err != nil {
		return PolicyFiles{}, fmt.Errorf("requestlog: policy %s: %w", hash, err)
	}
	var src PolicyFiles
	if err := json.Unmarshal([]byte(raw), &src); err != nil {
		return PolicyFiles{}, fmt.Errorf("requestlog: policy %s: %w", hash, err)
	}
	return src, nil
}
