package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/health"
	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/requestlog"
	"github.com/llmgw/llmgw/route"
	"github.com/llmgw/llmgw/sse"
)

// maxErrorBody bounds how much of an upstream error body is read.
const maxErrorBody = 1 << 20

// failure is one failed attempt.
type failure struct {
	err  *llm.UpstreamError
	hdr  http.Header
	prov engine.Provider
	up   llm.Protocol
	// final is a gateway-side refusal for this candidate (a request the
	// provider's protocol cannot express): not the provider's fault.
	// class is the refusal's error class, "" when it has none of its own.
	final *HTTPError
	class errorClass
	// done reports the attempt's outcome to the health tracker, once the
	// failure has been classified.
	done func(health.Outcome)
	lat  time.Duration
}

// relayed is what an attempt that answered the client relayed; the
// attempt folds it into the exchange (the request's log row) and tells
// the provider's health.
type relayed struct {
	status     int // the HTTP status sent to the client
	usage      llm.Usage
	usageKnown bool          // the provider reported usage
	ttfb       time.Duration // from the request's arrival to the first byte of the body; 0 when none
	bytes      int           // body bytes relayed
	// streamErr is why a started stream broke ("" when it did not): the
	// client got its protocol's error event, and the provider is marked
	// failed. There is no failover after the first byte.
	streamErr string
	// clientGone reports that the client went away during the relay: not
	// the provider's fault.
	clientGone bool
}

// walk tries the candidates in order until one answers: route.Walk
// decides (retry, failover, cooldown, fail, the retry pause, the attempt
// cap), the exchange makes each attempt over HTTP as its route.Driver.
// eval drives the same walk with simulated outcomes.
func (x *exchange) walk(order []route.Candidate) error {
	ctx, cancel := context.WithCancelCause(x.r.Context())
	defer cancel(nil)
	deadline := time.AfterFunc(x.s.cfg.RequestTimeout, func() { cancel(context.DeadlineExceeded) })
	defer deadline.Stop()

	// The driver lives in the exchange: one allocation fewer per request.
	x.walker = liveWalk{x: x, deadline: deadline}
	lw := &x.walker
	w := route.Walk(ctx, order, x.s.cfg.MaxAttempts, lw)
	switch w.End {
	case route.EndServed:
		return nil
	case route.EndFailed:
		x.errClass = errFail
		return x.passError(lw.cur)
	case route.EndStopped:
		if lw.cancelled {
			return nil // the client is gone: finish logs the 499
		}
	case route.EndCapped:
		return x.allFailed(lw.last, lw.skipped, fmt.Sprintf("gave up after %d attempts", w.Attempts))
	}
	return x.allFailed(lw.last, lw.skipped, "")
}

// liveWalk is the gateway's route.Driver: real attempts over HTTP, the
// policy's classify, the provider's health told of each outcome.
type liveWalk struct {
	x        *exchange
	deadline *time.Timer
	cur      *failure // the failure of the attempt being classified
	// last is the last failure of a provider; skipped the last candidate
	// skipped (one that cannot serve the request). A skip after a real
	// failure does not hide it.
	last, skipped *failure
	cancelled     bool // the client went away during an attempt
}

func (lw *liveWalk) Attempt(ctx context.Context, c route.Candidate, _ int) route.Outcome {
	x := lw.x
	prov, ok := x.pol.Provider(c.Provider)
	if !ok {
		// Decide returns declared providers only: unreachable, but a
		// candidate nobody declared is one nobody can serve.
		x.attempts = append(x.attempts, requestlog.Attempt{N: len(x.attempts) + 1, Provider: c.Provider, Error: "provider not declared"})
		return route.Skipped
	}
	f := x.attempt(ctx, lw.deadline, c, prov)
	switch {
	case f == nil:
		return route.Served
	case f.final != nil:
		lw.skipped = f
		return route.Skipped
	}
	lw.cur, lw.last = f, f
	if x.committed {
		// The client already has its protocol's error event.
		f.done(health.Outcome{Err: true, Latency: f.lat, Reason: f.err.Error(), MarkFailed: true})
		return route.Served
	}
	if x.r.Context().Err() != nil {
		// The client hung up: the failure is its own, not the provider's,
		// and nobody is left to fail over for.
		f.done(health.Outcome{Cancelled: true})
		x.attempts[len(x.attempts)-1].Class = string(route.Cancelled)
		x.status, x.errClass, x.errMsg = statusClientClosed, errClientCancelled, "client disconnected"
		lw.cancelled = true
		return route.Stopped
	}
	return route.Failed
}

