package gateway

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/health"
	"github.com/llmgw/llmgw/imagefetch"
	"github.com/llmgw/llmgw/limits"
	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/metrics"
	"github.com/llmgw/llmgw/requestlog"
	"github.com/llmgw/llmgw/sharedstate"
	"github.com/llmgw/llmgw/sticky"
)

// Policies hands out the current policy snapshot. *engine.Engine
// implements it.
type Policies interface {
	Policy() *engine.Policy
	Status() engine.Status
}

// Recorder takes request log records. *requestlog.Writer implements it.
type Recorder interface {
	Record(r *requestlog.Record)
}

// Tokens hands out OAuth access tokens for subscription accounts.
// *oauth.Manager (adapted in cmd/llmgw) implements it.
type Tokens interface {
	// Token returns a valid access token for account.
	Token(ctx context.Context, account string) (string, error)
	// Invalidate forces a refresh after an upstream 401 and returns the new
	// token.
	Invalidate(ctx context.Context, account string) (string, error)
	// Headers returns the extra headers OAuth inference needs for a
	// provider kind (Anthropic's OAuth beta header).
	Headers(kind string) map[string]string
	// Status reports an account's state ("ok" or "failed") and why.
	Status(account string) (state, reason string)
}

// StickyStore holds session bindings. *sticky.Table implements it in
// process; *sharedstate.Sticky shares the bindings across replicas.
type StickyStore interface {
	// Get returns the provider key is bound to; it does not count as a use.
	Get(key string) (provider string, ok bool)
	// Bind binds key to provider, counting as a use.
	Bind(key, provider string)
	// Touch counts a use of key's binding, extending its life.
	Touch(key string)
	// Len and CountByProvider count the bindings this replica holds, for
	// GET /api/providers.
	Len() int
	CountByProvider() map[string]int
}

// Cluster reports the replicas that share this gateway's state and where
// the sharing stands. *sharedstate.State implements it.
type Cluster interface {
	// Replicas lists the live replicas, this one first, drift marked.
	Replicas(ctx context.Context) []sharedstate.Replica
	// Status is the state backend's status (fallback, errors).
	Status() sharedstate.Status
}

