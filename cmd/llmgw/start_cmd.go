package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/llmgw/llmgw/dashboard"
	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/gateway"
	"github.com/llmgw/llmgw/metrics"
	"github.com/llmgw/llmgw/oauth"
	"github.com/llmgw/llmgw/pricing"
	"github.com/llmgw/llmgw/providers/demo"
	"github.com/llmgw/llmgw/requestlog"
	"github.com/llmgw/llmgw/tracing"
)

// startOptions are the flags of 'llmgw start'.
type startOptions struct {
	policy, listen, db, prices, retention, grace, logFormat, logLevel, requireTests, otel, otelContent, otelEndpoint *string
	allowedOrigins, allowedHosts                                                                                     *string
	bodyTimeout, headerTimeout, maxConcurrent                                                                        *string
	streamHeaderTimeout, maxResponseBody, responseBudget                                                             *string
	logBufferRows, logBufferBytes                                                                                    *string
	limitTZ                                                                                                          *string
	state                                                                                                            *string
}

// startFlags defines start's flags, each also read from an LLMGW_*
// variable, on a new FlagSet (tests and the docs test enumerate them
// through it).
func startFlags(e env) (*flag.FlagSet, startOptions) {
	fs := flagSet("start", e)
	return fs, startOptions{
		policy:              envString(fs, e, "policy", "LLMGW_POLICY", defaultPolicy, "policy `file` or directory (a directory's entry file is main.star or policies.star)"),
		listen:              envString(fs, e, "listen", "LLMGW_LISTEN", "127.0.0.1:8080", "`address` to listen on (host:port; port 0 picks a free one)"),
		db:                  envString(fs, e, "db", "LLMGW_DB", "./llmgw.db", "request log: a SQLite `file`, created when missing, or a postgres:// URL shared by replicas; the OAuth key file llmgw.key is kept beside the file (with a URL, beside ./llmgw-oauth.db)"),
		prices:              envString(fs, e, "prices", "LLMGW_PRICES", "", "price `file` in LiteLLM's JSON format, over the built-in prices"),
		retention:           envString(fs, e, "retention", "LLMGW_RETENTION", "30d", "how long request log rows are kept (`duration`, e.g. 72h or 30d)"),
		grace:               envString(fs, e, "shutdown-grace", "LLMGW_SHUTDOWN_GRACE", "30s", "how long in-flight requests may run after SIGTERM (`duration`); a second signal ends it"),
		logFormat:           envString(fs, e, "log-format", "LLMGW_LOG_FORMAT", "json", "log `format` on stderr: json or console"),
		logLevel:            envString(fs, e, "log-level", "LLMGW_LOG_LEVEL", "info", "log `level`: debug (a line per request), info, warn or error"),
		requireTests:        envString(fs, e, "require-tests", "LLMGW_REQUIRE_TESTS", "false", "`true` refuses a policy without *_test.star tests, at start and at every reload (without it such a policy loads with a warning)"),
		allowedOrigins:      envString(fs, e, "allowed-origins", "LLMGW_ALLOWED_ORIGINS", "", "comma-separated browser `origins` (https://app.example, or *) that may call the gateway cross-site and get CORS headers; none by default"),
		allowedHosts:        envString(fs, e, "allowed-hosts", "LLMGW_ALLOWED_HOSTS", "", "comma-separated Host `names` the admin API and dashboard answer without admin_key(), besides loopback ones"),
		bodyTimeout:         envString(fs, e, "body-timeout", "LLMGW_BODY_TIMEOUT", "2m", "how long a client may take to send its request body (`duration`); a slower one gets 408 and the connection is closed"),
		headerTimeout:       envString(fs, e, "header-timeout", "LLMGW_HEADER_TIMEOUT", "10s", "how long a client may take to send its request headers (`duration`)"),
		maxConcurrent:       envString(fs, e, "max-concurrent", "LLMGW_MAX_CONCURRENT", "4096", "requests in flight on the front doors (`n`); past it, 503 with Retry-After"),
		streamHeaderTimeout: envString(fs, e, "stream-header-timeout", "LLMGW_STREAM_HEADER_TIMEOUT", "60s", "how long a streaming attempt waits for the upstream's response headers before failing over (`duration`), unless the provider sets timeout="),
		maxResponseBody:     envString(fs, e, "max-response-body", "LLMGW_MAX_RESPONSE_BODY", "33554432", "largest non-streaming upstream body read (`bytes`); a larger one fails the attempt"),
		responseBudget:      envString(fs, e, "response-budget", "LLMGW_RESPONSE_BUDGET", "268435456", "non-streaming upstream bodies held at once across requests (`bytes`); past it, 502"),
		otel:                envString(fs, e, "otel", "LLMGW_OTEL", "auto", "OpenTelemetry trace export `mode`: off, on, or auto (on when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set); OTEL_* variables configure it"),
		otelEndpoint:        envString(fs, e, "otel-endpoint", "LLMGW_OTEL_ENDPOINT", "", "the OpenTelemetry collector's base `URL` (http://otel-collector:4318; spans go to /v1/traces under it), over OTEL_EXPORTER_OTLP_ENDPOINT; setting it turns --otel auto on"),
		otelContent:         envString(fs, e, "otel-content", "LLMGW_OTEL_CONTENT", "", "`true` puts prompts and completions on the trace spans (gen_ai.input.messages, gen_ai.output.messages); unset follows OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT, off by default"),
		logBufferRows:       envString(fs, e, "log-buffer-rows", "LLMGW_LOG_BUFFER_ROWS", "100000", "request log rows held in memory while a postgres:// --db is unreachable (`n`); past it (or --log-buffer-bytes) rows are shed and counted"),
		logBufferBytes:      envString(fs, e, "log-buffer-bytes", "LLMGW_LOG_BUFFER_BYTES", "67108864", "memory those held rows may take (`bytes`, estimated)"),
		limitTZ:             envString(fs, e, "limit-tz", "LLMGW_LIMIT_TZ", "UTC", "time `zone` of the policy's limit() budgets: where a usd per = \"day\" or \"month\" starts (an IANA name, e.g. Europe/Paris)"),
		state:               envString(fs, e, "state", "LLMGW_STATE", "", "shared state of replicas: a redis://host:port[/db] `URL` (sticky bindings, cooldowns, limit counters, OAuth refreshes, the replica registry); none keeps it in process"),
	}
}

