package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/llmgw/llmgw/requestlog"
)

// buildLLMGW builds the llmgw binary into a temporary directory, for tests
// that must signal or kill a real process. It skips the test only when no
// go tool is available.
func buildLLMGW(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool to build the binary with")
	}
	bin := filepath.Join(t.TempDir(), "llmgw")
	cmd := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// binaryGateway is `llmgw start` running as a child process.
type binaryGateway struct {
	url  string // http://127.0.0.1:PORT
	addr string // 127.0.0.1:PORT
	db   string
	cmd  *exec.Cmd
	logs *syncBuffer // stdout and stderr
	done chan struct{}
	err  error // the process's exit, valid once done is closed
}

// startBinary starts bin as `llmgw start` on a free loopback port with a
// fresh database and the policy text, and returns once it listens. The
// process sees only the environment given (plus PATH and HOME); it is
// killed at the end of the test if it is still running.
func startBinary(t *testing.T, bin, policy string, env []string, args ...string) *binaryGateway {
	t.Helper()
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.star")
	if err := os.WriteFile(pol, []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	g := &binaryGateway{db: filepath.Join(dir, "llmgw.db"), logs: &syncBuffer{}, done: make(chan struct{})}
	full := append([]string{"start", "--listen", "127.0.0.1:0", "--db", g.db, "--policy", pol}, args...)
	g.cmd = exec.Command(bin, full...)
	g.cmd.Dir = dir // files it keeps in its working directory stay in the test's
	g.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
	g.cmd.Stdout, g.cmd.Stderr = g.logs, g.logs
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { g.err = g.cmd.Wait(); close(g.done) }()
	t.Cleanup(func() {
		select {
		case <-g.done:
		default:
			_ = g.cmd.Process.Kill()
			<-g.done
		}
	})
	for range 3000 { // 30 s at most
		for line := range strings.Lines(g.logs.String()) {
			if u, ok := strings.CutPrefix(strings.TrimSpace(line), "llmgw listening on "); ok {
				g.url, g.addr = u, strings.TrimPrefix(u, "http://")
				return g
			}
		}
		select {
		case <-g.done:
			t.Fatalf("llmgw start exited: %v\n%s", g.err, g.logs.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("llmgw start did not listen in time:\n%s", g.logs.String())
	return nil
}

// wait waits up to timeout for the process to exit and returns its exit
// code.
func (g *binaryGateway) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-g.done:
	case <-time.After(timeout):
		t.Fatalf("llmgw did not exit within %v:\n%s", timeout, g.logs.String())
	}
	var ee *exec.ExitError
	if errors.As(g.err, &ee) {
		return ee.ExitCode()
	}
	if g.err != nil {
		t.Fatalf("wait: %v", g.err)
	}
	return 0
}

// demoCall is one request the crash test sends, with a body for each
// protocol, streaming and not.
type demoCall struct{ path, body string }

var demoCalls = []demoCall{
	{"/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"crash %d"}]}`},
	{"/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"crash %d"}]}`},
	{"/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"crash %d"}]}`},
	{"/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"crash %d"}]}`},
}

// sendDemo sends call n and returns its request id once the whole
// response has been read.
func sendDemo(client *http.Client, base string, n int) (string, error) {
	c := demoCalls[n%len(demoCalls)]
	req, err := http.NewRequest(http.MethodPost, base+c.path, strings.NewReader(fmt.Sprintf(c.body, n)))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("anthropic-version", "2023-06-01")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: status %d", c.path, resp.StatusCode)
	}
	return resp.Header.Get("X-Request-Id"), nil
}

// TestKillNineLosesNothingOlderThanASecond is the crash contract: after
// kill -9 the database opens cleanly and holds every request that
// completed more than a second before the kill.
func TestKillNineLosesNothingOlderThanASecond(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	// Requests for "slow" stream from an upstream that stalls mid-stream:
	// they are in flight when the kill lands.
	slow := newGatedStream(t, "anthropic_stream_text_end_turn.sse", 2)
	policy := `demo = provider("demo", kind = "demo")
slow = provider("slow", kind = "anthropic", base_url = "` + slow.URL + `", api_key = "sk-slow")

def route(req, ctx):
    if req.model == "slow":
        return [slow]
    return [demo]
`
	g := startBinary(t, buildLLMGW(t), policy, nil, "--log-level", "warn")
	client := &http.Client{Timeout: 30 * time.Second}

	var completed []completion
	const settled = 24
	for n := range settled {
		id, err := sendDemo(client, g.url, n)
		if err != nil || id == "" {
			t.Fatalf("request %d: id %q, %v", n, id, err)
		}
		completed = append(completed, completion{id, time.Now()})
	}
	// Let more than a second pass since those finished, then put traffic
	// in flight up to the kill: stalled streams, and a trickle of requests
	// too small to fill a batch, so that only the writer's flush interval
	// can have committed the settled ones.
	time.Sleep(1100 * time.Millisecond)
	for range 3 {
		startSlowStream(t, g, "slow")
	}
	for n := settled; n < settled+10; n++ {
		if id, err := sendDemo(client, g.url, n); err == nil {
			completed = append(completed, completion{id, time.Now()})
		}
		time.Sleep(20 * time.Millisecond)
	}
	killedAt := time.Now()
	if err := g.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	g.wait(t, 10*time.Second)

	ctx := context.Background()
	db, err := requestlog.Open(ctx, g.db)
	if err != nil {
		t.Fatalf("requestlog.Open after kill -9: %v", err)
	}
	defer db.Close()
	var check string
	if err := db.SQL().QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("PRAGMA integrity_check = %q, %v; want ok", check, err)
	}
	old := loggedBeforeKill(t, db, completed, killedAt)
	if old < settled {
		t.Errorf("only %d requests completed more than 1 s before the kill, want at least %d", old, settled)
	}
	t.Logf("%d requests completed, %d of them more than 1 s before the kill", len(completed), old)
}

// completion is a request a test saw answered in full, and when.
type completion struct {
	id string
	at time.Time
}

// loggedBeforeKill checks that every request of completed that finished
// more than a second before killedAt is in db, served with usage, and
// returns how many there were.
func loggedBeforeKill(t *testing.T, db *requestlog.DB, completed []completion, killedAt time.Time) int {
	t.Helper()
	old := 0
	for _, c := range completed {
		if killedAt.Sub(c.at) <= time.Second {
			continue
		}
		old++
		d, err := db.Request(context.Background(), c.id)
		if err != nil {
			t.Errorf("request %s completed %v before the kill: %v", c.id, killedAt.Sub(c.at).Round(time.Millisecond), err)
			continue
		}
		if d.Status != http.StatusOK || d.OutputTokens == 0 {
			t.Errorf("request %s logged with status %d, %d output tokens; want 200 with usage", c.id, d.Status, d.OutputTokens)
		}
	}
	return old
}

// readSSE returns the event names of an SSE body, in order, until the body
// ends or fails; err is the read error (nil at a clean EOF).
func readSSE(r io.Reader) ([]string, error) {
	var names []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if name, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			names = append(names, name)
		}
	}
	return names, sc.Err()
}
