package oauth_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmgw/llmgw/oauth"
	"github.com/llmgw/llmgw/oauth/oauthtest"
)

func newManager(st *oauth.Store, c *clock) *oauth.Manager {
	return oauth.NewManager(st, oauth.ManagerConfig{Now: c.Now})
}

func TestManagerRefreshBeforeExpiry(t *testing.T) {
	ctx := context.Background()
	fake := oauthtest.NewServer(t)
	st, _ := newStore(t)
	c := newClock()
	a := login(t, fake, st, c, "max-1", oauth.KindAnthropic)
	m := newManager(st, c)

	tok, err := m.Token(ctx, "max-1")
	if err != nil || tok != a.AccessToken {
		t.Fatalf("Token(fresh) = %q, %v, want the login's token", tok, err)
	}
	c.Advance(54 * time.Minute) // 6 min left: outside the 5 min skew
	if tok, _ := m.Token(ctx, "max-1"); tok != a.AccessToken || fake.Refreshes() != 0 {
		t.Fatalf("Token(6 min left) = %q after %d refreshes, want the same token, none", tok, fake.Refreshes())
	}
	c.Advance(2 * time.Minute) // 4 min left
	tok, err = m.Token(ctx, "max-1")
	if err != nil || tok == a.AccessToken || !fake.ValidToken(tok) {
		t.Fatalf("Token(4 min left) = %q, %v, want a new valid token", tok, err)
	}
	if fake.Refreshes() != 1 {
		t.Errorf("refreshes = %d, want 1", fake.Refreshes())
	}
	stored, _ := st.Get(ctx, "max-1")
	if stored.AccessToken != tok || stored.RefreshToken == a.RefreshToken || !stored.LastRefresh.Equal(c.Now()) {
		t.Errorf("stored after refresh = %v (last refresh %v), want the new tokens", stored, stored.LastRefresh)
	}
	if state, reason := m.Status("max-1"); state != oauth.StatusOK {
		t.Errorf("Status = %s, %s, want ok", state, reason)
	}
	if _, err := m.Token(ctx, "nobody"); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("Token(unknown) = %v, want ErrNotFound", err)
	}
	if state, reason := m.Status("nobody"); state != oauth.StatusFailed || !strings.Contains(reason, "llmgw oauth login nobody") {
		t.Errorf("Status(unknown) = %s, %q, want failed with a login hint", state, reason)
	}
}

func TestManagerInvalidate(t *testing.T) {
	ctx := context.Background()
	fake := oauthtest.NewServer(t)
	st, _ := newStore(t)
	c := newClock()
	a := login(t, fake, st, c, "max-1", oauth.KindAnthropic)
	m := newManager(st, c)
	m.Token(ctx, "max-1")

	// A 401 right after login is most likely a late one: no refresh.
	if tok, err := m.Invalidate(ctx, "max-1"); err != nil || tok != a.AccessToken || fake.Refreshes() != 0 {
		t.Fatalf("Invalidate(token just issued) = %q, %v, %d refreshes, want the same token, none", tok, err, fake.Refreshes())
	}
	c.Advance(time.Minute)
	fake.ExpireAccess(a.AccessToken)
	tok, err := m.Invalidate(ctx, "max-1")
	if err != nil || tok == a.AccessToken || !fake.ValidToken(tok) || fake.Refreshes() != 1 {
		t.Fatalf("Invalidate = %q, %v, %d refreshes, want a new valid token after 1 refresh", tok, err, fake.Refreshes())
	}
	if got, _ := m.Token(ctx, "max-1"); got != tok {
		t.Errorf("Token after Invalidate = %q, want %q", got, tok)
	}
}

