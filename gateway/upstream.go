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
	"github.com/llmgw/llmgw/llm"
)

// demoBase is the base URL of the in-process demo provider. Nothing
// resolves it: requests to it go through Config.Demo.
const demoBase = "http://demo.invalid"

// upstreamProtocol is the protocol llmgw speaks to a provider of kind for a
// caller speaking p. The demo provider speaks every protocol, so it is
// always a pass-through; an OpenAI provider takes the Responses API as it
// is and everything else as chat completions.
func upstreamProtocol(kind string, p llm.Protocol) llm.Protocol {
	switch kind {
	case "demo":
		return p
	case "openai":
		if p == llm.ProtocolResponses {
			return p
		}
		return llm.ProtocolOpenAI
	case "anthropic":
		return llm.ProtocolAnthropic
	case "gemini":
		return llm.ProtocolGemini
	}
	return p
}

// baseURL returns a provider's base URL in its SDK's convention: OpenAI's
// includes the version (/v1), Anthropic's and Gemini's are the origin.
func baseURL(p engine.Provider, up llm.Protocol) string {
	if p.Kind == "demo" {
		if up == llm.ProtocolOpenAI || up == llm.ProtocolResponses {
			return demoBase + "/v1"
		}
		return demoBase
	}
	if p.BaseURL != "" {
		return strings.TrimRight(p.BaseURL, "/")
	}
	switch p.Kind {
	case "openai":
		return "https://api.openai.com/v1"
	case "anthropic":
		return "https://api.anthropic.com"
	case "gemini":
		return "https://generativelanguage.googleapis.com"
	}
	return ""
}

// upstreamURL is the URL of operation op for model on a provider speaking
// up.
func upstreamURL(base string, up llm.Protocol, op operation, model string, stream bool) string {
	switch up {
	case llm.ProtocolOpenAI:
		switch op {
		case opEmbed:
			return base + "/embeddings"
		}
		return base + "/chat/completions"
	case llm.ProtocolResponses:
		return base + "/responses"
	case llm.ProtocolAnthropic:
		if op == opCountTokens {
			return base + "/v1/messages/count_tokens"
		}
		return base + "/v1/messages"
	case llm.ProtocolGemini:
		// The model is a path segment: a name with a slash (allowed for
		// OpenRouter-style names in bodies) must not add one.
		m := url.PathEscape(strings.TrimPrefix(model, "models/"))
		switch op {
		case opCountTokens:
			return base + "/v1beta/models/" + m + ":countTokens"
		case opEmbed:
			return base + "/v1beta/models/" + m + ":embedContent"
		case opBatchEmbed:
			return base + "/v1beta/models/" + m + ":batchEmbedContents"
		}
		if stream {
			return base + "/v1beta/models/" + m + ":streamGenerateContent?alt=sse"
		}
		return base + "/v1beta/models/" + m + ":generateContent"
	}
	return base
}

// hopHeaders are never forwarded in either direction (RFC 9110 §7.6.1),
// nor are headers the transport manages itself.
var hopHeaders = map[string]bool{
	"connection": true, "proxy-connection": true, "keep-alive": true, "te": true,
	"trailer": true, "transfer-encoding": true, "upgrade": true,
	"content-length": true, "accept-encoding": true, "host": true,
}

// forwardHeaders copies the client's headers that an upstream of the same
// protocol should see (anthropic-beta, anthropic-version, OpenAI-Beta,
// user agents...), leaving out credentials and hop-by-hop headers.
func forwardHeaders(dst, src http.Header) {
	var buf [64]byte // header names are lowered here, not allocated per request
	for k, vs := range src {
		lk := appendLower(buf[:0], k)
		if hopHeaders[string(lk)] || secretHeaders[string(lk)] || bytes.HasPrefix(lk, llmgwHeaderPrefix) || string(lk) == "x-request-id" {
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

// setAuth puts the provider's own credentials on an upstream request.
func setAuth(h http.Header, kind string, up llm.Protocol, apiKey string, oauth bool) {
	switch {
	case up == llm.ProtocolAnthropic && !oauth:
		h.Set("x-api-key", apiKey)
	case up == llm.ProtocolGemini && !oauth:
		h.Set("x-goog-api-key", apiKey)
	case apiKey != "":
		h.Set("Authorization", "Bearer "+apiKey)
	}
	if up == llm.ProtocolAnthropic && h.Get("anthropic-version") == "" {
		h.Set("anthropic-version", "2023-06-01")
	}
	_ = kind
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
	if p.Kind == "demo" {
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
