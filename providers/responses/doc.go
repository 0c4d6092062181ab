// Package responses converts the OpenAI Responses API wire format
// (POST /v1/responses, the only protocol Codex CLI speaks) to and from the
// neutral llm types: as the protocol a client speaks (DecodeRequest,
// EncodeResponse, StreamEncoder) and as the protocol of an upstream
// (EncodeRequest, DecodeResponse, StreamDecoder). It also reads usage from
// same-protocol (pass-through) bodies and streams, cheaply.
//
// Mapping notes:
//   - input items become messages: function_call items join the
//     assistant turn, function_call_output items become RoleTool
//     messages, reasoning items become thinking parts whose signature is
//     the encrypted_content (SignatureProtocol responses), which other
//     protocols' encoders drop. Another provider's reasoning (a Claude
//     thinking block, a Gemini thoughtSignature) reaches the client as a
//     reasoning item whose encrypted_content is an llm.Carry token, and
//     DecodeRequest restores it when the client replays the item.
//   - Codex custom tools (apply_patch) become llm.Tool{FreeForm: true}
//     with the parameters {"input": string}; the encoders turn calls of
//     those tools back into custom_tool_call items.
//   - Namespace tools (Codex's multi_agent_v1) are flattened into their
//     function and custom tools, named <namespace>__<name> with
//     llm.Tool.Namespace set; calls of those names go back to the client
//     as calls in the namespace, and a Responses upstream gets the
//     namespace nested again.
//   - Fields without a neutral form travel in Request.Extra
//     (previous_response_id, prompt_cache_key, store, include…). A stored
//     conversation cannot be served by another vendor: Convertible reports
//     it before the gateway converts.
//   - Stop reasons map onto the response status: the
//     token cap and content filters make it "incomplete" with
//     incomplete_details; a model's refusal in words is a refusal content
//     part (response.refusal.delta / .done when streaming) in a
//     "completed" response, as OpenAI answers; a refusal without words
//     (Anthropic's stop_reason "refusal", a safety classifier stopping the
//     output) is "incomplete" with reason content_filter.
//   - The stream encoder emits the full typed event sequence with
//     sequence_number from 0, consistent item ids (fc_… distinct from
//     call_id) and a final response.completed carrying the response id
//     and integer usage; errors become response.failed.
//
// The package imports only llm, sse and the standard library; it does no
// I/O and does not log.
package responses
