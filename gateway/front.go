package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/rs/zerolog"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/internal/wirejson"
	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/providers/gemini"
	"github.com/llmgw/llmgw/requestlog"
	"github.com/llmgw/llmgw/route"
)

// operation is what a front door asks of a provider (llm.Operation, which
// the adapters share), with short names for the gateway's own use.
type operation = llm.Operation

const (
	opGenerate    = llm.OpGenerate
	opCountTokens = llm.OpCountTokens
	opEmbed       = llm.OpEmbed
	opBatchEmbed  = llm.OpBatchEmbed
)

// endpoint describes one front door.
type endpoint struct {
	proto llm.Protocol
	op    operation
	name  string
	// model and stream come from the URL for Gemini.
	model  string
	stream bool
	// geminiArray is a Gemini stream requested without alt=sse: the
	// client gets a JSON array of chunks.
	geminiArray bool
}

// exchange is the state of one client request, from arrival to its log
// record.
type exchange struct {
	// linger is set when a body over the limit is refused: after the 413,
	// the rest of the body is read and dropped, boundedly (lingerBody).
	linger bool
	s      *Server
	ep     endpoint
	ca     Adapter // the client's protocol's
	w      http.ResponseWriter
	r      *http.Request
	id     string
	start  time.Time
	log    *zerolog.Logger // built on first use: most requests log nothing

	admission
	clientReq *llm.Request // decoded from body on first need (conversion), then kept

	committed  bool // a byte of the response went to the client
	status     int
	provider   string
	protoOut   llm.Protocol
	upModel    string
	attempts   []requestlog.Attempt
	stickyHit  bool
	warnings   []string
	usage      llm.Usage
	usageKnown bool
	outBytes   int
	ttft       time.Duration
	errClass   errorClass // why the request did not end in a clean answer
	errMsg     string
	walker     liveWalk      // the failover walk's driver (walk.go)
	hideUsage  bool          // the client did not ask for the usage in the stream; llmgw did (llm.Passed)
	lim        limitState    // what the policy's limits decided (limit.go)
	tr         *requestTrace // the request's spans; nil when tracing is off
}

// admission is what a request was admitted with: the policy snapshot it is
// served by, the client key, the body and what was read of it, and the
// policy's decision. run's admission phase (authenticate, readBody,
// features, Decide) writes it, field by field so that a request refused
// half-way is still logged with what was known; from the walk on, nothing
// writes it: every attempt, failover and the log record read the same
// admission, and what an attempt learns travels in its result (relayed,
// failure) instead.
type admission struct {
	pol    *engine.Policy
	key    string
	body   []byte
	shared *sharedBody // body's recycled buffer, when it is in one
	// fields collects the routing features from readBody's one pass
	// (the client adapter's scanner; nil until the first member).
	fields llm.FeatureScanner
	// passMember is the value of the client adapter's PassMember (a
	// sub-slice of body; nil when absent), found on readBody's pass so
	// that the pass-through edits need not scan the body again.
	passMember []byte
	feat       *engine.Request
	dec        *engine.Decision
}

// newRequestID returns a unique request id that sorts by time: 48 bits of
// Unix milliseconds, then 48 random bits, in hex. Time order keeps the
// request log's request_id index append-only; a fully random id dirtied a
// different index page with every row and multiplied the log's writes.
func newRequestID() string {
	var b [12]byte
	ms := uint64(time.Now().UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	_, _ = rand.Read(b[6:])
	return "req_" + hex.EncodeToString(b[:])
}

func (s *Server) front(ep endpoint) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { s.serveFront(w, r, ep) }
}

