package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/llmgw/llmgw/requestlog"
)

// writeRecords writes recs to db through the request log's own writer
// and returns once every one is committed.
func writeRecords(t *testing.T, db *requestlog.DB, recs []*requestlog.Record) {
	t.Helper()
	w := requestlog.NewWriter(db, requestlog.WriterConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	for _, r := range recs {
		w.Record(r)
	}
	cancel() // Run drains what is queued, then returns
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// writeLogFile writes recs to a fresh request log in the test's temporary
// directory and returns its path, closed.
func writeLogFile(t *testing.T, recs []*requestlog.Record) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "llmgw.db")
	db, err := requestlog.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	writeRecords(t, db, recs)
	return path
}