func (lw *liveWalk) Classify(ctx context.Context, _ route.Candidate, _ int) route.Class {
	return lw.x.classify(ctx, lw.cur)
}

func (lw *liveWalk) Settled(c route.Candidate, n int, class route.Class) {
	x := lw.x
	a := &x.attempts[n-1]
	a.Class = string(class.Action)
	if class.Action == route.Skip {
		return // nothing was sent: the provider's health has nothing to learn
	}
	f := lw.cur
	out := health.Outcome{Err: true, Latency: f.lat, Reason: f.err.Error(), MarkFailed: class.MarkFailed}
	if class.Action == route.Cooldown {
		out.Cooldown = class.Cooldown
	}
	f.done(out)
	if class.Action != route.Fail && class.Action != route.Retry && x.s.cfg.Metrics != nil {
		x.s.cfg.Metrics.Failover(c.Provider, "")
	}
}

func (lw *liveWalk) Wait(ctx context.Context, d time.Duration) bool { return sleepCtx(ctx, d) }

// classify asks the policy what to do about a failure; a hook fault is
// logged and the default class used.
func (x *exchange) classify(ctx context.Context, f *failure) engine.Class {
	ei := engine.ErrorInfo{
		Status:     f.err.Status,
		Kind:       f.err.Kind,
		Type:       f.err.Type,
		Message:    f.err.Message,
		Provider:   f.prov.Name,
		Model:      x.upModel,
		RetryAfter: f.err.RetryAfter,
		Attempt:    len(x.attempts),
	}
	start := time.Now()
	class, err := x.pol.Classify(ctx, ei, x.s.env(x.pol))
	if x.s.cfg.Metrics != nil {
		x.s.cfg.Metrics.HookLatency("classify", time.Since(start))
	}
	if err != nil {
		x.logger().Error().Err(err).Msg("classify hook failed; using the default class")
		if x.s.cfg.Metrics != nil {
			x.s.cfg.Metrics.HookError("classify")
		}
		class = engine.DefaultClass(ei)
	}
	return class
}

// attempt makes one upstream attempt. It returns nil when the response was
// relayed to the client (successfully, or with an error after the first
// byte), and the failure otherwise.
func (x *exchange) attempt(ctx context.Context, deadline *time.Timer, c route.Candidate, prov engine.Provider) *failure {
	up := x.s.upstreamProtocol(prov.Kind, x.ep.proto)
	x.provider, x.protoOut = prov.Name, up
	x.upModel = upstreamModel(c, prov, x.feat.Model)
	n := len(x.attempts) + 1
	x.attempts = append(x.attempts, requestlog.Attempt{N: n, Provider: prov.Name, Model: x.upModel})
	a := &x.attempts[n-1]
	if x.tr != nil {
		x.tr.startAttempt(x, n, prov.Name, prov.Kind, x.upModel)
	}
	start := time.Now()
	done := x.s.health.Begin(prov.Name)

	res, f := x.send(ctx, deadline, c, prov, up)
	lat := time.Since(start)
	a.Latency = lat
	if f == nil {
		x.status, x.ttft, x.outBytes = res.status, res.ttfb, res.bytes
		x.usage, x.usageKnown = res.usage, res.usageKnown
		a.Status = res.status
		a.FirstByte = true
		switch {
		case res.clientGone:
			x.errClass, x.errMsg = errClientCancelled, "client disconnected"
			done(health.Outcome{Latency: lat})
		case res.streamErr != "":
			// The stream broke after it started: no failover, but the
			// provider's health learns of it.
			a.Error = res.streamErr
			x.errClass, x.errMsg = errStream, res.streamErr
			done(health.Outcome{Err: true, Latency: lat, Reason: res.streamErr, MarkFailed: true})
		default:
			done(health.Outcome{Latency: lat})
		}
		if x.dec.StickyKey != "" {
			if x.dec.Sticky == prov.Name {
				x.stickyHit = true
				x.s.sticky.Touch(x.dec.StickyKey)
			} else {
				x.s.sticky.Bind(x.dec.StickyKey, prov.Name)
			}
		}
		return nil
	}
	if f.final != nil {
		a.Status, a.Class, a.Error = f.final.Status, string(route.Skip), f.final.Message
		// Refused before any call: the provider did nothing to count
		// (Cancelled counts toward nothing and only ends the attempt).
		done(health.Outcome{Cancelled: true})
		return f
	}
	a.Status, a.Error = f.err.Status, f.err.Error()
	if x.tr != nil {
		x.tr.failed(f.err.Kind)
	}
	a.FirstByte = x.committed
	f.done, f.lat = done, lat
	if x.s.cfg.Metrics != nil {
		x.s.cfg.Metrics.Attempt(prov.Name, "error")
	}
	x.logger().Info().Str("provider", prov.Name).Int("status", f.err.Status).Str("kind", f.err.Kind).Msg("upstream attempt failed")
	return f
}