// geminiFront dispatches /v1beta/models/{model}:{action}, Gemini's doors,
// which carry the model and the operation in the path (gemini.Action): the
// one door pattern the gateway routes itself, not from an adapter's Doors.
// The model goes into the upstream URL, so it is checked here: a name with
// path, query or ':' characters is refused before anything else.
func (s *Server) geminiFront(w http.ResponseWriter, r *http.Request) {
	unknown := endpoint{proto: llm.ProtocolGemini, name: "gemini"}
	spec := chi.URLParam(r, "action")
	if r.URL.RawPath != "" {
		// chi matched the escaped path: decode once, never twice.
		var err error
		if spec, err = url.PathUnescape(spec); err != nil {
			s.reject(w, r, unknown, errorf(http.StatusBadRequest, "malformed model path: %v", err))
			return
		}
	}
	i := strings.LastIndexByte(spec, ':')
	if i <= 0 {
		s.reject(w, r, unknown, errorf(http.StatusNotFound, "unknown path %s %s", capInput(r.Method), capInput(r.URL.Path)))
		return
	}
	ep := endpoint{proto: llm.ProtocolGemini, model: strings.TrimPrefix(spec[:i], "models/"), name: spec[i+1:]}
	op, stream, ok := gemini.Action(ep.name)
	if !ok {
		s.reject(w, r, unknown, errorf(http.StatusNotFound, "unknown method %s", quoteInput(spec[i+1:])))
		return
	}
	ep.op, ep.stream = op, stream
	ep.geminiArray = stream && r.URL.Query().Get("alt") != "sse"
	if strings.ContainsAny(ep.model, "/:") || !validModel(ep.model) {
		s.reject(w, r, ep, errorf(http.StatusBadRequest, "invalid model name %s", quoteInput(ep.model)))
		return
	}
	s.serveFront(w, r, ep)
}

// logger returns the request's logger (request id and endpoint fields),
// derived from the server's on first use.
func (x *exchange) logger() *zerolog.Logger {
	if x.log == nil {
		l := x.s.cfg.Logger.With().Str("request_id", x.id).Str("endpoint", x.ep.name).Logger()
		x.log = &l
	}
	return x.log
}

// newExchange starts the state of one request; its finish logs it.
func (s *Server) newExchange(w http.ResponseWriter, r *http.Request, ep endpoint) *exchange {
	x := &exchange{s: s, ep: ep, ca: s.adapter(ep.proto), w: w, r: r, id: newRequestID(), start: s.now()}
	w.Header().Set("X-Request-Id", x.id)
	if s.tracer != nil {
		x.startTrace(s.tracer)
	}
	return x
}

// reject answers a request refused before it reached a front door's
// pipeline (an unknown path or method, a bad Gemini model path) with e in
// the caller's shape, and logs it like any other request.
func (s *Server) reject(w http.ResponseWriter, r *http.Request, ep endpoint, e *HTTPError) {
	x := s.newExchange(w, r, ep)
	defer x.finish()
	x.errClass = errBadRequest
	x.fail(e)
}

func (s *Server) serveFront(w http.ResponseWriter, r *http.Request, ep endpoint) {
	x := s.newExchange(w, r, ep)
	defer x.finish()
	defer x.lingerBody() // after the slot is given back

	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		x.errClass = errCapacity
		x.fail(errorf(http.StatusServiceUnavailable, "llmgw is at capacity (%d requests in flight); retry shortly", cap(s.slots)))
		return
	}
	if err := x.run(); err != nil {
		x.fail(asHTTPError(err))
	}
	if !x.committed && (x.status == 0 || x.status == statusClientClosed) {
		// Nothing was written: never let net/http send an empty 200.
		if r.Context().Err() == nil {
			x.errClass = errGateway
			x.fail(&HTTPError{Status: http.StatusInternalServerError, Type: llm.ErrAPI, Message: "llmgw produced no answer",
				Err: errors.New("gateway: request pipeline returned without answering")})
			return
		}
		// The client hung up before any answer. One that only half-closed
		// its side is still reading: tell it so.
		if x.errClass == "" {
			x.errClass, x.errMsg = errClientCancelled, "client disconnected"
		}
		x.fail(&HTTPError{Status: statusClientClosed, Type: llm.ErrInvalidRequest, Message: "the client closed the request"})
	}
}

// statusClientClosed is nginx's 499, which Google APIs also use for a
// cancelled call.
const statusClientClosed = 499

// fail answers the client with e unless the response already started.
func (x *exchange) fail(e *HTTPError) {
	if x.errMsg == "" {
		x.errMsg = e.Message
	}
	if x.errClass == "" {
		x.errClass = errGateway
	}
	if e.Err != nil {
		x.logger().Warn().Err(e.Err).Int("status", e.Status).Msg("request failed")
	}
	if x.committed {
		return
	}
	x.status = e.Status
	x.setRouteHeaders()
	writeError(x.w, x.ca, e)
}

