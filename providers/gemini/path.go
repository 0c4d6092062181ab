package gemini

import "strings"

// ParseModelAction splits a Gemini REST path such as
// /v1beta/models/gemini-2.5-flash:streamGenerateContent into the model
// ("gemini-2.5-flash") and the action ("streamGenerateContent"). ok is
// false when the path has no models/{model}:{action} tail.
func ParseModelAction(path string) (model, action string, ok bool) {
	i := strings.LastIndex(path, "/models/")
	if i < 0 {
		if !strings.HasPrefix(path, "models/") {
			return "", "", false
		}
		i = -1
	}
	rest := path[i+len("/models/"):]
	j := strings.LastIndexByte(rest, ':')
	if j <= 0 || j == len(rest)-1 {
		return "", "", false
	}
	model, action = rest[:j], rest[j+1:]
	if strings.ContainsAny(model, "/?#") || strings.ContainsAny(action, "/?#") {
		return "", "", false
	}
	return model, action, true
}
