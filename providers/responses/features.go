package responses

import (
	"github.com/llmgw/llmgw/internal/wirefeat"
	"github.com/llmgw/llmgw/llm"
)

// NewFeatureScanner reads a Responses API body's routing features.
func (Adapter) NewFeatureScanner() llm.FeatureScanner { return &featureScanner{} }

// featureScanner holds the raw values (sub-slices of the body) of the
// top-level members routing reads.
type featureScanner struct {
	model, stream, metadata, user, promptCacheKey []byte
	maxOutputTokens, tools, reasoning, input      []byte
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
	case "max_output_tokens":
		f.maxOutputTokens = v
	case "tools":
		f.tools = v
	case "reasoning":
		f.reasoning = v
	case "input":
		f.input = v
	}
	return true
}

// Features: thinking when a reasoning object is given; images when an
// input item is an input_image or input_file.
func (f *featureScanner) Features() llm.Features {
	r := llm.Features{
		Model:           wirefeat.String(f.model),
		Stream:          wirefeat.Bool(f.stream),
		User:            wirefeat.String(f.user),
		Metadata:        wirefeat.Metadata(f.metadata),
		MaxOutputTokens: wirefeat.Int(f.maxOutputTokens),
		HasTools:        wirefeat.NonEmpty(f.tools),
		HasThinking:     wirefeat.NonEmpty(f.reasoning),
		HasImages:       wirefeat.HasAfter(f.input, `"input_`, `image"`, `file"`),
	}
	r.Session = wirefeat.Session(r.Metadata, wirefeat.String(f.promptCacheKey), r.User)
	return r
}
