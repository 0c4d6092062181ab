// Package sticky keeps session bindings: a sticky key (a client key plus a
// session id, as the policy's sticky_key() returns it) bound to the provider
// that last served it, for a fixed time after last use (one hour by
// default).
//
// A Table is an in-memory, sharded map. Expiry is lazy: an expired binding is
// invisible to Get from the instant it expires and is removed when it is next
// looked up or when a Bind on its shard sweeps it. There is no janitor
// goroutine, and no lock is ever held for more than a few map and list
// operations, so callers may use a Table on the request path freely.
//
// Each shard keeps its bindings on a list ordered by last use, so the
// expired and the least recently used bindings are always at its tail:
// sweeping and evicting (when MaxEntries is reached) cost O(1) per binding
// removed.
//
// The gateway defines the small interface it needs (Get, Bind, Touch,
// Delete) so that a shared store can replace a Table later without touching
// this package. sticky imports only the standard library and never logs.
package sticky

import (
	"sync"
	"time"
)

// Defaults for the zero values of Config.
const (
	DefaultTTL        = time.Hour
	DefaultMaxEntries = 1 << 20
)

const (
	// shardCount is a power of two so that a hash maps onto a shard with a
	// mask.
	shardCount = 32
	// sweepBatch bounds the expired bindings one Bind removes. A Bind adds
	// at most one binding and removes up to sweepBatch expired ones, so
	// expired bindings never pile up while the lock stays short.
	sweepBatch = 32
)

// Config configures a Table. The zero value is ready to use.
type Config struct {
	// TTL is how long a binding lives after its last use (Bind or Touch).
	// Zero or negative means DefaultTTL (1 hour).
	TTL time.Duration
	// Now is the clock; it must be safe for concurrent use. Nil means
	// time.Now.
	Now func() time.Time
	// MaxEntries bounds the number of bindings held, expired or not. When a
	// shard is full, binding a new key evicts that shard's least recently
	// used binding. The bound is spread evenly over the shards, so eviction
	// may start slightly before MaxEntries bindings in total. Zero or
	// negative means DefaultMaxEntries (1<<20).
	MaxEntries int
}

// Table maps sticky keys to providers. It is safe for concurrent use; its
// methods never block on anything but a short per-shard lock.
type Table struct {
	ttl      time.Duration
	now      func() time.Time
	perShard int
	shards   [shardCount]shard
}

// shard is one lock's worth of bindings.
type shard struct {
	// mu guards the following.
	mu sync.Mutex
	m  map[string]*binding
	// lru is the sentinel of a circular list of the bindings in m, most
	// recently used first (lru.next) and least recently used last
	// (lru.prev).
	lru binding
}

// binding is one key's entry, linked into its shard's lru list.
type binding struct {
	key, provider string
	last          time.Time
	prev, next    *binding
}

// New returns an empty Table configured by cfg.
func New(cfg Config) *Table {
	t := &Table{ttl: cfg.TTL, now: cfg.Now}
	if t.ttl <= 0 {
		t.ttl = DefaultTTL
	}
	if t.now == nil {
		t.now = time.Now
	}
	maxEntries := cfg.MaxEntries
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	t.perShard = max(maxEntries/shardCount, 1)
	for i := range t.shards {
		s := &t.shards[i]
		s.m = make(map[string]*binding)
		s.lru.next, s.lru.prev = &s.lru, &s.lru
	}
	return t
}

// Get returns the provider key is bound to, if the binding is live. It does
// not count as a use: the binding's expiry is unchanged (call Touch once the
// request succeeds). An expired binding found here is removed.
func (t *Table) Get(key string) (provider string, ok bool) {
	s := t.shard(key)
	now := t.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.m[key]
	if b == nil {
		return "", false
	}
	if t.expired(b, now) {
		s.remove(b)
		return "", false
	}
	return b.provider, true
}

// Bind binds key to provider, or moves an existing binding to provider, and
// counts as a use. It also sweeps a few expired bindings from the shard and,
// when the shard is full, evicts its least recently used binding.
func (t *Table) Bind(key, provider string) {
	s := t.shard(key)
	now := t.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now, t.ttl)
	if b := s.m[key]; b != nil {
		b.provider, b.last = provider, now
		s.moveToFront(b)
		return
	}
	if len(s.m) >= t.perShard {
		s.remove(s.lru.prev)
	}
	b := &binding{key: key, provider: provider, last: now}
	s.m[key] = b
	s.pushFront(b)
}

// Touch counts a use of key's binding (typically after a successful
// request), extending its life to TTL from now. It does nothing when key has
// no live binding: an expired binding is removed, not revived.
func (t *Table) Touch(key string) {
	s := t.shard(key)
	now := t.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.m[key]
	if b == nil {
		return
	}
	if t.expired(b, now) {
		s.remove(b)
		return
	}
	b.last = now
	s.moveToFront(b)
}

// Delete removes key's binding, if any.
func (t *Table) Delete(key string) {
	s := t.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.m[key]; b != nil {
		s.remove(b)
	}
}

// TTL returns how long a binding lives after its last use, so that a
// shared store kept beside the Table expires its bindings alike.
func (t *Table) TTL() time.Duration { return t.ttl }

// Len returns the number of bindings held. It is cheap (one short lock per
// shard) and may count bindings that have expired but not yet been swept;
// CountByProvider counts live bindings only.
func (t *Table) Len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// CountByProvider returns the number of live bindings per provider, for
// operators (GET /api/providers). It walks every binding, one shard at a
// time, so it suits an admin endpoint rather than the request path.
func (t *Table) CountByProvider() map[string]int {
	counts := make(map[string]int)
	now := t.now()
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for b := s.lru.next; b != &s.lru; b = b.next {
			if t.expired(b, now) {
				break // the rest of the list was used even earlier
			}
			counts[b.provider]++
		}
		s.mu.Unlock()
	}
	return counts
}

func (t *Table) expired(b *binding, now time.Time) bool {
	return now.Sub(b.last) >= t.ttl
}

// shard returns the shard of key, chosen by its 32-bit FNV-1a hash.
func (t *Table) shard(key string) *shard {
	const (
		offset32 = 2166136261
		prime32  = 16777619
	)
	h := uint32(offset32)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= prime32
	}
	return &t.shards[h&(shardCount-1)]
}

// sweep removes up to sweepBatch expired bindings from the tail of the list.
// The caller holds s.mu.
func (s *shard) sweep(now time.Time, ttl time.Duration) {
	for range sweepBatch {
		b := s.lru.prev
		if b == &s.lru || now.Sub(b.last) < ttl {
			return
		}
		s.remove(b)
	}
}

func (s *shard) remove(b *binding) {
	b.prev.next, b.next.prev = b.next, b.prev
	b.prev, b.next = nil, nil
	delete(s.m, b.key)
}

func (s *shard) pushFront(b *binding) {
	b.prev, b.next = &s.lru, s.lru.next
	s.lru.next.prev = b
	s.lru.next = b
}

func (s *shard) moveToFront(b *binding) {
	if s.lru.next == b {
		return
	}
	b.prev.next, b.next.prev = b.next, b.prev
	s.pushFront(b)
}
