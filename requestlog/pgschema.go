package requestlog

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed pg_schema_v1.sql
var pgSchemaV1 string

//go:embed pg_schema_v2.sql
var pgSchemaV2 string

// pgMigrations[i] moves the PostgreSQL schema from version i to i+1.
// Append only; never edit a released step. The SQLite steps (migrations)
// and these keep the same columns under the same names.
var pgMigrations = [...]string{pgSchemaV1, pgSchemaV2}

// pgSchemaLock is the advisory lock key (pg_advisory_lock) that serializes
// migrations and partition changes between replicas starting at once:
// CREATE ... IF NOT EXISTS alone still races on the catalog.
const pgSchemaLock int64 = 0x6c6c6d67775f6c67 // "llmgw_lg"

// schemaError is a schema the server holds that this llmgw cannot use (a
// newer version): no retry fixes it, unlike an unreachable server.
type schemaError struct{ err error }

func (e schemaError) Error() string { return e.err.Error() }
func (e schemaError) Unwrap() error { return e.err }

// migratePG brings the schema in the connection's search_path to the
// current version under the advisory lock: a replica that waits for it
// finds the work done. The version lives in requestlog_schema (one row).
func migratePG(ctx context.Context, conn *pgx.Conn) error {
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", pgSchemaLock); err != nil {
		return fmt.Errorf("lock schema: %w", err)
	}
	defer func() {
		// A lost unlock (a dead connection) is released by the server with
		// the session.
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", pgSchemaLock)
	}()
	if err := createSchema(ctx, conn); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS requestlog_schema (version integer NOT NULL)`); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	var version int
	err := conn.QueryRow(ctx, "SELECT version FROM requestlog_schema").Scan(&version)
	if errors.Is(err, pgx.ErrNoRows) {
		if _, err := conn.Exec(ctx, "INSERT INTO requestlog_schema (version) VALUES (0)"); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(pgMigrations) {
		return schemaError{fmt.Errorf("schema version %d is newer than this llmgw knows (%d)", version, len(pgMigrations))}
	}
	for v := version; v < len(pgMigrations); v++ {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, pgMigrations[v]); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "UPDATE requestlog_schema SET version = $1", v+1)
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate to version %d: %w", v+1, err)
		}
	}
	return nil
}

// createSchema creates the schema a URL's search_path names first
// (search_path=llmgw) when no schema of the search_path exists yet, so that
// a log of its own in a shared database needs no step beforehand.
func createSchema(ctx context.Context, conn *pgx.Conn) error {
	var current *string
	if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&current); err != nil {
		return fmt.Errorf("read current schema: %w", err)
	}
	if current != nil {
		return nil
	}
	first, _, _ := strings.Cut(conn.Config().RuntimeParams["search_path"], ",")
	first = strings.Trim(strings.TrimSpace(first), `"`)
	if first == "" || strings.HasPrefix(first, "$") {
		return errors.New("no schema of the search_path exists, and it names none to create")
	}
	if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{first}.Sanitize()); err != nil {
		return fmt.Errorf("create schema %s: %w", first, err)
	}
	return nil
}

// dayMs is one partition's width: a UTC day in milliseconds.
const dayMs = 24 * 60 * 60 * 1000

// partitionsAhead is how many days after today have their partitions
// created in advance, so that midnight never waits on DDL.
const partitionsAhead = 2

// partitionName matches the partitions this package creates.
var partitionName = regexp.MustCompile(`^(requests|attempts)_p(\d{8})$`)

// partitions creates and drops the daily partitions of requests and
// attempts. It remembers the days it has made sure of, so that a batch
// costs no DDL unless it brings a new day.
type partitions struct {
	pool *pgxpool.Pool
	mu   sync.Mutex
	have map[int64]bool // days (Unix ms / dayMs) known to exist
}

// newPartitions returns the partitions of the pool set later (the pool's
// connection hook needs them before the pool exists).
func newPartitions() *partitions {
	return &partitions{have: map[int64]bool{}}
}

// dayName is the partition suffix of a day: pYYYYMMDD (UTC).
func dayName(day int64) string {
	return "p" + time.UnixMilli(day*dayMs).UTC().Format("20060102")
}

// beginner starts a transaction: the pool, or one connection.
type beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// ensure makes sure the partitions of every day in days exist.
func (p *partitions) ensure(ctx context.Context, days []int64) error {
	return p.ensureOn(ctx, p.pool, days)
}

