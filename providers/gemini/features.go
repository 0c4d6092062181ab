package gemini

import (
	"encoding/json"

	"github.com/llmgw/llmgw/internal/wirefeat"
	"github.com/llmgw/llmgw/llm"
)

// NewFeatureScanner reads a generateContent body's routing features. The
// model and streaming are in the URL, which the gateway reads; a body
// naming them is read too.
func (Adapter) NewFeatureScanner() llm.FeatureScanner { return &featureScanner{} }

// featureScanner holds the raw values (sub-slices of the body) of the
// top-level members routing reads.
type featureScanner struct {
	model, stream, tools, contents []byte
	// generationConfig wins over generation_config, the snake-case
	// spelling the API also accepts.
	generationConfig, generationConfigSnake []byte
}

func (f *featureScanner) Take(key, v []byte) bool {
	switch string(key) {
	case "model":
		f.model = v
	case "stream":
		f.stream = v
	case "tools":
		f.tools = v
	case "contents":
		f.contents = v
	case "generationConfig":
		f.generationConfig = v
	case "generation_config":
		f.generationConfigSnake = v
	}
	return true
}

// Features: thinking when a thinkingConfig is given whose budget is not
// zero; images when a part carries inline or file data, in either
// spelling.
func (f *featureScanner) Features() llm.Features {
	r := llm.Features{
		Model:     wirefeat.String(f.model),
		Stream:    wirefeat.Bool(f.stream),
		HasTools:  wirefeat.NonEmpty(f.tools),
		HasImages: wirefeat.HasAfter(f.contents, `"inline`, `Data"`, `_data"`) || wirefeat.HasAfter(f.contents, `"file`, `Data"`, `_data"`),
	}
	gcRaw := f.generationConfig
	if gcRaw == nil {
		gcRaw = f.generationConfigSnake
	}
	if len(gcRaw) > 0 {
		var gc struct {
			MaxOutputTokens int `json:"maxOutputTokens"`
			ThinkingConfig  *struct {
				ThinkingBudget *int `json:"thinkingBudget"`
			} `json:"thinkingConfig"`
		}
		_ = json.Unmarshal(gcRaw, &gc)
		r.MaxOutputTokens = gc.MaxOutputTokens
		r.HasThinking = gc.ThinkingConfig != nil && (gc.ThinkingConfig.ThinkingBudget == nil || *gc.ThinkingConfig.ThinkingBudget != 0)
	}
	return r
}
