package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"go.starlark.net/resolve"
	"go.starlark.net/syntax"

	"github.com/llmgw/llmgw/builtins"
)

// Finding is one result of the policy checks: a static check of the
// policy's code, a load-time check of its declarations, or the smoke gate.
// An error refuses the policy; a warning is reported and the policy loads.
type Finding struct {
	// Pos is the file:line:col the finding is about, "" when it is about
	// the policy as a whole.
	Pos      string `json:"pos,omitempty"`
	Severity string `json:"severity"` // "error" or "warning"
	Message  string `json:"message"`
}

// The severities of a Finding.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

func (f Finding) String() string {
	if f.Pos == "" {
		return f.Severity + ": " + f.Message
	}
	return f.Pos + ": " + f.Severity + ": " + f.Message
}

// CheckError is a policy refused by its checks: every error finding.
type CheckError struct {
	Findings []Finding
}

func (e *CheckError) Error() string {
	lines := make([]string, 0, len(e.Findings))
	for _, f := range e.Findings {
		lines = append(lines, f.String())
	}
	return "engine: policy refused by its checks: " + strings.Join(lines, "; ")
}

// errorsOf returns the error findings.
func errorsOf(fs []Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Severity == SeverityError {
			out = append(out, f)
		}
	}
	return out
}

// valueAttrs are the attributes of the values the hooks receive, by the
// conventional parameter name that holds them. A function parameter with
// one of these names is taken to hold that value: the names the README,
// the examples and the hooks' signatures use.
var valueAttrs = map[string][]string{
	"req": requestFields,
	"ctx": {"health", "now", "sticky", "usage"},
	"err": errorFields,
}

// healthAttrs are the attributes of what ctx.health(p) returns.
var healthAttrs = []string{"available", "cooldown_left", "error_rate", "healthy", "in_flight", "latency_ms", "state"}

// builtinParams maps each builtin that takes keyword arguments to its
// parameter names, read from the signatures builtins.Capabilities lists
// (the list `llmgw test --capabilities` prints), so that the check and the
// documentation cannot disagree.
func builtinParams() map[string][]string {
	out := make(map[string][]string)
	for _, c := range builtins.Capabilities() {
		if c.Group != "builtin" && c.Group != "test" {
			continue
		}
		open := strings.IndexByte(c.Name, '(')
		if open <= 0 || !strings.HasSuffix(c.Name, ")") || strings.ContainsAny(c.Name[:open], "./ \"") {
			continue
		}
		var params []string
		for p := range strings.SplitSeq(c.Name[open+1:len(c.Name)-1], ",") {
			p = strings.TrimSpace(p)
			if name, _, _ := strings.Cut(p, "="); name != "" && !strings.ContainsAny(name, "{}|\"") {
				params = append(params, name)
			}
		}
		out[c.Name[:open]] = params
	}
	return out
}

// staticCheck inspects the syntax of the policy's own modules (the entry
// and the modules it loads; stock modules are the engine's and tests run
// on their own). It finds mistakes that would otherwise surface only when
// a request takes the faulty path: a keyword argument a builtin does not
// have, an attribute req, ctx, err or a health value does not have, a
// route() path that returns nothing, and ctx.health() of a provider the
// policy does not declare.
//
// routePos is the position of the function the policy binds to route (it
// may be defined under another name and assigned: route = pick).
func staticCheck(files map[string]*syntax.File, declared map[string]bool, routePos string) []Finding {
	params := builtinParams()
	var out []Finding
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f := files[n]
		syntax.Walk(f, func(node syntax.Node) bool {
			switch node := node.(type) {
			case *syntax.DefStmt:
				out = append(out, checkParams(node)...)
				if node.Name.Name == "route" || node.Def.String() == routePos || node.Name.NamePos.String() == routePos {
					out = append(out, checkReturns(node)...)
				}
			case *syntax.CallExpr:
				out = append(out, checkCall(node, params, declared)...)
			case *syntax.BinaryExpr:
				out = append(out, checkProviderName(node, declared)...)
			}
			return true
		})
	}
	return out
}

