package engine

import (
	"sort"

	"go.starlark.net/syntax"
)

// LoggedInputs is what the request log keeps of a decision's inputs, for
// replay: the Request (headers with credentials redacted, metadata,
// session, key; never content) and whether it is complete. Rows logged
// before the log kept every input lack Complete, and replay warns when a
// policy reads a field such rows do not hold.
type LoggedInputs struct {
	Request
	// Complete says every field of Request was logged (headers
	// included).
	Complete bool `json:"complete,omitempty"`
}

// ReqFields returns the req attributes the policy's own code reads (the
// entry and the modules it loads; read through a parameter named req),
// sorted. Replay uses it to say when the log lacks an input the policy
// reads.
func (p *Policy) ReqFields() []string { return p.reqFields }

// reqFields collects ReqFields from the syntax trees of a build.
func reqFields(files map[string]*syntax.File) []string {
	seen := map[string]bool{}
	for _, f := range files {
		syntax.Walk(f, func(n syntax.Node) bool {
			def, ok := n.(*syntax.DefStmt)
			if !ok {
				return true
			}
			syntax.Walk(def, func(n syntax.Node) bool {
				dot, ok := n.(*syntax.DotExpr)
				if !ok {
					return true
				}
				if id, ok := dot.X.(*syntax.Ident); ok && id.Name == "req" && isParam(id, def) {
					seen[dot.Name.Name] = true
				}
				return true
			})
			return true
		})
	}
	out := make([]string, 0, len(seen))
	for f := range seen {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}
