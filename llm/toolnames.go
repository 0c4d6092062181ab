package llm

import (
	"crypto/sha256"
	"encoding/hex"
)

// MaxToolName is the longest function name OpenAI (chat completions and
// Responses) and Gemini accept; Anthropic and MCP names reach 128.
const MaxToolName = 64

// ShortToolName fits a tool name into MaxToolName bytes. A longer name
// keeps its first 55 bytes and gains "_" and 8 hex digits of its SHA-256,
// so that an encoder holding the client's tool list maps the upstream's
// answer back (OriginalToolName). The characters are the client's: Claude
// Code's MCP names (letters, digits, "_" and "-") are valid everywhere.
func ShortToolName(name string) string {
	if len(name) <= MaxToolName {
		return name
	}
	return name[:MaxToolName-9] + "_" + nameHash(name)
}

// OriginalToolName maps a name an upstream saw shortened (ShortToolName)
// back to the client's, looked up in the client's tools; any other name is
// returned unchanged.
func OriginalToolName(tools []Tool, name string) string {
	if len(name) != MaxToolName || name[MaxToolName-9] != '_' {
		return name
	}
	for _, t := range tools {
		if len(t.Name) > MaxToolName && t.Name[:MaxToolName-9] == name[:MaxToolName-9] && nameHash(t.Name) == name[MaxToolName-8:] {
			return t.Name
		}
	}
	return name
}

func nameHash(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:4])
}