// checkParams checks the attributes a function reads of its req, ctx and
// err parameters, and of ctx.health(...) results.
func checkParams(def *syntax.DefStmt) []Finding {
	var out []Finding
	syntax.Walk(def, func(node syntax.Node) bool {
		dot, ok := node.(*syntax.DotExpr)
		if !ok {
			return true
		}
		var kind string
		var allowed []string
		switch x := dot.X.(type) {
		case *syntax.Ident:
			if !isParam(x, def) {
				return true
			}
			kind, allowed = x.Name, valueAttrs[x.Name]
		case *syntax.CallExpr:
			if !isHealthCall(x, def) {
				return true
			}
			kind, allowed = "ctx.health(...)", healthAttrs
		}
		if allowed == nil || contains(allowed, dot.Name.Name) {
			return true
		}
		msg := fmt.Sprintf("%s has no attribute %q", kind, dot.Name.Name)
		if s := suggest(dot.Name.Name, allowed); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		out = append(out, Finding{Pos: dot.Name.NamePos.String(), Severity: SeverityError, Message: msg})
		return true
	})
	return out
}

// isParam reports whether id refers to a parameter of def with one of the
// conventional names.
func isParam(id *syntax.Ident, def *syntax.DefStmt) bool {
	if _, ok := valueAttrs[id.Name]; !ok {
		return false
	}
	b, ok := id.Binding.(*resolve.Binding)
	if !ok || (b.Scope != resolve.Local && b.Scope != resolve.Cell) {
		return false
	}
	for _, p := range def.Params {
		if pid, ok := p.(*syntax.Ident); ok && pid.Name == id.Name && pid.Binding == id.Binding {
			return true
		}
	}
	return false
}

// isHealthCall reports whether call is ctx.health(...) on def's ctx.
func isHealthCall(call *syntax.CallExpr, def *syntax.DefStmt) bool {
	dot, ok := call.Fn.(*syntax.DotExpr)
	if !ok || dot.Name.Name != "health" {
		return false
	}
	id, ok := dot.X.(*syntax.Ident)
	return ok && id.Name == "ctx" && isParam(id, def)
}

// checkCall checks a call of a predeclared builtin: its keyword arguments
// must be parameters it has, and a literal provider name given to
// ctx.health must be declared.
func checkCall(call *syntax.CallExpr, params map[string][]string, declared map[string]bool) []Finding {
	var out []Finding
	if dot, ok := call.Fn.(*syntax.DotExpr); ok && dot.Name.Name == "health" {
		if id, ok := dot.X.(*syntax.Ident); ok && id.Name == "ctx" && len(call.Args) == 1 && declared != nil {
			if lit, ok := call.Args[0].(*syntax.Literal); ok && lit.Token == syntax.STRING {
				if name, _ := lit.Value.(string); !declared[name] {
					msg := fmt.Sprintf("ctx.health(%q): no provider of that name is declared", name)
					if s := suggest(name, sortedKeys(declared)); s != "" {
						msg += fmt.Sprintf(" (did you mean %q?)", s)
					}
					out = append(out, Finding{Pos: lit.TokenPos.String(), Severity: SeverityError, Message: msg})
				}
			}
		}
		return out
	}
	id, ok := call.Fn.(*syntax.Ident)
	if !ok {
		return nil
	}
	b, ok := id.Binding.(*resolve.Binding)
	if !ok || (b.Scope != resolve.Predeclared && b.Scope != resolve.Universal) {
		return nil
	}
	names, ok := params[id.Name]
	if !ok {
		return nil
	}
	for i, arg := range call.Args {
		param, value := "", arg
		if i < len(names) {
			param = names[i]
		}
		if bin, ok := arg.(*syntax.BinaryExpr); ok && bin.Op == syntax.EQ {
			kw, ok := bin.X.(*syntax.Ident)
			if !ok {
				continue
			}
			param, value = kw.Name, bin.Y
			if !contains(names, kw.Name) {
				msg := fmt.Sprintf("%s() has no parameter %q", id.Name, kw.Name)
				if s := suggest(kw.Name, names); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				out = append(out, Finding{Pos: kw.NamePos.String(), Severity: SeverityError, Message: msg})
				continue
			}
		}
		if f, ok := checkLiteralType(id.Name, param, value); !ok {
			out = append(out, f)
		}
	}
	return out
}

