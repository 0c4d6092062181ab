package requestlog

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestOpenReadOnlySQLite checks that the reading commands' Open never
// creates, migrates or writes a log: a missing file stays missing, an
// older schema is refused and left as it was, and a current log reads as
// with Open.
func TestOpenReadOnlySQLite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	missing := filepath.Join(dir, "missing.db")
	if db, err := OpenReadOnly(ctx, missing); err == nil {
		db.Close()
		t.Fatal("OpenReadOnly(missing file) = nil error")
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenReadOnly created %s (stat: %v)", missing, err)
	}

	// A current log, written and read.
	path := filepath.Join(dir, "50% off.db") // a '%' and a space in the path
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	writeRecs(t, db, &Record{Time: time.Now(), RequestID: "r1", Model: "gpt-4o", Provider: "a", Status: 200})
	db.Close()
	ro, err := OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatalf("OpenReadOnly(current log): %v", err)
	}
	st, err := ro.Stats(ctx, time.Now().Add(-time.Hour))
	if err != nil || st.Requests != 1 {
		t.Errorf("Stats through OpenReadOnly = %+v, %v, want 1 request", st, err)
	}
	if _, err := ro.read.Exec("DELETE FROM requests"); err == nil {
		t.Error("a write through the read-only log succeeded")
	}
	ro.Close()

	tests := []struct {
		name    string
		version int
		want    string
	}{
		{"older", len(migrations) - 1, "older than this llmgw"},
		{"newer", len(migrations) + 1, "newer than this llmgw"},
		{"not a log", 0, "holds no request log"},
	}
	for _, tt := range tests {
		p := filepath.Join(dir, tt.name+".db")
		raw, err := sql.Open("sqlite", p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec("CREATE TABLE t (x)"); err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec("PRAGMA user_version = " + strconv.Itoa(tt.version)); err != nil {
			t.Fatal(err)
		}
		ro, err := OpenReadOnly(ctx, p)
		if err == nil {
			ro.Close()
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: OpenReadOnly error = %v, want one saying %q", tt.name, err, tt.want)
		}
		var v int
		if err := raw.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != tt.version {
			t.Errorf("%s: user_version after OpenReadOnly = %d, %v, want %d untouched", tt.name, v, err, tt.version)
		}
		raw.Close()
	}
}

// TestOpenReadOnlyPostgres checks the same on PostgreSQL: a schema with
// no log is refused and nothing is created in it; an older log is refused
// and left at its version; a current one reads.
func TestOpenReadOnlyPostgres(t *testing.T) {
	ctx := context.Background()
	u := pgSchemaURL(t)
	if db, err := OpenReadOnly(ctx, u); err == nil {
		_, err = db.Stats(ctx, time.Now().Add(-time.Hour))
		db.Close()
		if err == nil || !strings.Contains(err.Error(), "holds no request log") {
			t.Errorf("Stats on an empty schema = %v, want an error saying it holds no request log", err)
		}
	} else if !strings.Contains(err.Error(), "holds no request log") {
		t.Errorf("OpenReadOnly(empty schema) = %v, want an error saying it holds no request log", err)
	}
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var tables int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()").Scan(&tables); err != nil || tables != 0 {
		t.Fatalf("tables in the schema after OpenReadOnly = %d, %v, want none", tables, err)
	}

	db := openPGAt(t, u)
	writeRecs(t, db, &Record{Time: time.Now(), RequestID: "r1", Model: "gpt-4o", Provider: "a", Status: 200})
	ro, err := OpenReadOnly(ctx, u)
	if err != nil {
		t.Fatalf("OpenReadOnly(current log): %v", err)
	}
	st, err := ro.Stats(ctx, time.Now().Add(-time.Hour))
	if err != nil || st.Requests != 1 {
		t.Errorf("Stats through OpenReadOnly = %+v, %v, want 1 request", st, err)
	}
	if _, err := ro.read.ExecContext(ctx, "DELETE FROM requestlog_schema"); err == nil {
		t.Error("a write through the read-only log succeeded")
	}
	ro.Close()

	if _, err := conn.Exec(ctx, "UPDATE requestlog_schema SET version = $1", len(pgMigrations)-1); err != nil {
		t.Fatal(err)
	}
	ro, err = OpenReadOnly(ctx, u)
	if err == nil {
		_, err = ro.Stats(ctx, time.Now().Add(-time.Hour))
		ro.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "older than this llmgw") {
		t.Errorf("reading an older log = %v, want an error saying it is older", err)
	}
	var v int
	if err := conn.QueryRow(ctx, "SELECT version FROM requestlog_schema").Scan(&v); err != nil || v != len(pgMigrations)-1 {
		t.Errorf("schema version after OpenReadOnly = %d, %v, want %d untouched", v, err, len(pgMigrations)-1)
	}
}

// writeRecs writes recs to db's log through a Writer, flushed.
func writeRecs(t testing.TB, db *DB, recs ...*Record) {
	t.Helper()
	w, stop := startWriter(t, db, WriterConfig{})
	for _, r := range recs {
		w.Record(r)
	}
	stop()
}
