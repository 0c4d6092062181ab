package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/llmgw/llmgw/metrics"
	"github.com/llmgw/llmgw/sharedstate/redistest"
	"github.com/llmgw/llmgw/sticky"
)

// clusterReply is what the test reads of GET /api/cluster.
type clusterReply struct {
	State struct {
		Shared    bool  `json:"shared"`
		Fallbacks int64 `json:"fallbacks"`
		Rejoins   int64 `json:"rejoins"`
	} `json:"state"`
	Drift    bool `json:"drift"`
	Replicas []struct {
		ID string `json:"id"`
	} `json:"replicas"`
}

// TestReplicaProcesses runs three `llmgw start --state redis://…`
// processes on a private Redis: a session keeps its provider on every
// replica, Redis killed and restarted under load fails no request, and
// each process logs the fallback and the rejoin once and shows them in
// /api/cluster and /metrics.
func TestReplicaProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	redis := redistest.Start(t)
	bin := buildLLMGW(t)
	policy := `
d1 = provider("d1", kind = "demo")
d2 = provider("d2", kind = "demo")
limit("limited", rpm = 10, models = ["limited-*"])
def route(req, ctx):
    return [d1, d2]
`
	var gws []*binaryGateway
	for range 3 {
		gws = append(gws, startBinary(t, bin, policy, nil, "--state", redis.URL()))
	}
	client := &http.Client{Timeout: 10 * time.Second}
	cluster := func(g *binaryGateway) clusterReply {
		t.Helper()
		resp, err := client.Get(g.url + "/api/cluster")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var c clusterReply
		if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	waitAll := func(what string, cond func(clusterReply) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for i, g := range gws {
			for !cond(cluster(g)) {
				if time.Now().After(deadline) {
					t.Fatalf("%s: replica %d says %+v\n%s", what, i, cluster(g), g.logs.String())
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	waitAll("every replica sees three", func(c clusterReply) bool { return c.State.Shared && len(c.Replicas) == 3 && !c.Drift })

	postModel := func(g *binaryGateway, model, session string, n int) (int, string) {
		body := fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"hello %d"}]}`, model, n)
		req, _ := http.NewRequest(http.MethodPost, g.url+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("x-session-id", session)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, resp.Header.Get("X-LLMGW-Provider")
	}
	post := func(g *binaryGateway, session string, n int) (int, string) {
		return postModel(g, "gpt-4o-mini", session, n)
	}

	// rpm = 10 across the three processes: 30 requests at once, exactly
	// 10 served.
	var served, limited atomic.Int64
	var lwg sync.WaitGroup
	for i := range 30 {
		lwg.Go(func() {
			switch status, _ := postModel(gws[i%3], "limited-model", fmt.Sprintf("l%d", i), i); status {
			case http.StatusOK:
				served.Add(1)
			case http.StatusTooManyRequests:
				limited.Add(1)
			default:
				t.Errorf("limited request %d: status %d", i, status)
			}
		})
	}
	lwg.Wait()
	if served.Load() != 10 || limited.Load() != 20 {
		t.Errorf("rpm = 10 over three processes served %d and limited %d of 30, want exactly 10 served", served.Load(), limited.Load())
	}

	// A session's provider is the same on every replica.
	for s := range 8 {
		session := fmt.Sprintf("conv-%d", s)
		seen := map[string]bool{}
		for round := range 6 {
			status, prov := post(gws[(s+round)%3], session, round)
			if status != http.StatusOK {
				t.Fatalf("%s round %d: %d %s", session, round, status, prov)
			}
			seen[prov] = true
		}
		if len(seen) != 1 {
			t.Errorf("session %s served by %v across the replicas, want one provider", session, seen)
		}
	}

	// Redis killed and restarted under load: no request fails.
	var sent, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range 3 {
		wg.Go(func() {
			for i := 0; i < 1_000_000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				status, msg := post(gws[(c+i)%3], fmt.Sprintf("load-%d-%d", c, i%7), i)
				sent.Add(1)
				if status != http.StatusOK {
					failed.Add(1)
					t.Errorf("client %d request %d: %d %s", c, i, status, msg)
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	redis.Kill()
	waitAll("fallback shown", func(c clusterReply) bool {
		return !c.State.Shared && c.State.Fallbacks >= 1 && len(c.Replicas) == 1
	})
	time.Sleep(500 * time.Millisecond)
	redis.Restart()
	waitAll("rejoin shown", func(c clusterReply) bool {
		return c.State.Shared && c.State.Rejoins >= 1 && len(c.Replicas) == 3
	})
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("%d requests under load, %d failed", sent.Load(), failed.Load())
	if sent.Load() < 50 {
		t.Errorf("only %d requests under load", sent.Load())
	}

	// A fourth replica on another policy is flagged by every replica, and
	// llmgw status says so.
	odd := startBinary(t, bin, policy+"# another version\n", nil, "--state", redis.URL())
	waitAll("drift flagged", func(c clusterReply) bool { return len(c.Replicas) == 4 && c.Drift })
	if c := cluster(odd); !c.Drift || len(c.Replicas) != 4 {
		t.Errorf("the odd replica's /api/cluster = %+v, want four replicas with drift", c)
	}
	out, errOut, code := runCmd(t, "", map[string]string{"LLMGW_GATEWAY": gws[0].url}, "status")
	if code != 0 || !strings.Contains(out, "shared by 4 replicas") || strings.Count(out, "warning: replica ") != 1 {
		t.Errorf("llmgw status = exit %d\n%s%s", code, out, errOut)
	}

	// Each transition is logged once and counted: on a busy machine a slow
	// call may add a fallback of its own, so the log is held to the
	// counters rather than to one.
	for i, g := range gws {
		c := cluster(g)
		logs := g.logs.String()
		if c.State.Fallbacks < 1 || c.State.Rejoins < 1 {
			t.Errorf("replica %d: %+v, want the fallback and the rejoin counted", i, c.State)
		}
		if n := strings.Count(logs, "Redis unreachable; this replica serves from its own in-process state"); int64(n) != c.State.Fallbacks {
			t.Errorf("replica %d logged the fallback %d times for %d fallbacks:\n%s", i, n, c.State.Fallbacks, logs)
		}
		if n := strings.Count(logs, "rejoined the cluster"); int64(n) != c.State.Rejoins {
			t.Errorf("replica %d logged the rejoin %d times for %d rejoins", i, n, c.State.Rejoins)
		}
		resp, err := client.Get(g.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{"llmgw_state_shared 1", fmt.Sprintf("llmgw_state_fallbacks_total %d", c.State.Fallbacks), fmt.Sprintf("llmgw_state_rejoins_total %d", c.State.Rejoins)} {
			if !strings.Contains(string(b), want+"\n") {
				t.Errorf("replica %d /metrics lacks %q", i, want)
			}
		}
	}
}

// TestReplicaStateRefusesBadURL: --state takes a redis:// URL; anything
// else is refused with a message naming the flag, and a password in it is
// not repeated. Without --state the state is the in-process one.
func TestReplicaStateRefusesBadURL(t *testing.T) {
	for _, v := range []string{"postgres://u:hunter2@db/x", "127.0.0.1:6379", "redis://:hunter2@127.0.0.1:6379/notanumber"} {
		_, err := newReplicaState(v, "", nil, zerolog.Nop(), metrics.New())
		if err == nil || !strings.Contains(err.Error(), "--state") {
			t.Errorf("--state %s: %v, want an error naming --state", v, err)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("--state error shows the password: %v", err)
		}
	}
	rs, err := newReplicaState("", "", nil, zerolog.Nop(), metrics.New())
	if err != nil || rs.shared != nil || rs.cluster() != nil || rs.oauth() != nil {
		t.Errorf("no --state: %+v, %v; want in-process state only", rs, err)
	}
	if _, ok := rs.sticky.(*sticky.Table); !ok {
		t.Errorf("no --state: sticky is %T, want the in-process *sticky.Table", rs.sticky)
	}
}