// TestManagerRefreshOnce piles up concurrent Token and Invalidate calls on
// a token due for refresh: the fake server must see exactly one refresh.
func TestManagerRefreshOnce(t *testing.T) {
	ctx := context.Background()
	fake := oauthtest.NewServer(t)
	st, _ := newStore(t)
	c := newClock()
	a := login(t, fake, st, c, "max-1", oauth.KindAnthropic)
	m := newManager(st, c)
	m.Token(ctx, "max-1")
	c.Advance(58 * time.Minute)

	release := fake.HoldRefreshes()
	const n = 16
	var wg sync.WaitGroup
	toks := make([]string, 2*n)
	errs := make([]error, 2*n)
	for i := range n {
		wg.Add(2)
		go func() { defer wg.Done(); toks[i], errs[i] = m.Token(ctx, "max-1") }()
		go func() { defer wg.Done(); toks[n+i], errs[n+i] = m.Invalidate(ctx, "max-1") }()
	}
	for i := 0; fake.Refreshes() == 0 && i < 10000; i++ { // bounded: wait until the refresh is held
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
	release()
	wg.Wait()
	if got := fake.Refreshes(); got != 1 {
		t.Fatalf("refreshes = %d, want 1", got)
	}
	for i, tok := range toks {
		if errs[i] != nil || tok != toks[0] || tok == a.AccessToken {
			t.Fatalf("call %d = %q, %v, want the one new token %q", i, tok, errs[i], toks[0])
		}
	}
}

func TestManagerRevoked(t *testing.T) {
	ctx := context.Background()
	fake := oauthtest.NewServer(t)
	st, _ := newStore(t)
	c := newClock()
	login(t, fake, st, c, "max-1", oauth.KindAnthropic)
	m := newManager(st, c)
	fake.RevokeAll()
	c.Advance(time.Hour)

	_, err := m.Token(ctx, "max-1")
	if !errors.Is(err, oauth.ErrLoginRequired) {
		t.Fatalf("Token(revoked) = %v, want ErrLoginRequired", err)
	}
	state, reason := m.Status("max-1")
	if state != oauth.StatusFailed || !strings.Contains(reason, "invalid_grant") || !strings.Contains(reason, "llmgw oauth login max-1") {
		t.Errorf("Status(revoked) = %s, %q, want failed naming invalid_grant and the fix", state, reason)
	}
	if stored, _ := st.Get(ctx, "max-1"); stored.Status != oauth.StatusFailed || stored.LastError != reason {
		t.Errorf("stored = %v, %q, want failed with the reason", stored, stored.LastError)
	}
	// A failed account does not hammer the token endpoint...
	m.Token(ctx, "max-1")
	m.Invalidate(ctx, "max-1")
	if got := fake.Refreshes(); got != 1 {
		t.Errorf("refreshes after failure = %d, want 1", got)
	}
	// ...and comes back after a new login, also from another process.
	a := login(t, fake, st, c, "max-1", oauth.KindAnthropic)
	if tok, err := m.Token(ctx, "max-1"); err != nil || tok != a.AccessToken {
		t.Errorf("Token after re-login = %q, %v, want the new login's token", tok, err)
	}
	if state, _ := m.Status("max-1"); state != oauth.StatusOK {
		t.Errorf("Status after re-login = %s, want ok", state)
	}
}

func TestManagerTransientFailure(t *testing.T) {
	ctx := context.Background()
	fake := oauthtest.NewServer(t)
	st, _ := newStore(t)
	c := newClock()
	a := login(t, fake, st, c, "max-1", oauth.KindAnthropic)
	m := oauth.NewManager(st, oauth.ManagerConfig{Now: c.Now, RetryInterval: 10 * time.Minute})

	c.Advance(57 * time.Minute) // due for refresh, still valid
	fake.FailNext(503)
	if tok, err := m.Token(ctx, "max-1"); err != nil || tok != a.AccessToken {
		t.Fatalf("Token(refresh 503, token valid) = %q, %v, want the current token", tok, err)
	}
	if state, _ := m.Status("max-1"); state != oauth.StatusOK {
		t.Errorf("Status(valid token, refresh failing) = %s, want ok", state)
	}
	c.Advance(4 * time.Minute) // expired; the retry interval has not passed
	if _, err := m.Token(ctx, "max-1"); err == nil || errors.Is(err, oauth.ErrLoginRequired) {
		t.Fatalf("Token(expired, refresh failing) = %v, want a transient error", err)
	}
	if got := fake.Refreshes(); got != 1 {
		t.Errorf("refreshes within the retry interval = %d, want 1", got)
	}
	if state, reason := m.Status("max-1"); state != oauth.StatusFailed || !strings.Contains(reason, "temporarily_unavailable") {
		t.Errorf("Status(expired, refresh failing) = %s, %q, want failed with the cause", state, reason)
	}
	c.Advance(10 * time.Minute) // retry due; the server works again
	if tok, err := m.Token(ctx, "max-1"); err != nil || !fake.ValidToken(tok) || tok == a.AccessToken {
		t.Fatalf("Token(after recovery) = %q, %v, want a new token", tok, err)
	}
	if state, _ := m.Status("max-1"); state != oauth.StatusOK {
		t.Errorf("Status(after recovery) = %s, want ok", state)
	}
}

// TestManagerAccountsIndependent: two accounts of one kind refresh, fail
// and recover on their own.
func TestManagerAccountsIndependent(t *testing.T) {
	ctx := context.Background()
	fake := oauthtest.NewServer(t)
	st, _ := newStore(t)
	c := newClock()
	a1 := login(t, fake, st, c, "max-1", oauth.KindAnthropic)
	a2 := login(t, fake, st, c, "max-2", oauth.KindAnthropic)
	m := newManager(st, c)

	fake.Revoke(a1.RefreshToken)
	c.Advance(time.Minute)
	if _, err := m.Invalidate(ctx, "max-1"); !errors.Is(err, oauth.ErrLoginRequired) {
		t.Fatalf("Invalidate(max-1, revoked) = %v, want ErrLoginRequired", err)
	}
	if tok, err := m.Token(ctx, "max-2"); err != nil || tok != a2.AccessToken {
		t.Fatalf("Token(max-2) = %q, %v, want its own untouched token", tok, err)
	}
	if state, _ := m.Status("max-2"); state != oauth.StatusOK {
		t.Errorf("Status(max-2) = %s, want ok while max-1 failed", state)
	}
	tok2, err := m.Invalidate(ctx, "max-2")
	if err != nil || tok2 == a2.AccessToken || !fake.ValidToken(tok2) {
		t.Fatalf("Invalidate(max-2) = %q, %v, want a new token", tok2, err)
	}
	if state, _ := m.Status("max-1"); state != oauth.StatusFailed {
		t.Errorf("Status(max-1) = %s after max-2 refreshed, want failed", state)
	}
	if got, _ := st.Get(ctx, "max-1"); got.AccessToken != a1.AccessToken {
		t.Errorf("max-1 token changed by max-2's refresh")
	}
}

func TestManagerHeader(t *testing.T) {
	ctx := context.Background()
	fake := oauthtest.NewServer(t)
	fake.SetAccountID("acct-7")
	st, _ := newStore(t)
	c := newClock()
	claude := login(t, fake, st, c, "claude", oauth.KindAnthropic)
	gpt := login(t, fake, st, c, "gpt", oauth.KindOpenAI)
	m := newManager(st, c)

	h, err := m.Header(ctx, "claude")
	if err != nil {
		t.Fatal(err)
	}
	if h.Get("Authorization") != "Bearer "+claude.AccessToken || h.Get("anthropic-beta") != oauth.AnthropicOAuthBeta || h.Get("x-api-key") != "" {
		t.Errorf("Header(anthropic) = %v", h)
	}
	h, err = m.Header(ctx, "gpt")
	if err != nil {
		t.Fatal(err)
	}
	if h.Get("Authorization") != "Bearer "+gpt.AccessToken || h.Get(oauth.ChatGPTAccountHeader) != "acct-7" || h.Get("anthropic-beta") != "" {
		t.Errorf("Header(openai) = %v", h)
	}
}

// TestManagerSeesOtherProcess: a refresh done by another process (another
// Manager on the same database) is adopted instead of refreshing again.
func TestManagerSeesOtherProcess(t *testing.T) {
	ctx := context.Background()
	fake := oauthtest.NewServer(t)
	st, _ := newStore(t)
	c := newClock()
	login(t, fake, st, c, "max-1", oauth.KindAnthropic)
	gw := newManager(st, c)
	gw.Token(ctx, "max-1")

	c.Advance(time.Minute)
	cli := newManager(st, c)
	a, err := cli.Refresh(ctx, "max-1")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := gw.Invalidate(ctx, "max-1")
	if err != nil || tok != a.AccessToken || fake.Refreshes() != 1 {
		t.Errorf("Invalidate after another process refreshed = %q, %v, %d refreshes, want its token %q and 1 refresh", tok, err, fake.Refreshes(), a.AccessToken)
	}
}

// BenchmarkManagerToken measures the per-request cost of a cached token.
func BenchmarkManagerToken(b *testing.B) {
	ctx := context.Background()
	fake := oauthtest.NewServer(b)
	db := openDBB(b)
	st, err := oauth.OpenStore(ctx, db, testKey)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := fake.Login(ctx, st, "max-1", oauth.KindAnthropic); err != nil {
		b.Fatal(err)
	}
	m := oauth.NewManager(st, oauth.ManagerConfig{})
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Token(ctx, "max-1"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
