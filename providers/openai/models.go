package openai

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/llmgw/llmgw/llm"
)

// ModelsURL is the URL of an OpenAI-compatible base's model list, which
// comes in one page.
func (Adapter) ModelsURL(base, _ string) string { return base + "/models" }

// ListsOAuth is false: a ChatGPT subscription is served by a private
// backend without the public models endpoint.
func (Adapter) ListsOAuth() bool { return false }

// DecodeModels decodes a model list. OpenAI reports ids and creation
// times only; entries without an id are left out.
func (Adapter) DecodeModels(body []byte) ([]llm.Model, string, error) {
	var page struct {
		Data []struct {
			ID      string `json:"id"`
			Created int64  `json:"created"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, "", fmt.Errorf("openai: models: %w", err)
	}
	out := make([]llm.Model, 0, len(page.Data))
	for _, d := range page.Data {
		if d.ID != "" {
			m := llm.Model{ID: d.ID}
			if d.Created > 0 {
				m.Created = time.Unix(d.Created, 0).UTC()
			}
			out = append(out, m)
		}
	}
	return out, "", nil
}

type modelList struct {
	Object string      `json:"object"`
	Data   []modelJSON `json:"data"`
}

type modelJSON struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func modelOf(m llm.Model) modelJSON {
	var created int64
	if !m.Created.IsZero() {
		created = m.Created.Unix()
	}
	return modelJSON{ID: m.ID, Object: "model", Created: created, OwnedBy: m.Provider}
}

// RenderModels renders a whole list in OpenAI's shape (which has no
// paging).
func (Adapter) RenderModels(models []llm.Model, _ url.Values) ([]byte, error) {
	list := modelList{Object: "list", Data: make([]modelJSON, len(models))}
	for i, m := range models {
		list.Data[i] = modelOf(m)
	}
	return json.Marshal(list)
}

// RenderModel renders one model in OpenAI's shape.
func (Adapter) RenderModel(m llm.Model) []byte {
	b, _ := json.Marshal(modelOf(m))
	return b
}

// ModelNotFound is the 404 for a model id not in the list, with OpenAI's
// code.
func (Adapter) ModelNotFound(id string) *llm.Error {
	return &llm.Error{Status: http.StatusNotFound, Type: llm.TypeForStatus(http.StatusNotFound), Message: fmt.Sprintf("model %q not found", id), Code: "model_not_found"}
}
