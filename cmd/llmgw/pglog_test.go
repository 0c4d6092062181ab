package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
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

	type done struct {
		id string
		at time.Time
	}
	var mu sync.Mutex
	var completed []done
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
					completed = append(completed, done{id, time.Now()})
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
	old := 0
	for _, c := range completed {
		if killedAt.Sub(c.at) <= time.Second {
			continue
		}
		old++
		d, err := db.Request(ctx, c.id)
		if err != nil {
			t.Errorf("request %s completed %v before the kill: %v", c.id, killedAt.Sub(c.at).Round(time.Millisecond), err)
			continue
		}
		if d.Status != http.StatusOK || d.OutputTokens == 0 {
			t.Errorf("request %s logged with status %d, %d output tokens; want 200 with usage", c.id, d.Status, d.OutputTokens)
		}
	}
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
