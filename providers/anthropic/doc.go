// Package anthropic converts the Anthropic Messages wire format
// (POST /v1/messages and /v1/messages/count_tokens, JSON and SSE) to and
// from the neutral llm types, in both directions: client requests and
// upstream replies are decoded into llm values, and llm values are encoded
// for Anthropic upstreams (requests) and Anthropic clients (responses,
// streams, errors).
//
// It also serves same-protocol traffic, which is forwarded byte for byte:
// ResponseUsage and UsageScanner extract token usage from pass-through
// bodies and streams.
//
// Conventions the encoders guarantee for official SDKs and Claude Code,
// which drop events without a name and address blocks by position: every
// SSE event has an event: name; block indices are dense, 0-based and in
// start order; message_start carries the input usage known so far;
// message_delta is held until the end of the stream so that it carries the
// final cumulative usage (an OpenAI upstream sends usage after
// finish_reason), and its usage.output_tokens is always present; a tool
// call forces stop_reason tool_use.
//
// Thinking signatures are provider-bound. A signature issued by another
// protocol is sent to Anthropic clients prefixed with that protocol's name
// and a colon ("gemini:…"), which base64 never contains, so that when the
// client replays the block DecodeRequest restores its origin and the
// request encoders can drop or keep it correctly; ReplaysForeignThinking
// tells the gateway when a same-protocol body needs that re-encoding.
//
// Requests for Anthropic upstreams are made acceptable to the API: a
// max_tokens is always set (per model family when the client gave none,
// above the thinking budget), consecutive same-role turns are merged,
// every tool_use is answered by a tool_result at the start of the next
// user turn, ids are sanitised to ^[a-zA-Z0-9_-]+$ (the same mapping for
// calls and results), empty text blocks are dropped, thinking is turned
// off with a warning when the history cannot replay Anthropic's own
// thinking, and cache_control is kept wherever it was. A request from a
// client of another protocol, which places no cache_control, gets
// breakpoints on the last tool, the system prompt and the two latest user
// turns (Request.NoAutoCache turns this off; DecodeRequest sets it, since
// an Anthropic client places its own).
//
// Decoders never panic on any input and report malformed client JSON as an
// *llm.Error with status 400.
//
// anthropic imports only llm, sse and the standard library.
package anthropic