// Config configures a Server. Zero values are the documented defaults.
type Config struct {
	// Policies is the policy source. Required.
	Policies Policies
	// Log records every request. Nil records nothing (tests).
	Log Recorder
	// LogDB answers the dashboard's queries. Nil disables /api/summary and
	// /api/requests.
	LogDB *requestlog.DB
	// Metrics receives counters and histograms. Nil disables /metrics.
	Metrics *metrics.Metrics
	// Health tracks providers. Nil means a fresh tracker with defaults.
	Health *health.Tracker
	// Sticky holds session bindings. Nil means a fresh in-process table
	// (1 h TTL).
	Sticky StickyStore
	// Cluster lists the replicas sharing state for GET /api/cluster. Nil
	// means a gateway alone: the list is this replica, state "local".
	Cluster Cluster
	// Version is the gateway's version, shown by GET /api/cluster.
	Version string
	// Tokens serves providers declared with oauth = "...". Nil makes such
	// providers fail with a clear error.
	Tokens Tokens
	// Demo serves providers of kind "demo" in-process. Nil makes them fail.
	Demo http.RoundTripper
	// Images fetches the remote images of requests converted for a Gemini
	// upstream, which cannot fetch them itself, refusing private, loopback
	// and link-local addresses. Nil means one fetcher with imagefetch's
	// defaults, shared by all requests.
	Images *imagefetch.Fetcher
	// Dashboard serves the web UI at /. Nil serves a 404 there.
	Dashboard http.Handler
	// Logger is the structured log. The zero value logs nothing.
	Logger zerolog.Logger
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// MaxBodyBytes caps request bodies; 0 means 10 MiB.
	MaxBodyBytes int64
	// MaxAttempts caps upstream attempts per request, retries and skipped
	// candidates included. 0 means no cap: the walk covers the whole
	// failover chain (each candidate once, twice with a retry), as
	// `llmgw eval` shows it.
	MaxAttempts int
	// RequestTimeout bounds a whole request, retry chain included, until
	// the response starts; 0 means 10 minutes. Streams, once started, are
	// bounded by StreamIdleTimeout between events instead.
	RequestTimeout time.Duration
	// StreamIdleTimeout is the longest wait between two stream events from
	// an upstream; 0 means 5 minutes.
	StreamIdleTimeout time.Duration
	// MaxResponseBytes caps one non-streaming upstream body, which is read
	// whole before it is relayed; a larger one fails the attempt. 0 means
	// 32 MiB.
	MaxResponseBytes int64
	// ResponseBudget caps the bytes of such bodies held at once across all
	// requests; an attempt that would pass it fails with 502. 0 means
	// 256 MiB.
	ResponseBudget int64
	// StreamHeaderTimeout bounds how long a streaming attempt waits for
	// the upstream's response headers when its provider declares no
	// timeout of its own; past it the attempt fails over. 0 means 60 s.
	StreamHeaderTimeout time.Duration
	// MaxConcurrent caps requests in flight on the front doors; past it
	// clients get 503 in their protocol's shape, with Retry-After: 1. 0
	// means 4096.
	MaxConcurrent int
	// ReadHeaderTimeout bounds how long a client may take to send its
	// request line and headers (slowloris defence); the connection is
	// closed past it. 0 means 10 seconds. Used by HTTPServer.
	ReadHeaderTimeout time.Duration
	// IdleTimeout is how long a keep-alive connection may wait for its
	// next request before it is closed. 0 means 120 seconds. Used by
	// HTTPServer.
	IdleTimeout time.Duration
	// MaxHeaderBytes caps the size of a request's header section; larger
	// requests get 431 from net/http. 0 means 1 MiB. Used by HTTPServer.
	MaxHeaderBytes int
	// AllowedOrigins are the browser origins (scheme://host[:port], or "*")
	// that may call the model doors and the admin API cross-site; they also
	// get CORS headers. Empty (the default) refuses every request whose
	// Origin is another site's.
	AllowedOrigins []string
	// AllowedHosts are Host header values, besides loopback names and
	// addresses, that the admin API, dashboard, /metrics and pprof answer
	// when the policy declares no admin_key() (a guard against DNS
	// rebinding).
	AllowedHosts []string
	// BodyTimeout bounds reading a request body, counted from when the
	// front door starts reading it: a client that sends its body slower
	// than that gets 408 and frees its MaxConcurrent slot. 0 means 2
	// minutes (10 MiB at under 1 Mbit/s).
	BodyTimeout time.Duration
	// ModelsTTL is how long each provider's own model list, shown by GET
	// /v1/models and /v1beta/models, is cached; 0 means 10 minutes. A
	// failed fetch is retried after a tenth of it.
	ModelsTTL time.Duration
	// ModelsTimeout bounds fetching one provider's model list, all pages;
	// 0 means 5 seconds. A provider that fails or times out is left out of
	// the list.
	ModelsTimeout time.Duration
	// Adapters adds wire protocols beside the built-in four (or replaces
	// one of them): each adapter's doors are served, and providers of its
	// kind are spoken to in it. Nil serves the built-in ones.
	Adapters map[llm.Protocol]Adapter
	// Traces creates a span per request and per upstream attempt (see
	// trace.go). Nil traces nothing and costs nothing.
	Traces trace.TracerProvider
	// TraceContent puts prompts and completions on the attempt spans
	// (the GenAI conventions' gen_ai.system_instructions,
	// gen_ai.input.messages and gen_ai.output.messages). Off, spans carry
	// names, counts and statuses, never content.
	TraceContent bool
	// Limits keeps the counters of the policy's limit() declarations. Nil
	// means a fresh in-process store (usd periods in UTC), empty until
	// requests fill it; cmd/llmgw rebuilds one from the request log.
	Limits limits.Store
}