// upstreamModel is the model name sent upstream: the candidate's override,
// else the provider's models mapping, else what the client asked for.
func upstreamModel(c route.Candidate, p engine.Provider, requested string) string {
	if c.Model != "" {
		return c.Model
	}
	if m, ok := p.Models[requested]; ok && m != "" {
		return m
	}
	return requested
}

// send builds, sends and (on success) relays one attempt: it returns
// what was relayed, or the failure.
func (x *exchange) send(ctx context.Context, deadline *time.Timer, c route.Candidate, prov engine.Provider, up llm.Protocol) (relayed, *failure) {
	fail := func(kind string, status int, err error) (relayed, *failure) {
		return relayed{}, &failure{prov: prov, up: up, err: &llm.UpstreamError{Provider: prov.Name, Kind: kind, Status: status, Err: err, Message: errString(err)}}
	}
	ua := x.s.adapter(up)
	body, warnings, err := x.upstreamBody(ctx, prov, up, ua)
	x.warnings = warnings // this attempt's: the header describes the answer it relays
	if err != nil {
		he := asHTTPError(err)
		var class errorClass
		switch {
		case he.Status >= 500:
			he = &HTTPError{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Message: err.Error(), Err: err}
		case ctx.Err() == nil:
			class = errBadRequest // the request itself cannot go to this candidate
		}
		return relayed{}, &failure{prov: prov, up: up, final: he, class: class}
	}
	if x.ep.op != opGenerate && up != x.ep.proto {
		if x.ep.op == opCountTokens {
			return x.countLocally(), nil
		}
		return relayed{}, &failure{prov: prov, up: up, final: errorf(http.StatusBadRequest,
			"provider %s (kind %s) cannot serve %s requests", prov.Name, prov.Kind, x.ep.name)}
	}
	stream := x.feat.Stream && x.ep.op == opGenerate
	url := ua.URL(baseURL(prov, ua), x.ep.op, x.upModel, stream)
	if up == x.ep.proto {
		url = withClientQuery(url, x.r, ua)
	}
	// An upstream that never answers a stream would hold the client until
	// the request timeout: unless the provider sets its own timeout, a
	// stream's response headers must come within StreamHeaderTimeout, past
	// which the attempt is a timeout and the walk fails over.
	var headerTimer *time.Timer
	if stream && prov.Timeout <= 0 {
		actx, cancelAttempt := context.WithCancelCause(ctx)
		defer cancelAttempt(nil) // the stream is relayed before send returns
		ctx = actx
		headerTimer = time.AfterFunc(x.s.cfg.StreamHeaderTimeout, func() { cancelAttempt(errHeaderTimeout) })
	}
	hreq, err := newUpstreamRequest(ctx, url, body, x.shared)
	if err != nil {
		return fail("connect", 0, err)
	}
	if up == x.ep.proto {
		forwardHeaders(hreq.Header, x.r.Header, ua)
	}
	if err := x.authorize(ctx, hreq, prov, ua); err != nil {
		hreq.Body.Close() // never sent: let go of the body (RoundTrip would)
		return fail("auth", 0, err)
	}
	if stream {
		hreq.Header.Set("Accept", "text/event-stream")
	}
	if x.tr != nil {
		x.tr.inject(hreq.Header) // the attempt span is the upstream's parent
	}
	client, err := x.s.clients.get(prov)
	if err != nil {
		hreq.Body.Close()
		return fail("connect", 0, err)
	}
	resp, err := roundTrip(client, hreq)
	if err == nil && resp.StatusCode == http.StatusUnauthorized && prov.OAuth != "" && x.s.cfg.Tokens != nil {
		// An expired or revoked OAuth token: refresh once and try again.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		if _, ierr := x.s.cfg.Tokens.Invalidate(ctx, prov.OAuth); ierr == nil {
			hreq2, _ := newUpstreamRequest(ctx, url, body, x.shared)
			hreq2.Header = hreq.Header.Clone()
			if err = x.authorize(ctx, hreq2, prov, ua); err == nil {
				resp, err = roundTrip(client, hreq2)
			} else {
				hreq2.Body.Close()
			}
		} else {
			return fail("auth", http.StatusUnauthorized, ierr)
		}
	}
	if headerTimer != nil {
		headerTimer.Stop()
	}
	if err != nil {
		if errors.Is(context.Cause(ctx), errHeaderTimeout) {
			return fail("timeout", 0, fmt.Errorf("%w (%s)", errHeaderTimeout, x.s.cfg.StreamHeaderTimeout))
		}
		return fail(ctxErrKind(ctx, err), 0, err)
	}
	// An upstream may quote the request, credentials included, in an error,
	// a response header or a stream event: scrub them from all it says.
	// Bodies read whole are scrubbed as bytes; a stream through a reader
	// that never holds an event back.
	creds := credentials(hreq.Header, resp.Request.Header)
	scrubHeader(resp.Header, creds)
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		eb, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		eb = scrubBytes(eb, creds)
		ue := &llm.UpstreamError{Provider: prov.Name, Kind: "http", Status: resp.StatusCode, Body: eb}
		if ms, ok := retryAfter(resp.Header); ok {
			ue.RetryAfter = time.Duration(ms) * time.Millisecond
		}
		ue.Type, ue.Message = ua.DecodeError(resp.StatusCode, eb)
		if resp.StatusCode == http.StatusNotFound && routeMissing(ue.Message, eb) {
			// A JSON 404 that names the route, not a model: OpenAI's
			// "Invalid URL (POST /v1/chat/completion)", a FastAPI server's
			// {"detail":"Not Found"}. The base_url is wrong, as with an
			// HTML 404 below.
			ue.Kind = "misconfigured"
		} else if !jsonError(resp.Header, eb) {
			// An HTML page (nginx, a load balancer) or other text: not the
			// provider's error, so never relayed as it is. A 404 of that
			// kind says the endpoint itself is missing, a wrong base_url:
			// the provider is misconfigured, and the walk fails over.
			ct := resp.Header.Get("Content-Type")
			if ct == "" {
				ct = "no content type"
			}
			ue.Type, ue.Message = "", fmt.Sprintf("upstream answered %d with %s, not an API error: %s", resp.StatusCode, capInput(ct), capInput(strings.TrimSpace(string(eb))))
			ue.Body = nil
			if resp.StatusCode == http.StatusNotFound {
				ue.Kind = "misconfigured"
			}
		}
		return relayed{}, &failure{prov: prov, up: up, err: ue, hdr: resp.Header}
	}
	if stream {
		return x.relayStream(ctx, deadline, prov, up, ua, resp, creds)
	}
	return x.relayBody(prov, up, ua, resp, creds)
}

