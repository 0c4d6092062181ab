package health

import (
	"context"
	"sync"
	"time"
)

// ProbeFunc checks whether provider answers, typically with a cheap
// authenticated request such as listing its models. It must return when ctx
// is done. A nil error counts as a successful trial.
type ProbeFunc func(ctx context.Context, provider string) error

// ProberConfig configures a Prober.
type ProberConfig struct {
	// Tracker is the Tracker whose half-open providers are probed.
	// Required.
	Tracker *Tracker
	// Probe checks one provider. Required.
	Probe ProbeFunc
	// Interval is how often Run looks for providers to probe. Zero or
	// negative means 5 s.
	Interval time.Duration
	// Timeout bounds each probe. Zero or negative means 10 s.
	Timeout time.Duration
}

// Prober is the optional background check of providers whose cooldown has
// ended: without it, a provider turns healthy again only when a request
// happens to make the trial, which a provider in a low tier may wait long
// for. A probe is the half-open trial: while it runs, the provider reports
// unavailable; its success makes the provider healthy, its failure sends it
// back to cooldown with a longer backoff.
type Prober struct {
	t        *Tracker
	probe    ProbeFunc
	interval time.Duration
	timeout  time.Duration
}

// NewProber returns a Prober configured by cfg. It panics when cfg has no
// Tracker or no Probe, a programming error.
func NewProber(cfg ProberConfig) *Prober {
	if cfg.Tracker == nil || cfg.Probe == nil {
		panic("health: NewProber needs a Tracker and a Probe")
	}
	return &Prober{
		t:        cfg.Tracker,
		probe:    cfg.Probe,
		interval: orDefault(cfg.Interval, 5*time.Second),
		timeout:  orDefault(cfg.Timeout, 10*time.Second),
	}
}

// Run calls Check every Interval until ctx is done, then returns nil. main
// starts it under its errgroup and stops it by cancelling ctx.
func (p *Prober) Run(ctx context.Context) error {
	tick := time.NewTicker(p.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			p.Check(ctx)
		}
	}
}

// Check probes, concurrently, every half-open provider with no trial in
// flight, and returns when all the probes have ended.
func (p *Prober) Check(ctx context.Context) {
	p.t.mu.RLock()
	var due []*provider
	var names []string
	for name, pv := range p.t.providers {
		if pv.claimTrial(p.t.now()) {
			due = append(due, pv)
			names = append(names, name)
		}
	}
	p.t.mu.RUnlock()

	var wg sync.WaitGroup
	for i, pv := range due {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, p.timeout)
			defer cancel()
			err := p.probe(ctx, names[i]) // no lock held
			p.t.endProbe(pv, err)
		})
	}
	wg.Wait()
}

// claimTrial makes the caller the half-open trial, if the provider is
// half-open and no trial is in flight.
func (p *provider) claimTrial(now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state(now) != HalfOpen || p.trial {
		return false
	}
	p.trial = true
	return true
}

// endProbe records the result of a probe claimed with claimTrial. Probes
// are not requests: they change the state but not the request statistics.
func (t *Tracker) endProbe(p *provider, err error) {
	now := t.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.trial = false
	if err == nil {
		p.heal()
		return
	}
	p.noteError("probe: "+err.Error(), now)
	t.markFailed(p, now)
}