// Server is the gateway's HTTP handler.
type Server struct {
	cfg    Config
	now    func() time.Time
	health *health.Tracker
	sticky StickyStore
	// started and replicaID describe this replica in GET /api/cluster
	// when no Cluster is configured.
	started   time.Time
	replicaID string
	router    chi.Router
	slots     chan struct{}
	// respBudget bounds buffered upstream bodies across requests.
	respBudget *byteBudget
	clients    *clientCache
	models     *modelCatalog
	bodies     bodyBuffers
	streams    streamBuffers
	// adapters (builtinAdapters and Config.Adapters) and doors (their
	// front doors with a fixed path, by path) are immutable after New.
	adapters map[llm.Protocol]Adapter
	doors    map[string]endpoint

	inFlight atomic.Int64 // requests being served by Run
	tracer   trace.Tracer // from Config.Traces; nil when off

}

// New returns a Server. It panics if cfg.Policies is nil (a programming
// error).
func New(cfg Config) *Server {
	if cfg.Policies == nil {
		panic("gateway: Config.Policies is required")
	}
	s := &Server{cfg: cfg, now: cfg.Now, health: cfg.Health, sticky: cfg.Sticky}
	if s.now == nil {
		s.now = time.Now
	}
	if s.health == nil {
		s.health = health.New(health.Config{})
	}
	if s.sticky == nil {
		s.sticky = sticky.New(sticky.Config{})
	}
	s.started = s.now().UTC()
	s.replicaID = localReplicaID()
	if s.cfg.MaxBodyBytes <= 0 {
		s.cfg.MaxBodyBytes = 10 << 20
	}
	if s.cfg.RequestTimeout <= 0 {
		s.cfg.RequestTimeout = 10 * time.Minute
	}
	if s.cfg.StreamIdleTimeout <= 0 {
		s.cfg.StreamIdleTimeout = 5 * time.Minute
	}
	if s.cfg.MaxResponseBytes <= 0 {
		s.cfg.MaxResponseBytes = 32 << 20
	}
	if s.cfg.ResponseBudget <= 0 {
		s.cfg.ResponseBudget = 256 << 20
	}
	s.respBudget = &byteBudget{max: s.cfg.ResponseBudget}
	if s.cfg.StreamHeaderTimeout <= 0 {
		s.cfg.StreamHeaderTimeout = 60 * time.Second
	}
	if s.cfg.MaxConcurrent <= 0 {
		s.cfg.MaxConcurrent = 4096
	}
	if s.cfg.ReadHeaderTimeout <= 0 {
		s.cfg.ReadHeaderTimeout = 10 * time.Second
	}
	if s.cfg.IdleTimeout <= 0 {
		s.cfg.IdleTimeout = 120 * time.Second
	}
	if s.cfg.MaxHeaderBytes <= 0 {
		s.cfg.MaxHeaderBytes = 1 << 20
	}
	if s.cfg.BodyTimeout <= 0 {
		s.cfg.BodyTimeout = 2 * time.Minute
	}
	if s.cfg.Images == nil {
		s.cfg.Images = imagefetch.New(imagefetch.Config{})
	}
	if s.cfg.Limits == nil {
		s.cfg.Limits = limits.NewMemory(time.UTC)
	}
	s.cfg.Metrics.SetLimitUse(s.limitUse)
	if t, ok := s.cfg.Limits.(limitTable); ok {
		s.cfg.Metrics.SetLimitTable(func() (int, int64) {
			held, _, evicted := t.Table()
			return held, evicted
		})
	}
	s.adapters = builtinAdapters()
	for p, a := range cfg.Adapters {
		s.adapters[p] = a
	}
	s.doors = map[string]endpoint{}
	for p, a := range s.adapters {
		for _, d := range a.Doors() {
			s.doors[d.Path] = endpoint{proto: p, op: d.Op, name: d.Name}
		}
	}
	if cfg.Traces != nil {
		s.tracer = cfg.Traces.Tracer(tracerName)
	}
	s.slots = make(chan struct{}, s.cfg.MaxConcurrent)
	s.clients = newClientCache(cfg.Demo)
	s.models = newModelCatalog(s.cfg.ModelsTTL, s.cfg.ModelsTimeout)
	s.router = s.routes()
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// Health returns the provider health tracker (for the admin API and tests).
func (s *Server) Health() *health.Tracker { return s.health }

// Sticky returns the session bindings.
func (s *Server) Sticky() StickyStore { return s.sticky }

func (s *Server) routes() chi.Router {
	r := chi.NewRouter()
	r.Use(s.browserGuard)
	r.NotFound(s.notFound)
	r.MethodNotAllowed(s.methodNotAllowed)

	r.Get("/health", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	r.Get("/ready", s.ready)

	for path, ep := range s.doors {
		r.Post(path, s.front(ep))
	}
	r.Get("/v1/models", s.listModels)
	r.Get("/v1/models/*", s.listModels)
	// Gemini's doors are served under both API versions: the current
	// Gemini SDKs call the stable /v1 by default, older ones /v1beta. No
	// other protocol POSTs under /v1/models.
	r.Post("/v1/models/{action}", s.geminiFront)
	r.Post("/v1beta/models/{action}", s.geminiFront)
	r.Get("/v1beta/models", s.listGeminiModels)
	r.Get("/v1beta/models/{model}", s.listGeminiModels)

	s.adminRoutes(r)
	return r
}

func (s *Server) ready(w http.ResponseWriter, _ *http.Request) {
	if s.cfg.Policies.Policy() == nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "no policy loaded"})
		return
	}
	writeJSON(w, 200, map[string]string{"status": "ready", "policy": s.cfg.Policies.Policy().Hash})
}

