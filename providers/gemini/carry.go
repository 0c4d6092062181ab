package gemini

import (
	"bytes"
	"encoding/base64"
	"strings"

	"github.com/llmgw/llmgw/llm"
)

// foldCallSignatures puts the signature of a signature-only Gemini
// thinking part (what the decoders make of a functionCall's
// thoughtSignature, and what a client carried back) onto the tool call
// that follows it, where Gemini wants it; a call that already has a Gemini
// signature keeps its own. parts is not modified.
func foldCallSignatures(parts []llm.Part) []llm.Part {
	fold := false
	for i := 0; i+1 < len(parts); i++ {
		if callSignatureFor(parts[i], parts[i+1]) {
			fold = true
			break
		}
	}
	if !fold {
		return parts
	}
	out := make([]llm.Part, 0, len(parts))
	for i := 0; i < len(parts); i++ {
		if i+1 < len(parts) && callSignatureFor(parts[i], parts[i+1]) {
			c := parts[i+1]
			c.Signature, c.SignatureProtocol = parts[i].Signature, llm.ProtocolGemini
			out = append(out, c)
			i++
			continue
		}
		out = append(out, parts[i])
	}
	return out
}

// callSignatureFor reports whether p is a signature-only Gemini thinking
// part that belongs to the unsigned call next.
func callSignatureFor(p, next llm.Part) bool {
	return p.Kind == llm.PartThinking && p.Text == "" && p.Signature != "" && p.SignatureProtocol == llm.ProtocolGemini &&
		next.Kind == llm.PartToolCall && (next.Signature == "" || next.SignatureProtocol != llm.ProtocolGemini)
}

// carriedSignaturePrefix is how a thoughtSignature that carries another
// provider's reasoning (llm.Carry) starts. go-genai decodes
// thoughtSignature as base64 bytes and encodes it again when it replays
// the part, so the token travels base64-encoded once more;
// carriedSignaturePrefix is the base64 of llm.CarryPrefix, whose six bytes
// encode to whole base64 quanta.
const carriedSignaturePrefix = "bGxtZ3cx"

// carriedSignature is the thoughtSignature that carries parts to a Gemini
// client.
func carriedSignature(parts []llm.Part) string {
	return base64.StdEncoding.EncodeToString([]byte(llm.Carry(parts)))
}

// uncarrySignature unpacks a thoughtSignature made by carriedSignature;
// ok is false for any other value (Gemini's own).
func uncarrySignature(sig string) ([]llm.Part, bool) {
	if !strings.HasPrefix(sig, carriedSignaturePrefix) {
		return nil, false
	}
	b, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return nil, false
	}
	return llm.Uncarry(string(b))
}

// decodeCarryingPart is decodePart for a client's part whose
// thoughtSignature may carry another provider's reasoning: the carried
// parts come first, then the part itself without that signature.
func decodeCarryingPart(p part, ct *callTracker) ([]llm.Part, error) {
	carried, ok := uncarrySignature(p.ThoughtSignature)
	if !ok {
		return decodePart(p, ct)
	}
	p.ThoughtSignature = ""
	if p.FunctionCall == nil && p.FunctionResponse == nil && p.InlineData == nil && p.FileData == nil &&
		(p.Text == nil || *p.Text == "" || p.Thought) {
		// A part that existed only to carry (or a thought summary the
		// carried thinking repeats).
		return carried, nil
	}
	own, err := decodePart(p, ct)
	return append(carried, own...), err
}

// carrier collects the reasoning parts of another provider that a Gemini
// client must carry, until a part is written that can take them as its
// thoughtSignature.
type carrier struct {
	pending []llm.Part
}

// take returns the signature for the next written part ("" when nothing
// is pending) and empties the carrier.
func (c *carrier) take() string {
	if len(c.pending) == 0 {
		return ""
	}
	sig := carriedSignature(c.pending)
	c.pending = nil
	return sig
}

// ReplaysCarriedReasoning reports whether a generateContent body replays
// a thoughtSignature that carries another provider's reasoning (see
// carriedSignature): Gemini would refuse it as a signature of its own, so
// a conversation that an earlier turn served from Claude or OpenAI is
// re-encoded, which leaves that reasoning out, instead of forwarded as it
// is.
func ReplaysCarriedReasoning(body []byte) bool {
	return bytes.Contains(body, []byte(`"`+carriedSignaturePrefix))
}
