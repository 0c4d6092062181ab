package tracing

import (
	"go.opentelemetry.io/otel/attribute"

	"github.com/llmgw/llmgw/llm"
)

// The attribute keys of OpenTelemetry's GenAI semantic conventions that
// llmgw sets on its spans.
const (
	// OperationName is the operation asked of the model: "chat",
	// "generate_content" (Gemini's), "embeddings", or llmgw's
	// "count_tokens".
	OperationName = attribute.Key("gen_ai.operation.name")
	// ProviderName is the provider's family, a well-known value where the
	// conventions have one (ProviderNameOf).
	ProviderName = attribute.Key("gen_ai.provider.name")
	// RequestModel is the model asked for: the client's on the request
	// span, the one sent upstream on an attempt span.
	RequestModel = attribute.Key("gen_ai.request.model")
	// ResponseModel is the model that answered, as the upstream named it.
	ResponseModel = attribute.Key("gen_ai.response.model")
	// ResponseID is the upstream's id of its answer.
	ResponseID = attribute.Key("gen_ai.response.id")
	// FinishReasons are why generation stopped, one per choice.
	FinishReasons = attribute.Key("gen_ai.response.finish_reasons")
	// InputTokens counts every input token, cached ones included, as the
	// conventions define it; OutputTokens every output token, reasoning
	// included.
	InputTokens  = attribute.Key("gen_ai.usage.input_tokens")
	OutputTokens = attribute.Key("gen_ai.usage.output_tokens")
	// CacheReadTokens and CacheCreationTokens are the parts of InputTokens
	// read from and written to the provider's prompt cache.
	CacheReadTokens     = attribute.Key("gen_ai.usage.cache_read.input_tokens")
	CacheCreationTokens = attribute.Key("gen_ai.usage.cache_creation.input_tokens")
	// ReasoningTokens is the part of OutputTokens spent thinking.
	ReasoningTokens = attribute.Key("gen_ai.usage.reasoning.output_tokens")
	// ErrorType is the class of a failure (the conventions' error.type):
	// an HTTP status, a transport failure's kind, or llmgw's error class.
	ErrorType = attribute.Key("error.type")
	// SystemInstructions, InputMessages and OutputMessages carry content:
	// the system instructions, the messages sent and the messages the
	// model answered, each a JSON array in the conventions' message schema
	// (content.go). They are set only when content export is on
	// (ContentEnabled).
	SystemInstructions = attribute.Key("gen_ai.system_instructions")
	InputMessages      = attribute.Key("gen_ai.input.messages")
	OutputMessages     = attribute.Key("gen_ai.output.messages")
)

// llmgw's own attribute keys, beside the conventions'.
const (
	// RequestIDKey is the request's X-Request-Id, which finds its row in
	// the request log.
	RequestIDKey = attribute.Key("llmgw.request_id")
	// ProviderKey is the provider's name in the policy (ProviderName is
	// its family).
	ProviderKey = attribute.Key("llmgw.provider")
	// AttemptKey numbers an attempt from 1; on the request span it is the
	// number of attempts made.
	AttemptKey = attribute.Key("llmgw.attempt")
	// ActionKey is what the walk did after an attempt that did not answer
	// (retry, failover, cooldown, fail, skip, cancelled).
	ActionKey = attribute.Key("llmgw.action")
	// ErrorClassKey is why the request did not end in a clean answer,
	// as the request log stores it.
	ErrorClassKey = attribute.Key("llmgw.error_class")
	// PolicyHashKey identifies the policy version that routed the
	// request.
	PolicyHashKey = attribute.Key("llmgw.policy_hash")
	// StickyKey is "hit" or "miss" when the request had a session key.
	StickyKey = attribute.Key("llmgw.sticky")
	// CostKey is the request's cost in micro-USD, absent when unpriced.
	CostKey = attribute.Key("llmgw.cost_micros")
	// EndpointKey names the front door the client called.
	EndpointKey = attribute.Key("llmgw.endpoint")
	// StatusKey is the HTTP status: the client's on the request span, the
	// upstream's on an attempt span (the conventions'
	// http.response.status_code).
	StatusKey = attribute.Key("http.response.status_code")
)

// FailoverEvent is the name of the event the request span gets for each
// attempt after which the walk moved on (retry, failover, cooldown).
const FailoverEvent = "llmgw.failover"

// ProviderNameOf maps a provider kind of a policy to the conventions'
// gen_ai.provider.name: their well-known values for the official APIs,
// "llmgw.demo" for llmgw's in-process provider, the kind itself
// otherwise.
func ProviderNameOf(kind string) string {
	switch kind {
	case "openai", "anthropic":
		return kind
	case "gemini":
		return "gcp.gemini"
	case "demo":
		return "llmgw.demo"
	}
	return kind
}

// OperationOf names a front door's operation as gen_ai.operation.name
// does: generation is "chat" except on Gemini's generateContent, which
// the conventions call "generate_content".
func OperationOf(op llm.Operation, proto llm.Protocol) string {
	switch op {
	case llm.OpEmbed, llm.OpBatchEmbed:
		return "embeddings"
	case llm.OpCountTokens:
		return "count_tokens"
	}
	if proto == llm.ProtocolGemini {
		return "generate_content"
	}
	return "chat"
}

// SpanName is the conventions' span name: the operation and the model,
// or the operation alone when no model is known.
func SpanName(operation, model string) string {
	if model == "" {
		return operation
	}
	return operation + " " + model
}

// AppendUsage appends u's attributes to kv in the conventions' terms:
// InputTokens counts the cache reads and writes too (llm.Usage does not),
// and the cache and reasoning counts are set only when not zero.
func AppendUsage(kv []attribute.KeyValue, u llm.Usage) []attribute.KeyValue {
	kv = append(kv, InputTokens.Int64(u.PromptTokens()), OutputTokens.Int64(u.OutputTokens))
	if u.CacheReadTokens > 0 {
		kv = append(kv, CacheReadTokens.Int64(u.CacheReadTokens))
	}
	if u.CacheWriteTokens > 0 {
		kv = append(kv, CacheCreationTokens.Int64(u.CacheWriteTokens))
	}
	if u.ReasoningTokens > 0 {
		kv = append(kv, ReasoningTokens.Int64(u.ReasoningTokens))
	}
	return kv
}
