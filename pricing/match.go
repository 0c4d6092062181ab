package pricing

import "strings"

// candidates returns the names to try for a lower-cased model name, most
// specific first: the name itself, the name without a "models/" or
// "vendor/" prefix, then that name with one date or version suffix
// stripped at a time.
func candidates(name string) []string {
	out := []string{name}
	if i := strings.LastIndexByte(name, '/'); i >= 0 && i+1 < len(name) {
		name = name[i+1:]
		out = append(out, name)
	}
	for {
		s, ok := stripSuffix(name)
		if !ok || s == "" {
			return out
		}
		name = s
		out = append(out, name)
	}
}

// stripSuffix removes one trailing date or version marker: "@anything"
// (Vertex), an all-digit segment of 2, 3, 4 or 8 digits ("-20250219",
// "-2024-08-06" one part at a time, "-0613", "-001"), "-latest",
// "-preview", "-exp" or a Bedrock-style "-v1:0".
func stripSuffix(name string) (string, bool) {
	if i := strings.LastIndexByte(name, '@'); i > 0 {
		return name[:i], true
	}
	i := strings.LastIndexByte(name, '-')
	if i <= 0 {
		return name, false
	}
	seg := name[i+1:]
	switch {
	case seg == "latest" || seg == "preview" || seg == "exp":
		return name[:i], true
	case allDigits(seg) && (len(seg) == 2 || len(seg) == 3 || len(seg) == 4 || len(seg) == 8):
		return name[:i], true
	case isBedrockVersion(seg):
		return name[:i], true
	}
	return name, false
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isBedrockVersion matches "v1", "v2" and "v1:0".
func isBedrockVersion(s string) bool {
	if len(s) < 2 || s[0] != 'v' {
		return false
	}
	major, minor, found := strings.Cut(s[1:], ":")
	return allDigits(major) && (!found || allDigits(minor))
}
