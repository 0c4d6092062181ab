package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// gatewayProc is an in-process `llmgw start`.
type gatewayProc struct {
	url  string
	db   string
	stop func() error
	logs *syncBuffer
}

// startGateway runs `llmgw start` with args on a free port and returns once
// it listens. env is the whole environment the command sees.
func startGateway(t *testing.T, env map[string]string, args ...string) *gatewayProc {
	t.Helper()
	dir := t.TempDir()
	db := filepath.Join(dir, "llmgw.db")
	pr, pw := io.Pipe()
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	getenv := func(k string) string { return env[k] }
	full := append([]string{"start", "--listen", "127.0.0.1:0", "--db", db, "--shutdown-grace", "10s"}, args...)
	go func() {
		errc <- run(ctx, full, getenv, strings.NewReader(""), pw, logs)
		pw.Close()
	}()
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "llmgw listening on "); ok {
				urlc <- u
			}
		}
		close(urlc)
	}()
	var url string
	select {
	case u, ok := <-urlc:
		if !ok {
			cancel()
			t.Fatalf("llmgw start exited: %v\nlogs:\n%s", <-errc, logs.String())
		}
		url = u
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("llmgw start did not listen in time; logs:\n%s", logs.String())
	}
	var once sync.Once
	var stopErr error
	g := &gatewayProc{url: url, db: db, logs: logs, stop: func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-errc:
			case <-time.After(30 * time.Second):
				stopErr = fmt.Errorf("llmgw start did not stop")
			}
		})
		return stopErr
	}}
	t.Cleanup(func() { _ = g.stop() })
	return g
}

func examplePolicy(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../policies.star.example")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func postJSON(t *testing.T, url, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// TestREADMEQuickStart is the README's first command and curl examples:
// the example policy with no provider keys serves through demo, streaming
// and not, and every request lands in the log.
func TestREADMEQuickStart(t *testing.T) {
	g := startGateway(t, map[string]string{}, "--policy", examplePolicy(t))
	resp, b := postJSON(t, g.url+"/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello!"}]}`)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"chat.completion"`) {
		t.Fatalf("non-stream: %d %s", resp.StatusCode, b)
	}
	if resp.Header.Get("X-LLMGW-Provider") == "" || resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("headers = %v", resp.Header)
	}
	resp, b = postJSON(t, g.url+"/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Hello!"}]}`)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "data: [DONE]") {
		t.Fatalf("stream: %d %s", resp.StatusCode, b)
	}
	resp, b = postJSON(t, g.url+"/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":256,"messages":[{"role":"user","content":"Hello!"}]}`, "anthropic-version", "2023-06-01")
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"type":"message"`) {
		t.Fatalf("anthropic: %d %s", resp.StatusCode, b)
	}
	mresp, err := http.Get(g.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	if mresp.StatusCode != 200 || !strings.Contains(string(mb), "llmgw_requests_total") {
		t.Errorf("/metrics = %d, lacks llmgw_requests_total:\n%.500s", mresp.StatusCode, mb)
	}
	if err := g.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	// After a graceful stop every request is in the database.
	var out strings.Builder
	if err := run(context.Background(), []string{"stats", "--db", g.db, "--json"}, func(string) string { return "" }, nil, &out, io.Discard); err != nil {
		t.Fatalf("stats: %v", err)
	}
	var st struct {
		Requests     int64 `json:"requests"`
		OutputTokens int64 `json:"output_tokens"`
	}
	if err := json.Unmarshal([]byte(out.String()), &st); err != nil {
		t.Fatalf("stats --json: %v: %s", err, out.String())
	}
	if st.Requests != 3 || st.OutputTokens == 0 {
		t.Errorf("stats = %+v, want 3 requests with output tokens", st)
	}
}

// TestLogCompletenessUnderLoad sends thousands of concurrent requests
// through a running gateway and checks rows == requests after a graceful
// stop.
func TestLogCompletenessUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	g := startGateway(t, map[string]string{}, "--policy", examplePolicy(t), "--log-level", "warn")
	const total, workers = 3000, 64
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	jobs := make(chan int)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				body := fmt.Sprintf(`{"model":"gpt-4o-mini","stream":%v,"messages":[{"role":"user","content":"n%d"}]}`, i%3 == 0, i)
				resp, err := client.Post(g.url+"/v1/chat/completions", "application/json", strings.NewReader(body))
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			}
		}()
	}
	for i := range total {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if ok != total {
		t.Errorf("%d of %d requests succeeded", ok, total)
	}
	if err := g.stop(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := run(context.Background(), []string{"stats", "--db", g.db, "--json"}, func(string) string { return "" }, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var st struct {
		Requests int64 `json:"requests"`
	}
	_ = json.Unmarshal([]byte(out.String()), &st)
	if st.Requests != total {
		t.Errorf("rows = %d, requests = %d: the log lost requests", st.Requests, total)
	}
}

func TestStartFailsClearlyOnBadPolicy(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "main.star")
	os.WriteFile(p, []byte("def route(req, ctx):\n    return [nope]\n"), 0o644)
	err := run(context.Background(), []string{"start", "--policy", p, "--listen", "127.0.0.1:0", "--db", filepath.Join(dir, "x.db")},
		func(string) string { return "" }, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "main.star") {
		t.Errorf("start with a broken policy = %v, want an error naming the file", err)
	}
}

// TestReplayAgainstRunningGatewayLog replays a log written by a running
// gateway with a candidate policy that routes differently.
func TestReplayAgainstRunningGatewayLog(t *testing.T) {
	g := startGateway(t, map[string]string{}, "--policy", examplePolicy(t), "--log-level", "warn")
	for i := range 4 {
		postJSON(t, g.url+"/v1/chat/completions", fmt.Sprintf(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"r%d"}]}`, i))
	}
	if err := g.stop(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cand := filepath.Join(dir, "main.star")
	os.WriteFile(cand, []byte("other = provider(\"other\", kind = \"demo\")\ndef route(req, ctx):\n    return [target(other, model = \"gpt-4o\")]\n"), 0o644)
	var out strings.Builder
	if err := run(context.Background(), []string{"replay", "--policy", cand, "--db", g.db, "--json"}, func(string) string { return "" }, nil, &out, io.Discard); err != nil {
		t.Fatalf("replay: %v", err)
	}
	var rep replayReport
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
		t.Fatalf("replay --json: %v: %s", err, out.String())
	}
	if rep.Requests != 4 || rep.Changed != 4 || rep.After["other"] != 4 {
		t.Errorf("replay = %+v, want 4 requests, all changed to other", rep)
	}
	// The same policy that served the traffic changes nothing.
	out.Reset()
	if err := run(context.Background(), []string{"replay", "--policy", examplePolicy(t), "--db", g.db, "--json"}, func(string) string { return "" }, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal([]byte(out.String()), &rep)
	if rep.Changed != 0 {
		t.Errorf("replaying the serving policy changed %d decisions", rep.Changed)
	}
}
