package engine

import (
	"context"
	"fmt"

	"go.starlark.net/starlark"

	"github.com/llmgw/llmgw/route"
)

// maxCandidates caps what route may return.
const maxCandidates = 64

// Decide runs the policy for one request: sticky_key (or the default,
// DefaultStickyKey), the sticky lookup in env, then route. Candidates come
// back in policy order; route.Order turns them into the failover order.
// A policy fault is a *HookError carrying the file:line.
func (p *Policy) Decide(ctx context.Context, req *Request, env Env) (*Decision, error) {
	if env.Now.IsZero() {
		env.Now = p.limits.now()
	}
	d := &Decision{}
	rv := &reqValue{r: req}
	cv := &ctxValue{env: &env, known: p.byName, lim: &p.lim, req: req}
	thread := newThread(env.Now, &d.Notes)
	if p.stickyKey != nil {
		v, err := p.call(ctx, thread, "sticky_key", p.stickyKey, rv, cv)
		if err != nil {
			return nil, err
		}
		switch v := v.(type) {
		case starlark.NoneType:
		case starlark.String:
			d.StickyKey = string(v)
		default:
			return nil, &HookError{Hook: "sticky_key", Pos: p.stickyKey.Position().String(),
				Err: fmt.Errorf("returned %s, want a string or None", v.Type())}
		}
	} else {
		d.StickyKey, d.StickyDefault = DefaultStickyKey(req), true
	}
	if d.StickyKey != "" && env.Sticky != nil {
		d.Sticky = env.Sticky(d.StickyKey)
	}
	cv.sticky = d.Sticky
	v, err := p.call(ctx, thread, "route", p.route, rv, cv)
	if err != nil {
		return nil, err
	}
	if v == starlark.None {
		// A path without a return (or a bare return) gives None. It is
		// a forgotten return far more often than a refusal, and a
		// refusal that looks deliberate hides it: refusing is spelled
		// return [].
		return nil, &HookError{Hook: "route", Pos: p.route.Position().String(),
			Err: fmt.Errorf("returned None (a path without a return?); return [] to refuse the request on purpose")}
	}
	if r, ok := v.(refusalValue); ok {
		d.Refusal = &r.r
		return d, nil
	}
	if d.Candidates, err = p.candidates(v); err != nil {
		return nil, &HookError{Hook: "route", Pos: p.route.Position().String(), Err: err}
	}
	return d, nil
}

// DefaultStickyKey is the sticky key when a policy has no sticky_key hook:
// the client key name and the session ("team-a:abc"), the key alone when
// there is no session, the session alone on an open gateway, "" (no
// stickiness) when there is neither.
func DefaultStickyKey(req *Request) string {
	switch {
	case req.Session == "":
		return req.Key
	case req.Key == "":
		return req.Session
	}
	return req.Key + ":" + req.Session
}

// candidates converts what route returned: a provider, a target, an
// empty list (no candidates), or a list or tuple of providers and targets.
// (Decide refuses None before.)
func (p *Policy) candidates(v starlark.Value) ([]route.Candidate, error) {
	switch v := v.(type) {
	case starlark.NoneType:
		return nil, nil
	case *providerValue, targetValue:
		c, err := p.candidate(v)
		if err != nil {
			return nil, err
		}
		return []route.Candidate{c}, nil
	case starlark.Indexable:
		if _, ok := v.(starlark.String); ok {
			break
		}
		if v.Len() == 0 {
			return nil, nil
		}
		if v.Len() > maxCandidates {
			return nil, fmt.Errorf("returned %d candidates, at most %d allowed", v.Len(), maxCandidates)
		}
		out := make([]route.Candidate, 0, v.Len())
		for i := range v.Len() {
			c, err := p.candidate(v.Index(i))
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			out = append(out, c)
		}
		return out, nil
	}
	return nil, fmt.Errorf("returned %s, want a provider, a target, a list of them or refuse(...)", v.Type())
}

func (p *Policy) candidate(v starlark.Value) (route.Candidate, error) {
	var t targetValue
	switch v := v.(type) {
	case *providerValue:
		t = targetValue{prov: v}
	case targetValue:
		t = v
	default:
		return route.Candidate{}, fmt.Errorf("got %s, want a provider or a target", v.Type())
	}
	if _, ok := p.byName[t.prov.p.Name]; !ok {
		return route.Candidate{}, fmt.Errorf("provider %q is not declared by this policy", t.prov.p.Name)
	}
	return route.Candidate{
		Provider: t.prov.p.Name,
		Model:    t.model,
		Priority: t.candidatePriority(),
		Weight:   t.candidateWeight(),
	}, nil
}

// Classify runs the policy's classify hook for a failed attempt, or
// DefaultClass when there is none (or it returns None). Whatever the hook
// returns, a failure after the first byte reached the client is never
// retried: the action becomes ActionFail.
func (p *Policy) Classify(ctx context.Context, ei ErrorInfo, env Env) (Class, error) {
	if p.classify == nil {
		return DefaultClass(ei), nil
	}
	if env.Now.IsZero() {
		env.Now = p.limits.now()
	}
	v, err := p.call(ctx, newThread(env.Now, nil), "classify", p.classify, errValue{&ei}, &ctxValue{env: &env, known: p.byName, lim: &p.lim})
	if err != nil {
		return Class{}, err
	}
	c, err := toClass(v, ei)
	if err != nil {
		return Class{}, &HookError{Hook: "classify", Pos: p.classify.Position().String(), Err: err}
	}
	if ei.FirstByteSent && c.Action != ActionFail {
		c.Action, c.Cooldown = ActionFail, 0
	}
	return c, nil
}
