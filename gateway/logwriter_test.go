package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
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