// protocolOf guesses the caller's protocol from the path and headers, for
// errors on paths no front door matched: Gemini's path prefix or
// credentials, Anthropic's headers, else OpenAI's shape. It is one of the
// gateway's few protocol comparisons: no adapter owns a path that matched
// no door.
func protocolOf(r *http.Request) llm.Protocol {
	switch {
	case len(r.URL.Path) >= 7 && r.URL.Path[:7] == "/v1beta":
		return llm.ProtocolGemini
	case r.Header.Get("anthropic-version") != "" || r.Header.Get("x-api-key") != "":
		return llm.ProtocolAnthropic
	case geminiCaller(r):
		return llm.ProtocolGemini
	}
	return llm.ProtocolOpenAI
}

// geminiCaller reports a request that authenticates the way Gemini's SDKs
// do (x-goog-api-key, or ?key=) and not with another protocol's header:
// on /v1, the path the stable Gemini API shares with OpenAI's, that is
// what tells a Gemini client apart.
func geminiCaller(r *http.Request) bool {
	if r.Header.Get("Authorization") != "" || r.Header.Get("x-api-key") != "" || r.Header.Get("anthropic-version") != "" {
		return false
	}
	return r.Header.Get("x-goog-api-key") != "" || r.URL.Query().Has("key")
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Dashboard != nil && r.Method == http.MethodGet && !isAPIPath(r.URL.Path) {
		s.cfg.Dashboard.ServeHTTP(w, r)
		return
	}
	e := errorf(http.StatusNotFound, "unknown path %s %s", capInput(r.Method), capInput(r.URL.Path))
	if !isFrontPath(r.URL.Path) {
		writeError(w, s.adapter(protocolOf(r)), e)
		return
	}
	s.reject(w, r, endpoint{proto: protocolOf(r), name: "unknown"}, e)
}

