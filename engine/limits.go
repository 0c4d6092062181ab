package engine

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	quota "github.com/llmgw/llmgw/limits"
)

// maxWait bounds limit(wait = ...): a queued request holds a client
// connection and a concurrency slot.
const maxWait = 10 * time.Minute

// policyLimits are a policy's limit() declarations.
type policyLimits struct {
	defs   []quota.Def
	pos    []string // each declaration's file:line:col
	byName map[string]int
}

// Limits returns the policy's limit() declarations in declaration order.
// The slice belongs to the policy: callers must not modify it.
func (p *Policy) Limits() []quota.Def { return p.lim.defs }

// Charges appends to dst the counters req counts in under this policy's
// limits; with no limit declared it returns dst untouched (no
// allocation), which keeps the gateway's hot path free when none applies.
func (p *Policy) Charges(dst []quota.Charge, req *Request) []quota.Charge {
	if len(p.lim.defs) == 0 {
		return dst
	}
	if dst == nil {
		dst = make([]quota.Charge, 0, len(p.lim.defs)) // one allocation, not one per growth
	}
	s := req.LimitSubject()
	return quota.Charges(dst, p.lim.defs, &s)
}

// LimitSubject is what limits read of the request: whose it is and the
// model asked for.
func (r *Request) LimitSubject() quota.Subject {
	return quota.Subject{Key: r.Key, User: r.User, Session: r.Session, Model: r.Model, Metadata: r.Metadata}
}

// declareLimit is limit(name, rpm=, tpm=, usd=, per=, concurrency=,
// keys=, models=, each=, shadow=False, wait=None).
func declareLimit(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	d, err := declsOf(thread, b)
	if err != nil {
		return nil, err
	}
	var (
		name                             string
		rpm, tpm, usd, per, conc         starlark.Value = starlark.None, starlark.None, starlark.None, starlark.None, starlark.None
		keys, models, each, shadow, wait starlark.Value = starlark.None, starlark.None, starlark.None, starlark.False, starlark.None
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "rpm?", &rpm, "tpm?", &tpm, "usd?", &usd,
		"per?", &per, "concurrency?", &conc, "keys?", &keys, "models?", &models, "each?", &each,
		"shadow?", &shadow, "wait?", &wait); err != nil {
		return nil, err
	}
	if name == "" {
		return nil, fmt.Errorf("%s: name must not be empty", b.Name())
	}
	fail := func(format string, a ...any) error {
		return fmt.Errorf("%s %q: %s", b.Name(), name, fmt.Sprintf(format, a...))
	}
	if _, dup := d.limits.byName[name]; dup {
		return nil, fmt.Errorf("%s: duplicate limit name %q", b.Name(), name)
	}
	def := quota.Def{Name: name}
	for _, f := range []struct {
		label string
		v     starlark.Value
		dst   *int64
	}{{"rpm", rpm, &def.RPM}, {"tpm", tpm, &def.TPM}, {"concurrency", conc, &def.Concurrency}} {
		if f.v == starlark.None {
			continue
		}
		var n int64
		if _, isBool := f.v.(starlark.Bool); isBool || starlark.AsInt(f.v, &n) != nil || n <= 0 {
			return nil, fail("%s must be a positive int, got %s", f.label, f.v)
		}
		*f.dst = n
	}
	if usd != starlark.None {
		x, ok := starlark.AsFloat(usd)
		if _, isBool := usd.(starlark.Bool); isBool || !ok || x <= 0 || math.IsNaN(x) || x > 1e12 {
			return nil, fail("usd must be a positive number of US dollars, got %s", usd)
		}
		def.USDMicros = max(1, int64(math.Round(x*1e6)))
	}
	switch p, ok := starlark.AsString(per); {
	case per == starlark.None && def.USDMicros > 0:
		return nil, fail("usd needs per = \"day\" or \"month\" (calendar periods)")
	case per == starlark.None:
	case !ok || (p != string(quota.PerDay) && p != string(quota.PerMonth)):
		return nil, fail("per must be \"day\" or \"month\", got %s", per)
	case def.USDMicros == 0:
		return nil, fail("per applies to usd only (rpm and tpm are per minute); give usd or drop per")
	default:
		def.Per = quota.Period(p)
	}
	if def.RPM == 0 && def.TPM == 0 && def.USDMicros == 0 && def.Concurrency == 0 {
		return nil, fail("give at least one bound: rpm, tpm, usd (with per) or concurrency")
	}
	if def.Keys, err = limitStrings(keys); err != nil {
		return nil, fail("keys: %v", err)
	}
	if def.Models, err = limitStrings(models); err != nil {
		return nil, fail("models: %v", err)
	}
	if each != starlark.None {
		s, ok := starlark.AsString(each)
		if !ok {
			return nil, fail("each must be a string, got %s", each.Type())
		}
		if err := quota.CheckEach(s); err != nil {
			return nil, fail("%v", err)
		}
		def.Each = s
	}
	sh, ok := shadow.(starlark.Bool)
	if !ok {
		return nil, fail("shadow must be True or False, got %s", shadow.Type())
	}
	def.Shadow = bool(sh)
	if def.Wait, err = seconds(wait); err != nil {
		return nil, fail("wait: %v", err)
	}
	if def.Wait > maxWait {
		return nil, fail("wait must be at most %d seconds, got %s", int(maxWait.Seconds()), wait)
	}
	if def.Wait > 0 && def.Shadow {
		return nil, fail("a shadow limit never refuses, so it never waits: drop wait or shadow")
	}
	if d.limits.byName == nil {
		d.limits.byName = make(map[string]int)
	}
	d.limits.byName[name] = len(d.limits.defs)
	d.limits.defs = append(d.limits.defs, def)
	d.limits.pos = append(d.limits.pos, thread.CallFrame(1).Pos.String())
	return starlark.None, nil
}

