package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"golang.org/x/sync/singleflight"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/llm"
)

// The model listing endpoints (GET /v1/models in OpenAI's or Anthropic's
// shape, GET /v1beta/models in Gemini's) show the models the policy can
// reach: every provider's models-map keys (its aliases) and what each
// upstream lists at its own models endpoint, fetched with the provider's
// credentials. Upstream lists are cached per provider, so a client listing
// models costs no upstream request while the cache is warm; an upstream
// that fails or times out is left out (and logged) and the list answers
// from the others.

const (
	// defaultModelsTTL is how long an upstream's model list is cached.
	defaultModelsTTL = 10 * time.Minute
	// defaultModelsTimeout bounds fetching one upstream's list, every page
	// included.
	defaultModelsTimeout = 5 * time.Second
	// maxModelPages bounds the pages read from one paginating upstream.
	maxModelPages = 20
	// maxModelPageBytes bounds one page of an upstream's list.
	maxModelPageBytes = 8 << 20
)

// ModelLister is the model listing of a protocol whose API has one, an
// optional part of an Adapter: the provider's models endpoint (its URL,
// paging and decoding) and rendering a list for the protocol's clients.
type ModelLister interface {
	// ModelsURL is the URL of a page of the list: the first for an empty
	// cursor.
	ModelsURL(base, cursor string) string
	// ListsOAuth reports whether a subscription (OAuth) account can list
	// at that URL; others are served by private backends without it.
	ListsOAuth() bool
	// DecodeModels decodes a page and returns the next page's cursor,
	// "" on the last.
	DecodeModels(page []byte) (models []llm.Model, next string, err error)
	// RenderModels renders the page of a list sorted by ID that the
	// client's query asks for; the error is an *llm.Error (a 400).
	RenderModels(sorted []llm.Model, q url.Values) ([]byte, error)
	// RenderModel renders one model, and ModelNotFound the 404 for an
	// id that is not listed.
	RenderModel(m llm.Model) []byte
	ModelNotFound(id string) *llm.Error
}

// modelCatalog caches each provider's upstream model list.
type modelCatalog struct {
	ttl     time.Duration // a successful list
	failTTL time.Duration // a failed fetch, before it is tried again
	timeout time.Duration
	flight  singleflight.Group // one fetch per provider at a time

	// guards the following
	mu    sync.Mutex
	lists map[string]modelList // by provider name
}

// modelList is a provider's cached list.
type modelList struct {
	spec    string // the declaration it was fetched for (listSpec)
	models  []llm.Model
	expires time.Time
}

// newModelCatalog returns an empty catalog; zero durations take the
// defaults.
func newModelCatalog(ttl, timeout time.Duration) *modelCatalog {
	if ttl <= 0 {
		ttl = defaultModelsTTL
	}
	if timeout <= 0 {
		timeout = defaultModelsTimeout
	}
	return &modelCatalog{ttl: ttl, failTTL: ttl / 10, timeout: timeout, lists: map[string]modelList{}}
}

// listSpec identifies what a provider's list depends on, so that a policy
// reload that changes the provider's endpoint or credentials refetches it.
// The credential is held as a digest only.
func listSpec(p engine.Provider) string {
	return fmt.Sprintf("%s|%s|%s|%s", p.Kind, p.BaseURL, p.OAuth, secretDigest(p.APIKey))
}

// cached returns p's list if it is fresh.
func (c *modelCatalog) cached(p engine.Provider, now time.Time) ([]llm.Model, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.lists[p.Name]
	if !ok || l.spec != listSpec(p) || !now.Before(l.expires) {
		return nil, false
	}
	return l.models, true
}

// store caches the outcome of a fetch. A failed refresh keeps serving the
// last good list of the same declaration until it is retried.
func (c *modelCatalog) store(p engine.Provider, models []llm.Model, err error, now time.Time) []llm.Model {
	spec := listSpec(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		if old, ok := c.lists[p.Name]; ok && old.spec == spec {
			models = old.models
		}
		c.lists[p.Name] = modelList{spec: spec, models: models, expires: now.Add(c.failTTL)}
		return models
	}
	c.lists[p.Name] = modelList{spec: spec, models: models, expires: now.Add(c.ttl)}
	return models
}

// secretDigest is a short digest of a credential, for cache keys.
func secretDigest(secret string) string {
	d := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(d[:8])
}

// lister returns the model listing of providers of kind: the adapter of
// the protocol named like the kind, OpenAI's for the demo provider (which
// lists in OpenAI's shape); nil when the kind's protocol has none.
func (s *Server) lister(kind string) ModelLister {
	p := llm.Protocol(kind)
	if kind == demoKind {
		p = llm.ProtocolOpenAI
	}
	l, _ := s.adapters[p].(ModelLister)
	return l
}

