// Package gemini converts the Gemini generateContent wire format
// (https://ai.google.dev/api/generate-content) to and from the neutral
// llm types, in both directions: as the protocol a client speaks
// (DecodeRequest, EncodeResponse, StreamEncoder) and as the protocol of an
// upstream (EncodeRequest, DecodeResponse, StreamDecoder). It also reads
// usage from same-protocol (pass-through) bodies and streams, cheaply.
//
// Wire facts this package relies on:
//   - The model and the streaming flag live in the URL
//     (/v1beta/models/{model}:{action}), not in the body. ParseModelAction
//     splits the path; DecodeRequestModel sets Request.Model from it; the
//     gateway sets Request.Stream for :streamGenerateContent. EncodeRequest
//     returns only the body: the caller builds the URL from Request.Model.
//   - generationConfig.candidateCount > 1 has no equivalent elsewhere, and
//     cachedContent is state only Google holds: Convertible reports them
//     before the gateway converts. Unmapped fields
//     (safetySettings, cachedContent, other generationConfig members)
//     travel in Request.Extra, generationConfig ones under the
//     "generationConfig" key.
//   - Request bodies are proto-JSON: snake_case field names
//     (system_instruction, function_call) are accepted like camelCase.
//   - Gemini 2.x function calls have no ids, and responseId may be
//     missing or repeated. Upstream decoders give such calls
//     llmgw_call_<nonce>_<n> with a random nonce per answer, so that ids
//     never repeat within a conversation; the client decoder numbers a
//     history's id-less calls in order and pairs function responses with
//     them by name in call order. Encoders send ids back only when Gemini
//     issued them, and always name a functionResponse after its call,
//     found in the history.
//   - thoughtSignature is provider-bound: Gemini signatures are kept,
//     foreign ones are never forwarded. The upstream decoders turn a
//     functionCall's signature into a signature-only thinking part before
//     the call, the form other protocols' clients carry back;
//     EncodeRequest folds it onto the call again. In requests to Gemini,
//     the first functionCall part of a step that still has no Gemini
//     signature carries the documented sentinel
//     skip_thought_signature_validator; responses to clients never carry
//     it (go-genai decodes signatures as base64 and rejects the sentinel).
//   - Another provider's reasoning (Claude's signed thinking, OpenAI's
//     encrypted reasoning) reaches a Gemini client as the thoughtSignature
//     of the next part: the base64 of an llm.Carry token, which the
//     client replays and DecodeRequest unpacks.
//   - Streams are data:-only SSE (go-genai rejects anything else) with
//     cumulative usageMetadata, complete functionCall parts and a final
//     chunk that carries finishReason. NewArrayStreamEncoder writes the JSON
//     array form served when the client omits alt=sse.
//   - Usage follows llm.Usage: promptTokenCount includes cached tokens and
//     toolUsePromptTokenCount is input too; candidatesTokenCount excludes
//     thoughtsTokenCount, which is output.
//
// The package imports only llm, sse and the standard library, never
// gateway; it does no I/O and does not log.
package gemini
