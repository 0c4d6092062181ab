package llm

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
)

// Reasoning state (a thinking block's signature and the text it covers, a
// redacted block's data, a Gemini thoughtSignature) is bound to the
// provider that issued it, and only that provider's next turn needs it
// back. When llmgw converts, the client's protocol has no slot for
// another vendor's state, so it travels inside the client's own opaque
// field (a Responses encrypted_content, a Gemini thoughtSignature, an
// OpenAI tool call id) as a carried token, which the client echoes on
// its next turn and the decoder unpacks into the original parts.
//
// A token is CarryPrefix followed by the unpadded base64url encoding of
// the parts' JSON: it contains only [A-Za-z0-9_-], so it is a valid value
// of every opaque field (and of an Anthropic tool use id), and a decoder
// recognises it by its prefix without decoding anything else.

// CarryPrefix starts every carried token.
const CarryPrefix = "llmgw1"

// carried is the wire form of one carried part: only the fields that
// reasoning state uses.
type carried struct {
	Kind      PartKind `json:"k"`
	Protocol  Protocol `json:"p"`
	Text      string   `json:"t,omitempty"`
	Signature string   `json:"s,omitempty"`
	Data      string   `json:"d,omitempty"`
}

// Carries reports whether p is reasoning state that another protocol's
// client must carry for it: thinking (signed or redacted) issued by proto
// other than the client's own.
func Carries(p Part, client Protocol) bool {
	if p.SignatureProtocol == "" || p.SignatureProtocol == client {
		return false
	}
	switch p.Kind {
	case PartThinking:
		return p.Signature != ""
	case PartRedactedThinking:
		return p.Data != ""
	}
	return false
}

// Carry packs reasoning parts into one token (see CarryPrefix); "" when
// parts is empty.
func Carry(parts []Part) string {
	if len(parts) == 0 {
		return ""
	}
	w := make([]carried, len(parts))
	for i, p := range parts {
		w[i] = carried{Kind: p.Kind, Protocol: p.SignatureProtocol, Text: p.Text, Signature: p.Signature, Data: p.Data}
	}
	b, err := json.Marshal(w)
	if err != nil {
		return ""
	}
	return CarryPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// Uncarry unpacks a token made by Carry; ok is false when s is not one
// (any other opaque value, which the caller keeps as it is).
func Uncarry(s string) (parts []Part, ok bool) {
	if !strings.HasPrefix(s, CarryPrefix) {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(s[len(CarryPrefix):])
	if err != nil {
		return nil, false
	}
	var w []carried
	if json.Unmarshal(b, &w) != nil || len(w) == 0 {
		return nil, false
	}
	parts = make([]Part, 0, len(w))
	for _, c := range w {
		if (c.Kind != PartThinking && c.Kind != PartRedactedThinking) || !c.Protocol.Valid() {
			return nil, false
		}
		parts = append(parts, Part{Kind: c.Kind, SignatureProtocol: c.Protocol, Text: c.Text, Signature: c.Signature, Data: c.Data})
	}
	return parts, true
}

// idCarrySep separates a tool call id from the token it carries. It is
// not a character any provider puts in its ids.
const idCarrySep = "~"

// CarryInID appends a token carrying parts to a tool call id, for a
// client whose protocol has no other field that comes back (OpenAI chat
// completions); the id is returned unchanged when parts is empty.
func CarryInID(id string, parts []Part) string {
	if len(parts) == 0 {
		return id
	}
	return id + idCarrySep + Carry(parts)
}

// SplitID undoes CarryInID: the original id and the parts it carried
// (nil when it carried none).
func SplitID(id string) (string, []Part) {
	i := strings.Index(id, idCarrySep+CarryPrefix)
	if i < 0 {
		return id, nil
	}
	parts, ok := Uncarry(id[i+len(idCarrySep):])
	if !ok {
		return id, nil
	}
	return id[:i], parts
}

// NewNonce returns 12 random hex digits, for ids that must not repeat
// across the turns of a conversation although nothing is stored between
// them (tool calls an upstream sent without an id).
func NewNonce() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// CacheKeyFor derives the CacheKey of a session: a hash, so that the
// session id (which may name a user or an account) never reaches another
// vendor, stable across turns so that they share a cache. "" for no
// session.
func CacheKeyFor(session string) string {
	if session == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("llmgw prompt cache\x00" + session))
	return "llmgw-" + hex.EncodeToString(sum[:16])
}