// literalTypes are the types of the builtins' parameters that a literal
// argument can get wrong: "int", "number" (int or float) or "string".
var literalTypes = map[string]map[string]string{
	"provider":    {"name": "string", "kind": "string", "priority": "int", "weight": "int", "timeout": "number"},
	"target":      {"model": "string", "priority": "int", "weight": "int"},
	"key":         {"name": "string"},
	"price":       {"model": "string", "input": "number", "output": "number", "cache_read": "number", "cache_write": "number"},
	"cooldown":    {"seconds": "number"},
	"refuse":      {"status": "int", "message": "string", "retry_after": "number"},
	"hash_bucket": {"s": "string", "n": "int"},
	"note":        {"msg": "string"},
	"env":         {"name": "string"},
}

// checkLiteralType checks a literal argument of a builtin against the
// parameter's type: weight = "50" fails only when the call runs, which
// for a hook may be one request in a thousand.
func checkLiteralType(fn, param string, v syntax.Expr) (Finding, bool) {
	want := literalTypes[fn][param]
	lit, ok := v.(*syntax.Literal)
	if want == "" || !ok {
		return Finding{}, true
	}
	var got string
	switch lit.Token {
	case syntax.STRING, syntax.BYTES:
		got = "string"
	case syntax.INT:
		got = "int"
	case syntax.FLOAT:
		got = "float"
	default:
		return Finding{}, true
	}
	if got == want || want == "number" && (got == "int" || got == "float") {
		return Finding{}, true
	}
	if want == "number" {
		want = "a number"
	}
	return Finding{Pos: lit.TokenPos.String(), Severity: SeverityError,
		Message: fmt.Sprintf("%s(): %s must be %s, got the %s %s", fn, param, article(want), got, lit.Raw)}, false
}

func article(t string) string {
	switch t {
	case "int":
		return "an int"
	case "string":
		return "a string"
	}
	return t
}

// providerNameAttrs are the attributes that hold a provider's name:
// ctx.sticky, err.provider, and provider.name or target.provider... .name.
var providerNameAttrs = map[string]bool{"sticky": true, "provider": true, "name": true}

// checkProviderName finds a comparison of a provider's name with a string
// literal that names no declared provider (ctx.sticky == "opneai-main"):
// it is always false, silently.
func checkProviderName(bin *syntax.BinaryExpr, declared map[string]bool) []Finding {
	if declared == nil || (bin.Op != syntax.EQL && bin.Op != syntax.NEQ) {
		return nil
	}
	dot, lit := nameOperands(bin.X, bin.Y)
	if dot == nil {
		dot, lit = nameOperands(bin.Y, bin.X)
	}
	if dot == nil {
		return nil
	}
	name, _ := lit.Value.(string)
	if name == "" || declared[name] {
		return nil
	}
	if id, ok := dot.X.(*syntax.Ident); dot.Name.Name != "name" && (!ok || (id.Name != "ctx" && id.Name != "err")) {
		return nil // .sticky and .provider only on ctx and err
	}
	msg := fmt.Sprintf("%s is compared with %q, which no declared provider is named", exprString(dot), name)
	if s := suggest(name, sortedKeys(declared)); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return []Finding{{Pos: lit.TokenPos.String(), Severity: SeverityError, Message: msg}}
}

