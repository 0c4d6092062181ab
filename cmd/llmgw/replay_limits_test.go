package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/limits"
	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/requestlog"
)

// limitTraffic is a day of logged traffic, written by the request log's
// own writer: research spends $0.40 a request on main at 10:00, 11:00,
// 12:00 and 13:00 UTC; support sends five requests within a second, each
// taking a second; ops one request at 09:00 the next day.
type loggedRow struct {
	at      time.Time
	key     string
	cost    int64
	tokens  int64
	latency time.Duration
}

func writeLimitTraffic(t *testing.T, day time.Time) (string, []loggedRow) {
	t.Helper()
	var rows []loggedRow
	for h := range 4 {
		rows = append(rows, loggedRow{day.Add(time.Duration(10+h) * time.Hour), "research", 400_000, 1000, 0})
	}
	for i := range 5 {
		rows = append(rows, loggedRow{day.Add(15*time.Hour + time.Duration(i)*150*time.Millisecond), "support", 100, 20, time.Second})
	}
	rows = append(rows, loggedRow{day.Add(33 * time.Hour), "ops", 100, 20, 0})

	recs := make([]*requestlog.Record, len(rows))
	for i, r := range rows {
		features, err := json.Marshal(engine.LoggedInputs{Complete: true, Request: engine.Request{
			Model: "gpt-4o", Protocol: "openai", Key: r.key, InputTokensEstimate: 10}})
		if err != nil {
			t.Fatal(err)
		}
		cost := r.cost
		recs[i] = &requestlog.Record{Time: r.at, RequestID: "req-" + string(rune('a'+i)), Key: r.key, Model: "gpt-4o",
			UpstreamModel: "gpt-4o", Provider: "main", Status: 200, Features: features, PolicyHash: "gone", Latency: r.latency,
			Usage: llm.Usage{InputTokens: r.tokens / 2, OutputTokens: r.tokens / 2}, CostMicros: &cost}
	}
	return writeLogFile(t, recs), rows
}

const limitsCandidate = `
main = provider("main", kind = "openai", api_key = "sk-test")
cheap = provider("cheap", kind = "demo")
key("research", "k-research")
key("support", "k-support")
key("ops", "k-ops")
limit("team-daily", usd = 1.0, per = "day", each = "key")
limit("burst", rpm = 3, each = "key", shadow = True)
def route(req, ctx):
    return main
`

