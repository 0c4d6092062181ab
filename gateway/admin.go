package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/internal/wirefeat"
	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/requestlog"
)

// adminRoutes mounts the JSON API the dashboard uses (scripts may use it
// too) and /metrics. Access: with admin_key() in the policy, callers must
// send it (Authorization: Bearer or x-api-key); without one, only loopback
// clients are served.
func (s *Server) adminRoutes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(s.adminOnly)
		r.Get("/api/summary", s.apiSummary)
		r.Get("/api/requests", s.apiRequests)
		r.Get("/api/requests/{id}", s.apiRequest)
		r.Get("/api/providers", s.apiProviders)
		r.Get("/api/limits", s.apiLimits)
		r.Get("/api/cluster", s.apiCluster)
		r.Get("/api/policy", s.apiPolicy)
		r.Post("/api/policy/reload", s.apiPolicyReload)
		r.Post("/api/eval", s.apiEval)
		if s.cfg.Metrics != nil {
			r.Handle("/metrics", s.cfg.Metrics.Handler())
		}
		// Go's profiler, for profile-guided work on a running gateway
		// (bench/README.md): the same access rule as the rest of the
		// admin API.
		r.HandleFunc("/debug/pprof/", pprof.Index)
		r.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		r.HandleFunc("/debug/pprof/profile", pprof.Profile)
		r.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		r.HandleFunc("/debug/pprof/trace", pprof.Trace)
		r.Handle("/debug/pprof/{name}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			pprof.Handler(chi.URLParam(r, "name")).ServeHTTP(w, r)
		}))
	})
}

func (s *Server) adminOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pol := s.cfg.Policies.Policy()
		if pol != nil && pol.AdminKey != "" {
			got := sha256.Sum256([]byte(clientSecret(r)))
			want := sha256.Sum256([]byte(pol.AdminKey))
			if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
				apiError(w, http.StatusUnauthorized, "admin key required")
				return
			}
		} else if !isLoopback(r.RemoteAddr) {
			apiError(w, http.StatusForbidden, "the admin API is served to loopback clients only; declare admin_key() in the policy to open it")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func apiError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"message": msg}})
}

// parseSince reads a duration such as 90m, 24h or 7d.
func parseSince(v string, def time.Duration) (time.Duration, error) {
	if v == "" {
		return def, nil
	}
	if strings.HasSuffix(v, "d") {
		n, err := strconv.Atoi(strings.TrimSuffix(v, "d"))
		if err != nil || n < 0 {
			return 0, errors.New("bad duration " + quoteInput(v))
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, errors.New("bad duration " + quoteInput(v))
	}
	return d, nil
}

// queryError answers an admin API query that failed: 400 with the reason
// when the caller asked wrongly (requestlog.ErrBadQuery), else 500 with what.
func queryError(w http.ResponseWriter, err error, what string) {
	if errors.Is(err, requestlog.ErrBadQuery) {
		apiError(w, http.StatusBadRequest, capInput(err.Error()))
		return
	}
	apiError(w, http.StatusInternalServerError, what)
}

// logError answers a request-log query that failed. While the log's
// PostgreSQL is unreachable it says so, 503 with the writer's counters
// (the rows this replica holds meanwhile), rather than a bare 500.
func (s *Server) logError(w http.ResponseWriter, err error, what string) {
	if st, ok := s.logWriter(); ok && st.Unavailable && !errors.Is(err, requestlog.ErrBadQuery) {
		msg := fmt.Sprintf("%s: the request log's PostgreSQL is unreachable; this replica holds %d rows in memory until it answers", what, st.Buffered)
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": map[string]string{"message": msg}, "log_writer": st})
		return
	}
	queryError(w, err, what)
}

// logWriter returns the request-log writer's counters when the recorder
// keeps them (*requestlog.Writer does).
func (s *Server) logWriter() (requestlog.WriterStats, bool) {
	if ws, ok := s.cfg.Log.(interface{ Stats() requestlog.WriterStats }); ok {
		return ws.Stats(), true
	}
	return requestlog.WriterStats{}, false
}

// queryInt reads an optional integer query parameter: def when absent, an
// error naming the parameter when it is not an integer.
func queryInt(q url.Values, name string, def int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, errors.New(name + ": want an integer, got " + quoteInput(v))
	}
	return n, nil
}

