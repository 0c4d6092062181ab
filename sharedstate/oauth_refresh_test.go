package sharedstate

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/llmgw/llmgw/oauth"
	"github.com/llmgw/llmgw/oauth/oauthtest"
)

// TestOAuthRefreshOnceAcrossReplicas: two replicas, each with its own
// token store, need the same account refreshed at once; through Redis one
// refreshes, the other adopts its tokens, and Redis holds them sealed.
func TestOAuthRefreshOnceAcrossReplicas(t *testing.T) {
	url, prefix := sharedRedis(t)
	ctx := context.Background()
	key := []byte("0123456789abcdef0123456789abcdef")
	fake := oauthtest.NewServer(t)
	var stores []*oauth.Store
	for range 2 {
		db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "oauth.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		st, err := oauth.OpenStore(ctx, db, key)
		if err != nil {
			t.Fatal(err)
		}
		stores = append(stores, st)
	}
	a, err := fake.Login(ctx, stores[0], "max-1", oauth.KindAnthropic)
	if err != nil {
		t.Fatal(err)
	}
	if err := stores[1].Put(ctx, a); err != nil {
		t.Fatal(err)
	}
	// 56 minutes on: within the refresh skew of the one-hour token.
	later := func() time.Time { return time.Now().Add(56 * time.Minute) }
	var ms []*oauth.Manager
	for i, st := range stores {
		s := start(t, Config{URL: url, Prefix: prefix, ReplicaID: string(rune('a' + i))}, true)
		ms = append(ms, oauth.NewManager(st, oauth.ManagerConfig{Now: later, Coordinator: s.OAuth()}))
	}
	release := fake.HoldRefreshes()
	toks := make([]string, 8)
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range toks {
		wg.Go(func() { toks[i], errs[i] = ms[i%2].Token(ctx, "max-1") })
	}
	time.Sleep(200 * time.Millisecond)
	release()
	wg.Wait()
	for i := range toks {
		if errs[i] != nil || toks[i] == a.AccessToken || toks[i] != toks[0] || !fake.ValidToken(toks[i]) {
			t.Fatalf("caller %d: %q, %v; want the one new token %q", i, toks[i], errs[i], toks[0])
		}
	}
	if n := fake.Refreshes(); n != 1 {
		t.Errorf("refreshes = %d across two replicas, want 1", n)
	}
	rdb := client(t, url)
	keys, _ := rdb.Keys(ctx, prefix+"oauth:*").Result()
	found := false
	for _, k := range keys {
		v, _ := rdb.Get(ctx, k).Result()
		if strings.Contains(v, toks[0]) || strings.Contains(v, "fake-rt-") {
			t.Errorf("Redis key %s holds a token in plaintext", k)
		}
		found = found || strings.HasSuffix(k, "oauth:account:max-1")
	}
	if !found {
		t.Errorf("no shared account in Redis: keys %v", keys)
	}
}
