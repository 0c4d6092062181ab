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
