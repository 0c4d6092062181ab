package sharedstate

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/llmgw/llmgw/sticky"
)

// Sticky is the session bindings of a replica that shares them: Redis is
// the truth while the replica is joined, so that a session keeps its
// provider whichever replica serves it, and the replica's own Table keeps a
// copy of the bindings it made and used, which serves alone while Redis is
// unreachable. The copy lives by this replica's uses only (a read does not
// extend it), so it never outlives the binding in Redis, which every
// replica's uses renew. Its methods never fail and never wait longer than
// Config.Timeout.
//
// Keys in Redis are a hash of the sticky key, which may contain a client
// key: no client key reaches Redis.
type Sticky struct {
	s     *State
	local *sticky.Table
	ttl   time.Duration
}

// Sticky returns the bindings shared through s with local as the replica's
// own copy; bindings live local.TTL() after their last use, as they do
// in-process.
func (s *State) Sticky(local *sticky.Table) *Sticky {
	return &Sticky{s: s, local: local, ttl: local.TTL()}
}

// Local is the replica's own Table.
func (t *Sticky) Local() *sticky.Table { return t.local }

// Get returns the provider key is bound to: Redis's answer while joined,
// the local copy otherwise. Like sticky.Table.Get it does not count as a
// use. Redis's answers are cached for up to cacheFor, so that a session
// costs a round trip every cacheFor, not one per request; a binding that
// moves elsewhere leaves every cache as soon as the move's message
// arrives.
//
// A binding this replica holds and Redis lacks was lost by Redis (a
// restart, or made here while Redis was unreachable): the live bindings of
// the cluster are renewed in Redis by every use. It is written back unless
// another replica wrote one first, whose binding then wins here too, so
// that sessions keep their provider across a Redis restart.
func (t *Sticky) Get(key string) (string, bool) {
	if !t.s.up.Load() {
		return t.local.Get(key)
	}
	rk := t.key(key)
	gen := t.s.cacheGen.Load()
	now := t.s.cfg.Now()
	if p, ok := t.s.cache.get(rk, now, gen); ok {
		return p, true
	}
	ctx, cancel := t.s.callCtx()
	defer cancel()
	pipe := t.s.rdb.Pipeline()
	get := pipe.Get(ctx, rk)
	pttl := pipe.PTTL(ctx, rk)
	_, _ = pipe.Exec(ctx)
	v, err := get.Result()
	left := pttl.Val()
	if errors.Is(err, redis.Nil) {
		mine, ok := t.local.Get(key)
		if !ok {
			return "", false
		}
		// SET NX GET: sets mine unless a binding exists, and returns that.
		v, err = t.s.rdb.SetArgs(ctx, rk, mine, redis.SetArgs{Mode: "NX", Get: true, TTL: t.ttl}).Result()
		left = t.ttl
		if errors.Is(err, redis.Nil) {
			t.s.cache.put(rk, mine, now.Add(min(cacheFor, t.ttl)), gen)
			return mine, true
		}
	}
	if err != nil {
		t.s.fail(err)
		return t.local.Get(key)
	}
	if left > 0 {
		t.s.cache.put(rk, v, now.Add(min(cacheFor, left)), gen)
	}
	if p, ok := t.local.Get(key); ok && p != v {
		t.local.Bind(key, v) // moved by another replica
	}
	return v, true
}

// Bind binds key to provider here and in Redis, before it returns, and
// tells the other replicas to drop their cached answer: the next request
// of the session may reach another replica at once. A binding changes
// rarely (a new session, a failover), so the round trip is rare too.
func (t *Sticky) Bind(key, provider string) {
	t.local.Bind(key, provider)
	if !t.s.up.Load() {
		return
	}
	rk := t.key(key)
	gen := t.s.cacheGen.Load()
	ctx, cancel := t.s.callCtx()
	defer cancel()
	pipe := t.s.rdb.Pipeline()
	pipe.Set(ctx, rk, provider, t.ttl)
	pipe.Publish(ctx, t.s.key("events"), encodeMoved(t.s.cfg.ReplicaID, rk))
	if _, err := pipe.Exec(ctx); err != nil {
		t.s.fail(err)
		return
	}
	t.s.cache.put(rk, provider, t.s.cfg.Now().Add(min(cacheFor, t.ttl)), gen)
}

// Touch extends key's binding to TTL from now, here at once and in Redis
// through the write queue (no answer depends on it), at most once per
// renewEvery for a busy session.
func (t *Sticky) Touch(key string) {
	t.local.Touch(key)
	rk := t.key(key)
	if t.s.up.Load() && t.s.cache.renewDue(rk, t.s.cfg.Now(), renewEvery(t.ttl)) {
		t.s.enqueue(write{op: opPExpire, key: rk, ttl: t.ttl})
	}
}

// Delete removes key's binding here and, through the write queue, in
// Redis.
func (t *Sticky) Delete(key string) {
	t.local.Delete(key)
	t.s.cache.drop(t.key(key))
	t.s.enqueue(write{op: opDel, key: t.key(key)})
}

// Len is the number of bindings this replica holds a copy of (the cluster's
// total is not counted: it would scan Redis).
func (t *Sticky) Len() int { return t.local.Len() }

// CountByProvider counts this replica's copies of the live bindings per
// provider.
func (t *Sticky) CountByProvider() map[string]int { return t.local.CountByProvider() }

// key is the Redis key of a sticky key: a hash, so that no client key
// reaches Redis and keys have one bounded length.
func (t *Sticky) key(k string) string {
	sum := sha256.Sum256([]byte(k))
	var b [len("s:") + 32]byte
	copy(b[:], "s:")
	hex.Encode(b[2:], sum[:16])
	return t.s.cfg.Prefix + string(b[:])
}
