// Package sharedstate keeps the state that replicas of one gateway share on
// Redis (`llmgw start --state redis://…`): sticky bindings, provider
// cooldowns, limit counters, the OAuth refresh lock with the refreshed
// tokens (sealed), and the registry of replicas behind GET /api/cluster.
//
// Redis is never allowed to fail a client request. Every call on the
// request path runs under a short timeout (Config.Timeout), and the first
// failure opens a circuit: from then on the replica serves from its own
// in-process state (the same sticky.Table and health.Tracker it would use
// alone) without touching Redis, until a background probe reaches Redis
// again and the replica rejoins. Each transition is logged once and
// counted (Status, and the metrics built on it).
//
// Writes that no answer depends on (a sticky binding's renewed expiry, a
// cooldown told to the peers) go through one bounded queue that a single
// goroutine drains into pipelines, so that they cost the request path a
// channel send.
package sharedstate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"github.com/rs/zerolog"

	"github.com/llmgw/llmgw/health"
)

// Defaults for the zero values of Config.
const (
	DefaultPrefix        = "llmgw:"
	DefaultTimeout       = 100 * time.Millisecond
	DefaultProbeInterval = 250 * time.Millisecond
	DefaultHeartbeat     = 2 * time.Second
	DefaultReplicaTTL    = 10 * time.Second
	// queueSize bounds the writes waiting for the pipeline; past it a
	// write is dropped and counted (its local copy is kept).
	queueSize = 8192
	// pipelineMax bounds the writes sent in one pipeline.
	pipelineMax = 256
)