func (x *exchange) setRouteHeaders() {
	h := x.w.Header()
	// The header names the provider that was called, as the log row does:
	// a candidate skipped without a call (it cannot serve the request) is
	// nobody's answer.
	if p, _ := calledUpstream(x.attempts, x.provider, x.upModel); p != "" {
		h.Set("X-LLMGW-Provider", p)
	}
	h.Set("X-LLMGW-Attempts", strconv.Itoa(len(x.attempts)))
	if len(x.warnings) > 0 {
		h.Set("X-LLMGW-Warnings", strings.Join(x.warnings, "; "))
	}
}

func (x *exchange) run() error {
	x.pol = x.s.cfg.Policies.Policy()
	if x.pol == nil {
		return errorf(http.StatusServiceUnavailable, "no policy loaded")
	}
	key, herr := authenticate(x.r, x.pol)
	if herr != nil {
		x.errClass = errAuth
		return herr
	}
	x.key = key
	if err := x.readBody(); err != nil {
		x.errClass = errBadRequest
		return err
	}
	var f llm.Features
	if x.fields != nil {
		f = x.fields.Features()
	}
	feat := engine.NewRequest(string(x.ep.proto), f, len(x.body), x.policyHeaders())
	if x.ep.model != "" { // the door's URL names them (Gemini's)
		feat.Model, feat.Stream = x.ep.model, x.ep.stream
	}
	if x.ep.op != opGenerate {
		feat.Stream = false
	}
	feat.Key = key
	x.feat = feat
	if feat.Model == "" {
		x.errClass = errBadRequest
		return errorf(http.StatusBadRequest, "model is required")
	}

	ctx := x.r.Context()
	env := x.s.env(x.pol)
	x.usageEnv(ctx, &env)
	dec, err := x.pol.Decide(ctx, feat, env)
	if err != nil {
		x.errClass = errPolicy
		x.logger().Error().Err(err).Str("policy", x.pol.Hash).Msg("policy decision failed")
		return &HTTPError{Status: http.StatusServiceUnavailable, Type: llm.ErrOverloaded, Message: "routing policy failed: " + err.Error(), Err: err}
	}
	x.dec = dec
	if r := dec.Refusal; r != nil {
		// route() refused on purpose: its status and message, which a
		// client (and its SDK) can act on, unlike a 503.
		x.errClass = errRefused
		return refusalError(r)
	}
	order, _ := route.Order(dec.Candidates, route.Options{Sticky: dec.Sticky, Available: x.s.health.Available, Intn: mrand.IntN})
	if len(order) == 0 {
		x.errClass = errPolicy
		msg := fmt.Sprintf("the routing policy returned no provider for model %s", quoteInput(feat.Model))
		if len(dec.Notes) > 0 {
			// The policy's notes say why, when it gave any.
			msg += " (policy notes: " + strings.Join(dec.Notes, "; ") + ")"
		}
		return errorf(http.StatusServiceUnavailable, "%s", msg)
	}
	if x.ep.op != opCountTokens {
		// Every generating door, before any upstream is tried; counting
		// tokens spends nothing, and a request routed nowhere is not
		// counted (the log's error class policy, which the rebuild skips).
		if err := x.admitLimits(ctx); err != nil {
			return err
		}
	}
	return x.walk(order)
}

