package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/llmgw/llmgw/llm"
)

// SmokeError is a policy refused by the smoke gate: a hook raised (or
// returned something unusable) on one of the built-in synthetic requests
// or errors.
type SmokeError struct {
	// Case describes the synthetic request or error that broke the
	// policy, e.g. `anthropic stream tools model="claude-sonnet-4-5"`.
	Case string
	// Err is the hook's failure, a *HookError with the file:line.
	Err error
}

func (e *SmokeError) Error() string {
	return fmt.Sprintf("engine: policy refused by the smoke gate: on the synthetic %s: %v", e.Case, e.Err)
}

func (e *SmokeError) Unwrap() error { return e.Err }

// smokeCase is one synthetic request of the smoke gate.
type smokeCase struct {
	desc   string
	req    *Request
	health map[string]Health
	sticky string
}

// smoke runs route() and sticky_key() on synthetic requests and classify()
// on every class of upstream error, before the policy can serve: a policy
// whose hooks raise on ordinary traffic (a misspelled keyword argument, a
// field typo, a wrong type, a bad return value) would otherwise be swapped
// in and answer every request with 503. It returns the first failure.
//
// The requests are built with NewRequest, as the gateway builds a
// client's: every protocol, streaming or not, plain, with tools,
// with images, with a session (bound to a provider, so ctx.sticky is set),
// with each declared client key and each model the policy maps, and with
// each provider cooling down.
func (p *Policy) smoke(ctx context.Context) error {
	for _, c := range p.smokeRequests() {
		env := Env{
			Health: func(name string) Health {
				if h, ok := c.health[name]; ok {
					return h
				}
				return Health{State: StateHealthy}
			},
			Sticky: func(string) string { return c.sticky },
			Now:    TestEpoch(),
		}
		if _, err := p.Decide(ctx, c.req, env); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("engine: smoke gate: %w", ctx.Err())
			}
			return &SmokeError{Case: c.desc, Err: err}
		}
	}
	if p.classify == nil {
		return nil
	}
	for _, name := range p.smokeProviders() {
		for _, ei := range smokeErrors() {
			ei.Provider, ei.Model, ei.Attempt = name, "smoke-model", 1
			if _, err := p.Classify(ctx, ei, Env{Now: TestEpoch()}); err != nil {
				if ctx.Err() != nil {
					return fmt.Errorf("engine: smoke gate: %w", ctx.Err())
				}
				return &SmokeError{Case: fmt.Sprintf("error from provider %q: %s", name, describeError(ei)), Err: err}
			}
		}
	}
	return nil
}

// maxSmokeProviders bounds the providers the smoke gate varies over, so a
// policy with very many stays fast to reload.
const maxSmokeProviders = 16

func (p *Policy) smokeProviders() []string {
	var names []string
	for _, pr := range p.Providers {
		if len(names) == maxSmokeProviders {
			break
		}
		names = append(names, pr.Name)
	}
	return names
}

// smokeVariants are the request shapes of the smoke gate.
var smokeVariants = []string{"plain", "tools", "images", "session"}

// smokeBodyLen is the body length the smoke requests claim: a small
// request's, for input_tokens_estimate.
const smokeBodyLen = 200

// smokeProtocols are the client protocols: ctx.request.protocol takes
// each value a policy can meet.
var smokeProtocols = []string{"openai", "responses", "anthropic", "gemini"}

