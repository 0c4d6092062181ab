package engine

import (
	"fmt"
	"time"

	"go.starlark.net/starlark"

	"github.com/llmgw/llmgw/route"
)

// The actions a Class can carry; route owns them (its walk acts on them),
// and the request log stores them as attempt classes.
const (
	ActionRetry    = route.Retry    // try the same provider once more (a second retry becomes a failover)
	ActionFailover = route.Failover // try the next candidate
	ActionFail     = route.Fail     // return the error to the client, no failover
	ActionCooldown = route.Cooldown // cool the provider down for Class.Cooldown, then fail over
)

// DefaultCooldown is how long a 429 cools a provider down when the
// upstream sent no Retry-After (route.DefaultCooldown: the walk applies
// the same to any cooldown without a duration).
const DefaultCooldown = route.DefaultCooldown

// ErrorInfo describes one failed upstream attempt: what classify(err, ctx)
// sees as err.
type ErrorInfo struct {
	Status        int           // HTTP status; 0 when there was none
	Kind          string        // http, timeout, connect, stream, or misconfigured (a non-API 404: the endpoint is missing)
	Type          string        // error type from the provider's error body
	Message       string        // error message from the provider's error body
	Provider      string        // the provider that failed
	Model         string        // the upstream model of the attempt
	RetryAfter    time.Duration // the upstream's Retry-After; 0 when absent
	Attempt       int           // 1 for the first attempt of the request
	FirstByteSent bool          // part of the response already reached the client
}

// Class is what to do about a failure: route's, which the walk acts on.
type Class = route.Class

// DefaultClass is the contract's classification, used when a policy has no
// classify hook or returns default_class(err):
//
//   - 401 and 403: fail over and mark the provider failed;
//   - 429: cool down for Retry-After (or DefaultCooldown) and fail over;
//   - 503 and 529: retry once (the caller turns a second retry into a
//     failover);
//   - 500, 502, 504, other 5xx, timeouts, connection and stream errors,
//     and a 404 that is no API's error (misconfigured: a wrong base_url):
//     fail over and mark the provider failed;
//   - other 4xx: fail, returning the error to the client as is.
//
// Once the first byte went to the client nothing can be retried: the
// action becomes ActionFail (MarkFailed is kept).
func DefaultClass(ei ErrorInfo) Class {
	c := defaultClass(ei)
	if ei.FirstByteSent {
		c.Action, c.Cooldown = ActionFail, 0
	}
	return c
}

func defaultClass(ei ErrorInfo) Class {
	switch ei.Kind {
	case "timeout", "connect", "stream", "misconfigured":
		return Class{Action: ActionFailover, MarkFailed: true}
	}
	switch s := ei.Status; {
	case s == 401 || s == 403:
		return Class{Action: ActionFailover, MarkFailed: true}
	case s == 429:
		d := ei.RetryAfter
		if d <= 0 {
			d = DefaultCooldown
		}
		return Class{Action: ActionCooldown, Cooldown: d}
	case s == 503 || s == 529:
		return Class{Action: ActionRetry}
	case s >= 400 && s < 500:
		return Class{Action: ActionFail}
	}
	return Class{Action: ActionFailover, MarkFailed: true}
}

// classValue is a Class as Starlark sees it: the result of cooldown(s) or
// default_class(err).
type classValue struct{ c Class }

var _ starlark.HasAttrs = classValue{}

func (v classValue) String() string        { return v.c.String() }
func (v classValue) Type() string          { return "class" }
func (v classValue) Freeze()               {}
func (v classValue) Truth() starlark.Bool  { return true }
func (v classValue) Hash() (uint32, error) { return starlark.String(v.c.String()).Hash() }
func (v classValue) AttrNames() []string   { return []string{"action", "cooldown", "mark_failed"} }

func (v classValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "action":
		return starlark.String(string(v.c.Action)), nil
	case "cooldown":
		return starlark.Float(v.c.Cooldown.Seconds()), nil
	case "mark_failed":
		return starlark.Bool(v.c.MarkFailed), nil
	}
	return nil, nil
}

// toClass converts what classify returned.
func toClass(v starlark.Value, ei ErrorInfo) (Class, error) {
	switch v := v.(type) {
	case starlark.NoneType:
		return DefaultClass(ei), nil
	case classValue:
		return v.c, nil
	case starlark.String:
		switch a := route.Action(v); a {
		case ActionRetry, ActionFailover, ActionFail:
			return Class{Action: a}, nil
		case ActionCooldown:
			return Class{Action: ActionCooldown, Cooldown: DefaultCooldown}, nil
		}
		return Class{}, fmt.Errorf("classify returned %s, want \"retry\", \"failover\", \"fail\", cooldown(seconds) or default_class(err)", v)
	}
	return Class{}, fmt.Errorf("classify returned %s, want \"retry\", \"failover\", \"fail\", cooldown(seconds) or default_class(err)", v.Type())
}
