package engine

import (
	"errors"
	"fmt"
	"sort"

	starlarktime "go.starlark.net/lib/time"
	"go.starlark.net/starlark"
)

// The Starlark values a policy handles. All are immutable: providerValue
// and targetValue live in frozen globals shared by every request; the
// per-call views (reqValue, ctxValue, errValue, healthValue) are read-only
// and build their attributes lazily, so fields a policy never reads cost
// nothing.

// Interface guards.
var (
	_ starlark.HasAttrs = (*providerValue)(nil)
	_ starlark.HasAttrs = targetValue{}
	_ starlark.HasAttrs = (*reqValue)(nil)
	_ starlark.HasAttrs = (*ctxValue)(nil)
	_ starlark.HasAttrs = errValue{}
	_ starlark.HasAttrs = healthValue{}
)

// providerValue is what provider(...) returns.
type providerValue struct{ p *Provider }

func (v *providerValue) String() string        { return fmt.Sprintf("provider(%q)", v.p.Name) }
func (v *providerValue) Type() string          { return "provider" }
func (v *providerValue) Freeze()               {}
func (v *providerValue) Truth() starlark.Bool  { return true }
func (v *providerValue) Hash() (uint32, error) { return starlark.String(v.p.Name).Hash() }
func (v *providerValue) AttrNames() []string {
	return []string{"base_url", "kind", "models", "name", "priority", "timeout", "weight"}
}

func (v *providerValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "name":
		return starlark.String(v.p.Name), nil
	case "kind":
		return starlark.String(v.p.Kind), nil
	case "base_url":
		return starlark.String(v.p.BaseURL), nil
	case "priority":
		return starlark.MakeInt(v.p.Priority), nil
	case "weight":
		return starlark.MakeInt(v.p.Weight), nil
	case "timeout":
		return starlark.Float(v.p.Timeout.Seconds()), nil
	case "models":
		return frozenDict(v.p.Models), nil
	}
	return nil, nil
}

// targetValue is what target(...) returns: a provider with overrides.
type targetValue struct {
	prov     *providerValue
	model    string
	priority *int
	weight   *int
}

func (v targetValue) String() string {
	return fmt.Sprintf("target(%q, model=%q, priority=%d, weight=%d)", v.prov.p.Name, v.model, v.candidatePriority(), v.candidateWeight())
}
func (v targetValue) Type() string          { return "target" }
func (v targetValue) Freeze()               {}
func (v targetValue) Truth() starlark.Bool  { return true }
func (v targetValue) Hash() (uint32, error) { return starlark.String(v.String()).Hash() }
func (v targetValue) AttrNames() []string   { return []string{"model", "priority", "provider", "weight"} }

func (v targetValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "provider":
		return v.prov, nil
	case "model":
		return starlark.String(v.model), nil
	case "priority":
		return starlark.MakeInt(v.candidatePriority()), nil
	case "weight":
		return starlark.MakeInt(v.candidateWeight()), nil
	}
	return nil, nil
}

func (v targetValue) candidatePriority() int {
	if v.priority != nil {
		return *v.priority
	}
	return v.prov.p.Priority
}

func (v targetValue) candidateWeight() int {
	if v.weight != nil {
		return *v.weight
	}
	return v.prov.p.Weight
}

// reqValue is req in the hooks.
type reqValue struct {
	r        *Request
	headers  *starlark.Dict // built on first use
	metadata *starlark.Dict
}

