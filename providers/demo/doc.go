// Package demo is llmgw's in-process, offline upstream: an http.Handler
// that speaks every wire protocol the gateway serves (OpenAI chat
// completions, Responses, embeddings and models; Anthropic Messages,
// count_tokens and models; Gemini generateContent, streamGenerateContent,
// countTokens, embedContent, batchEmbedContents and models), streaming and
// not, without a network or a key.
//
// It gives a new user a working gateway before any provider key is set
// (provider kind "demo"), and tests and benchmarks a fast upstream whose
// pacing (latency, time to first token, chunk count and interval) is
// configurable.
//
// Replies are deterministic: the same request to a Server with the same
// Config always yields the same bytes, ids included. The text starts with
// "This is llmgw's offline demo provider. You said: …", quoting the last
// user message, and continues with canned sentences chosen by a hash of the
// request. Token counts are honest with respect to a documented
// approximation (see CountTokens): input tokens count the text of the
// request, output tokens the text of the reply, and streamed usage adds up
// to the non-streamed one.
//
// When the request offers tools and either forces a call (tool_choice
// required, any or a named tool) or its last user message names a tool as a
// word, the reply is a single call of that tool instead of text, with
// arguments filling the schema's required properties (strings quote the
// user). After a tool result the reply is text again, so agents end their
// loop.
//
// Wire shapes follow the recorded provider transcripts in the shared
// fixtures (ids such as chatcmpl-…, msg_…, resp_…; object fields; no
// top-level "error" key on normal OpenAI chunks) and parse with the official
// Go SDKs, which the tests prove.
//
// Server.Transport serves requests without sockets: the gateway gives
// providers of kind "demo" an http.Client using it.
//
// demo imports only the standard library, llm and sse.
package demo