// roundTrip sends req on client's transport. The clients never follow
// redirects, so Client.Do would only add work on the hot path (a header
// copier for redirects, a context per request); errors are wrapped as Do
// wraps them, so messages name the method and URL.
func roundTrip(client *http.Client, req *http.Request) (*http.Response, error) {
	resp, err := client.Transport.RoundTrip(req)
	if err != nil {
		return nil, &url.Error{Op: "Post", URL: req.URL.Redacted(), Err: err}
	}
	return resp, nil
}

// withClientQuery carries the client's query parameters that the adapter
// lists (Anthropic's ?beta=true) to a same-protocol upstream; never
// Gemini's ?key= or alt, which the gateway sets itself.
func withClientQuery(url string, r *http.Request, a Adapter) string {
	if r.URL.RawQuery == "" {
		return url
	}
	fl, ok := a.(forwardLister)
	if !ok {
		return url
	}
	q := r.URL.Query()
	for k := range q {
		if k == "key" || k == "alt" || !fl.ForwardQuery(k) {
			q.Del(k)
		}
	}
	if len(q) == 0 {
		return url
	}
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + q.Encode()
}

// authorize sets the provider's credentials and declared headers.
func (x *exchange) authorize(ctx context.Context, hreq *http.Request, prov engine.Provider, ua Adapter) error {
	for k, v := range prov.Headers {
		hreq.Header.Set(k, v)
	}
	if prov.OAuth == "" {
		ua.SetAuth(hreq.Header, prov.APIKey, false)
		return nil
	}
	if x.s.cfg.Tokens == nil {
		return fmt.Errorf("gateway: provider %s uses OAuth account %q but no token store is configured", prov.Name, prov.OAuth)
	}
	tok, err := x.s.cfg.Tokens.Token(ctx, prov.OAuth)
	if err != nil {
		return fmt.Errorf("gateway: oauth account %s: %w", prov.OAuth, err)
	}
	ua.SetAuth(hreq.Header, tok, true)
	for k, v := range x.s.cfg.Tokens.Headers(prov.Kind) {
		if strings.EqualFold(k, "anthropic-beta") {
			mergeBeta(hreq.Header, "anthropic-beta", v)
			continue
		}
		hreq.Header.Set(k, v)
	}
	return nil
}