// readBody reads the request body, at most MaxBodyBytes, and checks what
// the gateway must understand of it itself (checkEnvelope). Everything
// else is the upstream's to judge: requests are forwarded, not validated.
func (x *exchange) readBody() error {
	if ct := x.r.Header.Get("Content-Type"); ct != "" && !jsonContentType(ct) {
		return &HTTPError{Status: http.StatusUnsupportedMediaType, Type: llm.ErrInvalidRequest, Message: "content type must be application/json, not " + capInput(ct)}
	}
	tooLarge := func() error {
		x.startLinger()
		return &HTTPError{Status: http.StatusRequestEntityTooLarge, Type: llm.ErrTooLarge, Message: "request body is larger than " + strconv.FormatInt(x.s.cfg.MaxBodyBytes, 10) + " bytes"}
	}
	if x.r.ContentLength > x.s.cfg.MaxBodyBytes {
		// Refused before reading, so an Expect: 100-continue client never
		// sends it.
		return tooLarge()
	}
	// A slow body must not hold a concurrency slot for ever. Writers that
	// cannot set deadlines (tests' recorders) read without one.
	//
	// A body that timed out keeps its expired deadline: after the 408,
	// net/http tries to read what is left of a body of known length (up to
	// 256 KB) before it closes the connection, and without a deadline that
	// read would wait for the stalled client for ever, the 408 sent but the
	// connection held open.
	rc := http.NewResponseController(x.w)
	timedOut := false
	if rc.SetReadDeadline(time.Now().Add(x.s.cfg.BodyTimeout)) == nil {
		defer func() {
			if !timedOut {
				_ = rc.SetReadDeadline(time.Time{})
			}
		}()
	}
	rd := http.MaxBytesReader(x.w, x.r.Body, x.s.cfg.MaxBodyBytes)
	buf := x.s.bodies.get(x.r.ContentLength) // nil: not a large body of known length
	body, err := readAll(rd, x.r.ContentLength, x.s.cfg.MaxBodyBytes, buf)
	x.shared = x.s.bodies.adopt(buf, body) // released by finish
	if err != nil {
		var mbe *http.MaxBytesError
		var ne net.Error
		switch {
		case errors.As(err, &mbe):
			return tooLarge()
		case errors.As(err, &ne) && ne.Timeout():
			// Close the connection after the answer: what remains of the
			// body must not be read (net/http would wait for it before
			// writing) nor parsed as the next request.
			x.w.Header().Set("Connection", "close")
			timedOut = true
			return &HTTPError{Status: http.StatusRequestTimeout, Type: llm.ErrInvalidRequest, Message: "the request body did not arrive within " + x.s.cfg.BodyTimeout.String(), Err: err}
		}
		return &HTTPError{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Message: "could not read the request body", Err: err}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return errorf(http.StatusBadRequest, "request body is empty")
	}
	if !utf8.Valid(body) {
		return errorf(http.StatusBadRequest, "request body is not valid UTF-8")
	}
	if err := checkEnvelope(body, x.ep.model != "", x.takeMember); err != nil {
		return err
	}
	x.body = body
	return nil
}

// lingerFor and lingerFactor bound what lingerBody reads: a client that
// writes its whole body before reading its answer (Python's urllib and
// httpx do) would otherwise meet a connection reset instead of the 413.
const (
	lingerFor    = 3 * time.Second
	lingerFactor = 2 // at most this many times MaxBodyBytes
)

// startLinger prepares the answer to a body over the limit for lingering:
// full duplex, so that the body may still be read once the 413 is written,
// and Connection: close, so that nothing left is read as a next request. A
// client that asked for 100-continue sends no body and is not waited for.
func (x *exchange) startLinger() {
	x.w.Header().Set("Connection", "close")
	if strings.EqualFold(x.r.Header.Get("Expect"), "100-continue") {
		return
	}
	rc := http.NewResponseController(x.w)
	if rc.EnableFullDuplex() == nil {
		x.linger = true
	}
}

// lingerBody, once the 413 is answered, reads and drops what the client
// still sends, up to lingerFactor times the limit and for lingerFor at
// most, so that the client reads its answer rather than a reset.
func (x *exchange) lingerBody() {
	if !x.linger {
		return
	}
	rc := http.NewResponseController(x.w)
	_ = rc.Flush()
	if rc.SetReadDeadline(time.Now().Add(lingerFor)) != nil {
		return
	}
	_, _ = io.CopyN(io.Discard, x.r.Body, lingerFactor*x.s.cfg.MaxBodyBytes)
}

