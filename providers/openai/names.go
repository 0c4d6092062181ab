package openai

import (
	"crypto/sha256"
	"encoding/hex"
)

// maxToolName is the longest function name chat completions accepts.
const maxToolName = 64

// shortToolName fits a tool name into chat completions' 64 characters
// (protocols.md §5.13 pitfall 13: Anthropic and MCP names reach 128).
// A longer name keeps its first 55 bytes and gains "_" and 8 hex digits
// of its SHA-256, so that an encoder holding the client's tool list can
// map the upstream's answer back (anthropic does, in its encoders).
func shortToolName(name string) string {
	if len(name) <= maxToolName {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return name[:maxToolName-9] + "_" + hex.EncodeToString(sum[:4])
}
