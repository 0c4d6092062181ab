package oauth

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Coordinator lets the replicas of one gateway share OAuth refreshes. A
// refresh token may be spent once: were two replicas to refresh an account
// at the same time, the authorization server could take the second for a
// replay and revoke the login. With a Coordinator one replica refreshes
// (holding the account's lock) while the others wait, then every replica
// uses the tokens it publishes. What is published is the account sealed
// with the store's key (AES-256-GCM), never plaintext: the replicas must
// share that key (LLMGW_SECRET_KEY). *sharedstate.OAuth implements it on
// Redis.
type Coordinator interface {
	// Lock tries to take account's refresh lock for ttl. ok is false when
	// another replica holds it; unlock releases a lock taken (and only
	// while it is still this caller's). An error means the coordinator
	// cannot be reached: the caller refreshes alone.
	Lock(ctx context.Context, account string, ttl time.Duration) (unlock func(), ok bool, err error)
	// Publish shares the sealed account for ttl.
	Publish(ctx context.Context, account string, sealed []byte, ttl time.Duration) error
	// Fetch returns the sealed account last published, nil when none.
	Fetch(ctx context.Context, account string) ([]byte, error)
}

// sharedPoll is how often a replica waiting for a peer's refresh looks for
// its result.
const sharedPoll = 50 * time.Millisecond

// sharedRecord is an account as replicas share it: Account without its
// methods, whose JSON leaves the secrets out; it only ever travels sealed.
type sharedRecord Account

// sharedAD binds a shared record to its account name, apart from the
// database's records.
func sharedAD(name string) []byte { return []byte("llmgw oauth shared v1\x00" + name) }

// sealShared seals a for the Coordinator.
func (s *Store) sealShared(a Account) ([]byte, error) {
	plain, err := json.Marshal(sharedRecord(a))
	if err != nil {
		return nil, fmt.Errorf("oauth: encode account %q: %w", a.Name, err)
	}
	return s.sealer.seal(plain, sharedAD(a.Name))
}

// openShared opens what sealShared sealed for name.
func (s *Store) openShared(name string, sealed []byte) (Account, error) {
	plain, err := s.sealer.open(sealed, sharedAD(name))
	if err != nil {
		return Account{}, err
	}
	var r sharedRecord
	if err := json.Unmarshal(plain, &r); err != nil || r.Name != name {
		return Account{}, fmt.Errorf("oauth: shared account %q: bad record", name)
	}
	return Account(r), nil
}

// refreshShared is refresh, once across the replicas of the Coordinator:
// it uses a peer's refresh when one already serves md, refreshes itself
// when it takes the lock (and publishes the result), and otherwise waits
// for the holder's result or its lock to go. Without a Coordinator, or
// when it cannot be reached, the replica refreshes alone.
func (m *Manager) refreshShared(ctx context.Context, a Account, md mode, now time.Time, stale string) (Account, error) {
	c := m.cfg.Coordinator
	if c == nil {
		return m.refresh(ctx, a, md, now)
	}
	poll := time.NewTicker(sharedPoll)
	defer poll.Stop()
	for {
		if sh, ok := m.peerRefreshed(ctx, a, md, stale); ok {
			return sh, nil
		}
		unlock, got, err := c.Lock(ctx, a.Name, refreshTimeout)
		if err != nil {
			return m.refresh(ctx, a, md, now)
		}
		if got {
			defer unlock()
			// A peer may have finished between the look and the lock.
			if sh, ok := m.peerRefreshed(ctx, a, md, stale); ok {
				return sh, nil
			}
			fresh, err := m.refresh(ctx, a, md, now)
			if err == nil {
				m.publish(ctx, fresh)
			}
			return fresh, err
		}
		select {
		case <-ctx.Done():
			return Account{}, fmt.Errorf("oauth: account %q: waiting for another replica's refresh: %w", a.Name, ctx.Err())
		case <-poll.C:
		}
	}
}

// peerRefreshed returns the account as a peer refreshed it after a was
// issued, when those tokens serve md; it adopts them in memory and in the
// store.
func (m *Manager) peerRefreshed(ctx context.Context, a Account, md mode, stale string) (Account, bool) {
	if md == always {
		return Account{}, false
	}
	sealed, err := m.cfg.Coordinator.Fetch(ctx, a.Name)
	if err != nil || sealed == nil {
		return Account{}, false
	}
	sh, err := m.store.openShared(a.Name, sealed)
	if err != nil || sh.Status == StatusFailed || !sh.LastRefresh.After(a.LastRefresh) {
		return Account{}, false
	}
	if md == rejected && sh.AccessToken == stale || md == ifNeeded && m.needsRefresh(sh, m.cfg.Now()) {
		return Account{}, false
	}
	m.mu.Lock()
	m.accounts[sh.Name] = &accountState{acct: sh}
	m.mu.Unlock()
	m.store.update(ctx, sh) // best effort: memory holds the tokens, the next refresh saves them
	return sh, true
}

// publish shares a refreshed account with the peers, best effort, for as
// long as its access token lives (an hour when it has no expiry).
func (m *Manager) publish(ctx context.Context, a Account) {
	sealed, err := m.store.sealShared(a)
	if err != nil {
		return
	}
	ttl := time.Hour
	if !a.Expiry.IsZero() {
		if d := a.Expiry.Sub(m.cfg.Now()); d > 0 {
			ttl = d
		}
	}
	m.cfg.Coordinator.Publish(ctx, a.Name, sealed, ttl)
}
