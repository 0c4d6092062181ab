// Package limits holds llmgw's budgets, rate limits and quotas: the
// definitions a policy declares with limit(), which requests each one
// counts (Def.Charge), and the counters behind them (Store).
//
// A limit has up to four bounds, all optional: rpm (requests in the last
// 60 seconds, sliding), tpm (tokens in the last 60 seconds, sliding), usd
// per calendar day or month (in a time zone the Store is built with), and
// concurrency (requests in flight). Its counter is one shared counter, or
// one per client key, user, session or metadata value (each=).
//
// A request touches a counter in two steps, both of which a Store does
// atomically: Admit checks every bound of every counter the request
// touches and, only if all admit, adds the request (one request, its
// estimated tokens, one in flight); Settle, when the request ends,
// replaces the estimate with the real tokens, adds the USD cost and
// releases the in-flight slot. Time is always passed in (now), so that the
// same code serves the gateway, tests with a fake clock, and Replay, which
// back-tests limits on logged traffic.
//
// Memory is the in-process Store; it is rebuilt at start from the request
// log (Memory.Add). A Store shared by replicas (Redis) implements the same
// interface with the same semantics.
//
// limits imports the standard library only.
package limits

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Period is the calendar period of a usd bound.
type Period string

// The periods of a usd bound.
const (
	PerDay   Period = "day"
	PerMonth Period = "month"
)

// Window is the length of the sliding window of rpm and tpm.
const Window = 60 * time.Second

// Bounds are a limit's bounds; a zero field is no bound.
type Bounds struct {
	// RPM bounds the requests of the last Window (sliding).
	RPM int64 `json:"rpm,omitempty"`
	// TPM bounds the tokens (input and output) of the last Window.
	TPM int64 `json:"tpm,omitempty"`
	// USDMicros bounds the cost, in micro-USD, of the current Per period.
	USDMicros int64  `json:"usd_micros,omitempty"`
	Per       Period `json:"per,omitempty"`
	// Concurrency bounds the requests in flight.
	Concurrency int64 `json:"concurrency,omitempty"`
}

// The names of the bounds, as refusals and ctx.usage name them.
const (
	BoundRPM         = "rpm"
	BoundTPM         = "tpm"
	BoundUSD         = "usd"
	BoundConcurrency = "concurrency"
)

// Def is one limit() declaration.
type Def struct {
	Name string `json:"name"`
	Bounds
	// Keys are the client key names whose requests count; empty: every
	// request's.
	Keys []string `json:"keys,omitempty"`
	// Models are the requested-model patterns whose requests count ('*'
	// matches any run of characters, '/' included); empty: every model.
	Models []string `json:"models,omitempty"`
	// Each splits the limit into one counter per value of a request
	// field: "key", "user", "session" or "metadata.NAME"; "" is one
	// shared counter. Requests without the field share one counter (the
	// value "").
	Each string `json:"each,omitempty"`
	// Shadow limits never refuse: a request they would refuse is served
	// and recorded as would-refuse (and not added to their counter, so
	// that it shows what the limit would let through).
	Shadow bool `json:"shadow,omitempty"`
	// Wait is how long a request over this limit may queue for capacity
	// before it is refused; 0 refuses at once.
	Wait time.Duration `json:"wait,omitempty"`
}

// Subject is what a limit reads of a request to decide whether it counts
// and in which counter.
type Subject struct {
	Key      string
	User     string
	Session  string
	Model    string // the model the client asked for
	Metadata map[string]string
}

// CheckEach reports whether each is a valid Def.Each.
func CheckEach(each string) error {
	switch {
	case each == "", each == "key", each == "user", each == "session":
		return nil
	case strings.HasPrefix(each, "metadata.") && len(each) > len("metadata."):
		return nil
	}
	return fmt.Errorf("each must be \"key\", \"user\", \"session\" or \"metadata.NAME\", got %q", each)
}

