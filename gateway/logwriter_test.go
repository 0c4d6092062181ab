package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/llmgw/llmgw/requestlog"
)

// TestSummaryShowsTheLogWriter: /api/summary carries the answering
// replica's log writer counters (rows held for PostgreSQL, shed, failed),
// so that figures read from an incomplete log say so; a recorder without
// counters adds nothing.
func TestSummaryShowsTheLogWriter(t *testing.T) {
	const policy = "d = provider(\"d\", kind = \"demo\")\ndef route(req, ctx):\n    return [d]\n"
	db := openLogDB(t)
	for _, tc := range []struct {
		name   string
		writer bool
	}{{"writer", true}, {"plain recorder", false}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, policy, func(c *Config) {
				c.LogDB = db
				if tc.writer {
					w := requestlog.NewWriter(db, requestlog.WriterConfig{MaxWait: -1, QueueSize: 1})
					w.Record(&requestlog.Record{RequestID: "queued"})
					w.Record(&requestlog.Record{RequestID: "shed"}) // the queue of one is full: shed
					c.Log = w
				}
			})
			req := httptest.NewRequest(http.MethodGet, "/api/summary?since=1h", nil)
			req.Host, req.RemoteAddr = "localhost", "127.0.0.1:5000"
			rec := httptest.NewRecorder()
			h.gw.ServeHTTP(rec, req)
			var body struct {
				Writer *requestlog.WriterStats `json:"log_writer"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusOK {
				t.Fatalf("GET /api/summary = %d %.300s (%v)", rec.Code, rec.Body.String(), err)
			}
			switch {
			case !tc.writer && body.Writer != nil:
				t.Errorf("log_writer = %+v without a writer", body.Writer)
			case tc.writer && (body.Writer == nil || body.Writer.Backend != "sqlite" || body.Writer.Queued != 1 || body.Writer.Shed != 1):
				t.Errorf("log_writer = %+v, want the sqlite writer with 1 queued and 1 shed", body.Writer)
			}
		})
	}
}

// downWriter is a recorder whose log is on an unreachable PostgreSQL.
type downWriter struct{}

func (downWriter) Record(*requestlog.Record) {}
func (downWriter) Stats() requestlog.WriterStats {
	return requestlog.WriterStats{Backend: "postgres", Unavailable: true, Buffered: 42, Queued: 42, Outages: 1}
}

// TestLogQueriesWhilePostgresIsDown: with the log's PostgreSQL unreachable
// the admin API's log queries answer 503 saying so, with the rows this
// replica holds meanwhile, not a bare 500.
func TestLogQueriesWhilePostgresIsDown(t *testing.T) {
	const policy = "d = provider(\"d\", kind = \"demo\")\ndef route(req, ctx):\n    return [d]\n"
	db := openLogDB(t)
	db.Close() // every query fails, as against an unreachable server
	h := newHarness(t, policy, func(c *Config) { c.LogDB, c.Log = db, downWriter{} })
	for _, target := range []string{"/api/summary?since=1h", "/api/requests?limit=5", "/api/requests/r1"} {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.Host, req.RemoteAddr = "localhost", "127.0.0.1:5000"
		rec := httptest.NewRecorder()
		h.gw.ServeHTTP(rec, req)
		var body struct {
			Error  struct{ Message string } `json:"error"`
			Writer *requestlog.WriterStats  `json:"log_writer"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != http.StatusServiceUnavailable || body.Writer == nil || body.Writer.Buffered != 42 ||
			!strings.Contains(body.Error.Message, "PostgreSQL is unreachable; this replica holds 42 rows") {
			t.Errorf("GET %s = %d %.300s, want 503 naming the unreachable log and its 42 held rows", target, rec.Code, rec.Body.String())
		}
	}
}
