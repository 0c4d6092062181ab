package dashboard

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

// testFS is a small stand-in for dist whose names do not change per build.
var testFS = fstest.MapFS{
	"index.html":              {Data: []byte(`<!doctype html><div id="app"></div><script type="module" src="/assets/index-abc123.js"></script>`)},
	"assets/index-abc123.js":  {Data: bytes.Repeat([]byte("console.log('llmgw');\n"), 100)},
	"assets/index-abc123.css": {Data: []byte("body{margin:0}")},
	"assets/logo-def456.svg":  {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`)},
	"robots.txt":              {Data: []byte("User-agent: *\nDisallow: /\n")},
}

func newTestHandler(t testing.TB) *handler {
	t.Helper()
	h, err := newHandler(testFS)
	if err != nil {
		t.Fatalf("newHandler(testFS) error = %v", err)
	}
	return h
}

func do(h http.Handler, method, target string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, vs := range header {
		req.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHandlerRouting(t *testing.T) {
	h := newTestHandler(t)
	index := string(testFS["index.html"].Data)
	tests := []struct {
		method, path string
		status       int
		contentType  string
		cache        string
		body         string // exact body when not empty
	}{
		{"GET", "/", 200, "text/html; charset=utf-8", cacheRevalidate, index},
		{"GET", "/index.html", 200, "text/html; charset=utf-8", cacheRevalidate, index},
		{"GET", "/requests", 200, "text/html; charset=utf-8", cacheRevalidate, index},
		{"GET", "/requests/abc/def", 200, "text/html; charset=utf-8", cacheRevalidate, index},
		{"GET", "/assets/index-abc123.css", 200, "text/css; charset=utf-8", cacheImmutable, "body{margin:0}"},
		{"GET", "/assets/logo-def456.svg", 200, "image/svg+xml", cacheImmutable, ""},
		{"GET", "/assets/../robots.txt", 200, "text/plain; charset=utf-8", cacheRevalidate, "User-agent: *\nDisallow: /\n"},
		{"GET", "/assets/missing-000.js", 404, "", "", ""},
		{"GET", "/assets/newpage", 404, "", "", ""},
		{"GET", "/favicon.ico", 404, "", "", ""},
		{"GET", "/api/summary", 404, "", "", ""},
		{"GET", "/api", 404, "", "", ""},
		{"HEAD", "/", 200, "text/html; charset=utf-8", cacheRevalidate, ""},
		{"POST", "/", 405, "", "", ""},
		{"DELETE", "/assets/index-abc123.css", 405, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := do(h, tt.method, tt.path, nil)
			if rec.Code != tt.status {
				t.Fatalf("%s %s status = %d, want %d", tt.method, tt.path, rec.Code, tt.status)
			}
			if tt.status != 200 {
				if tt.status == 405 && rec.Header().Get("Allow") != "GET, HEAD" {
					t.Errorf("%s %s Allow = %q, want %q", tt.method, tt.path, rec.Header().Get("Allow"), "GET, HEAD")
				}
				if strings.Contains(rec.Body.String(), `id="app"`) {
					t.Errorf("%s %s served index.html with status %d", tt.method, tt.path, rec.Code)
				}
				return
			}
			if got := rec.Header().Get("Content-Type"); got != tt.contentType {
				t.Errorf("%s %s Content-Type = %q, want %q", tt.method, tt.path, got, tt.contentType)
			}
			if got := rec.Header().Get("Cache-Control"); got != tt.cache {
				t.Errorf("%s %s Cache-Control = %q, want %q", tt.method, tt.path, got, tt.cache)
			}
			if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("%s %s X-Content-Type-Options = %q, want nosniff", tt.method, tt.path, got)
			}
			if tt.method == "HEAD" && rec.Body.Len() != 0 {
				t.Errorf("HEAD %s body = %d bytes, want none", tt.path, rec.Body.Len())
			}
			if tt.body != "" && rec.Body.String() != tt.body {
				t.Errorf("%s %s body = %q, want %q", tt.method, tt.path, rec.Body.String(), tt.body)
			}
		})
	}
}

func TestHandlerSecurityHeadersOnIndex(t *testing.T) {
	h := newTestHandler(t)
	rec := do(h, "GET", "/", nil)
	if got := rec.Header().Get("Content-Security-Policy"); got != csp {
		t.Errorf("GET / Content-Security-Policy = %q, want %q", got, csp)
	}
	if got := rec.Header().Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("GET / X-Frame-Options = %q, want DENY", got)
	}
}

func TestHandlerGzip(t *testing.T) {
	h := newTestHandler(t)
	want := testFS["assets/index-abc123.js"].Data

	rec := do(h, "GET", "/assets/index-abc123.js", http.Header{"Accept-Encoding": {"br, gzip;q=0.8"}})
	if got := rec.Header().Get("Content-Encoding"); got != "gzip" {
		t.Fatalf("GET js with gzip Content-Encoding = %q, want gzip", got)
	}
	if got := rec.Header().Get("Vary"); got != "Accept-Encoding" {
		t.Errorf("GET js with gzip Vary = %q, want Accept-Encoding", got)
	}
	if got := rec.Header().Get("Content-Type"); got != "text/javascript; charset=utf-8" {
		t.Errorf("GET js with gzip Content-Type = %q, want text/javascript; charset=utf-8", got)
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatalf("gzip.NewReader(body) error = %v", err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("read gzip body: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("gunzipped body = %d bytes, want the %d-byte file", len(got), len(want))
	}

	plain := do(h, "GET", "/assets/index-abc123.js", http.Header{"Accept-Encoding": {"gzip;q=0"}})
	if got := plain.Header().Get("Content-Encoding"); got != "" {
		t.Errorf("GET js with gzip;q=0 Content-Encoding = %q, want none", got)
	}
	if !bytes.Equal(plain.Body.Bytes(), want) {
		t.Errorf("GET js with gzip;q=0 body = %d bytes, want the %d-byte file", plain.Body.Len(), len(want))
	}
	if rec.Header().Get("ETag") == plain.Header().Get("ETag") {
		t.Errorf("gzip and identity ETags are both %s, want distinct", rec.Header().Get("ETag"))
	}

	small := do(h, "GET", "/assets/index-abc123.css", http.Header{"Accept-Encoding": {"gzip"}})
	if got := small.Header().Get("Content-Encoding"); got != "" {
		t.Errorf("GET tiny css Content-Encoding = %q, want none (not worth compressing)", got)
	}
}

func TestHandlerConditional(t *testing.T) {
	h := newTestHandler(t)
	for _, enc := range []string{"", "gzip"} {
		first := do(h, "GET", "/assets/index-abc123.js", http.Header{"Accept-Encoding": {enc}})
		etag := first.Header().Get("ETag")
		if !regexp.MustCompile(`^"[A-Za-z0-9_-]+"$`).MatchString(etag) {
			t.Fatalf("ETag (Accept-Encoding %q) = %q, want a quoted strong tag", enc, etag)
		}
		again := do(h, "GET", "/assets/index-abc123.js", http.Header{"Accept-Encoding": {enc}, "If-None-Match": {etag}})
		if again.Code != http.StatusNotModified {
			t.Errorf("GET with If-None-Match %s (Accept-Encoding %q) status = %d, want 304", etag, enc, again.Code)
		}
	}
}

func TestNewHandlerNeedsIndex(t *testing.T) {
	_, err := newHandler(fstest.MapFS{"assets/a.js": {Data: []byte("x")}})
	if err == nil || !strings.Contains(err.Error(), "index.html") {
		t.Errorf("newHandler(no index.html) error = %v, want one naming index.html", err)
	}
}

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"", false},
		{"gzip", true},
		{"GZIP", true},
		{"deflate, gzip;q=1.0, *;q=0.5", true},
		{"br", false},
		{"gzip;q=0", false},
		{"gzip; q=0.000", false},
		{"gzip;q=0.001", true},
		{"*", true},
		{"*;q=0", false},
		{"gzip;q=0, *", false},
		{"identity, *;q=0.1", true},
		{"x-gzip", true},
		{"gzip;q=bogus", true},
	}
	for _, tt := range tests {
		if got := acceptsGzip(tt.in); got != tt.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestEmbeddedDist checks the committed build: index.html is served at /,
// and every script and stylesheet it references is served with its type.
func TestEmbeddedDist(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()

	res, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatalf("GET /: %v", err)
	}
	index, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET / = %d %q, want 200 text/html", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if !bytes.Contains(index, []byte(`<div id="app">`)) {
		t.Fatalf("GET / body lacks the app mount point:\n%s", index)
	}

	refs := regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`).FindAllSubmatch(index, -1)
	want := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
	seen := map[string]bool{}
	for _, m := range refs {
		p := string(m[1])
		ext := p[strings.LastIndex(p, "."):]
		res, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatalf("GET %s: %v", p, err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("GET %s status = %d, want 200", p, res.StatusCode)
			continue
		}
		if ct, ok := want[ext]; ok && res.Header.Get("Content-Type") != ct {
			t.Errorf("GET %s Content-Type = %q, want %q", p, res.Header.Get("Content-Type"), ct)
		}
		if got := res.Header.Get("Cache-Control"); got != cacheImmutable {
			t.Errorf("GET %s Cache-Control = %q, want %q", p, got, cacheImmutable)
		}
		onDisk, err := fs.ReadFile(dist, "dist"+p)
		if err != nil || !bytes.Equal(body, onDisk) {
			t.Errorf("GET %s body differs from the embedded file (err %v)", p, err)
		}
		seen[ext] = true
	}
	for ext := range want {
		if !seen[ext] {
			t.Errorf("index.html references no %s asset under /assets/; is dist a Vite build?", ext)
		}
	}
}

func FuzzLookup(f *testing.F) {
	for _, s := range []string{"/", "/index.html", "/assets/index-abc123.js", "/api/x", "/../..", "//api", "/a/../api/", "/x.js", "/requests"} {
		f.Add(s)
	}
	h, err := newHandler(testFS)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, p string) {
		got := h.lookup(p)
		name := strings.TrimPrefix(path.Clean("/"+p), "/")
		if got == h.index && (name == "api" || strings.HasPrefix(name, "api/")) {
			t.Errorf("lookup(%q) = index.html for an API path", p)
		}
		if got != nil && got != h.index && testFS[got.name] == nil {
			t.Errorf("lookup(%q) = %q, not an embedded file", p, got.name)
		}
	})
}

func BenchmarkHandler(b *testing.B) {
	h := newTestHandler(b)
	for _, bc := range []struct{ name, path, enc string }{
		{"index", "/", ""},
		{"spa-route", "/requests", "gzip"},
		{"asset-gzip", "/assets/index-abc123.js", "gzip, br"},
		{"asset-identity", "/assets/index-abc123.js", ""},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", bc.path, nil)
			if bc.enc != "" {
				req.Header.Set("Accept-Encoding", bc.enc)
			}
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}