// jsonContentType reports whether a request Content-Type announces JSON:
// application/json or any +json type. text/plain is refused: it is what a
// browser sends cross-site without a preflight, so accepting it would let
// any web page spend the gateway's provider credits.
func jsonContentType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// checkEnvelope checks the top level of a request body for what the
// gateway reads itself: the body is a JSON object and, unless the door's
// URL names the model (modelInURL: Gemini's, whose stream flag is in the
// URL too), "model" is a string naming
// a model (validModel) and "stream", when present, is a boolean or null.
// Neither may appear twice, in any letter case: the policy, the protocol
// converters (encoding/json matches struct fields case-insensitively) and
// the upstream could each read a different value. The whole body's JSON
// syntax is checked in the same pass, which also hands every top-level
// member to take (nil for none): the routing features, collected without
// scanning the body again.
func checkEnvelope(body []byte, modelInURL bool, take func(key, value []byte) bool) *HTTPError {
	bad := func(format string, args ...any) *HTTPError {
		return errorf(http.StatusBadRequest, "invalid request body: "+format, args...)
	}
	if b := bytes.TrimLeft(body, " \t\r\n"); len(b) == 0 || b[0] != '{' {
		return bad("the body must be a JSON object")
	}
	var model, stream, dup []byte
	err := wirejson.Fields(body, func(k, v []byte) bool {
		if take != nil {
			take(k, v)
		}
		if modelInURL {
			return true
		}
		var dst *[]byte
		switch {
		case strings.EqualFold(string(k), "model"):
			dst = &model
		case strings.EqualFold(string(k), "stream"):
			dst = &stream
		default:
			return true
		}
		if *dst != nil {
			dup = k
			return false
		}
		*dst = v
		return true
	})
	if err != nil {
		return bad("%v", err)
	}
	if dup != nil {
		return bad("duplicate key %q", dup)
	}
	switch string(stream) {
	case "", "true", "false", "null":
	default:
		return bad("stream must be a boolean")
	}
	if model == nil {
		return nil // "model is required" comes once the features are parsed
	}
	if model[0] != '"' {
		return bad("model must be a string")
	}
	name := string(model[1 : len(model)-1])
	if bytes.IndexByte(model, '\\') >= 0 && json.Unmarshal(model, &name) != nil {
		return bad("model must be a string")
	}
	if name != "" && !validModel(name) {
		return errorf(http.StatusBadRequest, "invalid model name %s", quoteInput(name))
	}
	return nil
}

// maxModelName bounds a model name's length.
const maxModelName = 256

// validModel reports whether name can be a model name: printable ASCII
// without spaces, quotes, '?', '#', '%', '\', '<' or '>', and no "." or ".."
// path segment. Slashes are allowed (OpenRouter's "openai/gpt-4o"), as
// are ':' and '@' (Bedrock and Vertex versions). Model names reach
// upstream URLs and log rows, so nothing else gets through.
func validModel(name string) bool {
	if name == "" || len(name) > maxModelName {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"?#%\<>`, c) >= 0 {
			return false
		}
	}
	for seg := range strings.SplitSeq(name, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// policyHeaders are the request headers a policy may see: lower-case
// names, credentials redacted.
func (x *exchange) policyHeaders() map[string]string {
	h := make(map[string]string, len(x.r.Header))
	for k, vs := range x.r.Header {
		lk := strings.ToLower(k)
		if secretHeaders[lk] {
			h[lk] = "[redacted]"
			continue
		}
		h[lk] = strings.Join(vs, ",")
	}
	return h
}

// env is what the policy's ctx sees: provider health and sticky bindings.
func (s *Server) env(pol *engine.Policy) engine.Env {
	return engine.Env{
		Health: func(name string) engine.Health {
			st := s.health.Snapshot(name)
			return engine.Health{
				State:        string(st.State),
				ErrorRate:    st.ErrorRate,
				LatencyMS:    st.LatencyMS,
				InFlight:     st.InFlight,
				CooldownLeft: st.CooldownLeft,
			}
		},
		Sticky: func(key string) string {
			p, _ := s.sticky.Get(key)
			return p
		},
		Now: s.now(),
	}
}

// takeMember receives each top-level member of the request body from
// checkEnvelope's pass: the routing features take them all, and the first
// value of the client adapter's PassMember (the one wirejson.Find would
// return) is kept.
func (x *exchange) takeMember(key, value []byte) bool {
	if x.passMember == nil && x.ca != nil && string(key) == x.ca.PassMember() && len(key) > 0 {
		x.passMember = value
	}
	if x.fields == nil {
		x.fields = x.ca.NewFeatureScanner()
	}
	return x.fields.Take(key, value)
}

// ctxErrKind classifies a transport failure for the policy's err.kind.
func ctxErrKind(ctx context.Context, err error) string {
	var ne interface{ Timeout() bool }
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) || errors.Is(context.Cause(ctx), errIdle) {
		return "timeout"
	}
	return "connect"
}