// Config configures a State.
type Config struct {
	// URL is the Redis server: redis://[user:password@]host:port/db or
	// rediss:// for TLS. Required.
	URL string
	// Prefix namespaces every key and channel, so that several gateways
	// (or tests) can share one Redis. Empty means DefaultPrefix.
	Prefix string
	// ReplicaID names this replica in the registry. Empty means
	// host-pid-random.
	ReplicaID string
	// Version is the gateway's version, published in the registry.
	Version string
	// PolicyHash returns the hash of the policy the replica serves now,
	// published with every heartbeat. Nil publishes "".
	PolicyHash func() string
	// Timeout bounds each Redis call made on the request path. Zero means
	// DefaultTimeout (100 ms): Redis answers in well under a millisecond
	// when it is healthy, and only the call that finds it gone waits this
	// long (the circuit spares the others).
	Timeout time.Duration
	// ProbeInterval is how often a replica that fell back tries Redis
	// again. Zero means DefaultProbeInterval (250 ms).
	ProbeInterval time.Duration
	// Heartbeat is how often the replica publishes itself in the
	// registry, and ReplicaTTL how long an entry lasts without one. Zero
	// means DefaultHeartbeat (2 s) and DefaultReplicaTTL (10 s).
	Heartbeat, ReplicaTTL time.Duration
	// Allowance is how long an allowance of a limit counter lasts (see
	// allowance.go): zero means DefaultAllowance, negative turns
	// allowances off (every admission is then a round trip).
	Allowance time.Duration
	// Logger gets one line per transition (fallback, rejoin).
	Logger zerolog.Logger
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

// State is one replica's connection to the shared state. Create it with
// Open, start it with Run, and hand its parts (Sticky, Limits, OAuthLock,
// the health hooks) to the gateway.
type State struct {
	cfg Config
	rdb *redis.Client
	log zerolog.Logger
	// addr is the server's host:port, without credentials, for Status.
	addr      string
	startedAt time.Time

	up        atomic.Bool
	since     atomic.Int64 // unix nanoseconds of the last transition
	fallbacks atomic.Int64 // transitions to fallback
	rejoins   atomic.Int64
	errs      atomic.Int64 // failed Redis calls
	dropped   atomic.Int64 // queued writes dropped (queue full or Redis down)
	pending   atomic.Int64 // writes queued or being sent
	allowed   atomic.Int64 // requests admitted from allowances
	lastErr   atomic.Pointer[string]
	// lastOutage is the last fallback's [start, end) in unix nanoseconds,
	// for telling the requests admitted on the replica's own counters.
	lastOutage atomic.Pointer[[2]int64]
	// joined is set at the first successful probe; startWarned once the
	// failure to join at start has been logged.
	joined, startWarned atomic.Bool

	queue chan write

	// cache holds recent sticky lookups; cacheGen is its generation,
	// bumped at every fallback and rejoin.
	cache    *bindingCache
	cacheGen atomic.Uint64

	// mu guards the following.
	mu       sync.Mutex
	trackers []*health.Tracker
	// onFallback are called, each in a goroutine of its own, when the
	// replica falls back (OnFallback).
	onFallback []func()
	subStop    context.CancelFunc
	// joinedAt is when the replica last joined; retryAt when the next
	// probe may run, and backoff the wait before it (see fail).
	joinedAt, retryAt time.Time
	backoff           time.Duration
	// held are settlements of requests admitted on Redis that could not be
	// sent while it was unreachable; they are sent when the replica
	// rejoins, so that no concurrency slot stays taken there.
	held []func(now time.Time) write
}

// maxHeld bounds the settlements held while Redis is unreachable; past it
// one is dropped (counted).
const maxHeld = 65536

// A Redis that fails again soon after the replica rejoined (an overloaded
// one, answering some calls in time and not others) is probed less and
// less often: each request made while joined may wait a whole Timeout, so
// flapping would cost more than staying on the replica's own state.
const (
	flapWindow = 10 * time.Second
	maxBackoff = 5 * time.Second
)

// write is one queued write.
type write struct {
	op       writeOp
	key, val string
	ttl      time.Duration
	// keys and args are a script's (opSettle); again rebuilds the write
	// at another time, for a settlement kept until Redis is back.
	keys  []string
	args  []any
	again func(now time.Time) write
}

type writeOp uint8

const (
	opPExpire writeOp = iota
	opDel
	opCooldown // HSET of the cooldowns hash and PUBLISH, key is the provider
	opSettle   // the settle script
	opReturn   // the return script: an allowance's unused part handed back
)

// Open parses cfg.URL and returns a State that has not reached Redis yet:
// it serves from the in-process fallback until Run's first probe joins it.
// Only a malformed URL is an error; an unreachable server is a fallback.
func Open(cfg Config) (*State, error) {
	opt, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("sharedstate: %s: %w", redactURL(cfg.URL), err)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.ReplicaID == "" {
		cfg.ReplicaID = defaultReplicaID()
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.ProbeInterval <= 0 {
		cfg.ProbeInterval = DefaultProbeInterval
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.ReplicaTTL <= 0 {
		cfg.ReplicaTTL = DefaultReplicaTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	// No retries and short timeouts: a call that fails opens the circuit
	// and the request goes on with local state; the probe retries.
	opt.MaxRetries = -1
	opt.DialTimeout = max(4*cfg.Timeout, 200*time.Millisecond)
	opt.DialerRetries = 1
	opt.ReadTimeout = cfg.Timeout
	opt.WriteTimeout = cfg.Timeout
	opt.PoolTimeout = cfg.Timeout
	opt.ContextTimeoutEnabled = true
	opt.DisableIdentity = true
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	s := &State{
		cfg:       cfg,
		rdb:       redis.NewClient(opt),
		log:       cfg.Logger,
		addr:      opt.Addr,
		startedAt: cfg.Now().UTC(),
		queue:     make(chan write, queueSize),
		cache:     newBindingCache(),
	}
	s.since.Store(s.startedAt.UnixNano())
	return s, nil
}

// OnFallback has f called, in a goroutine of its own, each time the
// replica falls back to its own state: what it kept of its own while
// joined may be stale by then (the limit counters it rebuilt at start),
// and f can bring it up to date.
func (s *State) OnFallback(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onFallback = append(s.onFallback, f)
}

// Close releases the connections. Call it after Run has returned.
func (s *State) Close() error { return s.rdb.Close() }

// ReplicaID is this replica's name in the registry.
func (s *State) ReplicaID() string { return s.cfg.ReplicaID }

// Shared reports whether the replica uses Redis now (false while it has
// fallen back to its own state).
func (s *State) Shared() bool { return s.up.Load() }

// Status is where the shared state stands, for GET /api/cluster, the
// dashboard and the metrics.
type Status struct {
	// Backend is "redis".
	Backend string `json:"backend"`
	// Addr is the Redis server's host:port.
	Addr string `json:"addr"`
	// Shared is true while the replica uses Redis, false while it serves
	// from its own state (fallback).
	Shared bool `json:"shared"`
	// Since is when Shared last changed (or the replica started).
	Since time.Time `json:"since"`
	// Fallbacks and Rejoins count the transitions since start.
	Fallbacks int64 `json:"fallbacks"`
	Rejoins   int64 `json:"rejoins"`
	// Errors counts failed Redis calls; Dropped the queued writes dropped
	// (queue full, or Redis unreachable when their turn came).
	Errors  int64 `json:"errors"`
	Dropped int64 `json:"dropped"`
	// AllowanceAdmits counts the requests admitted from the replica's
	// allowances, without a round trip to Redis.
	AllowanceAdmits int64 `json:"allowance_admits"`
	// LastError is the most recent failure, "" when there was none.
	LastError string `json:"last_error,omitempty"`
}

// Status returns the current Status.
func (s *State) Status() Status {
	st := Status{
		Backend:   "redis",
		Addr:      s.addr,
		Shared:    s.up.Load(),
		Since:     time.Unix(0, s.since.Load()).UTC(),
		Fallbacks: s.fallbacks.Load(),
		Rejoins:   s.rejoins.Load(),
		Errors:    s.errs.Load(),
		Dropped:   s.dropped.Load(),

		AllowanceAdmits: s.allowed.Load(),
	}
	if e := s.lastErr.Load(); e != nil {
		st.LastError = *e
	}
	return st
}

// Run keeps the replica joined until ctx is done: it probes Redis while
// the replica has fallen back, publishes the heartbeat, listens for the
// peers' cooldowns, and drains the write queue.
func (s *State) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { s.drain(ctx) })
	s.probe(ctx)
	probe := time.NewTicker(s.cfg.ProbeInterval)
	defer probe.Stop()
	beat := time.NewTicker(s.cfg.Heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			s.stopSubscription()
			s.leave()
			wg.Wait()
			return nil
		case <-probe.C:
			s.mu.Lock()
			due := !s.cfg.Now().Before(s.retryAt)
			s.mu.Unlock()
			if !s.up.Load() && due {
				s.probe(ctx)
			}
		case <-beat.C:
			if s.up.Load() {
				if err := s.heartbeat(); err != nil {
					s.fail(err)
				}
			}
		}
	}
}

// probe tries to (re)join: ping, subscribe to the peers' events, adopt the
// cooldowns running in the cluster, tell it ours, publish the heartbeat,
// and only then serve from Redis.
func (s *State) probe(ctx context.Context) {
	cctx, cancel := s.callCtx()
	begin := time.Now()
	err := s.rdb.Ping(cctx).Err()
	cancel()
	if rtt := time.Since(begin); err == nil && rtt > s.cfg.Timeout/2 {
		// Joining a Redis this slow would make requests wait.
		err = fmt.Errorf("sharedstate: Redis answered a ping in %v, over half the %v timeout", rtt.Round(time.Millisecond), s.cfg.Timeout)
	}
	if err == nil {
		err = s.loadScripts()
	}
	if err == nil {
		err = s.subscribe(ctx)
	}
	if err == nil {
		err = s.syncCooldowns()
	}
	if err == nil {
		err = s.heartbeat()
	}
	if err == nil {
		err = s.sendHeld()
	}
	if err != nil {
		s.stopSubscription()
		s.fail(err)
		return
	}
	if s.up.CompareAndSwap(false, true) {
		s.cacheGen.Add(1)
		s.mu.Lock()
		s.joinedAt = s.cfg.Now()
		s.mu.Unlock()
		now := s.cfg.Now().UnixNano()
		s.lastOutage.Store(&[2]int64{s.since.Load(), now})
		s.since.Store(now)
		if s.joined.Swap(true) || s.fallbacks.Load() > 0 {
			s.rejoins.Add(1)
			s.log.Info().Str("redis", s.addr).Str("replica", s.cfg.ReplicaID).Msg("shared state: Redis is back; this replica rejoined the cluster")
		} else {
			s.log.Info().Str("redis", s.addr).Str("replica", s.cfg.ReplicaID).Msg("shared state on Redis")
		}
	}
}

// fail records a failed Redis call and, when the replica was using Redis,
// falls back to its own state. redis.Nil (no such key) is no failure.
func (s *State) fail(err error) {
	if err == nil || errors.Is(err, redis.Nil) {
		return
	}
	s.errs.Add(1)
	msg := err.Error()
	s.lastErr.Store(&msg)
	if s.up.CompareAndSwap(true, false) {
		s.cacheGen.Add(1)
		s.mu.Lock()
		now := s.cfg.Now()
		if now.Sub(s.joinedAt) < flapWindow {
			s.backoff = min(max(2*s.backoff, s.cfg.ProbeInterval), maxBackoff)
		} else {
			s.backoff = s.cfg.ProbeInterval
		}
		s.retryAt = now.Add(s.backoff)
		s.mu.Unlock()
		s.fallbacks.Add(1)
		s.since.Store(s.cfg.Now().UnixNano())
		s.log.Warn().Err(err).Str("redis", s.addr).Str("replica", s.cfg.ReplicaID).Msg("shared state: Redis unreachable; this replica serves from its own in-process state until Redis is back")
		s.mu.Lock()
		hooks := s.onFallback
		s.mu.Unlock()
		for _, f := range hooks {
			go f()
		}
		return
	}
	if !s.joined.Load() && s.startWarned.CompareAndSwap(false, true) {
		// Never joined: say so once, at the first failed probe.
		s.fallbacks.Add(1)
		s.since.Store(s.cfg.Now().UnixNano())
		s.log.Warn().Err(err).Str("redis", s.addr).Str("replica", s.cfg.ReplicaID).Msg("shared state: Redis unreachable at start; this replica serves from its own in-process state until Redis is reachable")
	}
}

// callCtx bounds one Redis call. It derives from no request context: a
// client hanging up must not look like a Redis failure.
func (s *State) callCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.cfg.Timeout)
}

