package openai

import (
	"github.com/llmgw/llmgw/internal/wirefeat"
	"github.com/llmgw/llmgw/llm"
)

// NewFeatureScanner reads a chat completions body's routing features.
func (Adapter) NewFeatureScanner() llm.FeatureScanner { return &featureScanner{} }

// featureScanner holds the raw values (sub-slices of the body) of the
// top-level members routing reads.
type featureScanner struct {
	model, stream, metadata, user, promptCacheKey []byte
	maxTokens, maxCompletionTokens                []byte
	tools, functions, reasoningEffort, messages   []byte
}

func (f *featureScanner) Take(key, v []byte) bool {
	switch string(key) {
	case "model":
		f.model = v
	case "stream":
		f.stream = v
	case "metadata":
		f.metadata = v
	case "user":
		f.user = v
	case "prompt_cache_key":
		f.promptCacheKey = v
	case "max_tokens":
		f.maxTokens = v
	case "max_completion_tokens":
		f.maxCompletionTokens = v
	case "tools":
		f.tools = v
	case "functions":
		f.functions = v
	case "reasoning_effort":
		f.reasoningEffort = v
	case "messages":
		f.messages = v
	}
	return true
}

// Features: max_completion_tokens, else the older max_tokens; tools or
// the older functions; thinking when a reasoning effort other than none is
// asked; images, audio or files in any message.
func (f *featureScanner) Features() llm.Features {
	r := llm.Features{
		Model:           wirefeat.String(f.model),
		Stream:          wirefeat.Bool(f.stream),
		User:            wirefeat.String(f.user),
		Metadata:        wirefeat.Metadata(f.metadata),
		MaxOutputTokens: wirefeat.Int(f.maxCompletionTokens),
		HasTools:        wirefeat.NonEmpty(f.tools) || wirefeat.NonEmpty(f.functions),
		HasImages:       wirefeat.HasAny(f.messages, `"image_url"`, `"input_audio"`) || wirefeat.HasMember(f.messages, "type", `"file"`),
	}
	if r.MaxOutputTokens == 0 {
		r.MaxOutputTokens = wirefeat.Int(f.maxTokens)
	}
	effort := wirefeat.String(f.reasoningEffort)
	r.HasThinking = effort != "" && effort != "none"
	r.Session = wirefeat.Session(r.Metadata, wirefeat.String(f.promptCacheKey), r.User)
	return r
}