// limitStrings converts None, a string, or a list or tuple of non-empty
// strings.
func limitStrings(v starlark.Value) ([]string, error) {
	if v == starlark.None {
		return nil, nil
	}
	if s, ok := v.(starlark.String); ok {
		v = starlark.Tuple{s}
	}
	it, ok := v.(starlark.Indexable)
	if !ok {
		return nil, fmt.Errorf("want a list of strings, got %s", v.Type())
	}
	if it.Len() == 0 {
		return nil, errors.New("must not be empty (leave it out to count every request)")
	}
	out := make([]string, 0, it.Len())
	for i := range it.Len() {
		s, ok := starlark.AsString(it.Index(i))
		if !ok || s == "" {
			return nil, fmt.Errorf("want a list of non-empty strings, got %s", it.Index(i))
		}
		out = append(out, s)
	}
	return out, nil
}

// checkLimits runs once every declaration is known: a limit's keys must
// be declared client keys (a typo would otherwise count nothing, silently),
// and a literal name given to ctx.usage in the policy's files must be a
// declared limit (a typo would otherwise fail every request that reaches
// it): an error finding, which refuses the policy.
func (p *Policy) checkLimits(lim policyLimits, files map[string]*syntax.File) error {
	p.lim = lim
	names := make(map[string]bool, len(p.Keys))
	for _, k := range p.Keys {
		names[k.Name] = true
	}
	for i, def := range lim.defs {
		for _, k := range def.Keys {
			if names[k] {
				continue
			}
			msg := fmt.Sprintf("limit %q: keys: no key %q is declared", def.Name, k)
			if s := suggest(k, sortedKeys(names)); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			return &HookError{Hook: "load", Pos: lim.pos[i], Err: errors.New(msg)}
		}
	}
	for _, f := range files {
		syntax.Walk(f, func(n syntax.Node) bool {
			call, ok := n.(*syntax.CallExpr)
			if !ok || len(call.Args) != 1 {
				return true
			}
			dot, ok := call.Fn.(*syntax.DotExpr)
			if !ok || dot.Name.Name != "usage" {
				return true
			}
			if id, ok := dot.X.(*syntax.Ident); !ok || id.Name != "ctx" {
				return true
			}
			lit, ok := call.Args[0].(*syntax.Literal)
			if !ok || lit.Token != syntax.STRING {
				return true
			}
			name, _ := lit.Value.(string)
			if _, ok := lim.byName[name]; !ok {
				msg := fmt.Sprintf("ctx.usage(%q): no limit of that name is declared", name)
				if s := suggest(name, sortedKeys(lim.byName)); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				p.Findings = append(p.Findings, Finding{Pos: lit.TokenPos.String(), Severity: SeverityError, Message: msg})
			}
			return true
		})
	}
	return nil
}