// The candidate's limits go through the logged traffic in time order:
// research's fourth $0.40 of the day is over its $1 budget, support's
// fourth and fifth request of the second are over the shadow rpm; the
// next day's budget is fresh. A candidate that sends a team past half its
// budget to a free provider keeps it under the budget.
func TestReplayBacktestsLimits(t *testing.T) {
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3)
	db, rows := writeLimitTraffic(t, day)
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cand := write("limits.star", limitsCandidate)

	rep := replayJSON(t, cand, db, "--since", "7d")
	if rep.Requests != len(rows) || rep.Limited != 1 || rep.Unchanged != len(rows)-1 || rep.Changed != 0 {
		t.Errorf("replay = %d requests, %d limited, %d unchanged, %d changed; want %d, 1, %d, 0",
			rep.Requests, rep.Limited, rep.Unchanged, rep.Changed, len(rows), len(rows)-1)
	}
	if len(rep.Limits) != 2 || rep.Limits["team-daily"] != 1 || rep.Limits["burst"] != 2 {
		t.Errorf("limits = %v, want team-daily 1, burst 2", rep.Limits)
	}
	if len(rep.LimitRefusals) != 2 {
		t.Fatalf("limit_refusals = %+v, want one run per limit", rep.LimitRefusals)
	}
	burst, budget := rep.LimitRefusals[0], rep.LimitRefusals[1]
	if burst.Limit != "burst" || burst.Key != "support" || !burst.Shadow || burst.Count != 2 ||
		!burst.First.Equal(rows[7].at) || !burst.Last.Equal(rows[8].at) || strings.Join(burst.Bounds, ",") != "rpm" {
		t.Errorf("burst run = %+v, want support's 4th and 5th request (rpm, shadow)", burst)
	}
	if budget.Limit != "team-daily" || budget.Key != "research" || budget.Shadow || budget.Count != 1 ||
		!budget.First.Equal(rows[3].at) || strings.Join(budget.Bounds, ",") != "usd" {
		t.Errorf("team-daily run = %+v, want research's 13:00 request (usd)", budget)
	}
	// The refused request costs nothing after; the rest as logged.
	if rep.CostBefore != 1.6006 || rep.CostAfter != 1.2006 {
		t.Errorf("cost %.4f -> %.4f, want 1.6006 -> 1.2006", rep.CostBefore, rep.CostAfter)
	}

	var out strings.Builder
	if err := run(context.Background(), []string{"replay", "--policy", cand, "--db", db, "--since", "7d"}, func(string) string { return "" }, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		"refused by a limit: 1",
		"limits back-tested on the logged traffic (usd periods in UTC): burst 2 would refuse; team-daily 1 refused;",
		"support   burst (shadow: would refuse)  rpm    " + rows[7].at.Format(time.DateTime) + "  " + rows[8].at.Format(time.DateTime) + "  2",
		"research  team-daily                    usd    " + rows[3].at.Format(time.DateTime) + "  " + rows[3].at.Format(time.DateTime) + "  1",
		`req-d gpt-4o: main -> refused: limit "team-daily" for "research"`,
		"(times in UTC)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("replay text lacks %q:\n%s", want, text)
		}
	}

	// Past half its budget a team goes to the free provider: research's
	// third and fourth requests move there, and nothing is refused.
	routed := write("routed.star", strings.Replace(limitsCandidate, "    return main\n",
		"    if ctx.usage(\"team-daily\").share >= 0.5:\n        return cheap\n    return main\n", 1))
	rep = replayJSON(t, routed, db, "--since", "7d")
	if rep.Limits["team-daily"] != 0 || rep.Limited != 0 || rep.Changed != 2 || rep.After["cheap"] != 2 {
		t.Errorf("usage-routed candidate: limits %v, %d limited, %d changed, after %v; want no refusal and 2 moved to cheap",
			rep.Limits, rep.Limited, rep.Changed, rep.After)
	}

	// Support's five one-second requests, 150 ms apart, against two at
	// once: the third, fourth and fifth start while two are in flight.
	conc := write("conc.star", strings.Replace(limitsCandidate, `limit("burst"`, `limit("two-at-once", concurrency = 2, each = "key")
limit("burst"`, 1))
	rep = replayJSON(t, conc, db, "--since", "7d")
	if rep.Limits["two-at-once"] != 3 {
		t.Errorf("concurrency back-test: limits %v, want two-at-once 3", rep.Limits)
	}

	// In Auckland (UTC+12, +13 in summer) the four requests fall on two
	// local days: neither reaches $1.
	mustZone(t, "Pacific/Auckland")
	rep = replayJSON(t, cand, db, "--since", "7d", "--limit-tz", "Pacific/Auckland")
	if rep.LimitTZ != "Pacific/Auckland" || rep.Limits["team-daily"] != 0 || rep.Limits["burst"] != 2 {
		t.Errorf("--limit-tz Pacific/Auckland: %s, limits %v, want team-daily 0", rep.LimitTZ, rep.Limits)
	}
	if _, errOut, code := runCmd(t, "", nil, "replay", "--policy", cand, "--db", db, "--limit-tz", "Mars/Olympus"); code != 1 || !strings.Contains(errOut, `unknown time zone "Mars/Olympus"`) {
		t.Errorf("bad --limit-tz = exit %d, %q", code, errOut)
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("no tz data for %s: %v", name, err)
	}
	return loc
}

