package engine

import (
	"fmt"
	"time"

	"go.starlark.net/starlark"
)

// Refusal is a request route() refused on purpose with refuse(status,
// message, retry_after): the gateway answers the client with that status
// and message, in its own protocol's error shape, instead of a 503 (which
// SDKs retry, and which says nothing about why).
type Refusal struct {
	Status  int    `json:"status"` // 400, 403, 404 or 429
	Message string `json:"message"`
	// RetryAfter is sent as Retry-After (whole seconds, rounded up); 0
	// sends none.
	RetryAfter time.Duration `json:"retry_after,omitempty"`
}

// refusalStatuses are the statuses refuse() may send: a client error the
// client should not retry as is (400, 403, 404) or should retry later
// (429). A 5xx would blame the gateway or a provider for a policy's
// choice.
var refusalStatuses = map[int]bool{400: true, 403: true, 404: true, 429: true}

// maxRefusalMessage bounds a refusal's message, which goes to the client.
const maxRefusalMessage = 1024

// refusalValue is what refuse(...) returns, for route to return.
type refusalValue struct{ r Refusal }

func (v refusalValue) String() string {
	return fmt.Sprintf("refuse(%d, %q)", v.r.Status, v.r.Message)
}
func (v refusalValue) Type() string          { return "refusal" }
func (v refusalValue) Freeze()               {}
func (v refusalValue) Truth() starlark.Bool  { return true }
func (v refusalValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: refusal") }

func refuseBuiltin(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var status int
	var message string
	var retryAfter starlark.Value = starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "status", &status, "message", &message, "retry_after?", &retryAfter); err != nil {
		return nil, err
	}
	if !refusalStatuses[status] {
		return nil, fmt.Errorf("%s: status %d: want 400, 403, 404 or 429 (return [] for a 503)", b.Name(), status)
	}
	if message == "" {
		return nil, fmt.Errorf("%s: message must not be empty: it is what the client is told", b.Name())
	}
	if len(message) > maxRefusalMessage {
		message = message[:maxRefusalMessage]
	}
	ra, err := seconds(retryAfter)
	if err != nil {
		return nil, fmt.Errorf("%s: retry_after: %w", b.Name(), err)
	}
	return refusalValue{Refusal{Status: status, Message: message, RetryAfter: ra}}, nil
}
