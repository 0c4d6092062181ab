package gateway

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/llmgw/llmgw/metrics"
)

// TestHTTPDocCoversRoutes fails when docs/http.md leaves out a route the
// router serves, or a response header the gateway sets: the routes come
// from the router itself (chi.Walk), the headers from this package's
// sources, so that a new endpoint or header cannot go undocumented.
func TestHTTPDocCoversRoutes(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "http.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	h := newHarness(t, `
p = provider("p", kind = "demo")
def route(req, ctx):
    return [p]
`, func(c *Config) { c.Metrics = metrics.New() })

	methods := map[string][]string{} // by route pattern
	err = chi.Walk(h.gw.router, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		methods[route] = append(methods[route], method)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(methods) < 20 {
		t.Fatalf("chi.Walk found %d routes: the router or the walk changed", len(methods))
	}
	for route, ms := range methods {
		// The documented form of a pattern is its literal prefix:
		// "/v1beta/models/{action}" is documented as
		// "/v1beta/models/{model}:generateContent" and the like.
		prefix := route
		if i := strings.IndexAny(route, "{*"); i >= 0 {
			prefix = route[:i]
		}
		if len(ms) > 2 { // mounted for every method (pprof, /metrics): the path is enough
			if !strings.Contains(doc, prefix) {
				t.Errorf("docs/http.md does not document %s", route)
			}
			continue
		}
		for _, m := range ms {
			if !strings.Contains(doc, m+" "+prefix) {
				t.Errorf("docs/http.md does not document %s %s", m, route)
			}
		}
	}

	set := regexp.MustCompile(`Set\("(X-[A-Za-z-]+|Retry-After)"`)
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range set.FindAllStringSubmatch(string(src), -1) {
			found++
			if !strings.Contains(doc, "`"+m[1]+"`") {
				t.Errorf("docs/http.md does not document the response header %s (%s)", m[1], f)
			}
		}
	}
	if found < 5 {
		t.Errorf("found %d response headers in the sources: the scan is broken", found)
	}
}