func (s *Server) apiSummary(w http.ResponseWriter, r *http.Request) {
	if s.cfg.LogDB == nil {
		apiError(w, http.StatusNotFound, "no request log configured")
		return
	}
	since, err := parseSince(r.URL.Query().Get("since"), 24*time.Hour)
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	bucket, err := parseSince(r.URL.Query().Get("bucket"), 0)
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	if bucket == 0 {
		bucket = max(since/48, time.Minute)
	}
	now := s.now()
	sum, err := s.cfg.LogDB.Summary(r.Context(), requestlog.SummaryQuery{Since: now.Add(-since), Until: now, Bucket: bucket})
	if err != nil {
		s.logError(w, err, "summary query failed")
		return
	}
	// The writer's counters say whether the figures above are complete:
	// rows held while PostgreSQL is unreachable, rows shed.
	if st, ok := s.logWriter(); ok {
		sum.Writer = &st
	}
	writeJSON(w, http.StatusOK, sum)
}

func (s *Server) apiRequests(w http.ResponseWriter, r *http.Request) {
	if s.cfg.LogDB == nil {
		apiError(w, http.StatusNotFound, "no request log configured")
		return
	}
	q := r.URL.Query()
	limit, err := queryInt(q, "limit", 50)
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	offset, err := queryInt(q, "offset", 0)
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	rq := requestlog.RequestQuery{Limit: limit, Offset: max(offset, 0), Model: q.Get("model"), Provider: q.Get("provider"), Key: q.Get("key"), Status: q.Get("status")}
	if v := q.Get("since"); v != "" {
		d, err := parseSince(v, 0)
		if err != nil {
			apiError(w, http.StatusBadRequest, err.Error())
			return
		}
		rq.Since = s.now().Add(-d)
	}
	page, err := s.cfg.LogDB.Requests(r.Context(), rq)
	if err != nil {
		s.logError(w, err, "requests query failed")
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) apiRequest(w http.ResponseWriter, r *http.Request) {
	if s.cfg.LogDB == nil {
		apiError(w, http.StatusNotFound, "no request log configured")
		return
	}
	d, err := s.cfg.LogDB.Request(r.Context(), chi.URLParam(r, "id"))
	if errors.Is(err, requestlog.ErrNotFound) {
		apiError(w, http.StatusNotFound, "no such request")
		return
	}
	if err != nil {
		s.logError(w, err, "request query failed")
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// providerView is one row of /api/providers.
type providerView struct {
	Name          string  `json:"name"`
	Kind          string  `json:"kind"`
	State         string  `json:"state"`
	CooldownLeftS float64 `json:"cooldown_left_s"`
	ErrorRate     float64 `json:"error_rate"`
	LatencyMS     float64 `json:"latency_ms"`
	InFlight      int     `json:"in_flight"`
	Requests      int64   `json:"requests"`
	Failures      int64   `json:"failures"`
	LastError     string  `json:"last_error"`
	Priority      int     `json:"priority"`
	Weight        int     `json:"weight"`
	OAuth         string  `json:"oauth,omitempty"`
	OAuthState    string  `json:"oauth_state,omitempty"`
	Stickies      int     `json:"sticky_bindings"`
}

func (s *Server) apiProviders(w http.ResponseWriter, r *http.Request) {
	pol := s.cfg.Policies.Policy()
	counts := s.sticky.CountByProvider()
	out := make([]providerView, 0, len(pol.Providers))
	for _, p := range pol.Providers {
		st := s.health.Snapshot(p.Name)
		v := providerView{
			Name: p.Name, Kind: p.Kind, State: string(st.State), CooldownLeftS: st.CooldownLeft.Seconds(),
			ErrorRate: st.ErrorRate, LatencyMS: st.LatencyMS, InFlight: st.InFlight,
			Requests: st.Requests, Failures: st.Failures, LastError: st.LastError,
			Priority: p.Priority, Weight: p.Weight, OAuth: p.OAuth, Stickies: counts[p.Name],
		}
		if v.State == "" {
			v.State = "healthy"
		}
		if p.OAuth != "" && s.cfg.Tokens != nil {
			state, reason := s.cfg.Tokens.Status(p.OAuth)
			v.OAuthState = state
			if state == "failed" {
				v.State, v.LastError = "failed", "oauth: "+reason
			}
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"providers": out, "sticky_bindings": s.sticky.Len(), "state": s.stateStatus()})
}

// policyView is GET /api/policy: the engine's reload status and the live
// version's source, file by file, for the dashboard to show.
type policyView struct {
	engine.Status
	Sources []policySource `json:"sources"`
}

// policySource is one file of the live policy as it was loaded.
type policySource struct {
	File   string `json:"file"`
	Source string `json:"source"`
}

func (s *Server) apiPolicy(w http.ResponseWriter, _ *http.Request) {
	pol := s.cfg.Policies.Policy()
	v := policyView{Status: s.cfg.Policies.Status(), Sources: []policySource{}}
	if pol != nil {
		secrets := policySecrets(pol)
		for _, f := range pol.Files {
			if b, ok := pol.Source(f); ok {
				v.Sources = append(v.Sources, policySource{File: f, Source: string(scrubBytes(b, secrets))})
			}
		}
	}
	writeJSON(w, http.StatusOK, v)
}

// policyReloader is what POST /api/policy/reload needs of Config.Policies
// beyond Policies: *engine.Engine has it. A Policies without it answers
// 501.
type policyReloader interface {
	Reload(ctx context.Context) error
}

// reloadView is the answer of POST /api/policy/reload: whether the policy
// on disk is now live, the refusal when it is not, and the engine's
// status after the attempt (the live hash, failed tests, warnings).
type reloadView struct {
	OK     bool          `json:"ok"`
	Error  string        `json:"error,omitempty"`
	Status engine.Status `json:"status"`
}

// apiPolicyReload reloads the policy now (what `llmgw reload` asks for, a
// deploy step that wants to know the outcome): the same gate as a saved
// file or SIGHUP. A refused version answers 422 with the failed check or
// test; the last good version keeps serving either way.
func (s *Server) apiPolicyReload(w http.ResponseWriter, r *http.Request) {
	rl, ok := s.cfg.Policies.(policyReloader)
	if !ok {
		apiError(w, http.StatusNotImplemented, "this gateway's policy source cannot reload")
		return
	}
	err := rl.Reload(r.Context())
	v := reloadView{OK: err == nil, Status: s.cfg.Policies.Status()}
	status := http.StatusOK
	if err != nil {
		v.Error, status = err.Error(), http.StatusUnprocessableEntity
	}
	writeJSON(w, status, v)
}

// policySecrets are the credentials a policy declares (provider API keys,
// client key secrets, the admin key). A policy normally reads them with
// env(), so its source holds none; one written into the code as a literal
// is shown redacted, like a credential an upstream quotes.
func policySecrets(pol *engine.Policy) [][]byte {
	var out [][]byte
	add := func(v string) {
		if len(v) >= minCredential {
			out = append(out, []byte(v))
		}
	}
	add(pol.AdminKey)
	for _, p := range pol.Providers {
		add(p.APIKey)
	}
	for _, k := range pol.Keys {
		add(k.Secret)
	}
	return out
}

// apiEval is the dashboard's playground: the same decision as
// `llmgw eval --explain`, for a request body posted here.
func (s *Server) apiEval(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		apiError(w, http.StatusRequestEntityTooLarge, "request body too large")
		return
	}
	q := r.URL.Query()
	proto := q.Get("protocol")
	if proto == "" || proto == "auto" {
		proto = string(GuessProtocol(body))
	}
	a, ok := s.adapters[llm.Protocol(proto)]
	if !ok { // the protocols this gateway serves
		apiError(w, http.StatusBadRequest, "unknown protocol "+strconv.Quote(proto))
		return
	}
	f, err := wirefeat.Read(body, a.NewFeatureScanner())
	if err != nil {
		apiError(w, http.StatusBadRequest, "invalid request body: "+err.Error())
		return
	}
	req := engine.NewRequest(proto, f, len(body), nil)
	// This gateway's attempt cap, so that the dry run walks as it would.
	opts := engine.EvalOptions{Protocol: proto, Now: s.now(), Health: map[string]engine.Health{}, MaxAttempts: s.cfg.MaxAttempts}
	for _, p := range s.cfg.Policies.Policy().Providers {
		st := s.health.Snapshot(p.Name)
		if st.State != "" && st.State != "healthy" {
			opts.Health[p.Name] = engine.Health{State: string(st.State), CooldownLeft: st.CooldownLeft, ErrorRate: st.ErrorRate, LatencyMS: st.LatencyMS, InFlight: st.InFlight}
		}
	}
	if v := q.Get("simulate_errors"); v != "" {
		// The same list as llmgw eval --simulate-errors, checked the same
		// way: provider=STATUS[:retry-after], or timeout, connect, stream.
		if opts.SimulateErrors, err = engine.ParseSimulateErrors(v); err != nil {
			apiError(w, http.StatusBadRequest, "simulate_errors: "+err.Error())
			return
		}
	}
	res, err := s.cfg.Policies.Policy().Eval(r.Context(), req, opts)
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}
