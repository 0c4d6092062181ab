package gemini

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/llmgw/llmgw/llm"
)

// upstreamPageSize is the page size asked of the models endpoint (the
// API's maximum).
const upstreamPageSize = "1000"

// ModelsURL is the URL of a page of a Gemini model list: the first for
// an empty cursor, else the page of that nextPageToken.
func (Adapter) ModelsURL(base, cursor string) string {
	u := base + "/v1beta/models?pageSize=" + upstreamPageSize
	if cursor != "" {
		u += "&pageToken=" + url.QueryEscape(cursor)
	}
	return u
}

// ListsOAuth is false: a Gemini subscription is served by a private
// backend without the public models endpoint.
func (Adapter) ListsOAuth() bool { return false }

// DecodeModels decodes a page of a model list and returns the cursor of
// the next page ("" on the last). Each model keeps its raw object; ids
// lose the "models/" prefix.
func (Adapter) DecodeModels(body []byte) ([]llm.Model, string, error) {
	var page struct {
		Models        []json.RawMessage `json:"models"`
		NextPageToken string            `json:"nextPageToken"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, "", fmt.Errorf("gemini: models: %w", err)
	}
	out := make([]llm.Model, 0, len(page.Models))
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
			return nil, "", fmt.Errorf("gemini: models: %w", err)
		}
		if id := strings.TrimPrefix(m.Name, "models/"); id != "" {
			out = append(out, llm.Model{
				ID: id, Version: m.Version, DisplayName: m.DisplayName, Description: m.Description,
				InputTokenLimit: m.InputTokenLimit, OutputTokenLimit: m.OutputTokenLimit, Methods: m.SupportedGenerationMethods,
				Raw: raw, RawProtocol: llm.ProtocolGemini,
			})
		}
	}
	return out, page.NextPageToken, nil
}

// modelPage is a page of a model list in Gemini's shape.
type modelPage struct {
	Models        []any  `json:"models"` // modelOf's
	NextPageToken string `json:"nextPageToken,omitempty"`
}

type modelJSON struct {
	Name                       string   `json:"name"`
	Version                    string   `json:"version,omitempty"`
	DisplayName                string   `json:"displayName"`
	Description                string   `json:"description,omitempty"`
	InputTokenLimit            int      `json:"inputTokenLimit,omitempty"`
	OutputTokenLimit           int      `json:"outputTokenLimit,omitempty"`
	SupportedGenerationMethods []string `json:"supportedGenerationMethods"`
}

// modelOf renders m in Gemini's shape: as a Gemini upstream listed it,
// else from what llmgw knows.
func modelOf(m llm.Model) any {
	if m.Raw != nil && m.RawProtocol == llm.ProtocolGemini {
		return m.Raw
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
	return modelJSON{
		Name: "models/" + m.ID, Version: m.Version, DisplayName: name, Description: m.Description,
		InputTokenLimit: m.InputTokenLimit, OutputTokenLimit: m.OutputTokenLimit, SupportedGenerationMethods: methods,
	}
}

// pageOf pages a list sorted by ID as Gemini's API does: pageSize
// (default 50, at most 1000) and an opaque pageToken naming the last model
// of the previous page.
func pageOf(models []llm.Model, q url.Values) (modelPage, error) {
	size, err := llm.PageSize(q.Get("pageSize"), "pageSize", 50)
	if err != nil {
		return modelPage{}, err
	}
	start := 0
	if tok := q.Get("pageToken"); tok != "" {
		last, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			return modelPage{}, &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Message: fmt.Sprintf("invalid pageToken %q", tok)}
		}
		start = sort.Search(len(models), func(i int) bool { return models[i].ID > string(last) })
	}
	end := min(start+size, len(models))
	page := modelPage{Models: make([]any, 0, end-start)}
	for _, m := range models[start:end] {
		page.Models = append(page.Models, modelOf(m))
	}
	if end < len(models) {
		page.NextPageToken = base64.RawURLEncoding.EncodeToString([]byte(models[end-1].ID))
	}
	return page, nil
}

// RenderModels renders the page of a list sorted by ID that the query
// asks for, in Gemini's shape.
func (Adapter) RenderModels(models []llm.Model, q url.Values) ([]byte, error) {
	page, err := pageOf(models, q)
	if err != nil {
		return nil, err
	}
	return json.Marshal(page)
}

// RenderModel renders one model in Gemini's shape.
func (Adapter) RenderModel(m llm.Model) []byte {
	b, _ := json.Marshal(modelOf(m))
	return b
}

// ModelNotFound is the 404 for a model id not in the list.
func (Adapter) ModelNotFound(id string) *llm.Error {
	return &llm.Error{Status: http.StatusNotFound, Type: llm.TypeForStatus(http.StatusNotFound), Message: fmt.Sprintf("model models/%s not found", id)}
}
