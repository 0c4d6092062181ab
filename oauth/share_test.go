package oauth_test

import (
	"bytes"
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/llmgw/llmgw/oauth"
	"github.com/llmgw/llmgw/oauth/oauthtest"
)

// memCoordinator is an in-process oauth.Coordinator, as Redis would be to
// several processes.
type memCoordinator struct {
	mu        sync.Mutex
	locked    map[string]int
	published map[string][]byte
	n         int
}

func newMemCoordinator() *memCoordinator {
	return &memCoordinator{locked: map[string]int{}, published: map[string][]byte{}}
}

func (c *memCoordinator) Lock(_ context.Context, account string, _ time.Duration) (func(), bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.locked[account] != 0 {
		return nil, false, nil
	}
	c.n++
	id := c.n
	c.locked[account] = id
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.locked[account] == id {
			delete(c.locked, account)
		}
	}, true, nil
}

func (c *memCoordinator) Publish(_ context.Context, account string, sealed []byte, _ time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.published[account] = bytes.Clone(sealed)
	return nil
}

func (c *memCoordinator) Fetch(_ context.Context, account string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.published[account], nil
}

// replicaStores opens n stores (one database per replica, as replicas with
// their own SQLite files have) holding the same login.
func replicaStores(t *testing.T, fake *oauthtest.Server, c *clock, n int) ([]*oauth.Store, oauth.Account) {
	t.Helper()
	var stores []*oauth.Store
	for i := range n {
		st, err := oauth.OpenStore(context.Background(), openDB(t, filepath.Join(t.TempDir(), "r.db")), testKey)
		if err != nil {
			t.Fatal(err)
		}
		_ = i
		stores = append(stores, st)
	}
	a := login(t, fake, stores[0], c, "max-1", oauth.KindAnthropic)
	for _, st := range stores[1:] {
		if err := st.Put(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	return stores, a
}

// TestSharedRefreshOnce: three replicas need a refresh at once. The
// authorization server rotates refresh tokens (each works once), so two
// refreshes would revoke the login; with a Coordinator exactly one replica
// refreshes and all use its tokens, which travel sealed.
func TestSharedRefreshOnce(t *testing.T) {
	fake := oauthtest.NewServer(t)
	c := newClock()
	stores, a := replicaStores(t, fake, c, 3)
	coord := newMemCoordinator()
	var ms []*oauth.Manager
	for _, st := range stores {
		ms = append(ms, oauth.NewManager(st, oauth.ManagerConfig{Now: c.Now, Coordinator: coord}))
	}
	c.Advance(56 * time.Minute) // within the refresh skew
	release := fake.HoldRefreshes()
	var wg sync.WaitGroup
	toks := make([]string, 12)
	errs := make([]error, 12)
	for i := range toks {
		wg.Go(func() { toks[i], errs[i] = ms[i%3].Token(context.Background(), "max-1") })
	}
	time.Sleep(100 * time.Millisecond) // every replica is in its flight
	release()
	wg.Wait()
	for i := range toks {
		if errs[i] != nil || toks[i] == a.AccessToken || toks[i] != toks[0] || !fake.ValidToken(toks[i]) {
			t.Fatalf("caller %d got %q, %v; want the one new valid token %q", i, toks[i], errs[i], toks[0])
		}
	}
	if n := fake.Refreshes(); n != 1 {
		t.Errorf("refreshes = %d across three replicas, want 1", n)
	}
	sealed := coord.published["max-1"]
	if len(sealed) == 0 {
		t.Fatal("nothing published")
	}
	if bytes.Contains(sealed, []byte(toks[0])) || bytes.Contains(sealed, []byte("fake-rt-")) {
		t.Error("the published account holds a token in plaintext")
	}
	// Every replica's store has the new tokens, so a restart keeps them.
	for i, st := range stores {
		got, err := st.Get(context.Background(), "max-1")
		if err != nil || got.AccessToken != toks[0] {
			t.Errorf("replica %d stored %v, %v; want the new token", i, got, err)
		}
		if state, reason := ms[i].Status("max-1"); state != oauth.StatusOK {
			t.Errorf("replica %d: status %s (%s)", i, state, reason)
		}
	}
}

// TestSharedRefreshAfterRejection: a 401 on one replica refreshes once;
// a peer whose token was rejected too adopts the new one.
func TestSharedRefreshAfterRejection(t *testing.T) {
	fake := oauthtest.NewServer(t)
	c := newClock()
	stores, a := replicaStores(t, fake, c, 2)
	coord := newMemCoordinator()
	m0 := oauth.NewManager(stores[0], oauth.ManagerConfig{Now: c.Now, Coordinator: coord})
	m1 := oauth.NewManager(stores[1], oauth.ManagerConfig{Now: c.Now, Coordinator: coord})
	m0.Token(context.Background(), "max-1")
	m1.Token(context.Background(), "max-1")
	c.Advance(time.Minute)
	fake.ExpireAccess(a.AccessToken)
	t0, err := m0.Invalidate(context.Background(), "max-1")
	if err != nil || t0 == a.AccessToken {
		t.Fatalf("replica 0 Invalidate = %q, %v", t0, err)
	}
	t1, err := m1.Invalidate(context.Background(), "max-1")
	if err != nil || t1 != t0 {
		t.Fatalf("replica 1 Invalidate = %q, %v; want replica 0's new token %q", t1, err, t0)
	}
	if n := fake.Refreshes(); n != 1 {
		t.Errorf("refreshes = %d, want 1", n)
	}
}
