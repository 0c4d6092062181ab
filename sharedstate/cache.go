package sharedstate

import (
	"sync"
	"time"
)

// cacheFor caps how long a replica answers a sticky lookup from its cache
// rather than from Redis. A binding that moves on another replica is
// dropped from every cache as soon as its message arrives (milliseconds),
// and a replica that could miss a message (its subscription broke, it fell
// back) empties its cache; so the cap only bounds what a change made
// behind llmgw's back (a key edited in Redis) could cost, and an entry
// never lives past the binding's expiry in Redis. Long enough that a
// session's requests, a second or a minute apart, cost no round trip.
const cacheFor = 30 * time.Second

// renewEvery is how often, at most, a session's uses renew its binding in
// Redis: a sixtieth of the binding's life (a minute for an hour), and at
// least a second, so that a busy session costs one queued write a minute
// and its binding lives at least TTL less that much after its last use.
func renewEvery(ttl time.Duration) time.Duration { return max(time.Second, ttl/60) }

// cacheShards and cacheShardMax bound the cache: a full shard is emptied
// (its entries are read again from Redis).
const (
	cacheShards   = 16
	cacheShardMax = 4096
)

// bindingCache holds recent answers of Redis to sticky lookups, so that a
// session's requests cost one round trip every cacheFor rather than one
// each.
// Entries belong to a generation: every fallback and rejoin starts a new
// one, which empties the cache at once (messages may have been missed).
type bindingCache struct {
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.Mutex
	m  map[string]cachedBinding
}

type cachedBinding struct {
	provider string
	until    time.Time
	gen      uint64
	// renewed is when a use last renewed the binding in Redis.
	renewed time.Time
}

func newBindingCache() *bindingCache {
	c := &bindingCache{}
	for i := range c.shards {
		c.shards[i].m = make(map[string]cachedBinding)
	}
	return c
}

// shard picks the shard of a Redis key, whose tail is hex of a hash.
func (c *bindingCache) shard(key string) *cacheShard {
	var h byte
	if len(key) > 0 {
		h = key[len(key)-1]
	}
	return &c.shards[h%cacheShards]
}

// get returns the cached provider of key, if live in generation gen.
func (c *bindingCache) get(key string, now time.Time, gen uint64) (string, bool) {
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.m[key]
	if !ok || b.gen != gen || !now.Before(b.until) {
		return "", false
	}
	return b.provider, true
}

// put caches provider for key until until, in generation gen.
func (c *bindingCache) put(key, provider string, until time.Time, gen uint64) {
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[key]; !ok && len(s.m) >= cacheShardMax {
		clear(s.m)
	}
	s.m[key] = cachedBinding{provider: provider, until: until, gen: gen, renewed: s.m[key].renewed}
}

// renewDue reports whether a use of key should renew its binding in Redis:
// not when another use renewed it less than every ago (renewEvery).
func (c *bindingCache) renewDue(key string, now time.Time, every time.Duration) bool {
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.m[key]
	if !ok {
		return true
	}
	if now.Sub(b.renewed) < every {
		return false
	}
	b.renewed = now
	s.m[key] = b
	return true
}

// drop forgets key (its binding moved on another replica).
func (c *bindingCache) drop(key string) {
	s := c.shard(key)
	s.mu.Lock()
	delete(s.m, key)
	s.mu.Unlock()
}
