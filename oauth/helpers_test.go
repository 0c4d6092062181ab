package oauth_test

import (
	"context"
	"database/sql"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/llmgw/llmgw/oauth"
	"github.com/llmgw/llmgw/oauth/oauthtest"
	_ "modernc.org/sqlite"
)

// testKey is a fixed token-store key.
var testKey = []byte("0123456789abcdef0123456789abcdef")

// openDB opens a real SQLite database in WAL mode, as the gateway does.
func openDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openDBB is openDB for benchmarks.
func openDBB(b *testing.B) *sql.DB {
	b.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(b.TempDir(), "llmgw.db")+"?_pragma=journal_mode(WAL)")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

func newStore(t *testing.T) (*oauth.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "llmgw.db")
	st, err := oauth.OpenStore(context.Background(), openDB(t, path), testKey)
	if err != nil {
		t.Fatalf("OpenStore: %v", err)
	}
	return st, path
}

// clock is a settable clock for the code under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// login runs a whole login against the fake server, pasting the redirect
// URL, and stores the account.
func login(t *testing.T, fake *oauthtest.Server, st *oauth.Store, c *clock, name, kind string) oauth.Account {
	t.Helper()
	ctx := context.Background()
	ep := fake.Endpoints()
	ep.TokenJSON = kind == oauth.KindAnthropic
	f, err := oauth.NewFlow(ep)
	if err != nil {
		t.Fatal(err)
	}
	f.Now = c.Now
	redirect, err := fake.Authorize(ctx, f.AuthURL())
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.Exchange(ctx, http.DefaultClient, redirect)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	a.Name, a.Kind = name, kind
	if err := st.Put(ctx, a); err != nil {
		t.Fatal(err)
	}
	return a
}
