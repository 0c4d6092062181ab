package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// ManagerConfig configures a Manager. Every zero value is a usable default.
type ManagerConfig struct {
	// HTTPClient calls the token endpoints. Nil means a client with a 30 s
	// timeout.
	HTTPClient *http.Client
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// RefreshSkew is how long before its expiry a token is refreshed.
	// Zero means 5 minutes.
	RefreshSkew time.Duration
	// MinRefreshInterval protects a fresh token from a late 401: when an
	// upstream rejects a token issued less than this long ago, Invalidate
	// returns it rather than refreshing again (the 401 was most likely
	// for the token it replaced). Zero means 10 seconds; negative, none.
	MinRefreshInterval time.Duration
	// RetryInterval is how long, after a refresh failed for a transient
	// reason (network, 5xx), Token and Invalidate report that failure
	// without calling the token endpoint again. Zero means 30 seconds.
	RetryInterval time.Duration
	// Endpoints, when set, overrides the token endpoint and client used to
	// refresh an account of a kind: its non-empty fields replace the ones
	// stored with the account at login. Nil means the stored ones, and for
	// an account stored without them, DefaultEndpoints.
	Endpoints func(kind string) Endpoints
	// Coordinator shares refreshes with the other replicas of a gateway
	// (see Coordinator). Nil refreshes in this process alone.
	Coordinator Coordinator
}

// Manager hands out fresh access tokens for the accounts of a Store. It
// caches accounts in memory, refreshes a token RefreshSkew before it
// expires and on demand (Invalidate), and runs at most one refresh per
// account at a time, shared by every caller waiting for it. Accounts
// changed by another process (`llmgw oauth login` while the gateway runs)
// are picked up at the next refresh or failure. Its methods are safe for
// concurrent use.
type Manager struct {
	store   *Store
	cfg     ManagerConfig
	flights singleflight.Group

	// mu guards the following.
	mu       sync.Mutex
	accounts map[string]*accountState
}

// accountState is what the Manager knows of one account.
type accountState struct {
	acct     Account
	failErr  error     // last transient refresh failure; nil after a success
	retryAt  time.Time // no new refresh attempt before, after failErr
	rejected bool      // an upstream rejected acct.AccessToken (Invalidate)
}

// NewManager returns a Manager of the accounts in store.
func NewManager(store *Store, cfg ManagerConfig) *Manager {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RefreshSkew == 0 {
		cfg.RefreshSkew = 5 * time.Minute
	}
	if cfg.MinRefreshInterval == 0 {
		cfg.MinRefreshInterval = 10 * time.Second
	}
	if cfg.RetryInterval == 0 {
		cfg.RetryInterval = 30 * time.Second
	}
	return &Manager{store: store, cfg: cfg, accounts: map[string]*accountState{}}
}

// refreshTimeout bounds one refresh, which runs on behalf of every waiting
// caller and so does not end with the first caller's context.
const refreshTimeout = time.Minute

// mode says when a flight refreshes the account.
type mode int

const (
	ifNeeded mode = iota // when the token is within RefreshSkew of expiry
	rejected             // the token was rejected upstream (MinRefreshInterval applies)
	always               // unconditionally (`llmgw oauth refresh`)
)

// Token returns a valid access token for the account, refreshing it first
// when it expires within RefreshSkew. An account whose refresh token was
// rejected gives an error wrapping ErrLoginRequired; an unknown one,
// ErrNotFound.
func (m *Manager) Token(ctx context.Context, account string) (string, error) {
	if a, ok := m.cached(account); ok {
		return a.AccessToken, nil
	}
	a, err := m.sync(ctx, account, ifNeeded, "")
	return a.AccessToken, err
}

// Invalidate is called when an upstream answered 401 to the account's
// token: it refreshes the token and returns the new one. Concurrent calls
// share one refresh, and a token issued within MinRefreshInterval is
// returned as is.
func (m *Manager) Invalidate(ctx context.Context, account string) (string, error) {
	stale := m.markRejected(account)
	a, err := m.retry(ctx, account, rejected, stale)
	return a.AccessToken, err
}

// Refresh refreshes the account's tokens now, whatever their expiry.
func (m *Manager) Refresh(ctx context.Context, account string) (Account, error) {
	m.mu.Lock()
	var stale string
	if st := m.accounts[account]; st != nil {
		stale = st.acct.AccessToken
	}
	m.mu.Unlock()
	return m.retry(ctx, account, always, stale)
}

// Header returns the headers an upstream request of the account carries:
// Authorization: Bearer with a fresh token, AuthHeaders of its kind, and
// for a ChatGPT account its chatgpt-account-id. The client's own
// credentials must not be sent along.
func (m *Manager) Header(ctx context.Context, account string) (http.Header, error) {
	a, ok := m.cached(account)
	if !ok {
		var err error
		if a, err = m.sync(ctx, account, ifNeeded, ""); err != nil {
			return nil, err
		}
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+a.AccessToken)
	for k, v := range AuthHeaders(a.Kind) {
		h.Set(k, v)
	}
	if a.Kind == KindOpenAI && a.AccountID != "" {
		h.Set(ChatGPTAccountHeader, a.AccountID)
	}
	return h, nil
}