// usageOf is ctx.usage(name): the usage of the current request's counter
// of the limit name.
func (v *ctxValue) usageOf(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &name); err != nil {
		return nil, err
	}
	if v.lim == nil {
		v.lim = &policyLimits{}
	}
	i, ok := v.lim.byName[name]
	if !ok {
		msg := fmt.Sprintf("%s: no limit %q is declared", b.Name(), name)
		if s := suggest(name, sortedKeys(v.lim.byName)); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return nil, errors.New(msg)
	}
	def := &v.lim.defs[i]
	uv := usageValue{def: def}
	if v.req == nil {
		return uv, nil
	}
	s := v.req.LimitSubject()
	c, ok := def.Charge(&s)
	if !ok {
		return uv, nil
	}
	uv.applies = true
	if v.env.Usage != nil {
		uv.u = v.env.Usage(c)
	}
	return uv, nil
}

// usageValue is what ctx.usage(name) returns.
type usageValue struct {
	def     *quota.Def
	u       quota.Usage
	applies bool
}

var _ starlark.HasAttrs = usageValue{}

func (v usageValue) String() string {
	return fmt.Sprintf("usage(limit=%q, requests=%d, tokens=%d, usd=%g)", v.def.Name, v.u.Requests, v.u.Tokens, float64(v.u.USDMicros)/1e6)
}
func (v usageValue) Type() string          { return "usage" }
func (v usageValue) Freeze()               {}
func (v usageValue) Truth() starlark.Bool  { return true }
func (v usageValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: usage") }
func (v usageValue) AttrNames() []string   { return usageFields }

var usageFields = []string{"applies", "in_flight", "limit", "remaining", "requests", "share", "tokens", "usd"}

func (v usageValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "limit":
		return starlark.String(v.def.Name), nil
	case "applies":
		return starlark.Bool(v.applies), nil
	case "requests":
		return starlark.MakeInt64(v.u.Requests), nil
	case "tokens":
		return starlark.MakeInt64(v.u.Tokens), nil
	case "usd":
		return starlark.Float(float64(v.u.USDMicros) / 1e6), nil
	case "in_flight":
		return starlark.MakeInt64(v.u.InFlight), nil
	case "share":
		return starlark.Float(v.def.Share(v.u)), nil
	case "remaining":
		d := starlark.NewDict(4)
		b := v.def.Bounds
		if b.RPM > 0 {
			_ = d.SetKey(starlark.String(quota.BoundRPM), starlark.MakeInt64(max(0, b.RPM-v.u.Requests)))
		}
		if b.TPM > 0 {
			_ = d.SetKey(starlark.String(quota.BoundTPM), starlark.MakeInt64(max(0, b.TPM-v.u.Tokens)))
		}
		if b.USDMicros > 0 {
			_ = d.SetKey(starlark.String(quota.BoundUSD), starlark.Float(float64(max(0, b.USDMicros-v.u.USDMicros))/1e6))
		}
		if b.Concurrency > 0 {
			_ = d.SetKey(starlark.String(quota.BoundConcurrency), starlark.MakeInt64(max(0, b.Concurrency-v.u.InFlight)))
		}
		d.Freeze()
		return d, nil
	}
	return nil, nil
}