// listable reports whether llmgw knows p's models endpoint. Subscription
// (OAuth) accounts other than Anthropic's are served by private backends
// without the public API's models endpoint: only their aliases are listed.
func (s *Server) listable(p engine.Provider) bool {
	l := s.lister(p.Kind)
	return l != nil && (p.OAuth == "" || l.ListsOAuth())
}

// reachableModels returns the models the policy can reach, deduplicated
// and sorted by ID. Upstream lists that are not cached are fetched
// concurrently; the call returns when they are in, or when ctx is done
// (the fetches then finish on their own and fill the cache).
func (s *Server) reachableModels(ctx context.Context, pol *engine.Policy) []llm.Model {
	lists := make([][]llm.Model, len(pol.Providers))
	var wg sync.WaitGroup
	for i, p := range pol.Providers {
		if !s.listable(p) {
			continue
		}
		if ms, ok := s.models.cached(p, s.now()); ok {
			lists[i] = ms
			continue
		}
		wg.Go(func() { lists[i] = s.refreshModels(ctx, p) })
	}
	wg.Wait()
	return mergeModels(pol.Providers, lists)
}

// refreshModels fetches p's list into the cache. Concurrent callers share
// one fetch, which is detached from any one client: a client that goes
// away does not fail the fetch for the others.
func (s *Server) refreshModels(ctx context.Context, p engine.Provider) []llm.Model {
	ch := s.models.flight.DoChan(p.Name+"\x00"+listSpec(p), func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.models.timeout)
		defer cancel()
		ms, err := s.fetchModels(fctx, p)
		if err != nil {
			s.cfg.Logger.Warn().Err(err).Str("provider", p.Name).Msg("listing the provider's models failed; its models are left out of /v1/models until the next try")
		}
		return s.models.store(p, ms, err, s.now()), nil
	})
	select {
	case r := <-ch:
		ms, _ := r.Val.([]llm.Model)
		return ms
	case <-ctx.Done():
		return nil
	}
}

// mergeModels merges the aliases of each provider with the upstream lists
// (lists[i] is providers[i]'s). An alias takes the metadata of the
// upstream model it maps to.
func mergeModels(providers []engine.Provider, lists [][]llm.Model) []llm.Model {
	byID := map[string]*llm.Model{}
	add := func(m llm.Model) {
		if cur, ok := byID[m.ID]; ok {
			cur.Fill(m)
			return
		}
		byID[m.ID] = &m
	}
	for i, p := range providers {
		upstream := make(map[string]llm.Model, len(lists[i]))
		for _, m := range lists[i] {
			upstream[m.ID] = m
		}
		aliases := make([]string, 0, len(p.Models))
		for a := range p.Models {
			aliases = append(aliases, a)
		}
		sort.Strings(aliases)
		for _, a := range aliases {
			m := upstream[strings.TrimPrefix(p.Models[a], "models/")]
			m.ID, m.Provider, m.Raw = a, p.Name, nil
			add(m)
		}
		for _, m := range lists[i] {
			add(m)
		}
	}
	out := make([]llm.Model, 0, len(byID))
	for _, m := range byID {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// findModel returns the model named id in a list sorted by ID.
func findModel(models []llm.Model, id string) (llm.Model, bool) {
	i := sort.Search(len(models), func(i int) bool { return models[i].ID >= id })
	if i < len(models) && models[i].ID == id {
		return models[i], true
	}
	return llm.Model{}, false
}

// fetchModels reads p's list from its models endpoint, following the
// lister's cursor (Anthropic's has_more, Gemini's nextPageToken) up to
// maxModelPages.
func (s *Server) fetchModels(ctx context.Context, p engine.Provider) ([]llm.Model, error) {
	l := s.lister(p.Kind)
	if l == nil {
		return nil, fmt.Errorf("gateway: provider %s: kind %s has no models endpoint", p.Name, p.Kind)
	}
	client, err := s.clients.get(p)
	if err != nil {
		return nil, err
	}
	a := l.(Adapter)
	base := baseURL(p, a)
	var all []llm.Model
	cursor := ""
	for page := 0; page < maxModelPages; page++ {
		body, err := s.getModelPage(ctx, client, p, a, l.ModelsURL(base, cursor))
		if err != nil {
			return nil, err
		}
		models, next, err := l.DecodeModels(body)
		if err != nil {
			return nil, fmt.Errorf("gateway: provider %s: models list: %w", p.Name, err)
		}
		for i := range models {
			models[i].Provider = p.Name
		}
		all = append(all, models...)
		if next == "" || next == cursor {
			return all, nil
		}
		cursor = next
	}
	s.cfg.Logger.Warn().Str("provider", p.Name).Int("pages", maxModelPages).Msg("provider's models list has more pages than llmgw reads; the rest is left out")
	return all, nil
}

// getModelPage GETs one page with p's credentials.
func (s *Server) getModelPage(ctx context.Context, client *http.Client, p engine.Provider, a Adapter, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("gateway: provider %s: models request: %w", p.Name, err)
	}
	req.Header.Set("Accept", "application/json")
	// authorize only needs the server: the same credentials, declared
	// headers and OAuth handling as inference requests.
	if err := (&exchange{s: s}).authorize(ctx, req, p, a); err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("gateway: provider %s: models list: %w", p.Name, err)
	}
	defer resp.Body.Close()
	resp.Body = scrubBody(resp.Body, credentials(req.Header))
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxModelPageBytes+1))
	if err != nil {
		return nil, fmt.Errorf("gateway: provider %s: models list: %w", p.Name, err)
	}
	if resp.StatusCode != http.StatusOK {
		if len(body) > 200 {
			body = body[:200]
		}
		return nil, fmt.Errorf("gateway: provider %s: models list: status %d: %s", p.Name, resp.StatusCode, body)
	}
	if len(body) > maxModelPageBytes {
		return nil, fmt.Errorf("gateway: provider %s: models list: page larger than %d bytes", p.Name, maxModelPageBytes)
	}
	return body, nil
}

