package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const statsLimitsPolicy = `
d = provider("d", kind = "demo")
key("team-a", "sa")
key("team-b", "sb")
admin_key("adm")
limit("two-a-minute", rpm = 2, each = "key")
limit("one-a-minute", rpm = 1, each = "key", shadow = True)
limit("unused", rpm = 100, keys = ["team-b"], models = ["claude-*"])
def route(req, ctx):
    return [d]
`

// llmgw stats counts each limit's refusals and would-refusals from the
// log, by key, and with --gateway shows each limit's live use from the
// running gateway.
func TestStatsLimits(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "policies.star"), []byte(statsLimitsPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, map[string]string{}, "--policy", dir, "--log-level", "error")
	chat := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
	// team-a: 2 served (the second over the shadow limit), 2 refused;
	// team-b: 1 served.
	want := []int{200, 200, 429, 429}
	for i, code := range want {
		if resp, b := postJSON(t, g.url+"/v1/chat/completions", chat, "Authorization", "Bearer sa"); resp.StatusCode != code {
			t.Fatalf("team-a request %d: %d %s, want %d", i, resp.StatusCode, b, code)
		}
	}
	if resp, b := postJSON(t, g.url+"/v1/chat/completions", chat, "Authorization", "Bearer sb"); resp.StatusCode != 200 {
		t.Fatalf("team-b: %d %s", resp.StatusCode, b)
	}

	var rep statsReport
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, errOut, err := runStatsCmd(t, nil, "stats", "--db", g.db, "--json", "--gateway", g.url, "--admin-key", "adm")
		if err != nil {
			t.Fatalf("stats: %v %s", err, errOut)
		}
		rep = statsReport{}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("stats --json: %v: %s", err, out)
		}
		if rep.Stats != nil && rep.Requests == 5 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if rep.LiveError != "" || rep.LimitTZ != "UTC" || len(rep.Limits) != 3 {
		t.Fatalf("stats limits = %+v (live error %q)", rep.Limits, rep.LiveError)
	}
	one, two, unused := rep.Limits[0], rep.Limits[1], rep.Limits[2]
	if two.Name != "two-a-minute" || two.Refused != 2 || two.WouldRefuse != 0 || len(two.Keys) != 1 || two.Keys[0].Key != "team-a" || two.Keys[0].Refused != 2 {
		t.Errorf("two-a-minute = %+v, want 2 refused, team-a's", two)
	}
	if two.Live == nil || two.Live.Use != 1 || len(two.Live.Counters) != 2 || two.Live.Counters[0].Each != "team-a" || two.Live.Counters[0].Requests != 2 {
		t.Errorf("two-a-minute live = %+v, want team-a's counter spent", two.Live)
	}
	if one.Name != "one-a-minute" || one.Refused != 0 || one.WouldRefuse != 1 || one.Live == nil || !one.Live.Shadow {
		t.Errorf("one-a-minute = %+v, want 1 would-refuse (shadow)", one)
	}
	if unused.Name != "unused" || unused.Refused+unused.WouldRefuse != 0 || unused.Live == nil || len(unused.Live.Counters) != 0 {
		t.Errorf("unused = %+v, want listed from the live policy, nothing counted", unused)
	}

	out, _, err := runStatsCmd(t, nil, "stats", "--db", g.db, "--gateway", g.url, "--admin-key", "adm")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"LIMIT                  REFUSED  WOULD REFUSE  BY KEY    BOUNDS                                 USE NOW  BUSIEST\n",
		"one-a-minute (shadow)  0        1             team-a 1  rpm 1, per key                         100%     team-a 100%, team-b 100%\n",
		"two-a-minute           2        0             team-a 2  rpm 2, per key                         100%     team-a 100%, team-b 50%\n",
		"unused                 0        0             -         rpm 100, keys team-b, models claude-*  0%       -\n",
		"usd days and months in UTC",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("stats text lacks %q:\n%s", line, out)
		}
	}
	// Without --gateway: the log's figures only; a gateway that does not
	// answer is said, and the log's figures still print.
	out, _, err = runStatsCmd(t, nil, "stats", "--db", g.db)
	if err != nil || !strings.Contains(out, "LIMIT         REFUSED  WOULD REFUSE  BY KEY\n") || strings.Contains(out, "unused") {
		t.Errorf("stats without --gateway (%v):\n%s", err, out)
	}
	out, _, err = runStatsCmd(t, nil, "stats", "--db", g.db, "--gateway", g.url)
	if err != nil || !strings.Contains(out, "limits' live use unavailable: GET "+g.url+"/api/limits") || !strings.Contains(out, "401") || !strings.Contains(out, "two-a-minute") {
		t.Errorf("stats --gateway without the admin key (%v):\n%s", err, out)
	}
}
