package llm

import (
	"strconv"
	"strings"
)

// OpenAIReasoningModel reports whether model names one of OpenAI's
// reasoning families (o1, o3, o4 and GPT-5 onwards, with or without a
// "vendor/" prefix as compatible routers spell it). They refuse any
// temperature but the default and any top_p ("Unsupported value:
// 'temperature' does not support 0.2 with this model"), which a client of
// another protocol may well send.
func OpenAIReasoningModel(model string) bool {
	if i := strings.LastIndexByte(model, '/'); i >= 0 {
		model = model[i+1:]
	}
	model = strings.ToLower(model)
	for _, p := range []string{"o1", "o3", "o4"} {
		if model == p || strings.HasPrefix(model, p+"-") {
			return true
		}
	}
	rest, ok := strings.CutPrefix(model, "gpt-")
	if !ok {
		return false
	}
	end := strings.IndexAny(rest, ".-")
	if end < 0 {
		end = len(rest)
	}
	major, err := strconv.Atoi(rest[:end])
	return err == nil && major >= 5
}

// OpenAISampling returns temp and topP as model takes them: both nil for
// an OpenAI reasoning model (OpenAIReasoningModel), which refuses any but
// the defaults, with the names of those it dropped that were not the
// defaults, for the caller's warning; otherwise as they are.
func OpenAISampling(model string, temp, topP *float64) (t, p *float64, dropped []string) {
	if !OpenAIReasoningModel(model) {
		return temp, topP, nil
	}
	if temp != nil && *temp != 1 {
		dropped = append(dropped, "temperature")
	}
	if topP != nil && *topP != 1 {
		dropped = append(dropped, "top_p")
	}
	return nil, nil, dropped
}