// runStart implements 'llmgw start': load the policy, open the request
// log, and serve until SIGINT/SIGTERM, then shut down gracefully (in-flight
// requests and streams finish, the log is flushed).
func runStart(ctx context.Context, args []string, e env) error {
	fs, opt := startFlags(e)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("start: unexpected argument %q (the policy is --policy PATH)", fs.Arg(0))
	}
	if err := checkPolicyPath("start", *opt.policy); err != nil {
		return err
	}
	tuneGC(e.getenv)
	keep, err := parseDays(*opt.retention)
	if err != nil {
		return fmt.Errorf("start: --retention: %w", err)
	}
	grace, err := time.ParseDuration(*opt.grace)
	if err != nil || grace < 0 {
		return fmt.Errorf("start: --shutdown-grace: bad duration %q", *opt.grace)
	}
	bodyTimeout, err := time.ParseDuration(*opt.bodyTimeout)
	if err != nil || bodyTimeout <= 0 {
		return fmt.Errorf("start: --body-timeout: want a positive duration, got %q", *opt.bodyTimeout)
	}
	headerTimeout, err := time.ParseDuration(*opt.headerTimeout)
	if err != nil || headerTimeout <= 0 {
		return fmt.Errorf("start: --header-timeout: want a positive duration, got %q", *opt.headerTimeout)
	}
	maxConcurrent, err := strconv.Atoi(*opt.maxConcurrent)
	if err != nil || maxConcurrent <= 0 {
		return fmt.Errorf("start: --max-concurrent: want a positive integer, got %q", *opt.maxConcurrent)
	}
	streamHeaderTimeout, err := time.ParseDuration(*opt.streamHeaderTimeout)
	if err != nil || streamHeaderTimeout <= 0 {
		return fmt.Errorf("start: --stream-header-timeout: want a positive duration, got %q", *opt.streamHeaderTimeout)
	}
	maxResponseBody, err := strconv.ParseInt(*opt.maxResponseBody, 10, 64)
	if err != nil || maxResponseBody <= 0 {
		return fmt.Errorf("start: --max-response-body: want a positive number of bytes, got %q", *opt.maxResponseBody)
	}
	responseBudget, err := strconv.ParseInt(*opt.responseBudget, 10, 64)
	if err != nil || responseBudget <= 0 {
		return fmt.Errorf("start: --response-budget: want a positive number of bytes, got %q", *opt.responseBudget)
	}
	requireTests, err := strconv.ParseBool(*opt.requireTests)
	if err != nil {
		return fmt.Errorf("start: --require-tests: want true or false, got %q", *opt.requireTests)
	}
	logger, err := newLogger(e, *opt.logFormat, *opt.logLevel)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	otelMode, err := tracing.ParseMode(*opt.otel)
	if err != nil {
		return fmt.Errorf("start: --otel: %w", err)
	}
	traceContent, err := tracing.ContentEnabled(*opt.otelContent, e.getenv)
	if err != nil {
		return fmt.Errorf("start: --otel-content: %w", err)
	}

	// The price table every policy version compiles its price()
	// declarations over.
	prices := pricing.Default()
	if *opt.prices != "" {
		f, err := os.Open(*opt.prices)
		if err != nil {
			return fmt.Errorf("start: --prices: %w", err)
		}
		extra, err := pricing.LoadLiteLLM(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("start: --prices %s: %w", *opt.prices, err)
		}
		prices = prices.With(pricing.FileOverrides(extra)...)
	}

	m := metrics.New()
	// saveSource keeps each policy version's source in the request log,
	// once by hash, so that replay can decide a logged request under the
	// version that decided it. It is set once the log is open, before the
	// watcher or a signal can reload.
	var saveSource func(*engine.Policy)
	var limitReload *limitReloads // set with the limits' store
	var eng *engine.Engine
	eng, err = engine.New(ctx, engine.Config{
		Kinds:        gateway.ProviderKinds(),
		Path:         *opt.policy,
		Getenv:       e.getenv,
		Prices:       prices,
		RequireTests: requireTests,
		// The request log beside the policy (the defaults) is written with
		// every batch: not a reason to reload the policy.
		Ignore: requestlog.Files(oauthDBPath(*opt.db)),
		OnReload: func(st engine.Status) {
			if st.LastError != "" && st.LastErrorAt.After(st.LoadedAt) {
				m.PolicyReload("error")
				logger.Error().Str("error", st.LastError).Strs("failed_tests", st.FailedTests).Msg("policy reload refused; the last good policy keeps serving")
				return
			}
			m.PolicyReload("ok")
			logger.Info().Str("policy", st.Hash).Strs("files", st.Files).Msg("policy loaded")
			if saveSource != nil {
				saveSource(eng.Policy())
			}
			if limitReload != nil {
				limitReload.reloaded(eng.Policy())
			}
			for _, w := range st.Warnings {
				logger.Warn().Str("policy", st.Hash).Str("warning", w).Msg("policy check")
			}
		},
	})
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	pol := eng.Policy()
	for _, n := range pol.Notes {
		logger.Info().Str("note", n).Msg("policy note")
	}
	for _, f := range pol.Findings {
		logger.Warn().Str("policy", pol.Hash).Str("warning", f.String()).Msg("policy check")
	}
	if len(pol.Keys) == 0 {
		logger.Warn().Msg("the policy declares no client key(): the gateway is OPEN to anyone who can reach it")
	}

	db, err := requestlog.Open(ctx, *opt.db)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer db.Close()
	if err := db.Ping(ctx); err != nil {
		// A log on PostgreSQL opens without its server: requests are served
		// and their rows held until it answers (--log-buffer-rows).
		logger.Warn().Err(err).Str("db", requestlog.Redact(*opt.db)).Msg("request log unreachable at start: serving, rows held in memory until it answers")
	}
	bufferRows, bufferBytes, err := logBuffer(opt)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	saveSource = func(p *engine.Policy) {
		files := make(map[string]string, len(p.Files))
		for _, f := range p.Files {
			if b, ok := p.Source(f); ok {
				files[f] = string(b)
			}
		}
		if err := db.SavePolicySource(ctx, p.Hash, requestlog.PolicyFiles{Entry: p.Entry(), Files: files}); err != nil {
			logger.Warn().Err(err).Str("policy", p.Hash).Msg("policy source not saved: replay cannot re-decide its requests under it")
		}
	}
	saveSource(pol)
	writer := requestlog.NewWriter(db, requestlog.WriterConfig{
		Retention:   keep,
		BufferRows:  bufferRows,
		BufferBytes: bufferBytes,
		OnError:     func(err error) { logger.Error().Err(err).Msg("request log write failed") },
	})
	m.RegisterLogQueue(func() (int64, int64, int64) {
		st := writer.Stats()
		return st.Queued, st.Written, st.Shed
	})
	m.RegisterLogBackend(func() metrics.LogBackend {
		st := writer.Stats()
		return metrics.LogBackend{Buffered: st.Buffered, Unavailable: st.Unavailable, Outages: st.Outages, Failed: st.Failed}
	})

	secret, err := oauth.LoadKey(e.getenv, oauthDBPath(*opt.db))
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	logFiles(logger, e.getenv, *opt.db)
	oauthDB := db.SQL()
	if oauthDB == nil { // the log is on PostgreSQL: the accounts stay in a local file
		if oauthDB, err = sql.Open("sqlite", "file:"+oauthDBPath(*opt.db)+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)"); err != nil {
			return fmt.Errorf("start: oauth accounts: %w", err)
		}
		defer oauthDB.Close()
	}
	store, err := oauth.OpenStore(ctx, oauthDB, secret)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	rs, err := newReplicaState(*opt.state, replicaVersion(), func() string { return eng.Status().Hash }, logger, m)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	tokens := oauth.NewManager(store, oauth.ManagerConfig{Coordinator: rs.oauth()})

	traces, err := tracing.Start(ctx, tracing.Config{Mode: otelMode, Getenv: e.getenv, ServiceVersion: moduleVersion(), Endpoint: *opt.otelEndpoint})
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	if traces != nil {
		logger.Info().Bool("content", traceContent).Msg("exporting traces over OTLP/HTTP (OTEL_* variables)")
	}
	// Spans are flushed once the server has stopped: the last requests'
	// spans end before Run returns.
	defer shutdownTraces(traces, logger)

	limitStore, err := startLimits(ctx, *opt.limitTZ, db, pol, logger)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	limitReload = newLimitReloads(ctx, db, limitStore, pol, logger)
	rs.onFallback(func() { limitReload.refillAll(eng.Policy()) })
	srv := gateway.New(gateway.Config{
		Cluster:   rs.cluster(),
		Version:   replicaVersion(),
		Policies:  eng,
		Log:       writer,
		LogDB:     db,
		Metrics:   m,
		Health:    rs.health,
		Sticky:    rs.sticky,
		Tokens:    oauthTokens{tokens},
		Demo:      demo.New(demo.Config{}).Transport(),
		Dashboard: dashboard.Handler(),
		Logger:    logger,
		Traces:    traces.TracerProvider(),
		// Content goes on spans only when spans are exported at all.
		TraceContent: traces != nil && traceContent,
		Limits:       rs.limits(limitStore),

		BodyTimeout:         bodyTimeout,
		ReadHeaderTimeout:   headerTimeout,
		MaxConcurrent:       maxConcurrent,
		StreamHeaderTimeout: streamHeaderTimeout,
		MaxResponseBytes:    maxResponseBody,
		ResponseBudget:      responseBudget,
		AllowedOrigins:      splitList(*opt.allowedOrigins),
		AllowedHosts:        splitList(*opt.allowedHosts),
	})

	ln, err := net.Listen("tcp", *opt.listen)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	// SIGHUP reloads from here on: registered before the gateway says it
	// listens, so that a reload sent as soon as it does cannot meet the
	// default action, which ends the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if w := exposedAdminWarning(ln.Addr(), pol.AdminKey != ""); w != "" {
		logger.Warn().Str("listen", ln.Addr().String()).Msg(w)
	}
	logger.Info().Str("listen", ln.Addr().String()).Str("policy", pol.Hash).Str("db", requestlog.Redact(*opt.db)).Msg("llmgw listening")
	fmt.Fprintf(e.stdout, "llmgw listening on http://%s\n", ln.Addr())

	// The log writer outlives the server: it stops only after the last
	// request has been recorded, then flushes.
	wctx, stopWriter := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWriter()
	g, gctx := errgroup.WithContext(ctx)
	cut, stopCut := secondSignal(gctx)
	defer stopCut()
	g.Go(func() error {
		defer stopWriter()
		// Run returns once every handler has handed its request to the
		// writer, a stream cut at the end of the grace included.
		return srv.Run(gctx, ln, grace, cut)
	})
	g.Go(func() error { return writer.Run(wctx) })
	g.Go(func() error {
		finished := func() int64 { st := writer.Stats(); return st.Queued + st.Written + st.Shed + st.Failed }
		releaseMemoryWhenIdle(gctx, finished, srv.InFlight, idleAfter, debug.FreeOSMemory)
		return nil
	})
	g.Go(func() error { return ignoreCanceled(eng.Watch(gctx)) })
	// The shared state, like the log writer, serves until the last
	// request has finished.
	g.Go(func() error { return rs.run(wctx) })
	g.Go(func() error { return reloadOnHUP(gctx, hup, eng, logger) })
	err = g.Wait()
	logger.Info().Msg("llmgw stopped")
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// logBuffer parses the bounds of what the request log holds in memory
// while PostgreSQL is unreachable.
func logBuffer(opt startOptions) (rows int, bytes int64, err error) {
	rows, err = strconv.Atoi(*opt.logBufferRows)
	if err != nil || rows <= 0 {
		return 0, 0, fmt.Errorf("--log-buffer-rows: want a positive integer, got %q", *opt.logBufferRows)
	}
	bytes, err = strconv.ParseInt(*opt.logBufferBytes, 10, 64)
	if err != nil || bytes <= 0 {
		return 0, 0, fmt.Errorf("--log-buffer-bytes: want a positive number of bytes, got %q", *opt.logBufferBytes)
	}
	return rows, bytes, nil
}