// teamBudgetsDay is the day of traffic examples/team-budgets/README.md
// back-tests: research sends 300 long requests between 09:00 and 17:00
// ($0.24 each on gpt-4.1), support bursts 70 short ones in 35 seconds,
// CI 40 in 20 seconds. The policy that served it had no limits.
func teamBudgetsDay(day time.Time) []logRow {
	var rows []logRow
	for i := range 300 {
		rows = append(rows, logRow{at: day.Add(9*time.Hour + time.Duration(i)*96*time.Second), key: "research", in: 100_000, out: 5_000})
	}
	for i := range 70 {
		rows = append(rows, logRow{at: day.Add(11*time.Hour + time.Duration(i)*500*time.Millisecond), key: "support", in: 1_000, out: 200})
	}
	for i := range 40 {
		rows = append(rows, logRow{at: day.Add(14*time.Hour + time.Duration(i)*500*time.Millisecond), key: "ci", in: 1_000, out: 200})
	}
	return rows
}

// logRow is a request served by openai-main with gpt-4.1.
type logRow struct {
	at      time.Time
	key     string
	in, out int64
}

// writeServedLog writes rows with the request log's writer, priced at
// gpt-4.1's $2 / $8 per million tokens.
func writeServedLog(t *testing.T, rows []logRow) string {
	t.Helper()
	recs := make([]*requestlog.Record, len(rows))
	for i, r := range rows {
		features, err := json.Marshal(engine.LoggedInputs{Complete: true, Request: engine.Request{
			Model: "gpt-4.1", Protocol: "openai", Key: r.key, InputTokensEstimate: int(r.in)}})
		if err != nil {
			t.Fatal(err)
		}
		cost := r.in*2 + r.out*8
		recs[i] = &requestlog.Record{Time: r.at, RequestID: fmt.Sprintf("req-%04d", i), Key: r.key, Model: "gpt-4.1",
			UpstreamModel: "gpt-4.1", Provider: "openai-main", Status: 200, Features: features, PolicyHash: "no-limits",
			Usage: llm.Usage{InputTokens: r.in, OutputTokens: r.out}, CostMicros: &cost}
	}
	return writeLogFile(t, recs)
}

// The worked example's back-test, as its README shows it: research moves
// to gpt-4.1-mini past $10 and its budget still runs out at the 250th
// request; CI's cap refuses 10; the shadow rpm would refuse 10 of
// support's burst.
func TestReplayTeamBudgetsExample(t *testing.T) {
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -2)
	rows := teamBudgetsDay(day)
	db := writeServedLog(t, rows)
	policy := filepath.Join("..", "..", "examples", "team-budgets")

	rep := replayJSON(t, policy, db, "--since", "7d")
	if want := map[string]int{"team-daily": 51, "ci-rpm": 10, "team-rpm": 10}; fmt.Sprint(rep.Limits) != fmt.Sprint(want) {
		t.Errorf("limits = %v, want %v", rep.Limits, want)
	}
	if rep.Requests != 410 || rep.Limited != 61 || rep.Changed != 207 || rep.Unchanged != 142 || rep.After["openai-cheap"] != 207 {
		t.Errorf("replay: %d requests, %d limited, %d changed, %d unchanged, after %v; want 410, 61, 207, 142",
			rep.Requests, rep.Limited, rep.Changed, rep.Unchanged, rep.After)
	}
	if math.Abs(rep.CostBefore-72.396) > 1e-6 || math.Abs(rep.CostAfter-20.376) > 1e-6 {
		t.Errorf("cost %.6f -> %.6f, want 72.396 -> 20.376", rep.CostBefore, rep.CostAfter)
	}
	runs := map[string]limits.RefusalRun{}
	for _, r := range rep.LimitRefusals {
		runs[r.Limit+"/"+r.Key] = r
	}
	if r := runs["team-daily/research"]; r.Count != 51 || !r.First.Equal(rows[249].at) || !r.Last.Equal(rows[299].at) {
		t.Errorf("research's budget run = %+v, want requests 250 to 300", r)
	}
	if r := runs["ci-rpm/ci"]; r.Count != 10 || !r.First.Equal(rows[400].at) {
		t.Errorf("ci run = %+v, want CI's 31st request on", r)
	}
	if r := runs["team-rpm/support"]; r.Count != 10 || !r.Shadow || !r.First.Equal(rows[360].at) {
		t.Errorf("support run = %+v, want its 61st request on, shadow", r)
	}
	if len(rep.LimitRefusals) != 3 {
		t.Errorf("limit_refusals = %+v, want 3 runs", rep.LimitRefusals)
	}
	var out strings.Builder
	if err := run(context.Background(), []string{"replay", "--policy", policy, "--db", db, "--since", "7d", "--limit", "3"}, func(string) string { return "" }, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"decisions changed: 207, unchanged: 142, rejected: 0, refused by a limit: 61",
		"limits back-tested on the logged traffic (usd periods in UTC): ci-rpm 10 refused; team-daily 51 refused; team-rpm 10 would refuse;",
		"team-rpm (shadow: would refuse)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("replay text lacks %q:\n%s", want, out.String())
		}
	}
}

