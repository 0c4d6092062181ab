// Package openai converts the OpenAI chat completions wire format
// (POST /v1/chat/completions, JSON and SSE) to and from the neutral llm
// types, in both directions: client requests and upstream replies are
// decoded into llm values, and llm values are encoded for OpenAI upstreams
// (requests) and OpenAI clients (responses, streams, errors).
//
// It also serves same-protocol traffic, which is forwarded byte for byte:
// ResponseUsage and UsageScanner extract token usage from pass-through
// bodies and streams without decoding events that cannot carry it.
//
// Conventions the encoders guarantee for official SDKs (openai-python
// concatenates every string field of a delta; openai-go fails a stream on
// any top-level "error" key): stream chunks never carry a top-level
// "error" key except on error chunks; role, tool call id and name are sent
// once; every tool call delta has an index; the usage chunk (choices: [])
// is sent only when the client asked for stream_options.include_usage.
//
// Chat completions has no field for reasoning state that comes back, so
// another provider's (Claude's signed thinking, a Gemini thoughtSignature)
// rides in the id of the tool call that follows it (llm.CarryInID), and
// DecodeRequest splits it off again: the upstream sees the id it issued.
//
// Tool names longer than chat completions' 64 characters (Anthropic and
// MCP allow 128) are shortened deterministically in EncodeRequest; the
// anthropic encoders map them back using the client's tool list.
//
// Decoders never panic on any input and report malformed client JSON as an
// *llm.Error with status 400.
//
// openai imports only llm, sse and the standard library.
package openai
