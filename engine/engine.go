package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llmgw/llmgw/builtins"
	"github.com/llmgw/llmgw/policies"
	"github.com/llmgw/llmgw/pricing"
)

// Defaults for the zero values of Config.
const (
	DefaultMaxSteps    = 1_000_000
	DefaultHookTimeout = 250 * time.Millisecond
	DefaultLoadTimeout = 5 * time.Second
	DefaultTestTimeout = 5 * time.Second
	DefaultDebounce    = 100 * time.Millisecond
)

// Config configures an Engine. The zero value loads ./policies.star with
// the defaults below.
type Config struct {
	// Path is the policy: a file, or a directory holding main.star or
	// policies.star. "" means "policies.star" in the working directory.
	Path string
	// Getenv backs env() in the policy. Nil means no environment: every
	// env(name, default) returns its default.
	Getenv func(string) string
	// Now is the clock behind ctx.now and time.now() when the caller gives
	// none. Nil means time.Now.
	Now func() time.Time
	// MaxSteps caps the Starlark steps of one hook call (loading gets ten
	// times as many). 0 means DefaultMaxSteps.
	MaxSteps uint64
	// HookTimeout caps the wall time of one hook call. 0 means
	// DefaultHookTimeout; negative means no timeout (only the step limit).
	HookTimeout time.Duration
	// LoadTimeout caps the wall time of loading the policy (its tests not
	// included). 0 means DefaultLoadTimeout.
	LoadTimeout time.Duration
	// SkipTests turns off test gating. By default New and Reload run the
	// policy's *_test.star tests and refuse a version whose tests fail.
	SkipTests bool
	// RequireTests makes a policy without *_test.star tests an error
	// instead of a warning (`--require-tests`).
	RequireTests bool
	// Offline says the policy will not serve: it is loaded to be tested,
	// evaluated or replayed, which never calls an upstream. A provider's
	// missing or empty api_key is then a warning instead of an error, so
	// that CI can test a policy without the production keys.
	Offline bool
	// Kinds are the provider kinds a policy may declare, with their
	// default base URLs: the caller's protocol adapters' (cmd/llmgw's
	// come from gateway.ProviderKinds). A policy declaring a kind not
	// listed fails to load.
	Kinds []ProviderKind
	// Debounce is how long Watch waits after the last file event before
	// reloading. 0 means DefaultDebounce.
	Debounce time.Duration
	// Ignore names files in the policy's directories whose changes Watch
	// does not react to: the request log's database and its -wal, -shm
	// and -journal files, when they sit beside the policy (llmgw start's
	// defaults are ./policies.star and ./llmgw.db). Every write to them
	// would otherwise end in a reload, which loads, compiles and runs the
	// policy again only to find its files unchanged: each pause in traffic
	// cost one.
	Ignore []string
	// PollInterval, when positive, makes Watch also rehash the policy's
	// files at this interval, for file systems without change
	// notifications (NFS, some container mounts). 0 means no polling
	// (unless the watcher cannot start, then it polls every 2s).
	PollInterval time.Duration
	// OnReload, when set, is called after every reload attempt that
	// changed something (success or failure) with the new status. The
	// engine does not log; the gateway logs from this callback. It runs on
	// the reloading goroutine and must not call Reload.
	OnReload func(Status)
	// Stock is the file system behind load("@stock/..."). Nil means the
	// modules embedded from the policies package.
	Stock fs.FS
	// Prices is the price table the policy's price() declarations
	// override: the built-in table, with a --prices file applied. Nil
	// means pricing.Default(). Each policy version compiles its overrides
	// over it once, at load (Policy.PriceTable).
	Prices *pricing.Table
}

// prices returns the base price table, the built-in one when none was
// configured (parsed once per Engine: New sets it).
func (c *Config) prices() *pricing.Table {
	if c.Prices == nil {
		return pricing.Default()
	}
	return c.Prices
}

func (c *Config) limits() limits {
	l := limits{maxSteps: c.MaxSteps, hookTimeout: c.HookTimeout, now: c.Now}
	if l.maxSteps == 0 {
		l.maxSteps = DefaultMaxSteps
	}
	switch {
	case l.hookTimeout == 0:
		l.hookTimeout = DefaultHookTimeout
	case l.hookTimeout < 0:
		l.hookTimeout = 0
	}
	if l.now == nil {
		l.now = time.Now
	}
	l.regexps = builtins.NewRegexps(0)
	return l
}

func (c *Config) loadTimeout() time.Duration {
	if c.LoadTimeout > 0 {
		return c.LoadTimeout
	}
	return DefaultLoadTimeout
}

func (c *Config) stock() fs.FS {
	if c.Stock != nil {
		return c.Stock
	}
	return policies.FS()
}

// Engine owns the live policy: it loads it, hands out immutable snapshots
// and swaps in new versions on Reload or Watch. Its methods are safe for
// concurrent use.
type Engine struct {
	cfg    Config
	policy atomic.Pointer[Policy]

	// reloadMu serializes builds, so reloads never interleave.
	reloadMu sync.Mutex

	// mu guards the following.
	mu     sync.Mutex
	status Status
	// lastFailure identifies the files and error of the last failed
	// reload, so that seeing them again (a poll, a touch) is not a new
	// failure.
	lastFailure string
}

