package gateway

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/rs/zerolog"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/health"
	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/metrics"
	"github.com/llmgw/llmgw/pricing"
	"github.com/llmgw/llmgw/requestlog"
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

// Config configures a Server. Zero values are the documented defaults.
type Config struct {
	// Policies is the policy source. Required.
	Policies Policies
	// Log records every request. Nil records nothing (tests).
	Log Recorder
	// LogDB answers the dashboard's queries. Nil disables /api/summary and
	// /api/requests.
	LogDB *requestlog.DB
	// Prices is the built-in price table; the policy's price() overrides
	// are applied on top. Nil means pricing.Default().
	Prices *pricing.Table
	// Metrics receives counters and histograms. Nil disables /metrics.
	Metrics *metrics.Metrics
	// Health tracks providers. Nil means a fresh tracker with defaults.
	Health *health.Tracker
	// Sticky holds session bindings. Nil means a fresh table (1 h TTL).
	Sticky *sticky.Table
	// Tokens serves providers declared with oauth = "...". Nil makes such
	// providers fail with a clear error.
	Tokens Tokens
	// Demo serves providers of kind "demo" in-process. Nil makes them fail.
	Demo http.RoundTripper
	// Dashboard serves the web UI at /. Nil serves a 404 there.
	Dashboard http.Handler
	// Logger is the structured log. The zero value logs nothing.
	Logger zerolog.Logger
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// MaxBodyBytes caps request bodies; 0 means 10 MiB.
	MaxBodyBytes int64
	// MaxAttempts caps upstream attempts per request, retries included; 0
	// means 5.
	MaxAttempts int
	// RequestTimeout bounds a whole request, retry chain included, until
	// the response starts; 0 means 10 minutes. Streams, once started, are
	// bounded by StreamIdleTimeout between events instead.
	RequestTimeout time.Duration
	// StreamIdleTimeout is the longest wait between two stream events from
	// an upstream; 0 means 5 minutes.
	StreamIdleTimeout time.Duration
	// MaxConcurrent caps requests in flight on the front doors; past it
	// clients get 503 in their protocol's shape. 0 means 4096.
	MaxConcurrent int
}

// Server is the gateway's HTTP handler.
type Server struct {
	cfg     Config
	now     func() time.Time
	health  *health.Tracker
	sticky  *sticky.Table
	prices  *pricing.Table
	router  chi.Router
	slots   chan struct{}
	clients *clientCache

	// guards the following
	mu          sync.Mutex
	priceHash   string
	policyTable *pricing.Table
}

// New returns a Server. It panics if cfg.Policies is nil (a programming
// error).
func New(cfg Config) *Server {
	if cfg.Policies == nil {
		panic("gateway: Config.Policies is required")
	}
	s := &Server{cfg: cfg, now: cfg.Now, health: cfg.Health, sticky: cfg.Sticky, prices: cfg.Prices}
	if s.now == nil {
		s.now = time.Now
	}
	if s.health == nil {
		s.health = health.New(health.Config{})
	}
	if s.sticky == nil {
		s.sticky = sticky.New(sticky.Config{})
	}
	if s.prices == nil {
		s.prices = pricing.Default()
	}
	if s.cfg.MaxBodyBytes <= 0 {
		s.cfg.MaxBodyBytes = 10 << 20
	}
	if s.cfg.MaxAttempts <= 0 {
		s.cfg.MaxAttempts = 5
	}
	if s.cfg.RequestTimeout <= 0 {
		s.cfg.RequestTimeout = 10 * time.Minute
	}
	if s.cfg.StreamIdleTimeout <= 0 {
		s.cfg.StreamIdleTimeout = 5 * time.Minute
	}
	if s.cfg.MaxConcurrent <= 0 {
		s.cfg.MaxConcurrent = 4096
	}
	s.slots = make(chan struct{}, s.cfg.MaxConcurrent)
	s.clients = newClientCache(cfg.Demo)
	s.router = s.routes()
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// Health returns the provider health tracker (for the admin API and tests).
func (s *Server) Health() *health.Tracker { return s.health }

// Sticky returns the session binding table.
func (s *Server) Sticky() *sticky.Table { return s.sticky }

func (s *Server) routes() chi.Router {
	r := chi.NewRouter()
	r.NotFound(s.notFound)
	r.MethodNotAllowed(s.methodNotAllowed)

	r.Get("/health", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	r.Get("/ready", s.ready)

	r.Post("/v1/chat/completions", s.front(endpoint{proto: llm.ProtocolOpenAI, op: opGenerate, name: "chat.completions"}))
	r.Post("/v1/responses", s.front(endpoint{proto: llm.ProtocolResponses, op: opGenerate, name: "responses"}))
	r.Post("/v1/embeddings", s.front(endpoint{proto: llm.ProtocolOpenAI, op: opEmbed, name: "embeddings"}))
	r.Post("/v1/messages", s.front(endpoint{proto: llm.ProtocolAnthropic, op: opGenerate, name: "messages"}))
	r.Post("/v1/messages/count_tokens", s.front(endpoint{proto: llm.ProtocolAnthropic, op: opCountTokens, name: "count_tokens"}))
	r.Get("/v1/models", s.listModels)
	r.Get("/v1/models/{model}", s.listModels)
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
// errors on paths no front door matched.
func protocolOf(r *http.Request) llm.Protocol {
	switch {
	case len(r.URL.Path) >= 7 && r.URL.Path[:7] == "/v1beta":
		return llm.ProtocolGemini
	case r.Header.Get("anthropic-version") != "" || r.Header.Get("x-api-key") != "":
		return llm.ProtocolAnthropic
	}
	return llm.ProtocolOpenAI
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Dashboard != nil && r.Method == http.MethodGet && !isAPIPath(r.URL.Path) {
		s.cfg.Dashboard.ServeHTTP(w, r)
		return
	}
	writeError(w, protocolOf(r), errorf(http.StatusNotFound, "unknown path %s %s", r.Method, r.URL.Path))
}

func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeError(w, protocolOf(r), errorf(http.StatusMethodNotAllowed, "method %s is not allowed on %s", r.Method, r.URL.Path))
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
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       0, // bodies are bounded by MaxBodyBytes and the client's own pace
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    1 << 20,
	}
}

// Run serves on ln until ctx is done, then shuts down gracefully: it stops
// accepting, lets in-flight requests and streams finish for up to grace,
// and then closes what is left.
func (s *Server) Run(ctx context.Context, ln net.Listener, grace time.Duration) error {
	srv := s.HTTPServer(ln.Addr().String())
	srv.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		_ = srv.Close()
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return err
}
