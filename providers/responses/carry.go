package responses

import (
	"bytes"

	"github.com/llmgw/llmgw/llm"
)

// ReplaysCarriedReasoning reports whether a Responses body replays a
// reasoning item whose encrypted_content carries another provider's
// reasoning (see EncodeResponse): OpenAI cannot decrypt it and refuses the
// request, so a conversation that an earlier turn served from Claude or
// Gemini is re-encoded, which leaves that reasoning out, instead of
// forwarded as it is. A string that merely starts like a token costs only
// a re-encoded body.
func ReplaysCarriedReasoning(body []byte) bool {
	return bytes.Contains(body, []byte(`"`+llm.CarryPrefix))
}
