// Package health tracks the health of each upstream provider: whether it
// may take traffic, how it has been doing (error rate, latency, requests in
// flight) and when a failed provider may be tried again.
//
// A provider is in one of three states:
//
//   - healthy: it takes traffic.
//   - cooldown: it failed (MarkFailed, with exponential backoff and jitter)
//     or asked to be left alone (Cooldown, e.g. a 429's Retry-After), and
//     takes no traffic until the cooldown ends.
//   - half_open: its cooldown has ended. The next attempt on it is a trial;
//     while that trial is in flight the provider reports unavailable to
//     everyone else. A successful trial makes it healthy again and resets
//     the backoff; a failed one sends it back to cooldown for twice as
//     long.
//
// State changes are lazy: a cooldown turns into half_open when someone next
// looks, so the Tracker needs no goroutine. The optional Prober (see
// NewProber) adds a background check for providers that get no traffic.
//
// Every method takes a short per-provider lock for field updates only; no
// lock is ever held across I/O, and all time comes from the injected clock.
// health imports only the standard library and never logs.
package health

import (
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// State is where a provider stands.
type State string

// The states of a provider.
const (
	Healthy  State = "healthy"
	Cooling  State = "cooldown"
	HalfOpen State = "half_open"
)

// Defaults for the zero values of Config.
const (
	DefaultBaseCooldown = time.Second
	DefaultMaxCooldown  = 5 * time.Minute
	DefaultJitter       = 0.2
	DefaultWindow       = 20
	DefaultRetryAfter   = 60 * time.Second
)

// Config configures a Tracker. The zero value is ready to use.
type Config struct {
	// BaseCooldown is the cooldown after the first failure; each further
	// failure (of the half-open trial) doubles it. Zero or negative means
	// DefaultBaseCooldown (1 s).
	BaseCooldown time.Duration
	// MaxCooldown caps the backoff, before jitter. Zero or negative means
	// DefaultMaxCooldown (5 min).
	MaxCooldown time.Duration
	// Jitter spreads each backoff uniformly over ±Jitter of its length so
	// that gateways and providers do not retry in lockstep: 0.2 means
	// ±20 %. Zero means DefaultJitter (0.2); negative means no jitter.
	// Values above 1 are treated as 1.
	Jitter float64
	// RetryAfter is the cooldown Cooldown applies when given a
	// non-positive duration (a 429 without Retry-After). Zero or negative
	// means DefaultRetryAfter (60 s).
	RetryAfter time.Duration
	// Now is the clock; it must be safe for concurrent use. Nil means
	// time.Now.
	Now func() time.Time
	// Rand returns a uniform float64 in [0, 1) for the jitter; it must be
	// safe for concurrent use. Nil means math/rand/v2's Float64.
	Rand func() float64
	// Window is the number of recent attempts the error rate and latency
	// averages mostly reflect: they are exponentially weighted moving
	// averages with alpha = 2/(Window+1). Zero or negative means
	// DefaultWindow (20).
	Window int
	// OnCooldown, when set, is told of every cooldown the Tracker starts
	// or extends itself (MarkFailed, Cooldown, or an attempt's Outcome),
	// so that replicas sharing their state can honour it too; cooldowns
	// applied with ApplyCooldown are not reported back. It is called with
	// the provider's lock held: it must not block or call the Tracker.
	OnCooldown func(Cooldown)
}

// Cooldown is a cooldown on a provider as replicas tell one another: For
// is the time left rather than an instant, so that clocks need not agree.
type Cooldown struct {
	Provider string
	For      time.Duration
	Reason   string
}

// Outcome is the result of one attempt on a provider, reported through the
// function Begin returns.
type Outcome struct {
	// Err reports that the attempt failed (implied by MarkFailed or a
	// positive Cooldown). It counts toward the error rate whatever the
	// failure; what else happens depends on the fields below.
	// A failure that neither marks the provider failed nor cools it down
	// (a 503 to retry, say) leaves its state alone.
	Err bool
	// Latency is the attempt's duration (to the first byte, for streams);
	// only successful attempts feed the latency average, so that fast
	// rejections and slow timeouts do not skew it.
	Latency time.Duration
	// MarkFailed puts the provider into cooldown with backoff, as
	// MarkFailed does (401/403, 500/502/504, timeouts, connection errors).
	MarkFailed bool
	// Cooldown, when positive, cools the provider down for exactly this
	// long, as Cooldown does (a 429's Retry-After). It takes precedence
	// over MarkFailed.
	Cooldown time.Duration
	// Reason is a short description of the failure, shown to operators as
	// the provider's last error ("429", "timeout", "connect: refused").
	Reason string
	// Cancelled reports an attempt the client abandoned: it says nothing
	// about the provider, so it counts toward nothing (no error rate, no
	// latency, no last error) and only ends the attempt. A half-open
	// trial it was is handed to the next attempt.
	Cancelled bool
}

// Tracker holds the health of every provider it has seen. It is safe for
// concurrent use.
type Tracker struct {
	base, max, retryAfter time.Duration
	jitter                float64
	alpha                 float64
	now                   func() time.Time
	rand                  func() float64
	onCooldown            func(Cooldown)

	// mu guards the following.
	mu        sync.RWMutex
	providers map[string]*provider
}

// New returns a Tracker configured by cfg, knowing no providers yet.
// Providers are added on first use.
func New(cfg Config) *Tracker {
	t := &Tracker{
		base:       orDefault(cfg.BaseCooldown, DefaultBaseCooldown),
		max:        orDefault(cfg.MaxCooldown, DefaultMaxCooldown),
		retryAfter: orDefault(cfg.RetryAfter, DefaultRetryAfter),
		jitter:     cfg.Jitter,
		now:        cfg.Now,
		rand:       cfg.Rand,
		onCooldown: cfg.OnCooldown,
		providers:  make(map[string]*provider),
	}
	switch {
	case t.jitter == 0:
		t.jitter = DefaultJitter
	case t.jitter < 0:
		t.jitter = 0
	case t.jitter > 1:
		t.jitter = 1
	}
	window := cfg.Window
	if window <= 0 {
		window = DefaultWindow
	}
	t.alpha = 2 / float64(window+1)
	if t.now == nil {
		t.now = time.Now
	}
	if t.rand == nil {
		t.rand = rand.Float64
	}
	return t
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Available reports whether provider may take traffic now: it is healthy,
// or it is half-open and no trial is in flight. It has no side effects, so
// routing may ask about every candidate; the trial is claimed by Begin. A
// provider the Tracker has never seen is available.
func (t *Tracker) Available(provider string) bool {
	p := t.lookup(provider)
	if p == nil {
		return true
	}
	now := t.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.state(now) {
	case Healthy:
		return true
	case HalfOpen:
		return !p.trial
	}
	return false
}

// Begin records the start of an attempt on provider and returns the
// function that records its end; call it once, with the outcome (later
// calls do nothing).
// When provider is half-open and no trial is in flight, this attempt
// becomes the trial, and Available reports false to others until it ends.
// An attempt begun on a provider in cooldown (the gateway's last resort) is
// counted like any other; its success does not end the cooldown, since it
// may race with the failure that started it.
func (t *Tracker) Begin(provider string) func(Outcome) {
	p := t.get(provider)
	now := t.now()
	p.mu.Lock()
	p.inFlight++
	trial := p.state(now) == HalfOpen && !p.trial
	if trial {
		p.trial = true
	}
	p.mu.Unlock()

	var once sync.Once
	return func(o Outcome) {
		once.Do(func() { t.end(p, trial, o) })
	}
}

// end records the outcome of one attempt.
func (t *Tracker) end(p *provider, trial bool, o Outcome) {
	now := t.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inFlight--
	if trial {
		p.trial = false
	}
	if o.Cancelled {
		return
	}
	failed := o.Err || o.MarkFailed || o.Cooldown > 0
	p.requests++
	p.errorRate += t.alpha * (b2f(failed) - p.errorRate)
	if !failed {
		p.consecutive = 0
		ms := float64(o.Latency) / float64(time.Millisecond)
		if p.latencyMS == 0 {
			p.latencyMS = ms
		} else {
			p.latencyMS += t.alpha * (ms - p.latencyMS)
		}
		if p.state(now) != Cooling {
			p.heal()
		}
		return
	}
	p.failures++
	p.consecutive++
	p.noteError(o.Reason, now)
	switch {
	case o.Cooldown > 0:
		t.cooldown(p, now, o.Cooldown)
	case o.MarkFailed:
		t.markFailed(p, now)
	}
}

// MarkFailed puts provider into cooldown with exponential backoff: the
// cooldown is min(BaseCooldown·2^(n-1), MaxCooldown) ± Jitter, where n
// counts the failures since the provider was last healthy. A failure while
// the provider is already cooling down (typically another request that was
// in flight when it failed) records the error but neither restarts nor
// grows the backoff, so one outage does not count once per request.
func (t *Tracker) MarkFailed(provider, reason string) {
	p := t.get(provider)
	now := t.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.noteError(reason, now)
	t.markFailed(p, now)
}

// Cooldown keeps provider out of traffic for exactly d from now (a 429's
// Retry-After), or for DefaultRetryAfter when d is not positive. It never
// shortens a cooldown already running, and it does not grow the backoff
// exponent: a rate limit says nothing about the provider's health.
func (t *Tracker) Cooldown(provider string, d time.Duration, reason string) {
	p := t.get(provider)
	now := t.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.noteError(reason, now)
	t.cooldown(p, now, d)
}

// Succeed marks provider healthy and resets its backoff, whatever its state:
// a successful trial request, or an operator's override. Attempts that end
// through Begin's function need no Succeed call.
func (t *Tracker) Succeed(provider string) {
	p := t.get(provider)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.heal()
	p.consecutive = 0
}

// Forget drops everything known about provider, for a provider the policy
// no longer declares. Attempts still in flight on it end harmlessly.
func (t *Tracker) Forget(provider string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.providers, provider)
}

// Snapshot returns provider's current status. A provider the Tracker has
// never seen is healthy with no history.
func (t *Tracker) Snapshot(provider string) Status {
	p := t.lookup(provider)
	if p == nil {
		return Status{Name: provider, State: Healthy}
	}
	return p.status(provider, t.now())
}

// All returns the status of every provider the Tracker has seen, sorted by
// name.
func (t *Tracker) All() []Status {
	t.mu.RLock()
	names := make([]string, 0, len(t.providers))
	ps := make(map[string]*provider, len(t.providers))
	for name, p := range t.providers {
		names = append(names, name)
		ps[name] = p
	}
	t.mu.RUnlock()
	slices.Sort(names)
	now := t.now()
	out := make([]Status, len(names))
	for i, name := range names {
		out[i] = ps[name].status(name, now)
	}
	return out
}

// lookup returns provider's state, or nil when the Tracker has never seen
// it.
func (t *Tracker) lookup(name string) *provider {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.providers[name]
}

// get returns provider's state, creating it on first use.
func (t *Tracker) get(name string) *provider {
	if p := t.lookup(name); p != nil {
		return p
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.providers[name]
	if p == nil {
		p = &provider{name: name}
		t.providers[name] = p
	}
	return p
}

// markFailed starts a backoff cooldown unless one is already running. The
// caller holds p.mu.
func (t *Tracker) markFailed(p *provider, now time.Time) {
	if p.state(now) == Cooling {
		return
	}
	p.level++
	p.failed = true
	p.until = now.Add(t.backoff(p.level))
	t.share(p, now)
}

// cooldown starts or extends an exact cooldown. The caller holds p.mu.
func (t *Tracker) cooldown(p *provider, now time.Time, d time.Duration) {
	if d <= 0 {
		d = t.retryAfter
	}
	until := now.Add(d)
	if p.state(now) == Cooling && p.until.After(until) {
		return
	}
	p.failed = true
	p.until = until
	t.share(p, now)
}

// share tells Config.OnCooldown of the cooldown p has just entered. The
// caller holds p.mu.
func (t *Tracker) share(p *provider, now time.Time) {
	if t.onCooldown != nil {
		t.onCooldown(Cooldown{Provider: p.name, For: p.until.Sub(now), Reason: p.lastError})
	}
}

// ApplyCooldown cools provider down as a peer replica did: for c.For from
// now, unless a longer cooldown is already running. It neither grows the
// backoff exponent nor reports the cooldown to Config.OnCooldown (the peer
// has told the others), and a non-positive c.For does nothing.
func (t *Tracker) ApplyCooldown(c Cooldown) {
	if c.For <= 0 {
		return
	}
	p := t.get(c.Provider)
	now := t.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	until := now.Add(c.For)
	if p.state(now) == Cooling && !p.until.Before(until) {
		return
	}
	p.failed, p.until = true, until
	if c.Reason != "" {
		p.noteError(c.Reason, now)
	}
}

// backoff returns the jittered cooldown after the level-th failure.
func (t *Tracker) backoff(level int) time.Duration {
	d := t.base
	for i := 1; i < level && d < t.max; i++ {
		d *= 2
	}
	d = min(d, t.max)
	if t.jitter > 0 {
		d = time.Duration(float64(d) * (1 + t.jitter*(2*t.rand()-1)))
	}
	return d
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