// jsonError reports whether an upstream error answer is JSON (announced
// so, or with no content type, and parsing): the provider's own error,
// which a same-protocol client may get as it is.
// routeMissing reports whether a JSON 404 says the upstream has no such
// endpoint (a wrong base_url or path), rather than no such model or
// object, which is the client's error to keep.
func routeMissing(msg string, body []byte) bool {
	if strings.HasPrefix(msg, "Invalid URL") {
		return true
	}
	var fastAPI struct {
		Detail *string `json:"detail"`
	}
	return json.Unmarshal(body, &fastAPI) == nil && fastAPI.Detail != nil && *fastAPI.Detail == "Not Found"
}

func jsonError(h http.Header, body []byte) bool {
	if ct := h.Get("Content-Type"); ct != "" && !jsonContentType(ct) {
		return false
	}
	return len(body) > 0 && json.Valid(body)
}

// passError returns a failure the policy classed "fail" to the client: as
// the upstream sent it when the protocols match, else translated into the
// client's shape with the same status.
func (x *exchange) passError(f *failure) error {
	if f.final != nil {
		return f.final
	}
	x.errMsg = f.err.Error()
	if f.err.Status == 0 {
		return &HTTPError{Status: http.StatusBadGateway, Type: llm.ErrAPI, Message: "upstream " + f.prov.Name + " failed: " + f.err.Kind, Err: f.err}
	}
	msg := f.err.Message
	if msg == "" {
		msg = http.StatusText(f.err.Status)
	}
	he := &HTTPError{Status: f.err.Status, Type: llm.TypeForStatus(f.err.Status), Message: msg, Header: http.Header{}}
	for _, k := range []string{"Retry-After", "Retry-After-Ms"} {
		if v := f.hdr.Get(k); v != "" {
			he.Header.Set(k, v)
		}
	}
	if f.up == x.ep.proto && len(f.err.Body) > 0 { // a JSON error (jsonError)
		he.Header.Set("Content-Type", f.hdr.Get("Content-Type"))
		if he.Header.Get("Content-Type") == "" {
			he.Header.Set("Content-Type", "application/json")
		}
		he.Raw = f.err.Body
	}
	return he
}

// allFailed answers when no candidate served the request: last is the
// last provider failure, skipped the last candidate that could not serve
// it. With no provider failure the refusal is the answer (a 400 naming
// what no candidate could express).
func (x *exchange) allFailed(last, skipped *failure, why string) error {
	if last == nil {
		if skipped != nil {
			x.errClass = skipped.class
			return skipped.final
		}
		return errorf(http.StatusServiceUnavailable, "no provider could serve model %s", quoteInput(x.feat.Model))
	}
	x.errClass = errExhausted
	msg := fmt.Sprintf("all providers failed (%d attempts); last: %s", len(x.attempts), last.err.Error())
	if why != "" {
		msg += " (" + why + ")"
	}
	status := http.StatusBadGateway
	switch {
	case last.err.Status == http.StatusTooManyRequests:
		status = http.StatusTooManyRequests
		if last.err.RetryAfter > 0 {
			x.w.Header().Set("Retry-After", fmt.Sprint(int(last.err.RetryAfter.Seconds()+0.999)))
		}
	case last.err.Status == 529 || last.err.Status == http.StatusServiceUnavailable:
		status = http.StatusServiceUnavailable
	case last.err.Kind == "timeout":
		status = http.StatusGatewayTimeout
	}
	return &HTTPError{Status: status, Type: llm.TypeForStatus(status), Message: msg, Err: last.err}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// errIdle is the cause of an upstream stream cancelled for silence.
var errIdle = errors.New("upstream stream idle too long")

// errHeaderTimeout ends a stream attempt whose upstream sent no response
// headers within StreamHeaderTimeout.
var errHeaderTimeout = errors.New("upstream sent no stream headers in time")

// firstEvent reads the first event of an upstream stream.
func firstEvent(rd *sse.Reader) (sse.Event, error) {
	for {
		ev, err := rd.Next()
		if err != nil {
			return ev, err
		}
		if ev.Comment && len(ev.Data) == 0 && ev.Name == "" {
			continue // keep-alive comment
		}
		return ev, nil
	}
}
