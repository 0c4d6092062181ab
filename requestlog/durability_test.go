package requestlog

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// crashBudget is the contract llmgw makes (issue #10): after kill -9, no
// request recorded more than this long before the kill is lost.
const crashBudget = time.Second

// TestDefaultBatchDelayFitsTheCrashBudget: a record waits at most
// BatchDelay for its commit, and a committed WAL transaction survives a
// process kill (synchronous=NORMAL). The default must leave most of the
// budget for the commit itself.
func TestDefaultBatchDelayFitsTheCrashBudget(t *testing.T) {
	if d := (WriterConfig{}).withDefaults().BatchDelay; d > crashBudget/4 {
		t.Errorf("default BatchDelay = %v, want at most %v so that kill -9 loses nothing older than %v", d, crashBudget/4, crashBudget)
	}
}

// TestRecordSurvivesCrashWithoutFlush records one row, never calls Flush,
// waits for the batch timer to commit it, then opens a copy of the files
// as a kill -9 leaves them (WAL not checkpointed, no clean close): the row
// is there.
func TestRecordSurvivesCrashWithoutFlush(t *testing.T) {
	db := openTest(t)
	w, _ := startWriter(t, db, WriterConfig{BatchDelay: 20 * time.Millisecond})
	w.Record(&Record{Time: t0, RequestID: "lonely", Status: 200})
	for i := 0; countRows(t, db, "requests") == 0; i++ {
		if i == 500 {
			t.Fatal("a lone record was not committed within 5 s without Flush")
		}
		time.Sleep(10 * time.Millisecond)
	}

	var src string
	if err := db.write.QueryRow("SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&src); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "killed.db")
	for _, suffix := range []string{"", "-wal"} {
		data, err := os.ReadFile(src + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst+suffix, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	db2, err := Open(context.Background(), dst)
	if err != nil {
		t.Fatalf("Open after kill: %v", err)
	}
	defer db2.Close()
	if _, err := db2.Request(context.Background(), "lonely"); err != nil {
		t.Errorf("Request(lonely) after kill = %v, want the row committed by the batch timer", err)
	}
}