// nameOperands returns x as a provider-name attribute and y as a string
// literal, or nil.
func nameOperands(x, y syntax.Expr) (*syntax.DotExpr, *syntax.Literal) {
	dot, ok := x.(*syntax.DotExpr)
	if !ok || !providerNameAttrs[dot.Name.Name] {
		return nil, nil
	}
	lit, ok := y.(*syntax.Literal)
	if !ok || lit.Token != syntax.STRING {
		return nil, nil
	}
	return dot, lit
}

// exprString renders a dotted name (ctx.sticky, p.name) for a message.
func exprString(e syntax.Expr) string {
	switch e := e.(type) {
	case *syntax.Ident:
		return e.Name
	case *syntax.DotExpr:
		return exprString(e.X) + "." + e.Name.Name
	}
	return "(...)"
}

// checkReturns finds the paths of route() that end without returning a
// value: falling off the end, a bare return, or return None. Each is a
// forgotten return far more often than a refusal, which is spelled
// return [].
func checkReturns(def *syntax.DefStmt) []Finding {
	var out []Finding
	syntax.Walk(def, func(node syntax.Node) bool {
		switch node := node.(type) {
		case *syntax.DefStmt:
			return node == def // a nested function's returns are its own
		case *syntax.LambdaExpr:
			return false
		case *syntax.ReturnStmt:
			if node.Result == nil || isNone(node.Result) {
				out = append(out, Finding{Pos: node.Return.String(), Severity: SeverityError,
					Message: "route() returns None here; return [] to refuse the request on purpose"})
			}
		}
		return true
	})
	if pos, ok := fallsOff(def.Body); ok {
		if !pos.IsValid() {
			_, end := def.Span()
			pos = end
		}
		out = append(out, Finding{Pos: pos.String(), Severity: SeverityError,
			Message: "route() can end here without a return (a forgotten return gives None); return [] to refuse on purpose"})
	}
	return out
}

// fallsOff reports whether control can reach the end of stmts, and where:
// the position of the if without else (or the loop) that lets it through,
// or an invalid position for a block that simply ends.
func fallsOff(stmts []syntax.Stmt) (syntax.Position, bool) {
	if len(stmts) == 0 {
		return syntax.Position{}, true
	}
	last := stmts[len(stmts)-1]
	switch s := last.(type) {
	case *syntax.ReturnStmt:
		return syntax.Position{}, false
	case *syntax.ExprStmt:
		if call, ok := s.X.(*syntax.CallExpr); ok {
			if id, ok := call.Fn.(*syntax.Ident); ok && id.Name == "fail" {
				return syntax.Position{}, false
			}
		}
	case *syntax.IfStmt:
		if pos, ok := fallsOff(s.True); ok {
			if !pos.IsValid() {
				pos = s.If
			}
			return pos, true
		}
		if len(s.False) == 0 {
			return s.If, true
		}
		return fallsOff(s.False)
	case *syntax.ForStmt:
		return s.For, true
	}
	start, _ := last.Span()
	return start, true
}

func isNone(e syntax.Expr) bool {
	id, ok := e.(*syntax.Ident)
	return ok && id.Name == "None"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns the candidate closest to s by edit distance, when it is
// close enough to be a likely typo (at most half of s's length, and never
// for very short names), else "".
func suggest(s string, candidates []string) string {
	best, bestD := "", len(s)/2+1
	if len(s) < 3 {
		return ""
	}
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Check builds the policy cfg describes and runs every check that stands
// between it and traffic except its tests: load, the static and load-time
// checks and the smoke gate. A refusal is a *CheckError, a *SmokeError or
// a load error with its file:line; warnings are in Policy.Findings.
// (`llmgw test` runs the tests of the policy it returns.)
func Check(ctx context.Context, cfg Config) (*Policy, error) {
	return build(ctx, &cfg)
}
