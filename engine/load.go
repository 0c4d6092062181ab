package engine

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/llmgw/llmgw/builtins"
)

// loader executes a policy's modules for one build (or one test run):
// each module once, with cycle detection, all sharing the predeclared
// names and the declarations collector.
type loader struct {
	src         *source
	predeclared starlark.StringDict
	decls       *decls // nil outside a policy build: declarations fail
	now         func() time.Time
	modules     map[string]*module
	ctx         context.Context // the build's; loader lives only as long as one build
	deadline    time.Time
	steps       uint64 // left for the whole load graph
	// syntax holds the resolved syntax tree of each module of the
	// policy directory executed, for the static checks.
	syntax map[string]*syntax.File
}

type module struct {
	globals starlark.StringDict
	err     error
	loading bool
}

// load is the Thread.Load hook.
func (l *loader) load(_ *starlark.Thread, name string) (starlark.StringDict, error) {
	resolved, err := l.src.resolve(name)
	if err != nil {
		return nil, err
	}
	return l.exec(resolved)
}

// exec runs a module (once) and returns its frozen globals. Every module
// of a load graph draws on one step budget and one deadline.
func (l *loader) exec(name string) (starlark.StringDict, error) {
	if m, ok := l.modules[name]; ok {
		if m.loading {
			return nil, fmt.Errorf("cycle in load graph through %s", name)
		}
		return m.globals, m.err
	}
	if len(l.modules) >= maxFiles {
		return nil, fmt.Errorf("more than %d modules", maxFiles)
	}
	m := &module{loading: true}
	l.modules[name] = m
	defer func() { m.loading = false }()

	src, err := l.src.read(name)
	if err != nil {
		m.err = err
		return nil, err
	}
	thread := &starlark.Thread{Name: "load " + name, Load: l.load}
	thread.SetLocal(declsKey, l.decls)
	builtins.SetNow(thread, l.now)
	if l.decls != nil {
		builtins.SetNotes(thread, &l.decls.notes)
	}
	defer limit(l.ctx, thread, max(l.steps, 1), max(time.Until(l.deadline), time.Millisecond))()
	f, prog, err := starlark.SourceProgramOptions(fileOptions, l.src.filename(name), src, l.predeclared.Has)
	if err != nil {
		m.err = err
		return nil, err
	}
	if !strings.HasPrefix(name, StockPrefix) {
		if l.syntax == nil {
			l.syntax = make(map[string]*syntax.File)
		}
		l.syntax[name] = f
		if l.decls != nil {
			l.decls.markLiteralNoKey(f)
		}
	}
	m.globals, m.err = prog.Init(thread, l.predeclared)
	m.globals.Freeze()
	l.steps -= min(l.steps, thread.ExecutionSteps())
	return m.globals, m.err
}

// build reads, compiles and executes a policy off to the side and checks
// its hooks. It does not run the policy's tests.
func build(ctx context.Context, cfg *Config) (*Policy, error) {
	p, _, err := buildSource(ctx, cfg)
	return p, err
}

// buildSource is build that also returns the files it read (nil when the
// policy path does not resolve), so a failed build can be recognized when
// the same files come back.
func buildSource(ctx context.Context, cfg *Config) (*Policy, *source, error) {
	root, entry, err := resolvePath(cfg.Path)
	if err != nil {
		return nil, nil, err
	}
	lim := cfg.limits()
	predeclared := builtins.Library(builtins.Options{Getenv: cfg.Getenv, Regexps: lim.regexps})
	maps.Copy(predeclared, declarations())
	l := &loader{
		src:         newSource(root, entry, cfg.stock()),
		predeclared: predeclared,
		decls:       newDecls(cfg.Offline, cfg.Kinds),
		now:         lim.now,
		modules:     make(map[string]*module),
		ctx:         ctx,
		deadline:    time.Now().Add(cfg.loadTimeout()),
		steps:       10 * lim.maxSteps,
	}
	globals, err := l.exec(entry)
	if l.src.unsettled() {
		return nil, l.src, errNotSettled
	}
	if err != nil {
		return nil, l.src, loadError(err, ctx)
	}
	tests, err := l.src.readTests()
	if err != nil {
		return nil, l.src, fmt.Errorf("engine: read tests: %w", err)
	}
	p, err := newPolicy(l, entry, globals)
	if err != nil {
		return nil, l.src, err
	}
	p.limits = lim
	p.priceTable = compilePrices(cfg.prices(), p.Prices)
	if len(tests) == 0 {
		f := Finding{Severity: SeverityWarning, Message: "the policy has no *_test.star tests: only the built-in smoke requests check it before it serves"}
		if cfg.RequireTests {
			f.Severity, f.Message = SeverityError, "the policy has no *_test.star tests (--require-tests)"
		}
		p.Findings = append(p.Findings, f)
	}
	if errs := errorsOf(p.Findings); len(errs) > 0 {
		return nil, l.src, &CheckError{Findings: errs}
	}
	if err := p.smoke(ctx); err != nil {
		return nil, l.src, err
	}
	return p, l.src, nil
}

// loadError formats a failed load with the file:line of the fault.
func loadError(err error, ctx context.Context) error {
	return hookError("load", err, ctx)
}

// newPolicy checks the entry's hooks and assembles the Policy.
func newPolicy(l *loader, entry string, globals starlark.StringDict) (*Policy, error) {
	d := l.decls
	p := &Policy{
		Hash:        l.src.hash(),
		Files:       l.src.names(),
		Keys:        d.keys,
		Prices:      d.prices,
		AdminKey:    d.adminKey,
		Notes:       d.notes,
		byName:      make(map[string]int, len(d.providers)),
		predeclared: l.predeclared,
		modules:     make(map[string]starlark.StringDict, len(l.modules)),
		src:         l.src,
	}
	for i, v := range d.providers {
		p.Providers = append(p.Providers, *v.p)
		p.byName[v.p.Name] = i
	}
	for name, m := range l.modules {
		p.modules[name] = m.globals
	}
	if err := p.checkLimits(d.limits, l.syntax); err != nil {
		return nil, err
	}
	declared := make(map[string]bool, len(p.Providers))
	for _, pr := range p.Providers {
		declared[pr.Name] = true
	}
	file := l.src.filename(entry)
	var err error
	if p.route, err = hook(globals, "route", file, true); err != nil {
		return nil, err
	}
	p.Findings = append(append(p.Findings, d.findings...), staticCheck(l.syntax, declared, p.route.Position().String())...)
	p.reqFields = reqFields(l.syntax)
	if p.classify, err = hook(globals, "classify", file, false); err != nil {
		return nil, err
	}
	if p.stickyKey, err = hook(globals, "sticky_key", file, false); err != nil {
		return nil, err
	}
	return p, nil
}

// hook finds a hook function of two parameters.
func hook(globals starlark.StringDict, name, file string, required bool) (*starlark.Function, error) {
	v, ok := globals[name]
	if !ok {
		if required {
			return nil, &HookError{Hook: "load", Pos: file, Err: fmt.Errorf("%s(req, ctx) is not defined", name)}
		}
		return nil, nil
	}
	fn, ok := v.(*starlark.Function)
	if !ok {
		return nil, &HookError{Hook: "load", Pos: file, Err: fmt.Errorf("%s is a %s, want a function", name, v.Type())}
	}
	if fn.NumParams() != 2 || fn.HasVarargs() || fn.HasKwargs() {
		return nil, &HookError{Hook: "load", Pos: fn.Position().String(), Err: fmt.Errorf("%s must take exactly two parameters", name)}
	}
	return fn, nil
}
