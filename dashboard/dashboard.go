// Package dashboard serves the llmgw web UI: the Vue single-page app built
// from dashboard/web into dashboard/dist and embedded in the binary, so the
// gateway needs neither Node nor files on disk at run time.
//
// The package holds no business logic and makes no API calls; the JSON the
// UI reads (/api/...) is served by gateway. It imports only the standard
// library and is imported by gateway (or cmd/llmgw) to mount Handler.
//
// Rebuild dist with dashboard/build.sh after editing dashboard/web; CI runs
// dashboard/check.sh, which fails when the committed dist differs from a
// fresh build.
package dashboard

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

// dist is the built app: index.html plus content-hashed files in assets/.
//
//go:embed all:dist
var dist embed.FS

// contentTypes pins the types of the files Vite emits, so responses do not
// depend on the host's mime.types (which maps .js differently on some
// systems). Other extensions fall back to mime.TypeByExtension.
var contentTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".mjs":   "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".json":  "application/json",
	".map":   "application/json",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".webp":  "image/webp",
	".woff2": "font/woff2",
	".woff":  "font/woff",
	".txt":   "text/plain; charset=utf-8",
}

// Cache policies. Files under assets/ carry a content hash in their name,
// so they never change; everything else must be revalidated so that a new
// gateway build is picked up on the next load.
const (
	cacheImmutable  = "public, max-age=31536000, immutable"
	cacheRevalidate = "no-cache"
)

// csp allows only same-origin code and data. Inline style attributes are
// needed by Vue bindings and Chart.js; the favicon is a data: URI.
const csp = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

// file is one embedded file, prepared for serving.
type file struct {
	name        string
	body        []byte
	gz          []byte // gzip-compressed body; nil when compression does not pay
	contentType string
	etag        string // strong ETag of body; the gzip variant appends "-gz"
	immutable   bool
}

// handler serves the embedded app from memory.
type handler struct {
	files map[string]*file // keyed by slash path without the leading "/"
	index *file
}

// Handler returns an http.Handler that serves the dashboard. Mount it at
// the root of the gateway's router, after the /api and protocol routes.
//
// It answers GET and HEAD only. An existing file is served with a pinned
// content type, an ETag and a long immutable cache lifetime when its name
// is content-hashed (assets/). Any other path without a file extension is
// answered with index.html, so deep links and reloads work; a missing
// asset, a path with an extension, or anything under /api/ gets 404 rather
// than HTML. Clients that accept gzip get precompressed bodies.
//
// Handler reads and compresses the embedded files once, at construction.
// It panics if the embedded build has no index.html, which can only mean
// the binary was built from a broken dashboard/dist.
func Handler() http.Handler {
	root, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(fmt.Sprintf("dashboard: embedded dist: %v", err))
	}
	h, err := newHandler(root)
	if err != nil {
		panic(err.Error())
	}
	return h
}

// newHandler loads every regular file of root into memory.
func newHandler(root fs.FS) (*handler, error) {
	h := &handler{files: make(map[string]*file)}
	err := fs.WalkDir(root, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(root, name)
		if err != nil {
			return err
		}
		f, err := prepare(name, body)
		if err != nil {
			return err
		}
		h.files[name] = f
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dashboard: load embedded files: %w", err)
	}
	h.index = h.files["index.html"]
	if h.index == nil {
		return nil, fmt.Errorf("dashboard: embedded dist has no index.html; run dashboard/build.sh")
	}
	return h, nil
}

// prepare computes the headers and the gzip variant of one file.
func prepare(name string, body []byte) (*file, error) {
	ext := strings.ToLower(path.Ext(name))
	ct, ok := contentTypes[ext]
	if !ok {
		ct = mime.TypeByExtension(ext)
	}
	if ct == "" {
		ct = http.DetectContentType(body)
	}
	sum := sha256.Sum256(body)
	f := &file{
		name:        name,
		body:        body,
		contentType: ct,
		etag:        base64.RawURLEncoding.EncodeToString(sum[:12]),
		immutable:   strings.HasPrefix(name, "assets/"),
	}
	if compressible(ct) && len(body) >= 512 {
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if err != nil {
			return nil, err
		}
		if _, err := zw.Write(body); err != nil {
			return nil, fmt.Errorf("gzip %s: %w", name, err)
		}
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("gzip %s: %w", name, err)
		}
		if buf.Len() < len(body)*9/10 {
			f.gz = buf.Bytes()
		}
	}
	return f, nil
}

// compressible reports whether a content type is text-like.
func compressible(ct string) bool {
	return strings.HasPrefix(ct, "text/") || strings.HasPrefix(ct, "application/json") ||
		strings.HasPrefix(ct, "image/svg+xml")
}

// ServeHTTP implements http.Handler.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	f := h.lookup(r.URL.Path)
	if f == nil {
		http.NotFound(w, r)
		return
	}
	h.serve(w, r, f)
}

// lookup maps a request path to a file: the file itself, index.html for
// app routes, or nil for a missing asset or API path.
func (h *handler) lookup(p string) *file {
	name := strings.TrimPrefix(path.Clean("/"+p), "/")
	if name == "" || name == "index.html" {
		return h.index
	}
	if f, ok := h.files[name]; ok {
		return f
	}
	if name == "api" || strings.HasPrefix(name, "api/") ||
		strings.HasPrefix(name, "assets/") || path.Ext(name) != "" {
		return nil
	}
	return h.index
}

// serve writes one file, honouring conditional and range requests.
func (h *handler) serve(w http.ResponseWriter, r *http.Request, f *file) {
	hdr := w.Header()
	hdr.Set("Content-Type", f.contentType)
	hdr.Set("X-Content-Type-Options", "nosniff")
	if f.immutable {
		hdr.Set("Cache-Control", cacheImmutable)
	} else {
		hdr.Set("Cache-Control", cacheRevalidate)
	}
	if f == h.index {
		hdr.Set("Content-Security-Policy", csp)
		hdr.Set("Referrer-Policy", "no-referrer")
		hdr.Set("X-Frame-Options", "DENY")
	}
	body, etag := f.body, f.etag
	if f.gz != nil {
		hdr.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body, etag = f.gz, etag+"-gz"
			hdr.Set("Content-Encoding", "gzip")
		}
	}
	hdr.Set("ETag", `"`+etag+`"`)
	// A zero modtime keeps ServeContent from sending Last-Modified: embedded
	// files have none, and the ETag already makes revalidation exact.
	http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether an Accept-Encoding value (RFC 9110, 12.5.3)
// allows gzip: gzip is listed with a non-zero weight, or is not listed and
// "*" is, with a non-zero weight.
func acceptsGzip(header string) bool {
	star := false
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		switch strings.ToLower(strings.TrimSpace(coding)) {
		case "gzip", "x-gzip":
			return weight(params) > 0
		case "*":
			star = weight(params) > 0
		}
	}
	return star
}

// weight parses the q parameter of one Accept-Encoding element; absent or
// malformed weights count as 1.
func weight(params string) float64 {
	for _, p := range strings.Split(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return 1
		}
		return q
	}
	return 1
}
