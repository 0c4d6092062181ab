package engine

import (
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/llmgw/llmgw/builtins"
	quota "github.com/llmgw/llmgw/limits"
	"github.com/llmgw/llmgw/pricing"
	"github.com/llmgw/llmgw/route"
)

// Policy is one loaded, validated version of the policy: its declarations
// and its compiled hooks over frozen globals. A Policy is immutable and
// safe for concurrent use; the gateway takes one snapshot per request and
// keeps it for the whole retry chain.
type Policy struct {
	// Hash identifies this version: a hex SHA-256 prefix over the files'
	// paths and contents. The request log stores it with every row.
	Hash string
	// Files lists the files this version was built from, relative to the
	// policy directory: the entry, every loaded module and the tests.
	Files []string
	// Providers are the declared providers, in declaration order.
	Providers []Provider
	// Keys are the declared client keys. None means the gateway is open.
	Keys []Key
	// Prices are the price() declarations, in declaration order.
	Prices []Price
	// AdminKey protects the dashboard and its API; "" when not declared.
	AdminKey string
	// Notes are the note() lines emitted while the policy loaded (for
	// example "no OPENAI_API_KEY; routing to demo"); the gateway logs them.
	Notes []string
	// Findings are what the checks found that did not refuse this
	// version: warnings of the static and load-time checks, and a policy
	// without tests. `llmgw check` and the gateway's log show them.
	Findings []Finding

	byName      map[string]int // index into Providers
	route       *starlark.Function
	classify    *starlark.Function
	stickyKey   *starlark.Function
	predeclared starlark.StringDict
	modules     map[string]starlark.StringDict // loaded modules by load() name, the entry included
	src         *source
	limits      limits
	lim         policyLimits   // limit() declarations
	priceTable  *pricing.Table // Config.Prices with Prices applied
	reqFields   []string       // the req attributes the code reads (ReqFields)
}

// limits are the resolved Config limits a policy runs under.
type limits struct {
	maxSteps    uint64
	hookTimeout time.Duration
	now         func() time.Time
	regexps     *builtins.Regexps
}

// Provider is one upstream instance declared with provider().
type Provider struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"` // openai, anthropic, gemini or demo
	BaseURL string `json:"base_url,omitempty"`
	// APIKey is the upstream credential; never logged or shown.
	APIKey string `json:"-"`
	// OAuth names a subscription account logged in with `llmgw oauth`,
	// used instead of APIKey; "" when not set.
	OAuth    string `json:"oauth,omitempty"`
	Priority int    `json:"priority"`
	Weight   int    `json:"weight"`
	// Models maps a requested model to the upstream's model name.
	Models map[string]string `json:"models,omitempty"`
	// Headers are extra headers sent upstream.
	Headers map[string]string `json:"-"`
	// Timeout bounds one attempt; 0 means the gateway's default.
	Timeout time.Duration `json:"timeout,omitempty"`
	// NoAutoCache (provider(auto_cache = False)) keeps the gateway from
	// adding prompt-cache hints the client did not send to requests it
	// converts for this provider: Anthropic's cache_control breakpoints,
	// OpenAI's derived prompt_cache_key. Some compatible endpoints refuse
	// them, and an operator may not want writes billed at a premium.
	NoAutoCache bool `json:"no_auto_cache,omitempty"`
}

// Key is a client key declared with key(name, secret).
type Key struct {
	Name   string
	Secret string
}

// Price is a price() declaration, in USD per million tokens. A nil field
// was not given (the embedded price table's value applies), as opposed to
// an explicit 0.
type Price struct {
	Model      string   `json:"model"`
	Input      *float64 `json:"input,omitempty"`
	Output     *float64 `json:"output,omitempty"`
	CacheRead  *float64 `json:"cache_read,omitempty"`
	CacheWrite *float64 `json:"cache_write,omitempty"`
}

// PriceTable returns the price table of this policy version: the
// engine's base table (Config.Prices) with the policy's price()
// declarations applied, compiled once when the version loaded, so that
// pricing a request is a lookup in the snapshot the request already holds.
func (p *Policy) PriceTable() *pricing.Table { return p.priceTable }

