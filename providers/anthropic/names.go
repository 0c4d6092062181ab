package anthropic

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/llmgw/llmgw/llm"
)

// originalToolName maps a tool name an OpenAI upstream saw shortened back
// to the client's name. The OpenAI encoder shortens names longer than 64
// bytes to their first 55 bytes, "_" and 8 hex digits of their SHA-256
// (protocols.md §5.13 pitfall 13); other names are returned unchanged.
func originalToolName(tools []llm.Tool, name string) string {
	if len(name) != 64 || name[55] != '_' {
		return name
	}
	for _, t := range tools {
		if len(t.Name) > 64 && t.Name[:55] == name[:55] {
			sum := sha256.Sum256([]byte(t.Name))
			if hex.EncodeToString(sum[:4]) == name[56:] {
				return t.Name
			}
		}
	}
	return name
}
