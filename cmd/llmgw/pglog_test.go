package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/llmgw/llmgw/internal/testservices"
	"github.com/llmgw/llmgw/requestlog"
)

// pgLogURL creates a schema of its own on the test PostgreSQL server,
// dropped when the test ends, and returns a --db URL that selects it.
func pgLogURL(t *testing.T) string {
	t.Helper()
	base := testservices.PostgresURL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "llmgw_cmd_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Errorf("drop schema: %v", err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestKillNineWithPostgresLog is the crash contract with the log on
// PostgreSQL: a replica killed with kill -9 under load loses no row of a
// request that finished more than a second before the kill, and stats,
// the admin API and replay read the log there.
func TestKillNineWithPostgresLog(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	u := pgLogURL(t)
	policy := `demo = provider("demo", kind = "demo")

def route(req, ctx):
    return [demo]
`
	g := startBinary(t, buildLLMGW(t), policy, nil, "--log-level", "warn", "--db", u)
	// The OAuth accounts of a replica whose log is on PostgreSQL are in a
	// local file in its working directory, with the key beside it.
	for _, f := range []string{oauthDBFile, "llmgw.key"} {
		if _, err := os.Stat(filepath.Join(g.cmd.Dir, f)); err != nil {
			t.Errorf("%s not in the working directory: %v", f, err)
		}
	}
	if _, err := os.Stat(g.db); err == nil {
		t.Errorf("a SQLite log was created at %s although --db is a URL", g.db)
	}

	var mu sync.Mutex
	var completed []completion
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			for n := c; ; n += 4 {
				select {
				case <-stop:
					return
				default:
				}
				id, err := sendDemo(client, g.url, n)
				if err == nil && id != "" {
					mu.Lock()
					completed = append(completed, completion{id, time.Now()})
					mu.Unlock()
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	// The admin API reads the log on PostgreSQL while it is written.
	resp, err := http.Get(g.url + "/api/requests?limit=5")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var page requestlog.RequestPage
	if err := json.Unmarshal(body, &page); err != nil || resp.StatusCode != 200 || len(page.Items) == 0 {
		t.Errorf("/api/requests with the log on PostgreSQL: %d %s (%v)", resp.StatusCode, body, err)
	}
	time.Sleep(1000 * time.Millisecond)
	killedAt := time.Now()
	if err := g.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	g.wait(t, 10*time.Second)

	ctx := context.Background()
	db, err := requestlog.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	old := loggedBeforeKill(t, db, completed, killedAt)
	if old < 100 {
		t.Errorf("only %d requests completed more than 1 s before the kill; the load was too light to tell", old)
	}
	t.Logf("%d requests completed, %d of them more than 1 s before the kill", len(completed), old)

	// llmgw stats reads the same log.
	var out strings.Builder
	if err := run(ctx, []string{"stats", "--db", u, "--json", "--since", "1h"}, func(string) string { return "" }, nil, &out, io.Discard); err != nil {
		t.Fatalf("stats --db URL: %v", err)
	}
	var st requestlog.Stats
	if err := json.Unmarshal([]byte(out.String()), &st); err != nil {
		t.Fatalf("stats --json: %v: %s", err, out.String())
	}
	if st.Requests < int64(old) || st.OutputTokens == 0 {
		t.Errorf("stats --db URL: %d requests, %d output tokens; want at least %d with tokens", st.Requests, st.OutputTokens, old)
	}
	// And replay re-decides its requests.
	pol := filepath.Join(t.TempDir(), "policy.star")
	if err := os.WriteFile(pol, []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"replay", "--db", u, "--policy", pol, "--json", "--since", "1h"}, func(string) string { return "" }, nil, &out, io.Discard); err != nil {
		t.Fatalf("replay --db URL: %v", err)
	}
	if !strings.Contains(out.String(), `"requests"`) {
		t.Errorf("replay --db URL --json: %.300s", out.String())
	}
}

// pgCut is a TCP proxy in front of PostgreSQL that a test can cut (every
// connection closed, new ones refused at once) and restore.
type pgCut struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	up     bool
	conns  map[net.Conn]struct{}
}

// cutPGLogURL puts a pgCut in front of the PostgreSQL of the log URL
// direct, and returns it with the URL that reaches the server through it.
func cutPGLogURL(t *testing.T, direct string) (*pgCut, string) {
	t.Helper()
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	cut := newPGCut(t, u.Host)
	u.Host = cut.ln.Addr().String()
	return cut, u.String()
}

func newPGCut(t *testing.T, target string) *pgCut {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pgCut{ln: ln, target: target, up: true, conns: map[net.Conn]struct{}{}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			up := p.up
			p.mu.Unlock()
			s, err := net.DialTimeout("tcp", target, 2*time.Second)
			if !up || err != nil {
				c.Close()
				if s != nil {
					s.Close()
				}
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[s] = struct{}{}, struct{}{}
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); s.Close(); c.Close() }()
			go func() { _, _ = io.Copy(c, s); s.Close(); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.set(false) })
	return p
}