// smokeRequests builds the synthetic requests.
func (p *Policy) smokeRequests() []smokeCase {
	models := []string{"gpt-4o", "claude-sonnet-4-5", "gemini-2.5-flash"}
	seen := map[string]bool{}
	for _, m := range models {
		seen[m] = true
	}
	for _, pr := range p.Providers {
		for _, m := range sortedKeys(pr.Models) {
			if !seen[m] && len(models) < 16 {
				seen[m] = true
				models = append(models, m)
			}
		}
	}
	keys := []string{""}
	if len(p.Keys) > 0 {
		keys = keys[:0]
		for _, k := range p.Keys {
			keys = append(keys, k.Name)
		}
	}
	providers := p.smokeProviders()
	var out []smokeCase
	add := func(proto string, stream bool, variant, model, key string, health map[string]Health, why string) {
		f, headers := smokeFeatures(stream, variant, model)
		req := NewRequest(proto, f, smokeBodyLen, headers)
		req.Key = key
		c := smokeCase{req: req, health: health}
		if variant == "session" && len(providers) > 0 {
			c.sticky = providers[0]
		}
		desc := []string{proto}
		if stream {
			desc = append(desc, "stream")
		}
		desc = append(desc, variant, fmt.Sprintf("model=%q", model))
		if key != "" {
			desc = append(desc, fmt.Sprintf("key=%q", key))
		}
		if why != "" {
			desc = append(desc, why)
		}
		c.desc = "request (" + strings.Join(desc, " ") + ")"
		out = append(out, c)
	}
	i := 0
	for _, proto := range smokeProtocols {
		for _, stream := range []bool{false, true} {
			for _, v := range smokeVariants {
				add(proto, stream, v, models[i%len(models)], keys[i%len(keys)], nil, "")
				i++
			}
		}
	}
	for _, m := range models {
		for _, proto := range smokeProtocols {
			add(proto, false, "plain", m, keys[0], nil, "")
		}
	}
	for _, k := range keys[1:] {
		add("openai", false, "plain", models[0], k, nil, "")
	}
	for _, name := range providers {
		h := map[string]Health{name: {State: StateCooldown, CooldownLeft: time.Minute, ErrorRate: 1}}
		add("openai", false, "plain", models[0], keys[0], h, fmt.Sprintf("with %s cooling down", name))
	}
	return out
}

// smokeFeatures are the features of a small request in one variant, as
// a client protocol's adapter reads them from a body, and its headers.
// The tools variant also names an end user in metadata, the way Claude
// Code does, so that ctx.request.user and metadata are set in some cases
// and empty in others.
func smokeFeatures(stream bool, variant, model string) (llm.Features, map[string]string) {
	headers := map[string]string{"content-type": "application/json", "user-agent": "llmgw-smoke"}
	f := llm.Features{Model: model, Stream: stream, MaxOutputTokens: 256}
	switch variant {
	case "session":
		headers["x-session-id"] = "smoke-session"
	case "tools":
		f.HasTools = true
		f.User, f.Session = "smoke-user", "smoke-user"
		f.Metadata = map[string]string{"user_id": "smoke-user"}
	case "images":
		f.HasImages = true
	}
	return f, headers
}

// smokeErrors are the upstream failures classify() is tried on: every
// status class the gateway meets, a Retry-After, each failure before the
// first byte. (A stream that breaks later is relayed, never classified.)
func smokeErrors() []ErrorInfo {
	var out []ErrorInfo
	for _, s := range []int{400, 401, 403, 404, 408, 413, 422, 429, 500, 502, 503, 504, 529} {
		out = append(out, ErrorInfo{Status: s, Kind: "http", Type: statusType(s), Message: "smoke"})
	}
	out = append(out,
		ErrorInfo{Status: 429, Kind: "http", Type: "rate_limit_error", Message: "smoke", RetryAfter: 30 * time.Second},
		ErrorInfo{Kind: "timeout", Message: "smoke timeout"},
		ErrorInfo{Kind: "connect", Message: "smoke connect"},
		ErrorInfo{Kind: "stream", Message: "smoke stream"},
	)
	return out
}

func describeError(ei ErrorInfo) string {
	s := ei.Kind
	if ei.Status != 0 {
		s = fmt.Sprintf("status %d", ei.Status)
	}
	if ei.RetryAfter > 0 {
		s += fmt.Sprintf(" retry-after %s", ei.RetryAfter)
	}
	if ei.FirstByteSent {
		s += " after the first byte"
	}
	return s
}
