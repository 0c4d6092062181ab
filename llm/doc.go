// Package llm is the protocol-neutral vocabulary of llmgw: requests,
// responses, stream events, usage and errors that every wire protocol
// (OpenAI chat completions, OpenAI Responses, Anthropic Messages, Gemini)
// decodes into and encodes from.
//
// Conversion is hub and spoke: each package under providers/ converts its
// own wire format to and from these types, so three vendors need three
// converters, not six pairwise ones. Same-protocol traffic never passes
// through here: it is forwarded byte for byte.
//
// Invariants:
//   - No field here is specific to one vendor. What a vendor sends that has
//     no neutral meaning either travels in Extra (kept only when the target
//     protocol is the same family) or is dropped with a warning.
//   - Token counts follow one convention (see Usage), whatever the wire said.
//
// llm imports only the standard library; every other package may import it.
package llm
