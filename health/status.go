package health

import (
	"encoding/json"
	"sync"
	"time"
)

// Status is a snapshot of one provider's health, as policies see it through
// ctx.health(name) and operators through GET /api/providers.
type Status struct {
	// Name is the provider's name.
	Name string `json:"name"`
	// State is healthy, cooldown or half_open.
	State State `json:"state"`
	// CooldownLeft is the time until a cooling provider turns half-open;
	// zero otherwise. In JSON it is cooldown_left_s, in seconds.
	CooldownLeft time.Duration `json:"-"`
	// ErrorRate is the moving average of failed attempts, from 0 to 1.
	ErrorRate float64 `json:"error_rate"`
	// LatencyMS is the moving average latency of successful attempts, in
	// milliseconds; zero before the first success.
	LatencyMS float64 `json:"latency_ms"`
	// InFlight is the number of attempts begun and not yet ended.
	InFlight int `json:"in_flight"`
	// Requests and Failures count the attempts ended since the Tracker
	// started, and those of them that failed.
	Requests int64 `json:"requests"`
	Failures int64 `json:"failures"`
	// LastError is the reason given with the most recent failure, and
	// LastErrorAt its time; both are zero when the provider never failed.
	LastError   string    `json:"last_error"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// ConsecutiveFailures counts the failed attempts since the last
	// successful one.
	ConsecutiveFailures int `json:"consecutive_failures"`
}

// MarshalJSON encodes s with CooldownLeft as cooldown_left_s, in seconds.
func (s Status) MarshalJSON() ([]byte, error) {
	type plain Status // without the method, to avoid recursion
	return json.Marshal(struct {
		plain
		CooldownLeftS float64 `json:"cooldown_left_s"`
	}{plain(s), s.CooldownLeft.Seconds()})
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (s *Status) UnmarshalJSON(data []byte) error {
	type plain Status
	var v struct {
		plain
		CooldownLeftS float64 `json:"cooldown_left_s"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*s = Status(v.plain)
	s.CooldownLeft = time.Duration(v.CooldownLeftS * float64(time.Second))
	return nil
}

// provider is the mutable health of one provider.
type provider struct {
	// name is the provider's name, for Config.OnCooldown.
	name string
	// mu guards the following.
	mu sync.Mutex
	// failed is set from a failure until the next success; the provider
	// is cooling down until until, and half-open after.
	failed bool
	until  time.Time
	// level is the backoff exponent: failures since the provider was last
	// healthy.
	level int
	// trial is set while the half-open trial attempt is in flight.
	trial bool

	inFlight           int
	requests, failures int64
	consecutive        int
	errorRate          float64
	latencyMS          float64
	lastError          string
	lastErrorAt        time.Time
}

// state returns the provider's state at now. The caller holds p.mu.
func (p *provider) state(now time.Time) State {
	switch {
	case !p.failed:
		return Healthy
	case now.Before(p.until):
		return Cooling
	}
	return HalfOpen
}

// heal makes the provider healthy and resets its backoff. The caller
// holds p.mu.
func (p *provider) heal() {
	p.failed, p.until, p.level = false, time.Time{}, 0
}

// noteError records the last error. The caller holds p.mu.
func (p *provider) noteError(reason string, now time.Time) {
	p.lastError, p.lastErrorAt = reason, now
}

func (p *provider) status(name string, now time.Time) Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Status{
		Name:                name,
		State:               p.state(now),
		ErrorRate:           p.errorRate,
		LatencyMS:           p.latencyMS,
		InFlight:            p.inFlight,
		Requests:            p.requests,
		Failures:            p.failures,
		LastError:           p.lastError,
		LastErrorAt:         p.lastErrorAt,
		ConsecutiveFailures: p.consecutive,
	}
	if s.State == Cooling {
		s.CooldownLeft = p.until.Sub(now)
	}
	return s
}
