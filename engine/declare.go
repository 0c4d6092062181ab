package engine

import (
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"

	starlarktime "go.starlark.net/lib/time"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// ProviderKind is a kind of provider a policy may declare (provider(kind
// = ...)). The engine knows no kind of its own: the caller lists them
// (Config.Kinds), from the protocol adapters that speak to them, so that
// a new protocol needs no engine change.
type ProviderKind struct {
	Name  string
	Title string // the vendor's name in messages ("OpenAI"); "" means Name
	// BaseURL is the default base_url, in the official SDK's convention
	// (OpenAI's includes the version, others are the bare origin); ""
	// for a kind with none (the built-in demo). When it has a path, a
	// policy's base_url without that path draws a warning: the gateway
	// appends the operation's path to it.
	BaseURL string
	// NoKey marks a kind that never needs an api_key (the demo).
	NoKey bool
}

// kindNames lists the kinds' names for an error message: "a, b or c".
func kindNames(kinds []ProviderKind) string {
	var names []string
	for _, k := range kinds {
		names = append(names, k.Name)
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// declsKey is the thread-local key of the *decls that declaration
// builtins record into. Only threads that load a policy carry one, which
// is how provider() and friends refuse to run inside a hook.
const declsKey = "llmgw.decls"

// decls collects the declarations of one policy load.
type decls struct {
	providers []*providerValue
	byName    map[string]*providerValue
	keys      []Key
	keyNames  map[string]bool
	prices    []Price
	adminKey  string
	notes     []string
	// literalNoKey holds the positions (of the opening parenthesis) of the
	// provider() calls that pass api_key = None literally: the policy's
	// explicit word that an upstream needs no key, as opposed to a None
	// that came from env() of an unset variable.
	literalNoKey map[string]bool
	// findings are the warnings of the load-time checks.
	findings []Finding
	// offline makes a missing api_key a warning (Config.Offline).
	offline bool
	// kinds are the provider kinds a policy may declare (Config.Kinds).
	kinds []ProviderKind
	// limits are the limit() declarations.
	limits policyLimits
}

func newDecls(offline bool, kinds []ProviderKind) *decls {
	return &decls{byName: make(map[string]*providerValue), keyNames: make(map[string]bool),
		literalNoKey: make(map[string]bool), offline: offline, kinds: kinds}
}

// kind returns the declared kind named name.
func (d *decls) kind(name string) (ProviderKind, bool) {
	for _, k := range d.kinds {
		if k.Name == name {
			return k, true
		}
	}
	return ProviderKind{}, false
}

// markLiteralNoKey records the provider() calls of f that pass
// api_key = None literally.
func (d *decls) markLiteralNoKey(f *syntax.File) {
	syntax.Walk(f, func(n syntax.Node) bool {
		call, ok := n.(*syntax.CallExpr)
		if !ok {
			return true
		}
		if id, ok := call.Fn.(*syntax.Ident); !ok || id.Name != "provider" {
			return true
		}
		for _, a := range call.Args {
			if bin, ok := a.(*syntax.BinaryExpr); ok && bin.Op == syntax.EQ {
				if kw, ok := bin.X.(*syntax.Ident); ok && kw.Name == "api_key" && isNone(bin.Y) {
					d.literalNoKey[call.Lparen.String()] = true
				}
			}
		}
		return true
	})
}

func declsOf(thread *starlark.Thread, b *starlark.Builtin) (*decls, error) {
	d, _ := thread.Local(declsKey).(*decls)
	if d == nil {
		return nil, fmt.Errorf("%s: declarations are allowed only while the policy loads, not in hooks or tests", b.Name())
	}
	return d, nil
}

// declarations returns the engine's own predeclared names.
func declarations() starlark.StringDict {
	return starlark.StringDict{
		"provider":      starlark.NewBuiltin("provider", declareProvider),
		"target":        starlark.NewBuiltin("target", newTarget),
		"key":           starlark.NewBuiltin("key", declareKey),
		"price":         starlark.NewBuiltin("price", declarePrice),
		"admin_key":     starlark.NewBuiltin("admin_key", declareAdminKey),
		"cooldown":      starlark.NewBuiltin("cooldown", newCooldown),
		"default_class": starlark.NewBuiltin("default_class", defaultClassBuiltin),
		"refuse":        starlark.NewBuiltin("refuse", refuseBuiltin),
		"limit":         starlark.NewBuiltin("limit", declareLimit),
	}
}

func declareProvider(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	d, err := declsOf(thread, b)
	if err != nil {
		return nil, err
	}
	var (
		name, kind               string
		baseURL, oauth           starlark.Value = starlark.None, starlark.None
		apiKey                   starlark.Value // nil: not passed
		models, headers, timeout starlark.Value = starlark.None, starlark.None, starlark.None
		priority, weight                        = 1, 100
		autoCache                               = true
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs,
		"name", &name, "kind", &kind, "base_url?", &baseURL, "api_key?", &apiKey,
		"priority?", &priority, "weight?", &weight, "models?", &models, "headers?", &headers,
		"timeout?", &timeout, "oauth?", &oauth, "auto_cache?", &autoCache); err != nil {
		return nil, err
	}
	if name == "" {
		return nil, fmt.Errorf("%s: name must not be empty", b.Name())
	}
	pk, ok := d.kind(kind)
	if !ok {
		return nil, fmt.Errorf("%s %q: unknown kind %q (want %s)", b.Name(), name, kind, kindNames(d.kinds))
	}
	if _, dup := d.byName[name]; dup {
		return nil, fmt.Errorf("%s: duplicate provider name %q", b.Name(), name)
	}
	if weight < 0 {
		return nil, fmt.Errorf("%s %q: weight must not be negative", b.Name(), name)
	}
	p := &Provider{Name: name, Kind: kind, Priority: priority, Weight: weight, BaseURL: pk.BaseURL, NoAutoCache: !autoCache}
	callPos := thread.CallFrame(1).Pos.String()
	if err := checkAPIKey(apiKey, oauth, pk.NoKey, d.literalNoKey[callPos]); err != nil {
		if !d.offline {
			return nil, fmt.Errorf("%s %q: %w", b.Name(), name, err)
		}
		d.findings = append(d.findings, Finding{Pos: callPos, Severity: SeverityWarning,
			Message: fmt.Sprintf("provider %q: %v (an error when the policy serves)", name, err)})
	}
	if apiKey == nil {
		apiKey = starlark.None
	}
	fields := []struct {
		label string
		v     starlark.Value
		dst   *string
	}{{"base_url", baseURL, &p.BaseURL}, {"api_key", apiKey, &p.APIKey}, {"oauth", oauth, &p.OAuth}}
	for _, f := range fields {
		if f.v == starlark.None {
			continue
		}
		s, ok := starlark.AsString(f.v)
		if !ok {
			return nil, fmt.Errorf("%s %q: %s must be a string or None, got %s", b.Name(), name, f.label, f.v.Type())
		}
		if s != "" || f.label != "base_url" {
			*f.dst = s
		}
	}
	p.BaseURL = strings.TrimRight(p.BaseURL, "/")
	if baseURL != starlark.None && p.BaseURL != "" {
		u, err := url.Parse(p.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%s %q: base_url %q must be an http:// or https:// URL with a host", b.Name(), name, p.BaseURL)
		}
		if want := defaultPath(pk.BaseURL); want != "" && !strings.Contains(u.Path, want) {
			d.findings = append(d.findings, Finding{Pos: callPos, Severity: SeverityWarning,
				Message: fmt.Sprintf("provider %q: %s base_url usually ends in %s (the gateway appends the operation's path to it); %q has none", name, pk.withArticle(), want, p.BaseURL)})
		}
	}
	if p.Models, err = stringMap(models); err != nil {
		return nil, fmt.Errorf("%s %q: models: %w", b.Name(), name, err)
	}
	if p.Headers, err = stringMap(headers); err != nil {
		return nil, fmt.Errorf("%s %q: headers: %w", b.Name(), name, err)
	}
	if p.Timeout, err = seconds(timeout); err != nil {
		return nil, fmt.Errorf("%s %q: timeout: %w", b.Name(), name, err)
	}
	v := &providerValue{p: p}
	d.providers = append(d.providers, v)
	d.byName[name] = v
	return v, nil
}

// withArticle is the kind's title with its indefinite article.
func (k ProviderKind) withArticle() string {
	t := k.Title
	if t == "" {
		t = k.Name
	}
	if t != "" && strings.ContainsRune("AEIOUaeiou", rune(t[0])) {
		return "an " + t
	}
	return "a " + t
}

// defaultPath is the path of a kind's default base URL ("/v1" for
// OpenAI's), "" when it has none.
func defaultPath(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	return strings.TrimRight(u.Path, "/")
}

// checkAPIKey refuses a provider that would send requests without a
// credential by accident: a kind that needs a key (every kind but one
// marked NoKey, the demo; unless the provider logs in with oauth) must get
// a non-empty api_key, or api_key = None written literally for an
// upstream that needs none (a local server). An env() of an unset variable gives None or "", and
// both are refused here instead of turning every request into a 401.
func checkAPIKey(apiKey, oauth starlark.Value, noKey, literalNone bool) error {
	if noKey {
		return nil
	}
	if s, ok := starlark.AsString(oauth); ok && s != "" {
		return nil
	}
	switch v := apiKey.(type) {
	case nil:
		return fmt.Errorf("api_key is missing: pass the upstream's key (api_key = env(\"NAME\")), oauth = ACCOUNT, or api_key = None for an upstream that needs no key")
	case starlark.NoneType:
		if !literalNone {
			return fmt.Errorf("api_key is None (an unset environment variable?): set it, or write api_key = None literally for an upstream that needs no key")
		}
	case starlark.String:
		if v == "" {
			return fmt.Errorf("api_key is empty (is its environment variable set?); write api_key = None literally for an upstream that needs no key")
		}
	}
	return nil
}

func newTarget(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		prov             starlark.Value
		model            string
		priority, weight starlark.Value = starlark.None, starlark.None
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "provider", &prov, "model?", &model, "priority?", &priority, "weight?", &weight); err != nil {
		return nil, err
	}
	t := targetValue{model: model}
	switch p := prov.(type) {
	case *providerValue:
		t.prov = p
	case targetValue:
		t = p
		if model != "" {
			t.model = model
		}
	default:
		return nil, fmt.Errorf("%s: provider must be a provider, got %s", b.Name(), prov.Type())
	}
	var err error
	if priority != starlark.None {
		if t.priority, err = intPtr(priority); err != nil {
			return nil, fmt.Errorf("%s: priority: %w", b.Name(), err)
		}
	}
	if weight != starlark.None {
		if t.weight, err = intPtr(weight); err != nil || *t.weight < 0 {
			return nil, fmt.Errorf("%s: weight must be a non-negative int", b.Name())
		}
	}
	return t, nil
}

func declareKey(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	d, err := declsOf(thread, b)
	if err != nil {
		return nil, err
	}
	var name string
	var secret starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "secret", &secret); err != nil {
		return nil, err
	}
	s, ok := starlark.AsString(secret)
	switch {
	case name == "":
		return nil, fmt.Errorf("%s: name must not be empty", b.Name())
	case d.keyNames[name]:
		return nil, fmt.Errorf("%s: duplicate key name %q", b.Name(), name)
	case !ok || s == "":
		return nil, fmt.Errorf("%s %q: secret must be a non-empty string (is its environment variable set?)", b.Name(), name)
	}
	for _, k := range d.keys {
		if k.Secret == s {
			return nil, fmt.Errorf("%s %q: same secret as key %q", b.Name(), name, k.Name)
		}
	}
	d.keyNames[name] = true
	d.keys = append(d.keys, Key{Name: name, Secret: s})
	return starlark.None, nil
}

func declarePrice(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	d, err := declsOf(thread, b)
	if err != nil {
		return nil, err
	}
	var model string
	var in, out, cr, cw starlark.Value = starlark.None, starlark.None, starlark.None, starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "model", &model, "input?", &in, "output?", &out, "cache_read?", &cr, "cache_write?", &cw); err != nil {
		return nil, err
	}
	if model == "" {
		return nil, fmt.Errorf("%s: model must not be empty", b.Name())
	}
	p := Price{Model: model}
	for _, f := range []struct {
		label string
		v     starlark.Value
		dst   **float64
	}{{"input", in, &p.Input}, {"output", out, &p.Output}, {"cache_read", cr, &p.CacheRead}, {"cache_write", cw, &p.CacheWrite}} {
		if f.v == starlark.None {
			continue
		}
		x, ok := starlark.AsFloat(f.v)
		if !ok || x < 0 || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%s %q: %s must be a non-negative number of USD per million tokens, got %s", b.Name(), model, f.label, f.v)
		}
		*f.dst = &x
	}
	d.prices = append(d.prices, p)
	return starlark.None, nil
}

