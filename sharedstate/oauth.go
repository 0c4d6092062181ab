package sharedstate

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/llmgw/llmgw/oauth"
)

// OAuth is the oauth.Coordinator of replicas sharing Redis: a lock per
// account (SET NX with an expiry, so that a replica dying mid-refresh
// frees it) and the account as the refreshing replica sealed it. Redis
// holds only the sealed bytes.
type OAuth struct{ s *State }

// OAuth returns the coordinator of OAuth refreshes.
func (s *State) OAuth() *OAuth { return &OAuth{s: s} }

var _ oauth.Coordinator = (*OAuth)(nil)

// errFallback reports that the replica serves from its own state: the
// caller refreshes alone.
var errFallback = errors.New("sharedstate: Redis unreachable, serving from local state")

// unlockScript deletes the lock only while it holds this caller's token.
var unlockScript = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)

// Lock implements oauth.Coordinator.
func (o *OAuth) Lock(_ context.Context, account string, ttl time.Duration) (func(), bool, error) {
	if !o.s.up.Load() {
		return nil, false, errFallback
	}
	var b [12]byte
	_, _ = randRead(b[:])
	token := string(b[:])
	key := o.s.key("oauth:lock:" + account)
	ctx, cancel := o.s.callCtx()
	defer cancel()
	ok, err := o.s.rdb.SetNX(ctx, key, token, ttl).Result()
	if err != nil {
		o.s.fail(err)
		return nil, false, err
	}
	if !ok {
		return nil, false, nil
	}
	return func() {
		ctx, cancel := o.s.callCtx()
		defer cancel()
		if err := unlockScript.Run(ctx, o.s.rdb, []string{key}, token).Err(); err != nil && !errors.Is(err, redis.Nil) {
			o.s.fail(err)
		}
	}, true, nil
}

// Publish implements oauth.Coordinator.
func (o *OAuth) Publish(_ context.Context, account string, sealed []byte, ttl time.Duration) error {
	if !o.s.up.Load() {
		return errFallback
	}
	ctx, cancel := o.s.callCtx()
	defer cancel()
	if err := o.s.rdb.Set(ctx, o.s.key("oauth:account:"+account), sealed, ttl).Err(); err != nil {
		o.s.fail(err)
		return err
	}
	return nil
}

// Fetch implements oauth.Coordinator.
func (o *OAuth) Fetch(_ context.Context, account string) ([]byte, error) {
	if !o.s.up.Load() {
		return nil, errFallback
	}
	ctx, cancel := o.s.callCtx()
	defer cancel()
	b, err := o.s.rdb.Get(ctx, o.s.key("oauth:account:"+account)).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, nil
	case err != nil:
		o.s.fail(err)
		return nil, err
	}
	return b, nil
}