// Status describes the live policy and the last reload attempts; the
// gateway serves it at /api/policy.
type Status struct {
	// Hash is the live policy's hash.
	Hash string `json:"hash"`
	// LoadedAt is when the live policy was swapped in.
	LoadedAt time.Time `json:"loaded_at"`
	// Files are the live policy's files, relative to its directory.
	Files []string `json:"files"`
	// LastError is the error of the last failed reload (with file:line
	// when the policy is at fault); it is cleared when a reload succeeds
	// or the files on disk are back to the live version.
	LastError string `json:"last_error,omitempty"`
	// LastErrorAt is when the last reload failed; it is kept as history.
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// FailedTests names the tests that refused the last reload.
	FailedTests []string `json:"failed_tests,omitempty"`
	// Warnings are the live policy's findings that did not refuse it
	// (Policy.Findings), one a line with its file:line.
	Warnings []string `json:"warnings,omitempty"`
	// Reloads and ReloadFailures count reloads since New (the initial
	// load excluded).
	Reloads        int `json:"reloads"`
	ReloadFailures int `json:"reload_failures"`
}

// New loads the policy. The initial load must succeed: an invalid policy,
// or (unless cfg.SkipTests) one whose tests fail, is an error.
func New(ctx context.Context, cfg Config) (*Engine, error) {
	cfg.Prices = cfg.prices() // once, not at every reload
	e := &Engine{cfg: cfg}
	p, err := e.buildAndTest(ctx)
	if err != nil {
		return nil, err
	}
	e.policy.Store(p)
	e.status = Status{Hash: p.Hash, LoadedAt: e.now(), Files: p.Files, Warnings: warnings(p)}
	return e, nil
}

func (e *Engine) now() time.Time {
	if e.cfg.Now != nil {
		return e.cfg.Now()
	}
	return time.Now()
}

// Policy returns the live policy snapshot; never nil.
func (e *Engine) Policy() *Policy { return e.policy.Load() }

// Status returns a copy of the engine's status.
func (e *Engine) Status() Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.status
	s.Files = append([]string(nil), s.Files...)
	s.FailedTests = append([]string(nil), s.FailedTests...)
	s.Warnings = append([]string(nil), s.Warnings...)
	return s
}

func warnings(p *Policy) []string {
	var out []string
	for _, f := range p.Findings {
		out = append(out, f.String())
	}
	return out
}

// Reload builds the policy from disk, runs its tests (unless
// Config.SkipTests) and swaps it in. On failure the live policy keeps
// serving, Status records the error, and the error is returned. Reloading
// files identical to the live version does nothing.
func (e *Engine) Reload(ctx context.Context) error {
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	return e.reload(ctx)
}

func (e *Engine) reload(ctx context.Context) error {
	p, src, err := buildSource(ctx, &e.cfg)
	if errors.Is(err, errNotSettled) {
		return err // the caller retries; nothing to report yet
	}
	live := e.Policy()
	if err == nil && p.Hash == live.Hash {
		e.mu.Lock()
		changed := e.status.LastError != ""
		e.status.LastError, e.status.FailedTests = "", nil
		e.lastFailure = ""
		s := e.status
		e.mu.Unlock()
		if changed && e.cfg.OnReload != nil {
			e.cfg.OnReload(s)
		}
		return nil
	}
	var failed []string
	if err == nil {
		failed, err = e.gate(ctx, p)
	}
	e.mu.Lock()
	if err != nil {
		failure := err.Error()
		if src != nil {
			failure = src.hash() + " " + failure
		}
		if failure == e.lastFailure {
			e.mu.Unlock()
			return err // already reported
		}
		e.lastFailure = failure
		e.status.LastError, e.status.LastErrorAt = err.Error(), e.now()
		e.status.FailedTests = failed
		e.status.ReloadFailures++
	} else {
		e.policy.Store(p)
		e.status.Hash, e.status.LoadedAt, e.status.Files = p.Hash, e.now(), p.Files
		e.status.Warnings = warnings(p)
		e.status.LastError, e.status.FailedTests = "", nil
		e.status.Reloads++
		e.lastFailure = ""
	}
	s := e.status
	e.mu.Unlock()
	if e.cfg.OnReload != nil {
		e.cfg.OnReload(s)
	}
	return err
}

// buildAndTest builds and gates a policy (New's path).
func (e *Engine) buildAndTest(ctx context.Context) (*Policy, error) {
	p, err := build(ctx, &e.cfg)
	if err != nil {
		return nil, err
	}
	if _, err := e.gate(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

// gate runs a built policy's tests unless gating is off. It returns the
// names of the failed tests.
func (e *Engine) gate(ctx context.Context, p *Policy) ([]string, error) {
	if e.cfg.SkipTests {
		return nil, nil
	}
	rep, err := p.RunTests(ctx, TestOptions{})
	if err != nil {
		return nil, err
	}
	if rep.OK() {
		return nil, nil
	}
	var names, lines []string
	for _, t := range rep.Tests {
		if t.Failed {
			names = append(names, t.Name)
			lines = append(lines, fmt.Sprintf("%s (%s): %s", t.Name, t.Pos, t.Error))
		}
	}
	return names, &TestsFailedError{Policy: p.Hash, Names: names, Lines: lines}
}

// TestsFailedError is a policy refused because its tests failed.
type TestsFailedError struct {
	Policy string
	// Names are the failed tests; Lines say where and why, one each.
	Names, Lines []string
}

func (e *TestsFailedError) Error() string {
	return fmt.Sprintf("engine: policy %s refused: %d test(s) failed: %s", e.Policy, len(e.Names), strings.Join(e.Lines, "; "))
}
