package llm

import (
	"errors"
	"fmt"
	"time"
)

// ErrorType is the neutral category of an error, from which each protocol
// derives its own type string and HTTP status: an overloaded upstream is
// overloaded_error to an Anthropic client, service_unavailable_error to an
// OpenAI one and UNAVAILABLE to a Gemini one.
type ErrorType string

// Error types.
const (
	ErrInvalidRequest ErrorType = "invalid_request" // 400
	ErrAuthentication ErrorType = "authentication"  // 401
	ErrPermission     ErrorType = "permission"      // 403
	ErrNotFound       ErrorType = "not_found"       // 404
	ErrTooLarge       ErrorType = "request_too_large"
	ErrRateLimit      ErrorType = "rate_limit" // 429
	ErrAPI            ErrorType = "api_error"  // 500
	ErrOverloaded     ErrorType = "overloaded" // 529 / 503
	ErrTimeout        ErrorType = "timeout"    // 504
)

// Error is an error with enough structure to render in any protocol's
// shape. Message is safe to show to the client.
type Error struct {
	Status  int       // HTTP status
	Type    ErrorType // neutral category
	Message string
	// Code is a protocol-specific code when one is known
	// ("context_length_exceeded", "model_not_found").
	Code string
	// Param names the offending request field, when known.
	Param string
}

func (e *Error) Error() string { return fmt.Sprintf("%s (%d): %s", e.Type, e.Status, e.Message) }

// Errorf returns an *Error with a formatted message.
func Errorf(status int, typ ErrorType, format string, args ...any) *Error {
	return &Error{Status: status, Type: typ, Message: fmt.Sprintf(format, args...)}
}

// TypeForStatus maps an HTTP status onto a neutral error type.
func TypeForStatus(status int) ErrorType {
	switch {
	case status == 400 || status == 422:
		return ErrInvalidRequest
	case status == 401:
		return ErrAuthentication
	case status == 403:
		return ErrPermission
	case status == 404:
		return ErrNotFound
	case status == 413:
		return ErrTooLarge
	case status == 429:
		return ErrRateLimit
	case status == 503 || status == 529:
		return ErrOverloaded
	case status == 504:
		return ErrTimeout
	case status >= 500:
		return ErrAPI
	}
	return ErrInvalidRequest
}

// UpstreamError is a failure reported by, or on the way to, an upstream
// provider. Kind follows the policy's err.kind: "http", "timeout",
// "connect" or "stream".
type UpstreamError struct {
	Provider   string
	Kind       string
	Status     int           // 0 when no HTTP status was received
	RetryAfter time.Duration // from retry-after / retry-after-ms, 0 when absent
	Type       string        // the provider's error type, when its body said
	Message    string        // the provider's error message, when its body said
	Body       []byte        // the upstream's error body, for returning as is
	Err        error         // the underlying cause
}

func (e *UpstreamError) Error() string {
	switch {
	case e.Status != 0:
		return fmt.Sprintf("upstream %s: %s %d: %s", e.Provider, e.Kind, e.Status, e.Message)
	case e.Err != nil:
		return fmt.Sprintf("upstream %s: %s: %v", e.Provider, e.Kind, e.Err)
	}
	return fmt.Sprintf("upstream %s: %s", e.Provider, e.Kind)
}

func (e *UpstreamError) Unwrap() error { return e.Err }

// ErrUnsupported is wrapped by converters when a request uses a feature the
// target protocol cannot express and dropping it would change the meaning.
var ErrUnsupported = errors.New("unsupported by target protocol")
