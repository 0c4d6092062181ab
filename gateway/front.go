package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/rs/zerolog"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/requestlog"
	"github.com/llmgw/llmgw/route"
)

// operation is what a front door asks of a provider.
type operation uint8

const (
	opGenerate operation = iota
	opCountTokens
	opEmbed
	opBatchEmbed
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
	s     *Server
	ep    endpoint
	w     http.ResponseWriter
	r     *http.Request
	id    string
	start time.Time
	log   zerolog.Logger

	pol       *engine.Policy
	key       string
	body      []byte
	feat      *engine.Request
	dec       *engine.Decision
	clientReq *llm.Request // decoded on first need (conversion)

	committed   bool // a byte of the response went to the client
	status      int
	provider    string
	protoOut    llm.Protocol
	upModel     string
	attempts    []requestlog.Attempt
	stickyHit   bool
	warnings    []string
	usage       llm.Usage
	usageKnown  bool
	outBytes    int
	ttft        time.Duration
	errClass    string
	errMsg      string
	hideUsage   bool // the client did not ask for OpenAI's usage chunk; llmgw did
	clientUsage bool
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "req_" + hex.EncodeToString(b[:])
}

func (s *Server) front(ep endpoint) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { s.serveFront(w, r, ep) }
}

// geminiFront dispatches /v1beta/models/{model}:{action}.
func (s *Server) geminiFront(w http.ResponseWriter, r *http.Request) {
	spec := chi.URLParam(r, "action")
	i := strings.LastIndexByte(spec, ':')
	if i <= 0 {
		writeError(w, llm.ProtocolGemini, errorf(http.StatusNotFound, "unknown path %s %s", r.Method, r.URL.Path))
		return
	}
	ep := endpoint{proto: llm.ProtocolGemini, model: strings.TrimPrefix(spec[:i], "models/")}
	switch spec[i+1:] {
	case "generateContent":
		ep.op, ep.name = opGenerate, "generateContent"
	case "streamGenerateContent":
		ep.op, ep.name, ep.stream = opGenerate, "streamGenerateContent", true
		ep.geminiArray = r.URL.Query().Get("alt") != "sse"
	case "countTokens":
		ep.op, ep.name = opCountTokens, "countTokens"
	case "embedContent":
		ep.op, ep.name = opEmbed, "embedContent"
	case "batchEmbedContents":
		ep.op, ep.name = opBatchEmbed, "batchEmbedContents"
	default:
		writeError(w, llm.ProtocolGemini, errorf(http.StatusNotFound, "unknown method %q", spec[i+1:]))
		return
	}
	s.serveFront(w, r, ep)
}

func (s *Server) serveFront(w http.ResponseWriter, r *http.Request, ep endpoint) {
	x := &exchange{s: s, ep: ep, w: w, r: r, id: newRequestID(), start: s.now()}
	x.log = s.cfg.Logger.With().Str("request_id", x.id).Str("endpoint", ep.name).Logger()
	w.Header().Set("X-Request-Id", x.id)
	defer x.finish()

	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		x.fail(errorf(http.StatusServiceUnavailable, "llmgw is at capacity (%d requests in flight); retry shortly", cap(s.slots)))
		return
	}
	if err := x.run(); err != nil {
		x.fail(asHTTPError(err))
	}
}

// fail answers the client with e unless the response already started.
func (x *exchange) fail(e *HTTPError) {
	if x.errMsg == "" {
		x.errMsg = e.Message
	}
	if x.errClass == "" {
		x.errClass = "gateway"
	}
	if e.Err != nil {
		x.log.Warn().Err(e.Err).Int("status", e.Status).Msg("request failed")
	}
	if x.committed {
		return
	}
	x.status = e.Status
	x.setRouteHeaders()
	writeError(x.w, x.ep.proto, e)
}