// moduleVersion is the binary's module version, the traces'
// service.version: "" for a build from a work tree.
func moduleVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return ""
}

// tracesFlushTimeout bounds how long stopping waits for the last spans to
// reach the collector.
const tracesFlushTimeout = 5 * time.Second

// shutdownTraces exports the spans still buffered and stops the trace
// pipeline; a collector that cannot take them is logged, not an error:
// the requests were served.
func shutdownTraces(p *tracing.Provider, logger zerolog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), tracesFlushTimeout)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		logger.Warn().Err(err).Msg("traces not all exported at shutdown")
	}
}

// secondSignal returns a channel closed when SIGINT or SIGTERM arrives
// again after ctx is done (the first one ended ctx): an operator's way to
// stop waiting for long streams during the shutdown grace. stop releases
// the signal handler.
func secondSignal(ctx context.Context) (cut <-chan struct{}, stop func()) {
	c := make(chan struct{})
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-ctx.Done():
		case <-quit:
			return
		}
		again := make(chan os.Signal, 1)
		signal.Notify(again, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(again)
		select {
		case <-again:
			close(c)
		case <-quit:
		}
	}()
	return c, func() {
		close(quit)
		<-done
	}
}

// reloadOnHUP reloads the policy for every signal on hup (SIGHUP) until
// ctx is done.
func reloadOnHUP(ctx context.Context, hup <-chan os.Signal, eng *engine.Engine, logger zerolog.Logger) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
			reloadForOperator(ctx, eng, logger)
		}
	}
}