// Status reports the account's state for /api/providers: "ok", or "failed"
// with a reason (refresh token revoked, refresh failing while the token is
// expired or rejected, account missing). An account the Manager has not
// used yet is read from the store.
func (m *Manager) Status(account string) (state, reason string) {
	m.mu.Lock()
	st := m.accounts[account]
	var s accountState
	if st != nil {
		s = *st
	}
	m.mu.Unlock()
	if st == nil {
		// Status has no context (it serves a health listing); the read is
		// a local SQLite lookup, bounded all the same.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a, err := m.store.Get(ctx, account)
		if errors.Is(err, ErrNotFound) {
			return StatusFailed, fmt.Sprintf("no oauth account %q; run 'llmgw oauth login %s'", account, account)
		}
		if err != nil {
			return StatusFailed, err.Error()
		}
		s = accountState{acct: m.adopt(a)}
	}
	now := m.cfg.Now()
	switch {
	case s.acct.Status == StatusFailed:
		return StatusFailed, s.acct.LastError
	case s.failErr != nil && (s.rejected || expired(s.acct, now)):
		return StatusFailed, "token refresh failing: " + s.failErr.Error()
	}
	return StatusOK, ""
}

// cached returns the in-memory account when its token can be used as is.
func (m *Manager) cached(name string) (Account, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.accounts[name]
	if st == nil || st.rejected || st.acct.Status == StatusFailed {
		return Account{}, false
	}
	now := m.cfg.Now()
	if !m.needsRefresh(st.acct, now) {
		return st.acct, true
	}
	// Due for a refresh that failed a moment ago: keep using the token,
	// still valid, until a retry is due.
	if st.failErr != nil && now.Before(st.retryAt) && !expired(st.acct, now) {
		return st.acct, true
	}
	return Account{}, false
}

func (m *Manager) needsRefresh(a Account, now time.Time) bool {
	return !a.Expiry.IsZero() && !now.Add(m.cfg.RefreshSkew).Before(a.Expiry)
}

func expired(a Account, now time.Time) bool {
	return !a.Expiry.IsZero() && !now.Before(a.Expiry)
}

// markRejected records that the current token was rejected and returns it.
func (m *Manager) markRejected(name string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if st := m.accounts[name]; st != nil {
		st.rejected = true
		return st.acct.AccessToken
	}
	return ""
}

// retry runs a flight for md; when it joined a flight started by Token,
// which kept the stale token, it runs its own once more.
func (m *Manager) retry(ctx context.Context, name string, md mode, stale string) (Account, error) {
	var a Account
	var err error
	for range 2 {
		a, err = m.sync(ctx, name, md, stale)
		if err != nil || stale == "" || a.AccessToken != stale {
			break
		}
	}
	return a, err
}

// sync runs (or joins) the account's single flight and waits for it or
// for ctx.
func (m *Manager) sync(ctx context.Context, name string, md mode, stale string) (Account, error) {
	ch := m.flights.DoChan(name, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
		defer cancel()
		return m.flight(fctx, name, md, stale)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return Account{}, r.Err
		}
		return r.Val.(Account), nil
	case <-ctx.Done():
		return Account{}, fmt.Errorf("oauth: account %q: %w", name, ctx.Err())
	}
}

// flight is the only code that refreshes an account; singleflight runs at
// most one per account at a time.
func (m *Manager) flight(ctx context.Context, name string, md mode, stale string) (Account, error) {
	stored, err := m.store.Get(ctx, name)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			m.forget(name)
		}
		return Account{}, err
	}
	a := m.adopt(stored)
	if a.Status == StatusFailed {
		return Account{}, fmt.Errorf("oauth: account %q: %s: %w", name, a.LastError, ErrLoginRequired)
	}
	now := m.cfg.Now()
	switch md {
	case ifNeeded:
		if !m.needsRefresh(a, now) {
			return a, nil
		}
	case rejected:
		if stale != "" && a.AccessToken != stale {
			return a, nil // already replaced, here or by another process
		}
		if m.cfg.MinRefreshInterval > 0 && now.Sub(a.LastRefresh) < m.cfg.MinRefreshInterval {
			return a, nil
		}
	}
	if md != always {
		if failErr, wait := m.backoff(name, now); wait {
			if md == ifNeeded && !expired(a, now) {
				return a, nil // still valid: use it while the server recovers
			}
			return Account{}, failErr
		}
	}
	return m.refreshShared(ctx, a, md, now, stale)
}

