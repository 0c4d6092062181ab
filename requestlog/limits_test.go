package requestlog

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/llmgw/llmgw/llm"
)

// TestLimitColumns: a row keeps the limit that refused it and the shadow
// limits it went over; Spending reads back what the limits counted and
// skips the requests refused before admission.
func TestLimitColumns(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testLimitColumns(t, openTest(t)) })
	t.Run("postgres", func(t *testing.T) { testLimitColumns(t, openPGTest(t)) })
}

func testLimitColumns(t *testing.T, db *DB) {
	w, _ := startWriter(t, db, WriterConfig{})
	feat := json.RawMessage(`{"model":"m","key":"team-a"}`)
	cost := int64(1500)
	for _, r := range []*Record{
		{Time: t0, RequestID: "served", Status: 200, Features: feat, Usage: llm.Usage{InputTokens: 3, OutputTokens: 4}, CostMicros: &cost, WouldRefuse: []string{"trial", "other"}},
		{Time: t0.Add(time.Second), RequestID: "limited", Status: 429, ErrorClass: "limited", Limit: "team-daily", Features: feat},
		{Time: t0.Add(2 * time.Second), RequestID: "upstream-429", Status: 429, ErrorClass: "exhausted", Features: feat},
		{Time: t0.Add(3 * time.Second), RequestID: "auth", Status: 401, ErrorClass: "auth", Features: feat},
		{Time: t0.Add(4 * time.Second), RequestID: "no-features", Status: 400, ErrorClass: "bad_request"},
		// Malformed, refused before admission: no attempt.
		{Time: t0.Add(5 * time.Second), RequestID: "no-model", Status: 400, ErrorClass: "bad_request", Features: feat},
		// Admitted, then no candidate could take it (a conversion it
		// cannot survive): an attempt, so a limit counted it.
		{Time: t0.Add(6 * time.Second), RequestID: "unconvertible", Status: 400, ErrorClass: "bad_request", Features: feat,
			Attempts: []Attempt{{N: 1, Provider: "a", Model: "m", Status: 400, Class: "skip", Error: "cannot convert"}}},
	} {
		w.Record(r)
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := map[string][2]string{}
	rows, err := db.read.Query(`SELECT request_id, limit_name, would_refuse FROM requests`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, limit, would string
		if err := rows.Scan(&id, &limit, &would); err != nil {
			t.Fatal(err)
		}
		got[id] = [2]string{limit, would}
	}
	rows.Close()
	if got["served"] != [2]string{"", `["trial","other"]`} || got["limited"] != [2]string{"team-daily", ""} || got["auth"] != [2]string{"", ""} {
		t.Errorf("limit columns = %v", got)
	}
	var ids []string
	var would [][]string
	var spent int64
	err = db.Spending(context.Background(), t0, func(s Spent) error {
		var f struct{ Key string }
		if json.Unmarshal(s.Features, &f) != nil || f.Key != "team-a" {
			t.Errorf("features %s", s.Features)
		}
		ids = append(ids, s.Time.Format("05"))
		would = append(would, s.WouldRefuse)
		spent += s.CostMicros
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The served request, the upstream's 429 and the unconvertible one
	// (admitted, then failed); not the limited one, the unauthenticated
	// one nor the malformed one.
	if len(ids) != 3 || ids[0] != "00" || ids[1] != "02" || ids[2] != "06" || spent != 1500 {
		t.Errorf("Spending read seconds %v spending %d, want [00 02 06] and 1500", ids, spent)
	}
	if len(would) != 3 || len(would[0]) != 2 || would[0][0] != "trial" || would[1] != nil {
		t.Errorf("Spending's would_refuse = %q, want [[trial other] [] []]", would)
	}
}