// ensureOn is ensure on b: the pool, or a connection being set up.
func (p *partitions) ensureOn(ctx context.Context, b beginner, days []int64) error {
	p.mu.Lock()
	var missing []int64
	for _, d := range days {
		if !p.have[d] {
			missing = append(missing, d)
		}
	}
	p.mu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	err := pgx.BeginFunc(ctx, b, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", pgSchemaLock); err != nil {
			return err
		}
		for _, d := range missing {
			lo, hi := d*dayMs, (d+1)*dayMs
			for _, t := range []string{"requests", "attempts"} {
				// Names and bounds are integers formatted here, never input.
				q := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s_%s PARTITION OF %s FOR VALUES FROM (%d) TO (%d)", t, dayName(d), t, lo, hi)
				if _, err := tx.Exec(ctx, q); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create partitions: %w", err)
	}
	p.mu.Lock()
	for _, d := range missing {
		p.have[d] = true
	}
	p.mu.Unlock()
	return nil
}

// forget drops what ensure remembers, after another replica's retention
// may have dropped a partition this one thought it had.
func (p *partitions) forget() {
	p.mu.Lock()
	clear(p.have)
	p.mu.Unlock()
}

// ahead creates the partitions of today and the next partitionsAhead days.
func (p *partitions) ahead(ctx context.Context, now time.Time) error {
	return p.aheadOn(ctx, p.pool, now)
}

func (p *partitions) aheadOn(ctx context.Context, b beginner, now time.Time) error {
	today := floorDiv(now.UnixMilli(), dayMs)
	days := make([]int64, 0, partitionsAhead+1)
	for d := today; d <= today+partitionsAhead; d++ {
		days = append(days, d)
	}
	return p.ensureOn(ctx, b, days)
}

// Partition is one day's partition of the request log on PostgreSQL.
type Partition struct {
	// Day is the partition's UTC day.
	Day time.Time
	// Requests and Attempts are the tables' partition names.
	Requests, Attempts string
}

// list returns the days that have a requests or attempts partition,
// oldest first.
func (p *partitions) list(ctx context.Context) ([]Partition, error) {
	rows, err := p.pool.Query(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent IN ('requests'::regclass, 'attempts'::regclass)`)
	if err != nil {
		return nil, err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	byDay := map[string]*Partition{}
	for _, n := range names {
		m := partitionName.FindStringSubmatch(n)
		if m == nil {
			continue // someone else's partition: never dropped here
		}
		day, err := time.Parse("20060102", m[2])
		if err != nil {
			continue
		}
		pt := byDay[m[2]]
		if pt == nil {
			pt = &Partition{Day: day}
			byDay[m[2]] = pt
		}
		if m[1] == "requests" {
			pt.Requests = n
		} else {
			pt.Attempts = n
		}
	}
	out := make([]Partition, 0, len(byDay))
	for _, pt := range byDay {
		out = append(out, *pt)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Day.Before(out[j].Day) })
	return out, nil
}

// drop drops whole the partitions of every day that ends at or before
// before, and returns about how many request rows they held (the
// planner's estimate; 0 for a partition never analyzed). Dropping a table
// leaves nothing for VACUUM, unlike deleting its rows.
func (p *partitions) drop(ctx context.Context, before time.Time) (int64, error) {
	all, err := p.list(ctx)
	if err != nil {
		return 0, fmt.Errorf("list partitions: %w", err)
	}
	var total int64
	for _, pt := range all {
		if pt.Day.Add(24 * time.Hour).After(before) {
			break
		}
		err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", pgSchemaLock); err != nil {
				return err
			}
			if pt.Requests != "" {
				// The planner's estimate: counting a busy day's rows would
				// read the whole partition just before dropping it.
				var n int64
				// to_regclass: another replica may have dropped it while
				// this one waited for the lock.
				if err := tx.QueryRow(ctx, "SELECT COALESCE((SELECT GREATEST(reltuples, 0)::bigint FROM pg_class WHERE oid = to_regclass($1)), 0)",
					pgx.Identifier{pt.Requests}.Sanitize()).Scan(&n); err != nil {
					return err
				}
				total += n
			}
			for _, name := range []string{pt.Requests, pt.Attempts} {
				if name == "" {
					continue
				}
				if _, err := tx.Exec(ctx, "DROP TABLE IF EXISTS "+pgx.Identifier{name}.Sanitize()); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("drop partitions of %s: %w", pt.Day.Format(time.DateOnly), err)
		}
		day := floorDiv(pt.Day.UnixMilli(), dayMs)
		p.mu.Lock()
		delete(p.have, day)
		p.mu.Unlock()
	}
	return total, nil
}

// daysOf returns the distinct days of the given times (Unix ms).
func daysOf(ms []int64) []int64 {
	var days []int64
	for _, t := range ms {
		d := floorDiv(t, dayMs)
		if len(days) == 0 || days[len(days)-1] != d {
			days = append(days, d)
		}
	}
	sort.Slice(days, func(i, j int) bool { return days[i] < days[j] })
	out := days[:0]
	for i, d := range days {
		if i == 0 || d != days[i-1] {
			out = append(out, d)
		}
	}
	return out
}