// Replaying the policy that served reproduces its limits' refusals: the
// requests a limit refused in the log go through the candidate's limits
// too. A looser candidate would serve them, and says so.
func TestReplayRequestsALimitRefused(t *testing.T) {
	dir := t.TempDir()
	policy := `
d = provider("d", kind = "demo")
key("team-a", "sa")
key("team-b", "sb")
limit("per-key", rpm = 2, each = "key")
def route(req, ctx):
    return [d]
`
	if err := os.WriteFile(filepath.Join(dir, "policies.star"), []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, map[string]string{}, "--policy", dir, "--log-level", "error")
	chat := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
	for i, tc := range []struct {
		key  string
		code int
	}{{"sa", 200}, {"sa", 200}, {"sa", 429}, {"sa", 429}, {"sb", 200}} {
		if resp, b := postJSON(t, g.url+"/v1/chat/completions", chat, "Authorization", "Bearer "+tc.key); resp.StatusCode != tc.code {
			t.Fatalf("request %d: %d %s, want %d", i, resp.StatusCode, b, tc.code)
		}
	}
	if err := g.stop(); err != nil {
		t.Fatal(err)
	}

	rep := replayJSON(t, dir, g.db)
	if rep.Requests != 3 || rep.Unchanged != 3 || rep.Limited != 0 || rep.RefusedBefore != 2 || rep.AdmittedAfter != 0 || rep.Limits["per-key"] != 2 {
		t.Errorf("replay of the serving policy: %d requests, %d unchanged, %d limited, refused before %d, admitted after %d, limits %v; want 3, 3, 0, 2, 0 and per-key 2",
			rep.Requests, rep.Unchanged, rep.Limited, rep.RefusedBefore, rep.AdmittedAfter, rep.Limits)
	}
	if len(rep.LimitRefusals) != 1 || rep.LimitRefusals[0].Key != "team-a" || rep.LimitRefusals[0].Count != 2 {
		t.Errorf("limit_refusals = %+v, want team-a's 2", rep.LimitRefusals)
	}

	looser := filepath.Join(t.TempDir(), "looser.star")
	if err := os.WriteFile(looser, []byte(strings.Replace(policy, "rpm = 2", "rpm = 10", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	rep = replayJSON(t, looser, g.db)
	if rep.RefusedBefore != 2 || rep.AdmittedAfter != 2 || rep.Limits["per-key"] != 0 {
		t.Errorf("replay of a looser limit: refused before %d, admitted after %d, limits %v; want 2, 2, per-key 0", rep.RefusedBefore, rep.AdmittedAfter, rep.Limits)
	}
	var out strings.Builder
	if err := run(context.Background(), []string{"replay", "--policy", looser, "--db", g.db}, func(string) string { return "" }, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if want := "requests a limit refused in the log: 2; the candidate would serve 2 of them (their cost is not in the projection)"; !strings.Contains(out.String(), want) {
		t.Errorf("replay text lacks %q:\n%s", want, out.String())
	}
}