// adopt merges an account read from the store into memory and returns the
// copy to use: the store's, unless memory holds newer tokens (a refresh
// whose save failed).
func (m *Manager) adopt(stored Account) Account {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.accounts[stored.Name]
	switch {
	case st == nil:
		m.accounts[stored.Name] = &accountState{acct: stored}
		return stored
	case st.acct.AccessToken == stored.AccessToken && st.acct.Status == stored.Status:
		st.acct = stored
	case st.acct.LastRefresh.After(stored.LastRefresh) && stored.Status != StatusFailed:
		// memory is newer
	default: // replaced elsewhere: a new login or another process's refresh
		*st = accountState{acct: stored}
	}
	return st.acct
}

func (m *Manager) forget(name string) {
	m.mu.Lock()
	delete(m.accounts, name)
	m.mu.Unlock()
}

// backoff reports the last transient failure while no retry is due.
func (m *Manager) backoff(name string, now time.Time) (error, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.accounts[name]
	if st == nil || st.failErr == nil || !now.Before(st.retryAt) {
		return nil, false
	}
	return st.failErr, true
}

// refresh spends the refresh token and stores the result.
func (m *Manager) refresh(ctx context.Context, a Account, md mode, now time.Time) (Account, error) {
	if a.RefreshToken == "" {
		return Account{}, m.fail(ctx, a, "no refresh token was issued at login")
	}
	ep := m.endpoints(a)
	params := map[string]string{
		"grant_type":    "refresh_token",
		"refresh_token": a.RefreshToken,
		"client_id":     ep.ClientID,
	}
	if ep.ClientSecret != "" {
		params["client_secret"] = ep.ClientSecret
	}
	ts, err := postToken(ctx, m.cfg.HTTPClient, ep.TokenURL, params, ep.TokenJSON, now)
	if err != nil {
		if te := (*TokenError)(nil); errors.As(err, &te) && te.Permanent() {
			return Account{}, m.fail(ctx, a, fmt.Sprintf("refresh token rejected by %s (%s)", hostOf(ep.TokenURL), te.Error()))
		}
		err = fmt.Errorf("oauth: refresh account %q: %w", a.Name, err)
		m.transientFailure(ctx, a, err, now)
		if md == ifNeeded && !expired(a, now) {
			return a, nil
		}
		return Account{}, err
	}
	a.AccessToken, a.Expiry, a.LastRefresh = ts.AccessToken, ts.Expiry, now.UTC()
	if ts.RefreshToken != "" { // Google keeps the refresh token unchanged and omits it
		a.RefreshToken = ts.RefreshToken
	}
	if len(ts.Scopes) > 0 {
		a.Scopes = ts.Scopes
	}
	if ts.AccountID != "" {
		a.AccountID = ts.AccountID
	}
	a.Status, a.LastError = StatusOK, ""
	m.mu.Lock()
	m.accounts[a.Name] = &accountState{acct: a}
	m.mu.Unlock()
	if err := m.store.update(ctx, a); err != nil {
		if errors.Is(err, ErrNotFound) { // logged out meanwhile
			m.forget(a.Name)
		}
		// The old refresh token may be spent: memory keeps the new
		// tokens (adopt prefers them) and the next refresh saves them.
		return a, err
	}
	return a, nil
}

// fail marks the account failed (in memory and in the store) and returns
// the error wrapping ErrLoginRequired.
func (m *Manager) fail(ctx context.Context, a Account, reason string) error {
	a.Status = StatusFailed
	a.LastError = fmt.Sprintf("%s; run 'llmgw oauth login %s'", reason, a.Name)
	m.mu.Lock()
	m.accounts[a.Name] = &accountState{acct: a}
	m.mu.Unlock()
	err := fmt.Errorf("oauth: account %q: %s: %w", a.Name, a.LastError, ErrLoginRequired)
	if serr := m.store.update(ctx, a); serr != nil && !errors.Is(serr, ErrNotFound) {
		return errors.Join(err, serr)
	}
	return err
}

// transientFailure records a refresh failure that a later attempt may
// overcome. The account stays ok in the store, with the error noted.
func (m *Manager) transientFailure(ctx context.Context, a Account, err error, now time.Time) {
	m.mu.Lock()
	if st := m.accounts[a.Name]; st != nil {
		st.failErr, st.retryAt = err, now.Add(m.cfg.RetryInterval)
	}
	m.mu.Unlock()
	a.LastError = err.Error()
	m.store.update(ctx, a) // best effort: the error is returned to the caller already
}

func (m *Manager) endpoints(a Account) Endpoints {
	ep := Endpoints{TokenURL: a.TokenURL, ClientID: a.ClientID, ClientSecret: a.ClientSecret}
	if ep.TokenURL == "" || ep.ClientID == "" {
		if def, ok := DefaultEndpoints(a.Kind); ok {
			ep = def.Override(ep)
		}
	} else if def, ok := DefaultEndpoints(a.Kind); ok {
		ep.TokenJSON = def.TokenJSON
	}
	if m.cfg.Endpoints != nil {
		ep = ep.Override(m.cfg.Endpoints(a.Kind))
	}
	return ep
}
