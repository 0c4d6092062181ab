package engine

import (
	"context"
	"fmt"
	"strings"
	"time"
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
// The requests are wire bodies read by RequestFromBody, as the gateway
// reads a client's: every protocol, streaming or not, plain, with tools,
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

// smokeProtocols are the client protocols, each with its own body shape.
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
		body, headers := smokeBody(proto, stream, variant, model)
		req, err := RequestFromBody(proto, body, headers)
		if err != nil {
			return // cannot happen: the bodies are well-formed JSON
		}
		if req.Model == "" {
			req.Model = model // Gemini names the model in the URL
		}
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

// smokeBody is a small request body of a protocol in one variant, and its
// headers.
func smokeBody(proto string, stream bool, variant, model string) ([]byte, map[string]string) {
	headers := map[string]string{"content-type": "application/json", "user-agent": "llmgw-smoke"}
	if variant == "session" {
		headers["x-session-id"] = "smoke-session"
	}
	var b string
	switch proto {
	case "anthropic":
		content := `"hello"`
		if variant == "images" {
			content = `[{"type":"text","text":"what is this?"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]`
		}
		b = fmt.Sprintf(`{"model":%q,"max_tokens":256,"stream":%t,"metadata":{"user_id":"smoke-user"},"messages":[{"role":"user","content":%s}]`, model, stream, content)
		if variant == "tools" {
			b += `,"tools":[{"name":"lookup","description":"d","input_schema":{"type":"object","properties":{}}}]`
		}
	case "responses":
		input := `"hello"`
		if variant == "images" {
			input = `[{"role":"user","content":[{"type":"input_text","text":"what is this?"},{"type":"input_image","image_url":"data:image/png;base64,iVBORw0KGgo="}]}]`
		}
		b = fmt.Sprintf(`{"model":%q,"stream":%t,"max_output_tokens":256,"input":%s`, model, stream, input)
		if variant == "tools" {
			b += `,"tools":[{"type":"function","name":"lookup","parameters":{"type":"object","properties":{}}}]`
		}
	case "gemini":
		parts := `[{"text":"hello"}]`
		if variant == "images" {
			parts = `[{"text":"what is this?"},{"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo="}}]`
		}
		b = fmt.Sprintf(`{"contents":[{"role":"user","parts":%s}],"generationConfig":{"maxOutputTokens":256}`, parts)
		if variant == "tools" {
			b += `,"tools":[{"functionDeclarations":[{"name":"lookup","parameters":{"type":"object"}}]}]`
		}
	default:
		content := `"hello"`
		if variant == "images" {
			content = `[{"type":"text","text":"what is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]`
		}
		b = fmt.Sprintf(`{"model":%q,"stream":%t,"max_tokens":256,"messages":[{"role":"user","content":%s}]`, model, stream, content)
		if variant == "tools" {
			b += `,"tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object","properties":{}}}}]`
		}
	}
	return []byte(b + "}"), headers
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
