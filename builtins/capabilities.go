package builtins

// Capability is one name a policy can use, with a one-line description.
type Capability struct {
	Group string `json:"group"` // builtin, req, ctx, health, err or test
	Name  string `json:"name"`
	Doc   string `json:"doc"`
}

// Capabilities lists everything a policy can see: builtins (including the
// engine's declarations), the fields of req, ctx, ctx.health(p) and err,
// and the helpers of policy tests. `llmgw test --capabilities` prints it.
func Capabilities() []Capability {
	return []Capability{
		{"builtin", "provider(name, kind, base_url=None, api_key=None, priority=1, weight=100, models=None, headers=None, timeout=None, oauth=None)", "declare an upstream; kind is openai, anthropic, gemini or demo (load time only)"},
		{"builtin", "target(provider, model=None, priority=None, weight=None)", "a candidate with model, priority or weight overrides"},
		{"builtin", "key(name, secret)", "declare a client key; with none the gateway is open (load time only)"},
		{"builtin", "admin_key(secret)", "protect the dashboard and its API (load time only)"},
		{"builtin", "price(model, input=, output=, cache_read=, cache_write=)", "USD per million tokens, overriding the embedded price table (load time only)"},
		{"builtin", "env(name, default=None)", "an environment variable, or default when unset or empty"},
		{"builtin", "note(msg)", "attach a line to the decision (eval output, request log)"},
		{"builtin", "cooldown(seconds)", "classify result: cool the provider down, then fail over"},
		{"builtin", "default_class(err)", "classify result: the built-in classification of err"},
		{"builtin", `"retry" / "failover" / "fail"`, "classify results: retry once, try the next candidate, return the error"},
		{"builtin", "hash_bucket(s, n)", "stable FNV-1a bucket of s in [0, n), for A/B splits"},
		{"builtin", "re.match/search/find/groups/sub/split(pattern, ...)", "Go RE2 regular expressions, compiled patterns cached"},
		{"builtin", "json.encode/decode/indent", "JSON (go.starlark.net lib/json)"},
		{"builtin", "math.*", "math functions and constants (go.starlark.net lib/math)"},
		{"builtin", "time.now()/parse_time/parse_duration/...", "time (go.starlark.net lib/time); now() is the injected clock"},
		{"builtin", `load("@stock/NAME.star", ...)`, "stock modules: fallback.star (healthy_first, available), models.star (family, tier)"},
		{"builtin", `load("lib/x.star", ...)`, "a module inside the policy directory"},
		{"builtin", "fail(msg)", "raise an error (the request fails; a test fails)"},
		{"req", "req.model", "the requested model"},
		{"req", "req.protocol", "openai, responses, anthropic or gemini"},
		{"req", "req.stream", "whether the client asked for a stream"},
		{"req", "req.key", "the client key name; \"\" on an open gateway"},
		{"req", "req.session", "session id from headers (x-claude-code-session-id, session-id, thread-id, x-session-id) or body (metadata.user_id, prompt_cache_key, user)"},
		{"req", "req.user", "OpenAI user / Anthropic metadata.user_id"},
		{"req", "req.headers", "request headers, lower-case names, credentials redacted"},
		{"req", "req.metadata", "the body's metadata object, values as strings"},
		{"req", "req.has_tools", "the request declares tools"},
		{"req", "req.has_images", "the request carries images or files"},
		{"req", "req.has_thinking", "the request enables thinking / reasoning"},
		{"req", "req.input_tokens_estimate", "rough input size: body bytes / 4"},
		{"req", "req.max_output_tokens", "the requested output cap; 0 when absent"},
		{"ctx", "ctx.health(provider)", "the provider's health (see health.*)"},
		{"ctx", "ctx.sticky", "the provider this session is bound to, or None"},
		{"ctx", "ctx.now", "the decision's time (a time.time)"},
		{"health", "health.state", "healthy, half_open or cooldown"},
		{"health", "health.healthy / health.available", "state is healthy / state is not cooldown"},
		{"health", "health.error_rate", "recent error rate, 0..1"},
		{"health", "health.latency_ms", "recent latency in milliseconds"},
		{"health", "health.in_flight", "requests in flight"},
		{"health", "health.cooldown_left", "seconds of cooldown left"},
		{"err", "err.status", "HTTP status; 0 when there was none"},
		{"err", "err.kind", "http, timeout, connect or stream"},
		{"err", "err.type / err.message", "from the provider's error body"},
		{"err", "err.provider / err.model", "the failed attempt's provider and upstream model"},
		{"err", "err.retry_after", "seconds from Retry-After, or None"},
		{"err", "err.attempt", "1 for the request's first attempt"},
		{"err", "err.first_byte_sent", "part of the response already reached the client (no failover)"},
		{"test", "decide(request, health={}, sticky=None, now=None)", "the decision eval --json prints, plus providers (names in failover order)"},
		{"test", "walk(request, errors={name: 429|\"timeout\"}, health=, sticky=, now=)", "the simulated failover walk: attempts, outcome, tried, served_by"},
		{"test", "assert_eq(got, want, msg=None) / assert_ne / assert_true / assert_contains", "assertions; a failure ends the test with its file:line"},
		{"test", "assert_fails(fn, pattern=None)", "fn() must fail, with an error matching pattern"},
	}
}