// set restores (true) or cuts (false) the way to the server.
func (p *pgCut) set(up bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.up = up
	if !up {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

// TestPostgresOutageKeepsServing cuts a running gateway off its log's
// PostgreSQL: every client request is still served, the admin API says
// the log is unreachable and how many rows are held, and once the server
// is back every request is in the log.
func TestPostgresOutageKeepsServing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	direct := pgLogURL(t)
	cut, viaCut := cutPGLogURL(t, direct)
	policy := `demo = provider("demo", kind = "demo")

def route(req, ctx):
    return [demo]
`
	g := startBinary(t, buildLLMGW(t), policy, nil, "--log-level", "error", "--db", viaCut)
	client := &http.Client{Timeout: 10 * time.Second}
	var ids []string
	send := func(from, to int) {
		t.Helper()
		for n := from; n < to; n++ {
			id, err := sendDemo(client, g.url, n)
			if err != nil {
				t.Fatalf("request %d (PostgreSQL %s): %v", n, map[bool]string{true: "up", false: "cut off"}[n < 20 || n >= 70], err)
			}
			ids = append(ids, id)
		}
	}
	getJSON := func(path string, v any) int {
		t.Helper()
		resp, err := client.Get(g.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(b, v)
		return resp.StatusCode
	}
	type summary struct {
		Writer *requestlog.WriterStats  `json:"log_writer"`
		Error  struct{ Message string } `json:"error"`
	}
	send(0, 20)
	cut.set(false)
	start := time.Now()
	send(20, 70)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("50 requests with PostgreSQL cut off took %s", d)
	}
	var s summary
	deadline := time.Now().Add(15 * time.Second)
	for {
		code := getJSON("/api/summary?since=1h", &s)
		if code == http.StatusServiceUnavailable && s.Writer != nil && s.Writer.Unavailable && s.Writer.Buffered > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/api/summary with PostgreSQL cut off: %d %+v", code, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, err := client.Get(g.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(mb), "\nllmgw_log_unavailable 1\n") || !strings.Contains(string(mb), "\nllmgw_log_outages_total 1\n") {
		t.Errorf("/metrics while PostgreSQL is cut off lacks llmgw_log_unavailable 1 and llmgw_log_outages_total 1")
	}
	cut.set(true)
	send(70, 80)
	for deadline := time.Now().Add(20 * time.Second); ; {
		s = summary{}
		if code := getJSON("/api/summary?since=1h", &s); code == http.StatusOK && s.Writer != nil && s.Writer.Buffered == 0 && s.Writer.Queued == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the held rows were not written once PostgreSQL was back: %+v", s)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if s.Writer.Shed != 0 || s.Writer.Failed != 0 || s.Writer.Outages != 1 {
		t.Errorf("writer after the outage: %+v, want nothing shed or failed, one outage", s.Writer)
	}
	db, err := requestlog.Open(context.Background(), direct)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, id := range ids {
		if _, err := db.Request(context.Background(), id); err != nil {
			t.Errorf("request %s: %v", id, err)
		}
	}
}

// TestOAuthFileBesideTheLog: the OAuth accounts live in the log's SQLite
// file, or, when the log is on PostgreSQL, in llmgw-oauth.db in the
// working directory (the key file beside either).
func TestOAuthFileBesideTheLog(t *testing.T) {
	for db, want := range map[string]string{
		"./llmgw.db":                            "./llmgw.db",
		"/var/lib/llmgw/log.db":                 "/var/lib/llmgw/log.db",
		"postgres://u:p@db:5432/llmgw":          oauthDBFile,
		"POSTGRESQL://db/llmgw?sslmode=require": oauthDBFile,
		"postgres.db":                           "postgres.db",
	} {
		if got := oauthDBPath(db); got != want {
			t.Errorf("oauthDBPath(%q) = %q, want %q", db, got, want)
		}
	}
}

// TestPostgresDownAtStart: a replica started while its log's PostgreSQL
// does not answer serves all the same, and its requests are in the log
// once the server answers.
func TestPostgresDownAtStart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	direct := pgLogURL(t)
	cut, viaCut := cutPGLogURL(t, direct)
	cut.set(false)
	// The policy declares a limit, whose counters are refilled from the log
	// at start: an unreadable log leaves them empty, with a warning, and
	// does not keep the replica down.
	policy := `demo = provider("demo", kind = "demo")
limit("all", rpm = 100000)

def route(req, ctx):
    return [demo]
`
	g := startBinary(t, buildLLMGW(t), policy, nil, "--log-level", "warn", "--db", viaCut)
	for _, want := range []string{"request log unreachable at start", "limit counters start empty"} {
		if !strings.Contains(g.logs.String(), want) {
			t.Errorf("no warning %q:\n%s", want, g.logs.String())
		}
	}
	client := &http.Client{Timeout: 10 * time.Second}
	var ids []string
	for n := range 20 {
		id, err := sendDemo(client, g.url, n)
		if err != nil {
			t.Fatalf("request %d with the log unreachable since start: %v", n, err)
		}
		ids = append(ids, id)
	}
	cut.set(true)
	// Counted over a connection of the test's own, which creates nothing:
	// the replica must make the schema itself once the server answers.
	conn, err := pgx.Connect(context.Background(), direct)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int64
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		err := conn.QueryRow(context.Background(), "SELECT count(DISTINCT request_id) FROM requests").Scan(&n)
		if err == nil && n == int64(len(ids)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d requests in the log after the server came back (%v)\n%s", n, len(ids), err, g.logs.String())
		}
	}
}