// modelsFor authenticates a listing request and returns the reachable
// models.
func (s *Server) modelsFor(r *http.Request) ([]llm.Model, *HTTPError) {
	pol := s.cfg.Policies.Policy()
	if pol == nil {
		return nil, errorf(http.StatusServiceUnavailable, "no policy loaded")
	}
	if _, herr := authenticate(r, pol); herr != nil {
		return nil, herr
	}
	return s.reachableModels(r.Context(), pol), nil
}

// listModels answers GET /v1/models and GET /v1/models/{model} in OpenAI's
// shape, Anthropic's when the client sent anthropic-version (the Anthropic
// SDKs always do; Claude Code discovers models this way), or Gemini's when
// it authenticates Gemini's way (x-goog-api-key or ?key=: the Gemini SDKs
// list the stable API's models here): the one path three protocols share,
// told apart by their headers.
func (s *Server) listModels(w http.ResponseWriter, r *http.Request) {
	// The route is /v1/models/*: ids may contain slashes (openai/gpt-4o).
	id := chi.URLParam(r, "*")
	proto := llm.ProtocolOpenAI
	switch {
	case r.Header.Get("anthropic-version") != "":
		proto = llm.ProtocolAnthropic
	case geminiCaller(r):
		proto, id = llm.ProtocolGemini, strings.TrimPrefix(id, "models/")
	}
	s.serveModels(w, r, proto, id)
}

// listGeminiModels answers GET /v1beta/models and GET
// /v1beta/models/{model} in Gemini's shape.
func (s *Server) listGeminiModels(w http.ResponseWriter, r *http.Request) {
	s.serveModels(w, r, llm.ProtocolGemini, strings.TrimPrefix(chi.URLParam(r, "model"), "models/"))
}

// serveModels answers a model listing in the shape of protocol p: the
// model named id, or the page of the whole list the query asks for when
// id is empty.
func (s *Server) serveModels(w http.ResponseWriter, r *http.Request, p llm.Protocol, id string) {
	a := s.adapter(p)
	l, ok := a.(ModelLister)
	if !ok {
		writeError(w, a, errorf(http.StatusNotFound, "unknown path %s %s", capInput(r.Method), capInput(r.URL.Path)))
		return
	}
	models, herr := s.modelsFor(r)
	if herr != nil {
		writeError(w, a, herr)
		return
	}
	if id != "" {
		m, ok := findModel(models, id)
		if !ok {
			writeError(w, a, asHTTPError(l.ModelNotFound(id)))
			return
		}
		writeJSONBytes(w, l.RenderModel(m))
		return
	}
	var q url.Values // nil for no query: OpenAI's list has no paging, and most clients send none
	if r.URL.RawQuery != "" {
		q = r.URL.Query()
	}
	b, err := l.RenderModels(models, q)
	if err != nil {
		writeError(w, a, asHTTPError(err))
		return
	}
	writeJSONBytes(w, b)
}

// writeJSONBytes answers 200 with a JSON body already encoded.
func writeJSONBytes(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