// enqueue hands w to the writer without waiting; a full queue drops it
// (counted), as does a replica fallen back.
func (s *State) enqueue(w write) {
	if s.up.Load() && !s.tryEnqueue(w) {
		s.dropped.Add(1)
	}
}

// tryEnqueue hands w to the writer without waiting and reports whether it
// did (the queue had room).
func (s *State) tryEnqueue(w write) bool {
	select {
	case s.queue <- w:
		s.pending.Add(1)
		return true
	default:
		return false
	}
}

// linger is how long the writer waits, after a write arrives, for more to
// send in the same pipeline: at a thousand requests a second a pipeline
// then carries a few requests' writes rather than one, which spares the
// replica and Redis most of the round trips' system calls, and no write
// waits long (a settlement frees its concurrency slot within it).
const linger = 2 * time.Millisecond

// drain sends the queued writes in pipelines until ctx is done.
func (s *State) drain(ctx context.Context) {
	batch := make([]write, 0, pipelineMax)
	wait := time.NewTimer(linger)
	wait.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case w := <-s.queue:
			batch = append(batch[:0], w)
		}
		wait.Reset(linger)
	more:
		for len(batch) < pipelineMax {
			select {
			case w := <-s.queue:
				batch = append(batch, w)
			case <-wait.C:
				break more
			case <-ctx.Done():
				break more
			}
		}
		wait.Stop()
		if !s.up.Load() {
			// Never sent: settlements wait for the rejoin, the rest goes.
			for _, w := range batch {
				if w.again != nil {
					s.hold(w.again)
				} else {
					s.dropped.Add(1)
				}
			}
		} else {
			s.flush(batch)
		}
		s.pending.Add(-int64(len(batch)))
	}
}

