package anthropic

import (
	"encoding/json"

	"github.com/llmgw/llmgw/internal/wirefeat"
	"github.com/llmgw/llmgw/llm"
)

// NewFeatureScanner reads a Messages body's routing features.
func (Adapter) NewFeatureScanner() llm.FeatureScanner { return &featureScanner{} }

// featureScanner holds the raw values (sub-slices of the body) of the
// top-level members routing reads.
type featureScanner struct {
	model, stream, metadata, maxTokens []byte
	tools, thinking, messages          []byte
}

func (f *featureScanner) Take(key, v []byte) bool {
	switch string(key) {
	case "model":
		f.model = v
	case "stream":
		f.stream = v
	case "metadata":
		f.metadata = v
	case "max_tokens":
		f.maxTokens = v
	case "tools":
		f.tools = v
	case "thinking":
		f.thinking = v
	case "messages":
		f.messages = v
	}
	return true
}

// Features: the user (and session) is metadata.user_id, where Claude
// Code puts its session; images when a content block is an image or a
// document.
func (f *featureScanner) Features() llm.Features {
	r := llm.Features{
		Model:           wirefeat.String(f.model),
		Stream:          wirefeat.Bool(f.stream),
		Metadata:        wirefeat.Metadata(f.metadata),
		MaxOutputTokens: wirefeat.Int(f.maxTokens),
		HasTools:        wirefeat.NonEmpty(f.tools),
		HasThinking:     thinkingOn(f.thinking),
		HasImages:       wirefeat.HasMember(f.messages, "type", `"image"`, `"document"`),
	}
	r.User = r.Metadata["user_id"]
	r.Session = wirefeat.Session(r.Metadata, "", r.User)
	return r
}

// thinkingOn reports whether a thinking object enables it.
func thinkingOn(raw []byte) bool {
	if len(raw) == 0 {
		return false
	}
	var t struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(raw, &t) != nil {
		return false
	}
	return t.Type != "" && t.Type != "disabled"
}