func (v *reqValue) String() string        { return fmt.Sprintf("request(model=%q)", v.r.Model) }
func (v *reqValue) Type() string          { return "request" }
func (v *reqValue) Freeze()               {}
func (v *reqValue) Truth() starlark.Bool  { return true }
func (v *reqValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: request") }
func (v *reqValue) AttrNames() []string   { return requestFields }

var requestFields = []string{
	"has_images", "has_thinking", "has_tools", "headers", "input_tokens_estimate", "key",
	"max_output_tokens", "metadata", "model", "protocol", "session", "stream", "user",
}

func (v *reqValue) Attr(name string) (starlark.Value, error) {
	r := v.r
	switch name {
	case "model":
		return starlark.String(r.Model), nil
	case "protocol":
		return starlark.String(r.Protocol), nil
	case "stream":
		return starlark.Bool(r.Stream), nil
	case "key":
		return starlark.String(r.Key), nil
	case "session":
		return starlark.String(r.Session), nil
	case "user":
		return starlark.String(r.User), nil
	case "headers":
		if v.headers == nil {
			v.headers = frozenDict(r.Headers)
		}
		return v.headers, nil
	case "metadata":
		if v.metadata == nil {
			v.metadata = frozenDict(r.Metadata)
		}
		return v.metadata, nil
	case "has_tools":
		return starlark.Bool(r.HasTools), nil
	case "has_images":
		return starlark.Bool(r.HasImages), nil
	case "has_thinking":
		return starlark.Bool(r.HasThinking), nil
	case "input_tokens_estimate":
		return starlark.MakeInt(r.InputTokensEstimate), nil
	case "max_output_tokens":
		return starlark.MakeInt(r.MaxOutputTokens), nil
	}
	return nil, nil
}

// ctxValue is ctx in the hooks.
type ctxValue struct {
	env    *Env
	sticky string
	health *starlark.Builtin
	// known are the policy's providers: ctx.health of any other name is
	// an error (a typo would otherwise read as healthy forever). Nil
	// accepts every name.
	known map[string]int
	// lim are the policy's limits and req the request ctx.usage reads
	// the counters of (nil in classify: no request's counter).
	lim   *policyLimits
	req   *Request
	usage *starlark.Builtin
}

func (v *ctxValue) String() string        { return "ctx" }
func (v *ctxValue) Type() string          { return "ctx" }
func (v *ctxValue) Freeze()               {}
func (v *ctxValue) Truth() starlark.Bool  { return true }
func (v *ctxValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: ctx") }
func (v *ctxValue) AttrNames() []string   { return []string{"health", "now", "sticky", "usage"} }

func (v *ctxValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "sticky":
		if v.sticky == "" {
			return starlark.None, nil
		}
		return starlark.String(v.sticky), nil
	case "now":
		return starlarktime.Time(v.env.Now), nil
	case "health":
		if v.health == nil {
			v.health = starlark.NewBuiltin("ctx.health", v.healthOf)
		}
		return v.health, nil
	case "usage":
		if v.usage == nil {
			v.usage = starlark.NewBuiltin("ctx.usage", v.usageOf)
		}
		return v.usage, nil
	}
	return nil, nil
}

func (v *ctxValue) healthOf(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var p starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &p); err != nil {
		return nil, err
	}
	var name string
	switch p := p.(type) {
	case starlark.String:
		name = string(p)
	case *providerValue:
		name = p.p.Name
	case targetValue:
		name = p.prov.p.Name
	default:
		return nil, fmt.Errorf("%s: got %s, want a provider or its name", b.Name(), p.Type())
	}
	if _, ok := v.known[name]; v.known != nil && !ok {
		msg := fmt.Sprintf("%s: no provider %q is declared", b.Name(), name)
		if s := suggest(name, sortedKeys(v.known)); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return nil, errors.New(msg)
	}
	h := Health{State: StateHealthy}
	if v.env.Health != nil {
		h = v.env.Health(name)
		if h.State == "" {
			h.State = StateHealthy
		}
	}
	return healthValue{h}, nil
}

// healthValue is what ctx.health(p) returns.
type healthValue struct{ h Health }

func (v healthValue) String() string        { return fmt.Sprintf("health(state=%q)", v.h.State) }
func (v healthValue) Type() string          { return "health" }
func (v healthValue) Freeze()               {}
func (v healthValue) Truth() starlark.Bool  { return true }
func (v healthValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: health") }
func (v healthValue) AttrNames() []string {
	return []string{"available", "cooldown_left", "error_rate", "healthy", "in_flight", "latency_ms", "state"}
}

func (v healthValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "state":
		return starlark.String(v.h.State), nil
	case "healthy":
		return starlark.Bool(v.h.State == StateHealthy), nil
	case "available":
		return starlark.Bool(v.h.State != StateCooldown), nil
	case "error_rate":
		return starlark.Float(v.h.ErrorRate), nil
	case "latency_ms":
		return starlark.Float(v.h.LatencyMS), nil
	case "in_flight":
		return starlark.MakeInt(v.h.InFlight), nil
	case "cooldown_left":
		return starlark.Float(v.h.CooldownLeft.Seconds()), nil
	}
	return nil, nil
}

// errValue is err in classify.
type errValue struct{ ei *ErrorInfo }

func (v errValue) String() string {
	return fmt.Sprintf("error(provider=%q, status=%d, kind=%q)", v.ei.Provider, v.ei.Status, v.ei.Kind)
}
func (v errValue) Type() string          { return "error" }
func (v errValue) Freeze()               {}
func (v errValue) Truth() starlark.Bool  { return true }
func (v errValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: error") }
func (v errValue) AttrNames() []string   { return errorFields }

var errorFields = []string{
	"attempt", "first_byte_sent", "kind", "message", "model", "provider", "retry_after", "status", "type",
}

func (v errValue) Attr(name string) (starlark.Value, error) {
	ei := v.ei
	switch name {
	case "status":
		return starlark.MakeInt(ei.Status), nil
	case "kind":
		return starlark.String(ei.Kind), nil
	case "type":
		return starlark.String(ei.Type), nil
	case "message":
		return starlark.String(ei.Message), nil
	case "provider":
		return starlark.String(ei.Provider), nil
	case "model":
		return starlark.String(ei.Model), nil
	case "retry_after":
		if ei.RetryAfter <= 0 {
			return starlark.None, nil
		}
		return starlark.Float(ei.RetryAfter.Seconds()), nil
	case "attempt":
		return starlark.MakeInt(ei.Attempt), nil
	case "first_byte_sent":
		return starlark.Bool(ei.FirstByteSent), nil
	}
	return nil, nil
}

// frozenDict converts a string map to a frozen Starlark dict with sorted
// keys, so iteration order is deterministic.
func frozenDict(m map[string]string) *starlark.Dict {
	d := starlark.NewDict(len(m))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		_ = d.SetKey(starlark.String(k), starlark.String(m[k]))
	}
	d.Freeze()
	return d
}