// Matches reports whether a request with subject s counts against d.
func (d *Def) Matches(s *Subject) bool {
	if len(d.Keys) > 0 {
		found := false
		for _, k := range d.Keys {
			if k == s.Key {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if len(d.Models) > 0 {
		for _, p := range d.Models {
			if Glob(p, s.Model) {
				return true
			}
		}
		return false
	}
	return true
}

// MaxEach bounds the length of a counter's each value: a longer one (a
// client's user, session or metadata value can be megabytes) is replaced
// by its SHA-256, so that a counter's name never costs more than this.
const MaxEach = 128

// EachValue is the value of d.Each for s: which of d's counters s counts
// in ("" for the shared one).
func (d *Def) EachValue(s *Subject) string {
	var v string
	switch d.Each {
	case "":
		return ""
	case "key":
		v = s.Key
	case "user":
		v = s.User
	case "session":
		v = s.Session
	default:
		v = s.Metadata[strings.TrimPrefix(d.Each, "metadata.")]
	}
	if len(v) > MaxEach {
		sum := sha256.Sum256([]byte(v))
		v = "sha256:" + hex.EncodeToString(sum[:])
	}
	return v
}

// Charge returns the counter of d that s counts in, and whether s counts
// against d at all.
func (d *Def) Charge(s *Subject) (Charge, bool) {
	if !d.Matches(s) {
		return Charge{}, false
	}
	return Charge{Limit: d.Name, Each: d.EachValue(s), Bounds: d.Bounds, Shadow: d.Shadow, Pinned: d.Each == "" || d.Each == "key"}, true
}

// Charges appends to dst the counters of defs that s counts in, in defs'
// order.
func Charges(dst []Charge, defs []Def, s *Subject) []Charge {
	for i := range defs {
		if c, ok := defs[i].Charge(s); ok {
			dst = append(dst, c)
		}
	}
	return dst
}

// Glob reports whether name matches pattern, in which '*' matches any run
// of characters (slashes included: "openai/*" matches every model of an
// OpenRouter-style prefix) and every other character itself.
func Glob(pattern, name string) bool {
	if !strings.Contains(pattern, "*") {
		return pattern == name
	}
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(name, p)
		if i < 0 {
			return false
		}
		name = name[i+len(p):]
	}
	return strings.HasSuffix(name, last)
}

// Share is the used fraction of the tightest of b's bounds (0 with no
// bound): 1 or more means the next request would be refused by that
// bound (for tpm, usd: the bound is spent).
func (b Bounds) Share(u Usage) float64 {
	share := 0.0
	f := func(used, bound int64) {
		if bound > 0 {
			if s := float64(used) / float64(bound); s > share {
				share = s
			}
		}
	}
	f(u.Requests, b.RPM)
	f(u.Tokens, b.TPM)
	f(u.USDMicros, b.USDMicros)
	f(u.InFlight, b.Concurrency)
	return share
}

// Over returns the first of b's bounds (rpm, tpm, usd, concurrency) that
// a request with tokens estimated tokens goes over when its counter is at
// u, or "" when every bound admits it: the rules of Store, on a usage
// read rather than a counter (what decide() and walk() check with faked
// usage).
func (b Bounds) Over(u Usage, tokens int64) string {
	switch {
	case b.RPM > 0 && u.Requests+1 > b.RPM:
		return BoundRPM
	case b.TPM > 0 && u.Tokens > 0 && u.Tokens+tokens > b.TPM:
		return BoundTPM
	case b.USDMicros > 0 && u.USDMicros >= b.USDMicros:
		return BoundUSD
	case b.Concurrency > 0 && u.InFlight+1 > b.Concurrency:
		return BoundConcurrency
	}
	return ""
}

// PeriodStart returns the start of the period containing t in loc, and
// the start of the next one.
func PeriodStart(p Period, t time.Time, loc *time.Location) (start, next time.Time) {
	t = t.In(loc)
	y, m, d := t.Date()
	if p == PerMonth {
		start = time.Date(y, m, 1, 0, 0, 0, 0, loc)
		return start, start.AddDate(0, 1, 0)
	}
	start = time.Date(y, m, d, 0, 0, 0, 0, loc)
	return start, start.AddDate(0, 0, 1)
}