// compilePrices applies price() declarations to base: each replaces only
// the rates it gives and keeps base's for the others. With none, base
// itself is the table (no copy).
func compilePrices(base *pricing.Table, prices []Price) *pricing.Table {
	if len(prices) == 0 {
		return base
	}
	ov := make([]pricing.Override, 0, len(prices))
	for _, p := range prices {
		ov = append(ov, base.Partial(p.Model, p.Input, p.Output, p.CacheRead, p.CacheWrite))
	}
	return base.With(ov...)
}

// Provider returns the declared provider with that name.
func (p *Policy) Provider(name string) (Provider, bool) {
	i, ok := p.byName[name]
	if !ok {
		return Provider{}, false
	}
	return p.Providers[i], true
}

// Entry returns the name of the entry file, one of Files.
func (p *Policy) Entry() string {
	if p.src == nil {
		return ""
	}
	return p.src.entry
}

// Source returns the contents of one of Files as this version read them:
// the code that is live, which the file on disk no longer is after an edit
// that failed to reload. It reports false for a name not in Files.
func (p *Policy) Source(name string) ([]byte, bool) {
	if p.src == nil || strings.HasPrefix(name, StockPrefix) {
		return nil, false
	}
	b, ok := p.src.files[name]
	return b, ok
}

// Request holds the routing features of one request: what route(req, ctx)
// and sticky_key(req, ctx) see as req. NewRequest builds them from the
// llm.Features the client protocol's adapter reads from the body.
type Request struct {
	Model    string `json:"model"`
	Protocol string `json:"protocol"` // openai, responses, anthropic or gemini
	Stream   bool   `json:"stream"`
	Key      string `json:"key,omitempty"`     // client key name; "" on an open gateway
	Session  string `json:"session,omitempty"` // session id from headers or body; "" when none
	User     string `json:"user,omitempty"`
	// Headers are the request headers, names lower-case, credentials
	// redacted.
	Headers             map[string]string `json:"headers,omitempty"`
	Metadata            map[string]string `json:"metadata,omitempty"`
	HasTools            bool              `json:"has_tools"`
	HasImages           bool              `json:"has_images"`
	HasThinking         bool              `json:"has_thinking"`
	InputTokensEstimate int               `json:"input_tokens_estimate"`
	MaxOutputTokens     int               `json:"max_output_tokens"`
}

// Env is the live state a decision reads: ctx in the hooks.
type Env struct {
	// Health reports a provider's health. Nil means every provider is
	// healthy.
	Health func(provider string) Health
	// Sticky returns the provider a sticky key is bound to, "" when none.
	// Nil means no bindings.
	Sticky func(stickyKey string) string
	// Now is ctx.now and what time.now() returns. The zero value means the
	// engine's clock (Config.Now).
	Now time.Time
	// Usage reads a limit counter for ctx.usage(name). Nil means every
	// counter is at zero.
	Usage func(c quota.Charge) quota.Usage
}

// Health is a provider's health as the policy sees it.
type Health struct {
	State        string        `json:"state"` // healthy, cooldown or half_open
	ErrorRate    float64       `json:"error_rate"`
	LatencyMS    float64       `json:"latency_ms"`
	InFlight     int           `json:"in_flight"`
	CooldownLeft time.Duration `json:"cooldown_left"`
}

// The health states.
const (
	StateHealthy  = "healthy"
	StateCooldown = "cooldown"
	StateHalfOpen = "half_open"
)

// Decision is what Policy.Decide returns.
type Decision struct {
	// Candidates are in policy order with priority and weight resolved (a
	// target's override, else the provider's). route.Order turns them into
	// the failover order.
	Candidates []route.Candidate
	// StickyKey is the session's sticky key; "" means no stickiness.
	StickyKey string
	// StickyDefault reports that StickyKey is the default one (the policy
	// has no sticky_key hook): the session, else the client key. Eval
	// names it whenever a binding decides the pick, because with no
	// session the client key alone binds every request of a key to one
	// provider, which overrides a weighted split.
	StickyDefault bool
	// Sticky is the provider StickyKey is bound to, "" when none.
	Sticky string
	// Notes are the note() lines the hooks emitted.
	Notes []string
	// Refusal is set when route() returned refuse(...): the request is
	// answered with it and Candidates is empty.
	Refusal *Refusal
}