// hold keeps a settlement until the replica rejoins Redis.
func (s *State) hold(again func(now time.Time) write) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.held) >= maxHeld {
		s.dropped.Add(1)
		return
	}
	s.held = append(s.held, again)
}

// sendHeld sends the settlements held during an outage, as of now. One
// that fails is dropped (counted): it may have run.
func (s *State) sendHeld() error {
	s.mu.Lock()
	held := s.held
	s.held = nil
	s.mu.Unlock()
	for len(held) > 0 {
		n := min(len(held), pipelineMax)
		batch := make([]write, n)
		now := s.cfg.Now()
		for i, again := range held[:n] {
			batch[i] = again(now)
		}
		held = held[n:]
		if err := s.flush(batch); err != nil {
			s.dropped.Add(int64(len(held)))
			return err
		}
	}
	return nil
}

// flush sends one batch of writes as a pipeline.
func (s *State) flush(batch []write) error {
	ctx, cancel := context.WithTimeout(context.Background(), 4*s.cfg.Timeout)
	defer cancel()
	pipe := s.rdb.Pipeline()
	for _, w := range batch {
		switch w.op {
		case opPExpire:
			pipe.PExpire(ctx, w.key, w.ttl)
		case opDel:
			pipe.Del(ctx, w.key)
		case opCooldown:
			pipe.HSet(ctx, s.key("cooldowns"), w.key, cooldownValue(s.cfg.Now(), w))
			pipe.Publish(ctx, s.key("events"), encodeCooldown(s.cfg.ReplicaID, health.Cooldown{Provider: w.key, For: w.ttl, Reason: w.val}))
		case opSettle:
			// Loaded at every join: a Redis restarted since fails the
			// batch with NOSCRIPT, and the rejoin loads it again.
			pipe.EvalSha(ctx, settleScript.Hash(), w.keys, w.args...)
		case opReturn:
			pipe.EvalSha(ctx, returnScript.Hash(), w.keys, w.args...)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		s.dropped.Add(int64(len(batch)))
		s.fail(err)
		return err
	}
	return nil
}

// loadScripts makes sure Redis has the scripts that queued writes run by
// hash alone (a pipeline cannot fall back to sending the source).
func (s *State) loadScripts() error {
	ctx, cancel := context.WithTimeout(context.Background(), 4*s.cfg.Timeout)
	defer cancel()
	for _, sc := range []*redis.Script{settleScript, returnScript} {
		if err := sc.Load(ctx, s.rdb).Err(); err != nil {
			return err
		}
	}
	return usageScript.Load(ctx, s.rdb).Err()
}

// key is name in the State's namespace.
func (s *State) key(name string) string { return s.cfg.Prefix + name }

func defaultReplicaID() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "llmgw"
	}
	var b [3]byte
	_, _ = randRead(b[:])
	return fmt.Sprintf("%s-%d-%x", host, os.Getpid(), b)
}

// redactURL drops the password from a Redis URL for error messages.
func redactURL(raw string) string {
	opt, err := redis.ParseURL(raw)
	if err != nil {
		if h, _, err := net.SplitHostPort(raw); err == nil {
			return h
		}
		return "(the given URL)"
	}
	return "redis://" + opt.Addr
}

// admittedShared reports whether a request admitted at at was admitted on
// Redis rather than on the replica's own counters: while the replica has
// fallen back, one admitted before the fallback (after it had joined);
// while it is joined, one not admitted during the last fallback.
func (s *State) admittedShared(at time.Time) bool {
	t := at.UnixNano()
	if !s.up.Load() {
		return s.joined.Load() && t < s.since.Load()
	}
	if o := s.lastOutage.Load(); o != nil && t >= o[0] && t < o[1] {
		return false
	}
	return true
}