// methodNotAllowed answers a known path asked with the wrong method. On a
// front door the refusal is logged like any rejected request.
func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	e := errorf(http.StatusMethodNotAllowed, "method %s is not allowed on %s", capInput(r.Method), capInput(r.URL.Path))
	if ep, ok := s.doors[r.URL.Path]; ok {
		w.Header().Set("Allow", http.MethodPost)
		s.reject(w, r, ep, e)
		return
	}
	if isFrontPath(r.URL.Path) {
		s.reject(w, r, endpoint{proto: protocolOf(r), name: "unknown"}, e)
		return
	}
	writeError(w, s.adapter(protocolOf(r)), e)
}

// isFrontPath reports whether p is under the LLM API prefixes, where every
// request, refused or not, gets a log row.
func isFrontPath(p string) bool {
	return strings.HasPrefix(p, "/v1/") || strings.HasPrefix(p, "/v1beta/")
}

func isAPIPath(p string) bool {
	for _, prefix := range []string{"/v1/", "/v1beta/", "/api/", "/metrics"} {
		if len(p) >= len(prefix) && p[:len(prefix)] == prefix {
			return true
		}
	}
	return false
}

// HTTPServer returns an *http.Server for s with the limits a gateway
// needs: a read-header timeout and header size cap against slow or
// oversized clients, an idle timeout for keep-alive connections, and no
// write timeout (streams may run for many minutes).
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       0, // bodies are bounded by MaxBodyBytes and the client's own pace
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
	}
}

// cutWait bounds how long shutdown waits, after the grace period has
// expired and the remaining connections were closed, for their handlers
// to notice and record their requests.
const cutWait = 5 * time.Second

// Run serves on ln until ctx is done, then shuts down gracefully: it stops
// accepting at once, lets in-flight requests and streams run for up to
// grace (or until cut is closed: an operator's second signal), then closes
// the connections still open. It returns only when every handler has
// returned (or cutWait after the cut), so that each request has been handed
// to the request log before its writer stops: a stream cut at the end of
// the grace period is logged too. Running out of grace is logged, not an
// error: the shutdown was asked for and done. cut may be nil.
func (s *Server) Run(ctx context.Context, ln net.Listener, grace time.Duration, cut <-chan struct{}) error {
	hs := s.HTTPServer(ln.Addr().String())
	active := &activeHandlers{h: hs.Handler, n: &s.inFlight}
	hs.Handler = active
	// Requests keep running when ctx ends; Shutdown and Close stop them.
	hs.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	go func() {
		select {
		case <-cut:
			cancel()
		case <-sctx.Done():
		}
	}()
	log := s.cfg.Logger
	log.Info().Int64("in_flight", active.n.Load()).Dur("grace", grace).Msg("shutting down; a second SIGINT or SIGTERM cuts in-flight requests at once")
	err := hs.Shutdown(sctx)
	if err != nil && sctx.Err() != nil {
		log.Warn().Int64("in_flight", active.n.Load()).Dur("grace", grace).Msg("shutdown grace expired or cut short: cutting the requests still in flight")
		err = hs.Close()
		if left := active.wait(cutWait); left > 0 {
			log.Error().Int64("in_flight", left).Msg("handlers still running after the cut; their requests may be missing from the log")
		}
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return err
}

// InFlight is the number of requests Run is serving now, streams
// included.
func (s *Server) InFlight() int64 { return s.inFlight.Load() }

// activeHandlers counts the requests being served, so that shutdown can
// wait for handlers that net/http's Close no longer waits for.
type activeHandlers struct {
	h http.Handler
	n *atomic.Int64
}

func (a *activeHandlers) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.n.Add(1)
	defer a.n.Add(-1)
	a.h.ServeHTTP(w, r)
}

// wait polls until no handler runs or timeout has passed, and returns how
// many still run.
func (a *activeHandlers) wait(timeout time.Duration) int64 {
	deadline := time.Now().Add(timeout)
	for a.n.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return a.n.Load()
}
