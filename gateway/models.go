package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
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
	// upstreamPageSize is the page size asked of Anthropic and Gemini
	// (both APIs' maximum).
	upstreamPageSize = "1000"
)

// modelInfo is one listed model, whatever shape the client asked for.
// Fields an upstream did not report are zero and left out of the answer.
type modelInfo struct {
	// ID is the name clients use, without Gemini's "models/" prefix.
	ID string
	// Provider lists the model (owned_by); the first provider in
	// declaration order when several do.
	Provider         string
	DisplayName      string
	Description      string
	Version          string
	Created          time.Time
	InputTokenLimit  int
	OutputTokenLimit int
	// Methods are Gemini's supportedGenerationMethods.
	Methods []string
	// raw is the object as an upstream speaking rawProto listed it. A
	// client of the same protocol gets it unchanged, with every field
	// llmgw does not know (Anthropic's capabilities, Gemini's thinking...).
	raw      json.RawMessage
	rawProto llm.Protocol
}

// fill copies into m the metadata that o has and m lacks.
func (m *modelInfo) fill(o modelInfo) {
	if m.DisplayName == "" {
		m.DisplayName = o.DisplayName
	}
	if m.Description == "" {
		m.Description = o.Description
	}
	if m.Version == "" {
		m.Version = o.Version
	}
	if m.Created.IsZero() {
		m.Created = o.Created
	}
	if m.InputTokenLimit == 0 {
		m.InputTokenLimit = o.InputTokenLimit
	}
	if m.OutputTokenLimit == 0 {
		m.OutputTokenLimit = o.OutputTokenLimit
	}
	if m.Methods == nil {
		m.Methods = o.Methods
	}
	if m.raw == nil {
		m.raw, m.rawProto = o.raw, o.rawProto
	}
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
	models  []modelInfo
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
func (c *modelCatalog) cached(p engine.Provider, now time.Time) ([]modelInfo, bool) {
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
func (c *modelCatalog) store(p engine.Provider, models []modelInfo, err error, now time.Time) []modelInfo {
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

// listable reports whether llmgw knows p's models endpoint. Subscription
// (OAuth) accounts other than Anthropic's are served by private backends
// without the public API's models endpoint: only their aliases are listed.
func listable(p engine.Provider) bool {
	switch p.Kind {
	case "openai", "gemini":
		return p.OAuth == ""
	case "anthropic", "demo":
		return true
	}
	return false
}

// reachableModels returns the models the policy can reach, deduplicated
// and sorted by ID. Upstream lists that are not cached are fetched
// concurrently; the call returns when they are in, or when ctx is done
// (the fetches then finish on their own and fill the cache).
func (s *Server) reachableModels(ctx context.Context, pol *engine.Policy) []modelInfo {
	lists := make([][]modelInfo, len(pol.Providers))
	var wg sync.WaitGroup
	for i, p := range pol.Providers {
		if !listable(p) {
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
func (s *Server) refreshModels(ctx context.Context, p engine.Provider) []modelInfo {
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
		ms, _ := r.Val.([]modelInfo)
		return ms
	case <-ctx.Done():
		return nil
	}
}

// mergeModels merges the aliases of each provider with the upstream lists
// (lists[i] is providers[i]'s). An alias takes the metadata of the
// upstream model it maps to.
func mergeModels(providers []engine.Provider, lists [][]modelInfo) []modelInfo {
	byID := map[string]*modelInfo{}
	add := func(m modelInfo) {
		if cur, ok := byID[m.ID]; ok {
			cur.fill(m)
			return
		}
		byID[m.ID] = &m
	}
	for i, p := range providers {
		upstream := make(map[string]modelInfo, len(lists[i]))
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
			m.ID, m.Provider, m.raw = a, p.Name, nil
			add(m)
		}
		for _, m := range lists[i] {
			add(m)
		}
	}
	out := make([]modelInfo, 0, len(byID))
	for _, m := range byID {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// findModel returns the model named id in a list sorted by ID.
func findModel(models []modelInfo, id string) (modelInfo, bool) {
	i := sort.Search(len(models), func(i int) bool { return models[i].ID >= id })
	if i < len(models) && models[i].ID == id {
		return models[i], true
	}
	return modelInfo{}, false
}

// listingProtocol is the protocol of p's models endpoint. The demo
// provider lists its models in OpenAI's shape.
func listingProtocol(kind string) llm.Protocol {
	switch kind {
	case "anthropic":
		return llm.ProtocolAnthropic
	case "gemini":
		return llm.ProtocolGemini
	}
	return llm.ProtocolOpenAI
}

// modelsURL is the URL of a page of an upstream's list: the first page
// for an empty cursor.
func modelsURL(base string, up llm.Protocol, cursor string) string {
	switch up {
	case llm.ProtocolAnthropic:
		u := base + "/v1/models?limit=" + upstreamPageSize
		if cursor != "" {
			u += "&after_id=" + url.QueryEscape(cursor)
		}
		return u
	case llm.ProtocolGemini:
		u := base + "/v1beta/models?pageSize=" + upstreamPageSize
		if cursor != "" {
			u += "&pageToken=" + url.QueryEscape(cursor)
		}
		return u
	}
	return base + "/models"
}

// fetchModels reads p's list from its models endpoint, following
// Anthropic's has_more and Gemini's nextPageToken up to maxModelPages.
func (s *Server) fetchModels(ctx context.Context, p engine.Provider) ([]modelInfo, error) {
	up := listingProtocol(p.Kind)
	client, err := s.clients.get(p)
	if err != nil {
		return nil, err
	}
	base := baseURL(p, s.adapter(up))
	var all []modelInfo
	cursor := ""
	for page := 0; page < maxModelPages; page++ {
		body, err := s.getModelPage(ctx, client, p, modelsURL(base, up, cursor))
		if err != nil {
			return nil, err
		}
		models, next, err := decodeModelPage(up, body)
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
func (s *Server) getModelPage(ctx context.Context, client *http.Client, p engine.Provider, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("gateway: provider %s: models request: %w", p.Name, err)
	}
	req.Header.Set("Accept", "application/json")
	// authorize only needs the server: the same credentials, declared
	// headers and OAuth handling as inference requests.
	if err := (&exchange{s: s}).authorize(ctx, req, p, s.adapter(listingProtocol(p.Kind))); err != nil {
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

// decodeModelPage decodes one page of an upstream list in protocol up and
// returns the cursor of the next page ("" on the last).
func decodeModelPage(up llm.Protocol, body []byte) ([]modelInfo, string, error) {
	switch up {
	case llm.ProtocolAnthropic:
		var page struct {
			Data    []json.RawMessage `json:"data"`
			HasMore bool              `json:"has_more"`
			LastID  string            `json:"last_id"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, "", err
		}
		out := make([]modelInfo, 0, len(page.Data))
		for _, raw := range page.Data {
			var d struct {
				ID             string    `json:"id"`
				DisplayName    string    `json:"display_name"`
				CreatedAt      time.Time `json:"created_at"`
				MaxInputTokens int       `json:"max_input_tokens"`
				MaxTokens      int       `json:"max_tokens"`
			}
			if err := json.Unmarshal(raw, &d); err != nil {
				return nil, "", err
			}
			if d.ID != "" {
				out = append(out, modelInfo{
					ID: d.ID, DisplayName: d.DisplayName, Created: d.CreatedAt, InputTokenLimit: d.MaxInputTokens, OutputTokenLimit: d.MaxTokens,
					raw: raw, rawProto: llm.ProtocolAnthropic,
				})
			}
		}
		if !page.HasMore {
			return out, "", nil
		}
		return out, page.LastID, nil
	case llm.ProtocolGemini:
		var page struct {
			Models        []json.RawMessage `json:"models"`
			NextPageToken string            `json:"nextPageToken"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, "", err
		}
		out := make([]modelInfo, 0, len(page.Models))
		for _, raw := range page.Models {
			var m struct {
				Name                       string   `json:"name"`
				Version                    string   `json:"version"`
				DisplayName                string   `json:"displayName"`
				Description                string   `json:"description"`
				InputTokenLimit            int      `json:"inputTokenLimit"`
				OutputTokenLimit           int      `json:"outputTokenLimit"`
				SupportedGenerationMethods []string `json:"supportedGenerationMethods"`
			}
			if err := json.Unmarshal(raw, &m); err != nil {
				return nil, "", err
			}
			if id := strings.TrimPrefix(m.Name, "models/"); id != "" {
				out = append(out, modelInfo{
					ID: id, Version: m.Version, DisplayName: m.DisplayName, Description: m.Description,
					InputTokenLimit: m.InputTokenLimit, OutputTokenLimit: m.OutputTokenLimit, Methods: m.SupportedGenerationMethods,
					raw: raw, rawProto: llm.ProtocolGemini,
				})
			}
		}
		return out, page.NextPageToken, nil
	}
	var page struct {
		Data []struct {
			ID      string `json:"id"`
			Created int64  `json:"created"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, "", err
	}
	out := make([]modelInfo, 0, len(page.Data))
	for _, d := range page.Data {
		if d.ID != "" {
			m := modelInfo{ID: d.ID}
			if d.Created > 0 {
				m.Created = time.Unix(d.Created, 0).UTC()
			}
			out = append(out, m)
		}
	}
	return out, "", nil
}

// modelsFor authenticates a listing request and returns the reachable
// models.
func (s *Server) modelsFor(r *http.Request) ([]modelInfo, *HTTPError) {
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
// shape, or Anthropic's when the client sent anthropic-version (the
// Anthropic SDKs always do; Claude Code discovers models this way).
func (s *Server) listModels(w http.ResponseWriter, r *http.Request) {
	proto := llm.ProtocolOpenAI
	if r.Header.Get("anthropic-version") != "" {
		proto = llm.ProtocolAnthropic
	}
	models, herr := s.modelsFor(r)
	if herr != nil {
		writeError(w, s.adapter(proto), herr)
		return
	}
	// The route is /v1/models/*: ids may contain slashes (openai/gpt-4o).
	if id := chi.URLParam(r, "*"); id != "" {
		m, ok := findModel(models, id)
		switch {
		case !ok:
			e := errorf(http.StatusNotFound, "model %q not found", id)
			e.Code = "model_not_found" // OpenAI's code; Anthropic's shape has none
			writeError(w, s.adapter(proto), e)
		case proto == llm.ProtocolAnthropic:
			writeJSON(w, http.StatusOK, anthropicModel(m))
		default:
			writeJSON(w, http.StatusOK, openAIModel(m))
		}
		return
	}
	if proto == llm.ProtocolAnthropic {
		page, herr := anthropicPage(models, r.URL.Query())
		if herr != nil {
			writeError(w, s.adapter(proto), herr)
			return
		}
		writeJSON(w, http.StatusOK, page)
		return
	}
	list := openAIModelList{Object: "list", Data: make([]openAIModelJSON, len(models))}
	for i, m := range models {
		list.Data[i] = openAIModel(m)
	}
	writeJSON(w, http.StatusOK, list)
}

// listGeminiModels answers GET /v1beta/models and GET
// /v1beta/models/{model} in Gemini's shape.
func (s *Server) listGeminiModels(w http.ResponseWriter, r *http.Request) {
	models, herr := s.modelsFor(r)
	if herr != nil {
		writeError(w, s.adapter(llm.ProtocolGemini), herr)
		return
	}
	if id := chi.URLParam(r, "model"); id != "" {
		id = strings.TrimPrefix(id, "models/")
		m, ok := findModel(models, id)
		if !ok {
			writeError(w, s.adapter(llm.ProtocolGemini), errorf(http.StatusNotFound, "model models/%s not found", id))
			return
		}
		writeJSON(w, http.StatusOK, geminiModel(m))
		return
	}
	page, herr := geminiPage(models, r.URL.Query())
	if herr != nil {
		writeError(w, s.adapter(llm.ProtocolGemini), herr)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

type openAIModelList struct {
	Object string            `json:"object"`
	Data   []openAIModelJSON `json:"data"`
}

type openAIModelJSON struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func openAIModel(m modelInfo) openAIModelJSON {
	var created int64
	if !m.Created.IsZero() {
		created = m.Created.Unix()
	}
	return openAIModelJSON{ID: m.ID, Object: "model", Created: created, OwnedBy: m.Provider}
}

type anthropicModelPage struct {
	Data    []any   `json:"data"` // anthropicModel's
	HasMore bool    `json:"has_more"`
	FirstID *string `json:"first_id"`
	LastID  *string `json:"last_id"`
}

type anthropicModelJSON struct {
	Type           string `json:"type"`
	ID             string `json:"id"`
	DisplayName    string `json:"display_name"`
	CreatedAt      string `json:"created_at"`
	MaxInputTokens int    `json:"max_input_tokens,omitempty"`
	MaxTokens      int    `json:"max_tokens,omitempty"`
}

// anthropicModel renders m in Anthropic's shape: as an Anthropic upstream
// listed it, else from what llmgw knows.
func anthropicModel(m modelInfo) any {
	if m.raw != nil && m.rawProto == llm.ProtocolAnthropic {
		return m.raw
	}
	name := m.DisplayName
	if name == "" {
		name = m.ID
	}
	created := m.Created
	if created.IsZero() {
		created = time.Unix(0, 0) // unknown: the field is required
	}
	return anthropicModelJSON{
		Type: "model", ID: m.ID, DisplayName: name, CreatedAt: created.UTC().Format(time.RFC3339),
		MaxInputTokens: m.InputTokenLimit, MaxTokens: m.OutputTokenLimit,
	}
}

// anthropicPage pages a sorted list as Anthropic's API does: limit
// (1..1000, default 20), after_id or before_id.
func anthropicPage(models []modelInfo, q url.Values) (anthropicModelPage, *HTTPError) {
	limit, herr := pageSize(q.Get("limit"), "limit", 20)
	if herr != nil {
		return anthropicModelPage{}, herr
	}
	after := func(id string) int {
		return sort.Search(len(models), func(i int) bool { return models[i].ID > id })
	}
	start, end, more := 0, min(limit, len(models)), len(models) > limit
	switch {
	case q.Get("after_id") != "":
		start = after(q.Get("after_id"))
		end = min(start+limit, len(models))
		more = end < len(models)
	case q.Get("before_id") != "":
		before := q.Get("before_id")
		end = sort.Search(len(models), func(i int) bool { return models[i].ID >= before })
		start = max(0, end-limit)
		more = start > 0
	}
	page := anthropicModelPage{Data: make([]any, 0, end-start), HasMore: more}
	for _, m := range models[start:end] {
		page.Data = append(page.Data, anthropicModel(m))
	}
	if start < end {
		page.FirstID, page.LastID = &models[start].ID, &models[end-1].ID
	}
	return page, nil
}

type geminiModelPage struct {
	Models        []any  `json:"models"` // geminiModel's
	NextPageToken string `json:"nextPageToken,omitempty"`
}

type geminiModelJSON struct {
	Name                       string   `json:"name"`
	Version                    string   `json:"version,omitempty"`
	DisplayName                string   `json:"displayName"`
	Description                string   `json:"description,omitempty"`
	InputTokenLimit            int      `json:"inputTokenLimit,omitempty"`
	OutputTokenLimit           int      `json:"outputTokenLimit,omitempty"`
	SupportedGenerationMethods []string `json:"supportedGenerationMethods"`
}

// geminiModel renders m in Gemini's shape: as a Gemini upstream listed it,
// else from what llmgw knows.
func geminiModel(m modelInfo) any {
	if m.raw != nil && m.rawProto == llm.ProtocolGemini {
		return m.raw
	}
	name := m.DisplayName
	if name == "" {
		name = m.ID
	}
	methods := m.Methods
	if methods == nil {
		// Not listed by a Gemini upstream: what llmgw's Gemini front door
		// serves for a model of that kind.
		methods = []string{"generateContent", "streamGenerateContent", "countTokens"}
		if strings.Contains(m.ID, "embed") {
			methods = []string{"embedContent", "batchEmbedContents"}
		}
	}
	return geminiModelJSON{
		Name: "models/" + m.ID, Version: m.Version, DisplayName: name, Description: m.Description,
		InputTokenLimit: m.InputTokenLimit, OutputTokenLimit: m.OutputTokenLimit, SupportedGenerationMethods: methods,
	}
}

// geminiPage pages a sorted list as Gemini's API does: pageSize (default
// 50, at most 1000) and an opaque pageToken naming the last model of the
// previous page.
func geminiPage(models []modelInfo, q url.Values) (geminiModelPage, *HTTPError) {
	size, herr := pageSize(q.Get("pageSize"), "pageSize", 50)
	if herr != nil {
		return geminiModelPage{}, herr
	}
	start := 0
	if tok := q.Get("pageToken"); tok != "" {
		last, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			return geminiModelPage{}, errorf(http.StatusBadRequest, "invalid pageToken %q", tok)
		}
		start = sort.Search(len(models), func(i int) bool { return models[i].ID > string(last) })
	}
	end := min(start+size, len(models))
	page := geminiModelPage{Models: make([]any, 0, end-start)}
	for _, m := range models[start:end] {
		page.Models = append(page.Models, geminiModel(m))
	}
	if end < len(models) {
		page.NextPageToken = base64.RawURLEncoding.EncodeToString([]byte(models[end-1].ID))
	}
	return page, nil
}

// pageSize parses a page-size query parameter: def when absent or 0,
// clamped to 1000 as both APIs do, 400 when not a non-negative integer.
func pageSize(v, name string, def int) (int, *HTTPError) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil || n < 0:
		return 0, errorf(http.StatusBadRequest, "%s must be a positive integer, not %q", name, v)
	case n == 0:
		return def, nil
	}
	return min(n, 1000), nil
}