// usageFromStarlark reads decide()/walk()'s usage = {name: {"requests":
// n, "tokens": n, "usd": x, "in_flight": n}}, checking names against the
// policy's quota.
func (p *Policy) usageFromStarlark(v starlark.Value) (map[string]quota.Usage, error) {
	if v == starlark.None {
		return nil, nil
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, fmt.Errorf("want a dict {limit name: {requests, tokens, usd, in_flight}}, got %s", v.Type())
	}
	out := make(map[string]quota.Usage, d.Len())
	for _, it := range d.Items() {
		name, ok := starlark.AsString(it[0])
		if !ok {
			return nil, fmt.Errorf("want a limit name, got %s", it[0])
		}
		if _, ok := p.lim.byName[name]; !ok {
			msg := fmt.Sprintf("no limit %q is declared", name)
			if s := suggest(name, sortedKeys(p.lim.byName)); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			return nil, errors.New(msg)
		}
		fields, ok := it[1].(*starlark.Dict)
		if !ok {
			return nil, fmt.Errorf("%s: want a dict {requests, tokens, usd, in_flight}, got %s", name, it[1].Type())
		}
		var u quota.Usage
		for _, f := range fields.Items() {
			k, _ := starlark.AsString(f[0])
			var dst *int64
			switch k {
			case "requests":
				dst = &u.Requests
			case "tokens":
				dst = &u.Tokens
			case "in_flight":
				dst = &u.InFlight
			case "usd":
				x, ok := starlark.AsFloat(f[1])
				if !ok || x < 0 || math.IsNaN(x) || x > 1e12 {
					return nil, fmt.Errorf("%s: usd must be a non-negative number, got %s", name, f[1])
				}
				u.USDMicros = int64(math.Round(x * 1e6))
				continue
			default:
				return nil, fmt.Errorf("%s: unknown field %s (want requests, tokens, usd or in_flight)", name, f[0])
			}
			if err := starlark.AsInt(f[1], dst); err != nil || *dst < 0 {
				return nil, fmt.Errorf("%s: %s must be a non-negative int, got %s", name, k, f[1])
			}
		}
		out[name] = u
	}
	return out, nil
}

// evalLimits checks req's charges against the usage an eval fakes (none:
// every counter at zero), as the gateway checks them before any upstream.
// The first enforced limit over a bound is the refusal; shadow ones over
// theirs are reported only.
func (p *Policy) evalLimits(req *Request, usage map[string]quota.Usage) (refused *quota.Refusal, would []quota.Refusal) {
	for _, c := range p.Charges(nil, req) {
		bound := c.Bounds.Over(usage[c.Limit], int64(req.InputTokensEstimate))
		if bound == "" {
			continue
		}
		r := quota.Refusal{Limit: c.Limit, Each: c.Each, Bound: bound, Shadow: c.Shadow}
		if !c.Shadow {
			return &r, would
		}
		would = append(would, r)
	}
	return nil, would
}

// LimitMessage is the message a client gets when limit r refuses its
// request: it names the limit and the bound.
func LimitMessage(r *quota.Refusal) string {
	what := map[string]string{
		quota.BoundRPM:         "requests per minute",
		quota.BoundTPM:         "tokens per minute",
		quota.BoundUSD:         "budget",
		quota.BoundConcurrency: "concurrent requests",
	}[r.Bound]
	who := ""
	if r.Each != "" {
		who = " for " + quoteLimitValue(r.Each)
	}
	return fmt.Sprintf("limit %q%s: %s exhausted", r.Limit, who, what)
}

// quoteLimitValue quotes a counter's each value for a message, cut short:
// it comes from the client.
func quoteLimitValue(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return fmt.Sprintf("%q", strings.ToValidUTF8(s, "?"))
}
