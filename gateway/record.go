package gateway

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/pricing"
	"github.com/llmgw/llmgw/requestlog"
	"github.com/llmgw/llmgw/route"
)

// errorClass says why a request did not end in a clean answer; the
// request log stores it as the row's error_class ("" for a clean answer),
// where stats and the dashboard group errors by it.
type errorClass string

// The error classes of a request.
const (
	// errBadRequest: the request was refused as malformed (bad JSON, too
	// large, an unknown path, an image that cannot be fetched, a
	// conversion no candidate can make without losing state).
	errBadRequest errorClass = "bad_request"
	// errAuth: the client key was missing or wrong.
	errAuth errorClass = "auth"
	// errCapacity: llmgw was at its concurrency limit.
	errCapacity errorClass = "capacity"
	// errPolicy: the policy failed, or routed the request nowhere.
	errPolicy errorClass = "policy"
	// errRefused: the policy's route() refused the request with
	// refuse(status, message).
	errRefused errorClass = "refused"
	// errLimited: a limit() of the policy refused the request (429).
	errLimited errorClass = "limited"
	// errFail: a provider's failure the policy classed "fail", returned to
	// the client.
	errFail errorClass = "fail"
	// errExhausted: every candidate failed (or the attempt cap was hit).
	errExhausted errorClass = "exhausted"
	// errStream: a stream broke after it started; the client got its
	// protocol's error event (no failover after the first byte).
	errStream errorClass = "stream"
	// errClientCancelled: the client went away before the answer ended.
	errClientCancelled errorClass = "client_cancelled"
	// errGateway: llmgw's own fault.
	errGateway errorClass = "gateway"
)

// finish logs the request: one log row (with its attempts), metrics and a
// structured log line. It runs for every request, rejected ones included.
func (x *exchange) finish() {
	if x.shared != nil {
		defer x.shared.release() // the exchange's reference: x.body is not read after this
	}
	if x.status == 0 {
		x.status = http.StatusOK
		if !x.committed {
			x.status = 499 // the client went away before an answer
		}
	}
	latency := time.Since(x.start)
	provider, upModel := calledUpstream(x.attempts, x.provider, x.upModel)
	estimated := false
	if !x.usageKnown && x.status < 400 && x.ep.op == opGenerate {
		// The provider reported no usage: estimate (about 4 bytes a token)
		// and say so in the row.
		x.usage = llm.Usage{InputTokens: int64(len(x.body) / 4), OutputTokens: int64(x.outBytes / 4)}
		estimated = true
	}
	rec := &requestlog.Record{
		Time:           x.start,
		RequestID:      x.id,
		Key:            x.key,
		Endpoint:       x.ep.name,
		ProtocolIn:     string(x.ep.proto),
		ProtocolOut:    string(x.protoOut),
		UpstreamModel:  upModel,
		Provider:       provider,
		Status:         x.status,
		ErrorClass:     string(x.errClass),
		ErrorMessage:   x.errMsg,
		Latency:        latency,
		TTFT:           x.ttft,
		Usage:          x.usage,
		UsageEstimated: estimated,
		Attempts:       x.attempts,
	}
	if x.feat != nil {
		rec.Model, rec.Stream = x.feat.Model, x.feat.Stream
		// Every input a policy can read, for replay: the routing
		// features with the headers (credentials already redacted),
		// metadata, session and key; never content.
		rec.Features, _ = json.Marshal(engine.LoggedInputs{Request: *x.feat, Complete: true})
	}
	if x.pol != nil {
		rec.PolicyHash = x.pol.Hash
	}
	if x.dec != nil {
		rec.StickyKey = x.dec.StickyKey
		rec.Notes = x.dec.Notes
		if x.dec.StickyKey != "" {
			rec.Sticky = "miss"
			if x.stickyHit {
				rec.Sticky = "hit"
			}
		}
	}
	var cost pricing.Micros
	priced := false
	free := false
	if x.pol != nil && x.status < 400 {
		prov, ok := x.pol.Provider(provider)
		free = ok && pricing.FreeKind(prov.Kind)
	}
	if free {
		// In-process (demo) answers cost nothing, whatever model they name.
		priced = true
		c := int64(0)
		rec.CostMicros, rec.PriceSource = &c, pricing.SourceFree
	} else if x.pol != nil && rec.UpstreamModel != "" && x.status < 400 {
		var src string
		cost, src, priced = x.pol.PriceTable().Cost(rec.UpstreamModel, x.usage)
		if !priced && rec.Model != rec.UpstreamModel {
			cost, src, priced = x.pol.PriceTable().Cost(rec.Model, x.usage)
		}
		if priced {
			c := int64(cost)
			rec.CostMicros, rec.PriceSource = &c, src
		}
	}
	x.settleLimits(int64(cost))
	if x.lim.refused != nil {
		rec.Limit = x.lim.refused.Limit
	}
	for _, r := range x.lim.would {
		rec.WouldRefuse = append(rec.WouldRefuse, r.Limit)
	}
	if x.tr != nil {
		x.endTrace(rec)
	}
	if x.s.cfg.Log != nil {
		x.s.cfg.Log.Record(rec)
	}
	if m := x.s.cfg.Metrics; m != nil {
		m.Request(string(x.ep.proto), provider, rec.Model, x.status, latency, x.ttft, x.usage, int64(cost), priced)
		if x.status < 400 && provider != "" {
			m.Attempt(provider, "ok")
		}
	}
	// The request log in SQLite is the access log; the structured log gets
	// a line per request only at debug level (a write per request to
	// stderr costs more than the rest of the logging), and for server-side
	// failures, which an operator must see.
	level := zerolog.DebugLevel
	if x.status >= 500 {
		level = zerolog.WarnLevel
	}
	if x.s.cfg.Logger.GetLevel() > level {
		return // before the request's logger is built: it costs an allocation
	}
	ev := x.logger().WithLevel(level)
	ev.Str("key", x.key).Str("model", rec.Model).Str("provider", provider).Int("status", x.status).
		Int("attempts", len(x.attempts)).Dur("latency", latency).Dur("ttft", x.ttft).
		Int64("input_tokens", x.usage.InputTokens).Int64("output_tokens", x.usage.OutputTokens).
		Str("error_class", rec.ErrorClass).Msg("request")
}

// calledUpstream returns the provider and upstream model of the request's
// last attempt that called an upstream: the exchange's own (those of its
// last attempt) unless that attempt was skipped, "" when every attempt
// was. A skipped candidate (class "skip": the gateway could not express
// the request in its protocol and refused it before any call) neither
// served nor failed the request, so the log, the metrics and the stats
// never count it against that provider.
func calledUpstream(attempts []requestlog.Attempt, provider, model string) (string, string) {
	for i := len(attempts) - 1; i >= 0; i-- {
		if attempts[i].Class == string(route.Skip) {
			continue
		}
		if i == len(attempts)-1 {
			return provider, model
		}
		return attempts[i].Provider, attempts[i].Model
	}
	if len(attempts) > 0 {
		return "", ""
	}
	return provider, model
}

// countLocally answers a token-counting request for a provider that has no
// counting endpoint with an estimate (about 4 bytes a token).
func (x *exchange) countLocally() relayed {
	x.setRouteHeaders()
	h := x.w.Header()
	h.Set("X-LLMGW-Estimated", "true")
	h.Set("Content-Type", "application/json")
	x.w.WriteHeader(http.StatusOK)
	_, _ = x.w.Write(x.ca.CountEstimate(len(x.body) / 4))
	x.committed = true
	return relayed{status: http.StatusOK}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"message":"encoding failed"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
