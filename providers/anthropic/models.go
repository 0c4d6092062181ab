package anthropic

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"time"

	"github.com/llmgw/llmgw/llm"
)

// upstreamPageSize is the page size asked of the models endpoint (the
// API's maximum).
const upstreamPageSize = "1000"

// ModelsURL is the URL of a page of an Anthropic model list: the first
// for an empty cursor, else the page after the model id cursor.
func (Adapter) ModelsURL(base, cursor string) string {
	u := base + "/v1/models?limit=" + upstreamPageSize
	if cursor != "" {
		u += "&after_id=" + url.QueryEscape(cursor)
	}
	return u
}

// ListsOAuth is true: a Claude subscription's token lists models at the
// public endpoint.
func (Adapter) ListsOAuth() bool { return true }

// DecodeModels decodes a page of a model list and returns the cursor of
// the next page ("" on the last). Each model keeps its raw object.
func (Adapter) DecodeModels(body []byte) ([]llm.Model, string, error) {
	var page struct {
		Data    []json.RawMessage `json:"data"`
		HasMore bool              `json:"has_more"`
		LastID  string            `json:"last_id"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, "", fmt.Errorf("anthropic: models: %w", err)
	}
	out := make([]llm.Model, 0, len(page.Data))
	for _, raw := range page.Data {
		var d struct {
			ID             string    `json:"id"`
			DisplayName    string    `json:"display_name"`
			CreatedAt      time.Time `json:"created_at"`
			MaxInputTokens int       `json:"max_input_tokens"`
			MaxTokens      int       `json:"max_tokens"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, "", fmt.Errorf("anthropic: models: %w", err)
		}
		if d.ID != "" {
			out = append(out, llm.Model{
				ID: d.ID, DisplayName: d.DisplayName, Created: d.CreatedAt, InputTokenLimit: d.MaxInputTokens, OutputTokenLimit: d.MaxTokens,
				Raw: raw, RawProtocol: llm.ProtocolAnthropic,
			})
		}
	}
	if !page.HasMore {
		return out, "", nil
	}
	return out, page.LastID, nil
}

// modelPage is a page of a model list in Anthropic's shape.
type modelPage struct {
	Data    []any   `json:"data"` // modelOf's
	HasMore bool    `json:"has_more"`
	FirstID *string `json:"first_id"`
	LastID  *string `json:"last_id"`
}

type modelJSON struct {
	Type           string `json:"type"`
	ID             string `json:"id"`
	DisplayName    string `json:"display_name"`
	CreatedAt      string `json:"created_at"`
	MaxInputTokens int    `json:"max_input_tokens,omitempty"`
	MaxTokens      int    `json:"max_tokens,omitempty"`
}

// modelOf renders m in Anthropic's shape: as an Anthropic upstream listed
// it, else from what llmgw knows.
func modelOf(m llm.Model) any {
	if m.Raw != nil && m.RawProtocol == llm.ProtocolAnthropic {
		return m.Raw
	}
	name := m.DisplayName
	if name == "" {
		name = m.ID
	}
	created := m.Created
	if created.IsZero() {
		created = time.Unix(0, 0) // unknown: the field is required
	}
	return modelJSON{
		Type: "model", ID: m.ID, DisplayName: name, CreatedAt: created.UTC().Format(time.RFC3339),
		MaxInputTokens: m.InputTokenLimit, MaxTokens: m.OutputTokenLimit,
	}
}

// pageOf pages a list sorted by ID as Anthropic's API does: limit
// (1..1000, default 20), after_id or before_id.
func pageOf(models []llm.Model, q url.Values) (modelPage, error) {
	limit, err := llm.PageSize(q.Get("limit"), "limit", 20)
	if err != nil {
		return modelPage{}, err
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
	page := modelPage{Data: make([]any, 0, end-start), HasMore: more}
	for _, m := range models[start:end] {
		page.Data = append(page.Data, modelOf(m))
	}
	if start < end {
		page.FirstID, page.LastID = &models[start].ID, &models[end-1].ID
	}
	return page, nil
}

// RenderModels renders the page of a list sorted by ID that the query
// asks for, in Anthropic's shape.
func (Adapter) RenderModels(models []llm.Model, q url.Values) ([]byte, error) {
	page, err := pageOf(models, q)
	if err != nil {
		return nil, err
	}
	return json.Marshal(page)
}

// RenderModel renders one model in Anthropic's shape.
func (Adapter) RenderModel(m llm.Model) []byte {
	b, _ := json.Marshal(modelOf(m))
	return b
}

// ModelNotFound is the 404 for a model id not in the list. The code is
// OpenAI's (the list's door is shared); Anthropic's shape has none.
func (Adapter) ModelNotFound(id string) *llm.Error {
	return &llm.Error{Status: http.StatusNotFound, Type: llm.TypeForStatus(http.StatusNotFound), Message: fmt.Sprintf("model %q not found", id), Code: "model_not_found"}
}