func (x *exchange) setRouteHeaders() {
	h := x.w.Header()
	if x.provider != "" {
		h.Set("X-LLMGW-Provider", x.provider)
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
		x.errClass = "auth"
		return herr
	}
	x.key = key
	if err := x.readBody(); err != nil {
		x.errClass = "bad_request"
		return err
	}
	feat, err := engine.RequestFromBody(string(x.ep.proto), x.body, x.policyHeaders())
	if err != nil {
		x.errClass = "bad_request"
		return &HTTPError{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Message: "invalid request body: " + err.Error(), Err: err}
	}
	if x.ep.proto == llm.ProtocolGemini {
		feat.Model, feat.Stream = x.ep.model, x.ep.stream
	}
	if x.ep.op != opGenerate {
		feat.Stream = false
	}
	feat.Key = key
	x.feat = feat
	if feat.Model == "" {
		x.errClass = "bad_request"
		return errorf(http.StatusBadRequest, "model is required")
	}
	if x.ep.proto == llm.ProtocolOpenAI && x.ep.op == opGenerate && feat.Stream {
		x.clientUsage = includeUsageAsked(x.body)
	}

	ctx := x.r.Context()
	dec, err := x.pol.Decide(ctx, feat, x.s.env(x.pol))
	if err != nil {
		x.errClass = "policy"
		x.log.Error().Err(err).Str("policy", x.pol.Hash).Msg("policy decision failed")
		return &HTTPError{Status: http.StatusServiceUnavailable, Type: llm.ErrOverloaded, Message: "routing policy failed: " + err.Error(), Err: err}
	}
	x.dec = dec
	order, _ := route.Order(dec.Candidates, route.Options{Sticky: dec.Sticky, Available: x.s.health.Available, Intn: mrand.IntN})
	if len(order) == 0 {
		x.errClass = "policy"
		return errorf(http.StatusServiceUnavailable, "the routing policy returned no provider for model %q", feat.Model)
	}
	return x.walk(order)
}

// readBody reads the request body, at most MaxBodyBytes.
func (x *exchange) readBody() error {
	if ct := x.r.Header.Get("Content-Type"); ct != "" && !strings.Contains(ct, "json") && !strings.HasPrefix(ct, "text/plain") {
		return &HTTPError{Status: http.StatusUnsupportedMediaType, Type: llm.ErrInvalidRequest, Message: "content type must be application/json, not " + ct}
	}
	rd := http.MaxBytesReader(x.w, x.r.Body, x.s.cfg.MaxBodyBytes)
	body, err := io.ReadAll(rd)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &HTTPError{Status: http.StatusRequestEntityTooLarge, Type: llm.ErrTooLarge, Message: "request body is larger than " + strconv.FormatInt(x.s.cfg.MaxBodyBytes, 10) + " bytes"}
		}
		return &HTTPError{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Message: "could not read the request body", Err: err}
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return errorf(http.StatusBadRequest, "request body is empty")
	}
	x.body = body
	return nil
}

// policyHeaders are the request headers a policy may see: lower-case
// names, credentials redacted.
func (x *exchange) policyHeaders() map[string]string {
	h := make(map[string]string, len(x.r.Header))
	for k, vs := range x.r.Header {
		lk := strings.ToLower(k)
		if isSecretHeader(lk) {
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

// includeUsageAsked reports whether an OpenAI chat body asked for
// stream_options.include_usage.
func includeUsageAsked(body []byte) bool {
	s, e, ok, err := topLevel(body, "stream_options")
	if err != nil || !ok {
		return false
	}
	vs, ve, ok, err := topLevel(body[s:e], "include_usage")
	return err == nil && ok && string(body[s:e][vs:ve]) == "true"
}

// ctxErrKind classifies a transport failure for the policy's err.kind.
func ctxErrKind(ctx context.Context, err error) string {
	var ne interface{ Timeout() bool }
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) || errors.Is(context.Cause(ctx), errIdle) {
		return "timeout"
	}
	return "connect"
}