// reloadForOperator reloads the policy because an operator asked (SIGHUP)
// and logs the outcome. A new version or a refused one is logged by the
// engine's OnReload; files identical to the live policy change nothing
// and OnReload stays silent, so this says that the policy was checked and
// is unchanged: without it a SIGHUP would look ignored.
func reloadForOperator(ctx context.Context, eng *engine.Engine, logger zerolog.Logger) {
	before := eng.Status()
	if err := eng.Reload(ctx); err != nil {
		logger.Error().Err(err).Msg("policy reload on SIGHUP failed; the last good policy keeps serving")
		return
	}
	if after := eng.Status(); after.Reloads == before.Reloads {
		logger.Info().Str("policy", after.Hash).Strs("files", after.Files).Msg("policy checked on SIGHUP: unchanged")
	}
}

// logFiles logs where start keeps its files: the request log and the key
// that seals OAuth tokens (a file beside the database unless
// LLMGW_SECRET_KEY is set).
//
// With the log on PostgreSQL the URL is logged without its password, and
// the OAuth accounts' local file beside it.
func logFiles(logger zerolog.Logger, getenv func(string) string, dbPath string) {
	ev := logger.Info()
	if requestlog.IsURL(dbPath) {
		ev = ev.Str("db", requestlog.Redact(dbPath)).Str("oauth_db", absPath(oauthDBPath(dbPath)))
	} else {
		ev = ev.Str("db", absPath(dbPath))
	}
	if key := oauth.KeyPath(getenv, oauthDBPath(dbPath)); key != "" {
		ev = ev.Str("key_file", absPath(key))
	} else {
		ev = ev.Str("key_env", oauth.KeyEnv)
	}
	ev.Msg("request log and oauth key")
}

