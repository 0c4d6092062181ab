package requestlog

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestLimitCounts: each limit's refusals (the row's limit) and
// would-refusals (the shadow limits a served row went over), by key, in
// the period only; the same on SQLite and PostgreSQL.
func TestLimitCounts(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			var db *DB
			if backend == "sqlite" {
				db = openTest(t)
			} else {
				db = openPGTest(t)
			}
			at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
			w, stop := startWriter(t, db, WriterConfig{})
			for i, r := range []*Record{
				{Time: at(1), Key: "team-a", Status: 429, ErrorClass: "limited", Limit: "daily"},
				{Time: at(2), Key: "team-a", Status: 429, ErrorClass: "limited", Limit: "daily"},
				{Time: at(3), Key: "team-b", Status: 429, ErrorClass: "limited", Limit: "daily"},
				{Time: at(4), Key: "team-b", Status: 200, WouldRefuse: []string{"rpm", "tpm"}},
				{Time: at(5), Key: "", Status: 200, WouldRefuse: []string{"rpm"}},
				{Time: at(6), Key: "team-a", Status: 200},
				// Outside the period.
				{Time: at(-10), Key: "team-c", Status: 429, ErrorClass: "limited", Limit: "daily"},
				{Time: at(90), Key: "team-c", Status: 200, WouldRefuse: []string{"rpm"}},
			} {
				r.RequestID = string(rune('a' + i))
				w.Record(r)
			}
			stop()
			got, err := db.LimitCounts(context.Background(), t0, at(60))
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]LimitCount{
				"daily": {Limit: "daily", Refused: 3, First: at(1), Last: at(3),
					Keys: []LimitKeyCount{{Key: "team-a", Refused: 2}, {Key: "team-b", Refused: 1}}},
				"rpm": {Limit: "rpm", WouldRefuse: 2, First: at(4), Last: at(5),
					Keys: []LimitKeyCount{{Key: "", WouldRefuse: 1}, {Key: "team-b", WouldRefuse: 1}}},
				"tpm": {Limit: "tpm", WouldRefuse: 1, First: at(4), Last: at(4),
					Keys: []LimitKeyCount{{Key: "team-b", WouldRefuse: 1}}},
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("LimitCounts (-want +got):\n%s", d)
			}
			if got, err := db.LimitCounts(context.Background(), at(200), at(300)); err != nil || len(got) != 0 {
				t.Errorf("an empty period: %v, %v", got, err)
			}
		})
	}
}

func TestLimitNames(t *testing.T) {
	for in, want := range map[string][]string{
		"":            nil,
		"[]":          nil,
		`["a","b c"]`: {"a", "b c"},
		"a, b":        {"a", "b"},
		`["unclosed"`: {`["unclosed"`},
	} {
		if got := limitNames(in); !cmp.Equal(got, want) {
			t.Errorf("limitNames(%q) = %q, want %q", in, got, want)
		}
	}
}
