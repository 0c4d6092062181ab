package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmgw/llmgw/health"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/providers/demo"
	"github.com/llmgw/llmgw/requestlog"
)

// memRecorder keeps log records in memory.
type memRecorder struct {
	mu   sync.Mutex
	recs []*requestlog.Record
}

func (m *memRecorder) Record(r *requestlog.Record) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs = append(m.recs, r)
}

func (m *memRecorder) all() []*requestlog.Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*requestlog.Record(nil), m.recs...)
}

func (m *memRecorder) last(t *testing.T) *requestlog.Record {
	t.Helper()
	all := m.all()
	if len(all) == 0 {
		t.Fatal("no request was logged")
	}
	return all[len(all)-1]
}

// harness is a gateway serving a policy on an httptest server.
type harness struct {
	t   *testing.T
	gw  *Server
	srv *httptest.Server
	rec *memRecorder
	eng *engine.Engine
}

// newHarness loads policy (Starlark source) and serves it.
func newHarness(t *testing.T, policy string, mod ...func(*Config)) *harness {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.star"), []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(context.Background(), engine.Config{Path: dir, Kinds: ProviderKinds()})
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	rec := &memRecorder{}
	cfg := Config{Policies: eng, Log: rec, Demo: demo.New(demo.Config{}).Transport()}
	for _, m := range mod {
		m(&cfg)
	}
	gw := New(cfg)
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	return &harness{t: t, gw: gw, srv: srv, rec: rec, eng: eng}
}

// do sends a request to the gateway and returns the response with its
// body read.
func (h *harness) do(method, path string, body string, hdr ...string) (*http.Response, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp, b
}

func (h *harness) post(path, body string, hdr ...string) (*http.Response, []byte) {
	h.t.Helper()
	return h.do(http.MethodPost, path, body, hdr...)
}

// providers declares one provider per upstream URL, named a, b, c... with
// the given kind, priority 1 unless prio overrides.
func providerDecl(name, kind, url string, extra string) string {
	base := url
	if kind == "openai" {
		base = url + "/v1"
	}
	if extra != "" {
		extra = ", " + extra
	}
	return fmt.Sprintf("%s = provider(%q, kind = %q, base_url = %q, api_key = %q%s)\n", name, name, kind, base, "sk-provider-"+name, extra)
}

// errorJSON decodes an error body in any protocol's shape and returns its
// message, type and the shape's name.
func errorShape(t *testing.T, b []byte) (shape, typ, msg string) {
	t.Helper()
	var v struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
			Code    any    `json:"code"`
			Status  string `json:"status"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("error body is not JSON: %q", b)
	}
	switch {
	case v.Type == "error":
		return "anthropic", v.Error.Type, v.Error.Message
	case v.Error.Status != "":
		return "gemini", v.Error.Status, v.Error.Message
	case v.Error.Type != "":
		return "openai", v.Error.Type, v.Error.Message
	}
	t.Fatalf("body is not an error in any known shape: %s", b)
	return
}

// sseData returns the data lines of an SSE body.
func sseData(b []byte) []string {
	var out []string
	for _, line := range bytes.Split(b, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if d, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
			out = append(out, string(d))
		}
	}
	return out
}

// newTestTracker is a health tracker on the test's clock, without jitter.
func newTestTracker(now func() time.Time) *health.Tracker {
	return health.New(health.Config{Now: now, Jitter: -1})
}
