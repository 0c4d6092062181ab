package gateway

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/llmgw/llmgw/engine"
)

// demoKind is the in-process demo provider's kind. It speaks every
// protocol, so every attempt to it is a pass-through.
const demoKind = "demo"

// demoBase is the base URL of the in-process demo provider. Nothing
// resolves it: requests to it go through Config.Demo.
const demoBase = "http://demo.invalid"

// baseURL returns a provider's base URL for protocol a, in its SDK's
// convention: the declared one, else the official API's. The demo
// provider's follows each protocol's convention on its own origin
// (/v1 for OpenAI's).
func baseURL(p engine.Provider, a Adapter) string {
	if p.Kind == demoKind {
		if u, err := url.Parse(a.DefaultBaseURL()); err == nil {
			return demoBase + u.Path
		}
		return demoBase
	}
	if p.BaseURL != "" {
		return strings.TrimRight(p.BaseURL, "/")
	}
	return a.DefaultBaseURL()
}

// hopHeaders are never forwarded in either direction (RFC 9110 §7.6.1),
// nor are headers the transport manages itself.
var hopHeaders = map[string]bool{
	"connection": true, "proxy-connection": true, "keep-alive": true, "te": true,
	"trailer": true, "transfer-encoding": true, "upgrade": true,
	"content-length": true, "accept-encoding": true, "host": true,
}

// forwardLister is what an adapter says of the client's headers and query
// parameters an upstream of its protocol may see. Forwarding is by
// allow-list: a header or parameter nobody listed (OpenAI-Organization,
// Content-Encoding, a client key sent as ?api_key=) stays at the gateway.
// An adapter that does not implement it forwards neither.
type forwardLister interface {
	// ForwardHeader is given a lower-case header name.
	ForwardHeader(name string) bool
	ForwardQuery(name string) bool
}

// forwardHeaders copies the client's headers that an upstream of the same
// protocol should see (anthropic-beta, anthropic-version, OpenAI-Beta,
// user agents...), as the adapter lists them, never credentials or
// hop-by-hop headers.
func forwardHeaders(dst, src http.Header, a Adapter) {
	fl, ok := a.(forwardLister)
	if !ok {
		return
	}
	var buf [64]byte // header names are lowered here, not allocated per request
	for k, vs := range src {
		lk := appendLower(buf[:0], k)
		if hopHeaders[string(lk)] || secretHeaders[string(lk)] || bytes.HasPrefix(lk, llmgwHeaderPrefix) || string(lk) == "x-request-id" {
			continue
		}
		if !fl.ForwardHeader(string(lk)) {
			continue
		}
		dst[k] = append([]string(nil), vs...)
	}
}

var llmgwHeaderPrefix = []byte("x-llmgw-")

// appendLower appends s in ASCII lower case to b.
func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// mergeBeta adds a beta flag to a comma-separated anthropic-beta header.
func mergeBeta(h http.Header, name, value string) {
	cur := h.Get(name)
	if cur == "" {
		h.Set(name, value)
		return
	}
	for _, v := range strings.Split(cur, ",") {
		if strings.TrimSpace(v) == value {
			return
		}
	}
	h.Set(name, cur+","+value)
}

// clientCache keeps one *http.Client per provider, so that each provider
// has its own keep-alive pool, rebuilt when its declaration changes.
type clientCache struct {
	demo http.RoundTripper

	// guards the following
	mu      sync.Mutex
	clients map[string]cachedClient
}

// clientSpec is what a provider's transport is built from; a change of
// any of it replaces the client.
type clientSpec struct {
	kind, baseURL string
	timeout       time.Duration
}

type cachedClient struct {
	spec   clientSpec
	client *http.Client
}

func newClientCache(demo http.RoundTripper) *clientCache {
	return &clientCache{demo: demo, clients: map[string]cachedClient{}}
}

// get returns the client for p. Its transport has connect and first-byte
// (response header) timeouts but no total timeout: long streams are bounded
// by the idle timeout between events instead.
func (c *clientCache) get(p engine.Provider) (*http.Client, error) {
	if p.Kind == demoKind {
		if c.demo == nil {
			return nil, fmt.Errorf("gateway: provider %s: demo provider not configured", p.Name)
		}
		return &http.Client{Transport: c.demo}, nil
	}
	spec := clientSpec{kind: p.Kind, baseURL: p.BaseURL, timeout: p.Timeout}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cc, ok := c.clients[p.Name]; ok && cc.spec == spec {
		return cc.client, nil
	}
	if old, ok := c.clients[p.Name]; ok {
		old.client.CloseIdleConnections()
	}
	firstByte := p.Timeout
	if firstByte <= 0 {
		firstByte = 10 * time.Minute // non-streaming answers arrive whole: allow long generations
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   1024, // bursts reuse connections instead of dialing (and closing) one per request
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: firstByte,
		ExpectContinueTimeout: time.Second,
	}
	cl := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	c.clients[p.Name] = cachedClient{spec: spec, client: cl}
	return cl, nil
}

// newUpstreamRequest builds the HTTP request of one attempt.
//
// When the client's body is in a recycled buffer (shared is not nil), the
// request reads it through a reference, as does every copy the transport
// makes with GetBody, so that the buffer outlives them all. body may be
// the buffer, a part of it or a conversion: each is read the same way.
func newUpstreamRequest(ctx context.Context, url string, body []byte, shared *sharedBody) (*http.Request, error) {
	var rd io.Reader
	if shared == nil {
		rd = bytes.NewReader(body) // NewRequest sets GetBody and ContentLength
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, rd)
	if err != nil {
		return nil, fmt.Errorf("gateway: upstream request: %w", err)
	}
	if shared != nil {
		req.Body, req.ContentLength = shared.reader(body), int64(len(body))
		req.GetBody = func() (io.ReadCloser, error) { return shared.reader(body), nil }
	}
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}