// absPath is path made absolute for a log line, or path itself when that
// fails.
func absPath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

func ignoreCanceled(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func newLogger(e env, format, level string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		return zerolog.Logger{}, fmt.Errorf("bad log level %q", level)
	}
	out := e.stderr
	if format == "console" {
		out = zerolog.ConsoleWriter{Out: e.stderr, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(out).Level(lvl).With().Timestamp().Logger(), nil
}

// oauthTokens adapts *oauth.Manager to gateway.Tokens.
type oauthTokens struct{ m *oauth.Manager }

func (t oauthTokens) Token(ctx context.Context, account string) (string, error) {
	return t.m.Token(ctx, account)
}

func (t oauthTokens) Invalidate(ctx context.Context, account string) (string, error) {
	return t.m.Invalidate(ctx, account)
}

func (t oauthTokens) Headers(kind string) map[string]string { return oauth.AuthHeaders(kind) }

func (t oauthTokens) Status(account string) (string, string) { return t.m.Status(account) }

var _ gateway.Tokens = oauthTokens{}

// exposedAdminWarning is the warning start logs when the gateway listens
// beyond loopback with no admin_key(): the admin API, dashboard, /metrics
// and pprof then rely on the client's address being loopback, which every
// request relayed by a reverse proxy on the same host is. "" when the
// listener is loopback only or an admin key is declared.
func exposedAdminWarning(addr net.Addr, adminKey bool) string {
	if adminKey {
		return ""
	}
	if tcp, ok := addr.(*net.TCPAddr); ok && tcp.IP.IsLoopback() {
		return ""
	}
	return "listening beyond loopback with no admin_key(): the admin API, dashboard, /metrics and pprof are guarded only by the client address being loopback, and a reverse proxy on this host makes every client loopback; declare admin_key() in the policy"
}

// splitList reads a comma-separated flag value, dropping blanks.
func splitList(v string) []string {
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