func declareAdminKey(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	d, err := declsOf(thread, b)
	if err != nil {
		return nil, err
	}
	var secret starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "secret", &secret); err != nil {
		return nil, err
	}
	s, ok := starlark.AsString(secret)
	switch {
	case d.adminKey != "":
		return nil, fmt.Errorf("%s: declared twice", b.Name())
	case !ok || s == "":
		return nil, fmt.Errorf("%s: secret must be a non-empty string (is its environment variable set?)", b.Name())
	}
	d.adminKey = s
	return starlark.None, nil
}

func newCooldown(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &v); err != nil {
		return nil, err
	}
	d, err := seconds(v)
	if err != nil || d <= 0 {
		return nil, fmt.Errorf("%s: want a positive number of seconds, got %s", b.Name(), v)
	}
	return classValue{Class{Action: ActionCooldown, Cooldown: d}}, nil
}

func defaultClassBuiltin(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &v); err != nil {
		return nil, err
	}
	ev, ok := v.(errValue)
	if !ok {
		return nil, fmt.Errorf("%s: want err (the classify argument), got %s", b.Name(), v.Type())
	}
	return classValue{DefaultClass(*ev.ei)}, nil
}

// stringMap converts None or a dict of strings.
func stringMap(v starlark.Value) (map[string]string, error) {
	if v == starlark.None {
		return nil, nil
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, fmt.Errorf("want a dict of strings, got %s", v.Type())
	}
	m := make(map[string]string, d.Len())
	for _, it := range d.Items() {
		k, ok1 := starlark.AsString(it[0])
		s, ok2 := starlark.AsString(it[1])
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("want a dict of strings, got %s: %s", it[0], it[1])
		}
		m[k] = s
	}
	return m, nil
}

// seconds converts None (0), a number of seconds, or a time.duration.
func seconds(v starlark.Value) (time.Duration, error) {
	switch v := v.(type) {
	case starlark.NoneType:
		return 0, nil
	case starlarktime.Duration:
		return time.Duration(v), nil
	}
	x, ok := starlark.AsFloat(v)
	if !ok || x < 0 || math.IsNaN(x) || x > 1e9 {
		return 0, fmt.Errorf("want a non-negative number of seconds, got %s", v)
	}
	return time.Duration(x * float64(time.Second)), nil
}

func intPtr(v starlark.Value) (*int, error) {
	var n int
	if err := starlark.AsInt(v, &n); err != nil {
		return nil, err
	}
	return &n, nil
}
