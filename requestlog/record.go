package requestlog

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/llmgw/llmgw/llm"
)

// Record is one client request as the gateway saw it, failures included.
// Record fields are stored as given; the gateway fills them in and must
// not change a Record after passing it to Writer.Record.
type Record struct {
	// Time is when the request arrived. Zero means when it is written.
	Time time.Time `json:"time"`
	// RequestID is the X-Request-Id the gateway returned.
	RequestID string `json:"request_id"`
	// Key is the client key's name (never its secret); "" when open.
	Key string `json:"key"`
	// Endpoint names the front door, e.g. "/v1/messages".
	Endpoint string `json:"endpoint"`
	// ProtocolIn is the client's wire protocol, ProtocolOut the upstream's
	// (an llm.Protocol value).
	ProtocolIn  string `json:"protocol_in"`
	ProtocolOut string `json:"protocol_out"`
	// Model is the model the client asked for, UpstreamModel the one sent
	// to Provider (the provider that served or last failed the request).
	// Both upstream fields are empty when no upstream was called: a
	// candidate the gateway refused before calling it (an attempt of class
	// "skip") served and failed nothing.
	Model         string `json:"model"`
	UpstreamModel string `json:"upstream_model"`
	Provider      string `json:"provider"`
	// Stream reports whether the client asked for a stream.
	Stream bool `json:"stream"`
	// Status is the HTTP status returned to the client; 0 when none was
	// (client gone before headers).
	Status int `json:"status"`
	// ErrorClass is why the request did not end in a clean answer, ""
	// when it did: bad_request, auth, capacity, policy, fail (a failure
	// the policy classed so), exhausted, stream (broken after it started),
	// client_cancelled, gateway or limited (the gateway defines them).
	// ErrorMessage is its redacted message.
	ErrorClass   string `json:"error_class"`
	ErrorMessage string `json:"error"`
	// Latency is the whole request; TTFT the time to the first byte of the
	// response body (0 when none was sent).
	Latency time.Duration `json:"latency_ns"`
	TTFT    time.Duration `json:"ttft_ns"`
	// Usage is the token usage; UsageEstimated reports that the provider
	// did not report it and the gateway estimated it.
	Usage          llm.Usage `json:"usage"`
	UsageEstimated bool      `json:"usage_estimated"`
	// CostMicros is the cost in micro-USD; nil means unpriced (stored as
	// NULL, never 0). PriceSource is "builtin", "policy" or "file".
	CostMicros  *int64 `json:"cost_micros"`
	PriceSource string `json:"price_source"`
	// PolicyHash identifies the policy version that decided the request.
	PolicyHash string `json:"policy_hash"`
	// StickyKey is the session key; Sticky is "hit", "miss" or "".
	StickyKey string `json:"sticky_key"`
	Sticky    string `json:"sticky"`
	// Notes are the policy's note() messages.
	Notes []string `json:"notes"`
	// Features are the routing inputs for replay (the engine request as
	// JSON), never content. Nil is stored as NULL.
	Features json.RawMessage `json:"features"`
	// Attempts are the upstream attempts in order.
	Attempts []Attempt `json:"attempts"`
	// Limit names the policy limit() that refused the request (status
	// 429, error class limited); "" when none did. WouldRefuse names the
	// shadow limits the request went over: it was served, and they count
	// it as a refusal they would have made.
	Limit       string   `json:"limit,omitempty"`
	WouldRefuse []string `json:"would_refuse,omitempty"`
}

// Attempt is one upstream call made for a request.
type Attempt struct {
	// N numbers the attempts of a request from 1.
	N        int    `json:"n"`
	Provider string `json:"provider"`
	Model    string `json:"model"`
	// Status is the upstream HTTP status, 0 when there was none.
	Status int `json:"status"`
	// Class is what the walk did after the attempt, "" when it answered:
	// retry, failover, cooldown or fail (the policy's class of the
	// failure), skip (a candidate that cannot serve the request: nothing
	// was sent) or cancelled (the client went away); route.Action defines
	// them. Error is the failure's redacted message.
	Class string `json:"class"`
	Error string `json:"error"`
	// Latency is the attempt's duration.
	Latency time.Duration `json:"latency_ns"`
	// FirstByte reports whether response bytes reached the client during
	// this attempt (after which no failover is possible).
	FirstByte bool `json:"first_byte"`
}

// jsonColumns encodes r's JSON-valued columns, "" where r has none (the
// column is then NULL or empty): the policy's notes, the decision's
// features (a marker of their size when over MaxFeaturesBytes) and the
// shadow limits that would have refused it. Both engines store the same.
func (r *Record) jsonColumns() (notes, features, wouldRefuse string) {
	if len(r.Notes) > 0 {
		b, _ := json.Marshal(r.Notes) // a []string always marshals
		notes = string(b)
	}
	if n := len(r.Features); n > MaxFeaturesBytes {
		features = `{"complete":false,"truncated_bytes":` + strconv.Itoa(n) + `}`
	} else if n > 0 {
		features = string(r.Features)
	}
	if len(r.WouldRefuse) > 0 {
		b, _ := json.Marshal(r.WouldRefuse) // a []string always marshals
		wouldRefuse = string(b)
	}
	return notes, features, wouldRefuse
}
