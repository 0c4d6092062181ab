package builtins

// Capability is one name a policy can use, with a one-line description.
type Capability struct {
	// Group is hook, builtin, provider, value, req, ctx, health, err,
	// test or result.
	Group string `json:"group"`
	Name  string `json:"name"`
	Doc   string `json:"doc"`
}

// Capabilities lists everything a policy can see or define: the hooks the
// engine calls, builtins (including the engine's declarations) and every
// argument of provider(), the attributes of the values they return, the
// fields of req, ctx, ctx.health(p) and err, the helpers of policy tests
// and the keys of the dict decide() and walk() return. `llmgw test
// --capabilities` prints it (--json as an array of {group, name, doc}).
//
// The list is written by hand, because most of it is behaviour no
// reflection can describe; tests in cmd/llmgw keep it honest: every field,
// attribute and result key the engine really exposes must be listed here,
// and every name listed here must be documented in docs/policy.md.
func Capabilities() []Capability {
	return []Capability{
		{"hook", "route(req, ctx)", "required; returns a provider, a target, a list or tuple of them (at most 64, policy order), refuse(status, message) to answer the client with a 4xx, or [] for no provider (the client gets 503 with the decision's notes); None (a path without a return) is an error"},
		{"hook", "classify(err, ctx)", "optional; runs after each failed attempt and returns \"retry\", \"failover\", \"fail\", \"cooldown\" (60 s), cooldown(seconds), default_class(err) or None (the default)"},
		{"hook", "sticky_key(req, ctx)", "optional; returns the session's sticky key, or None or \"\" for no stickiness; without it the key is req.key + \":\" + req.session, req.key alone with no session (a client key is then bound to one provider), req.session alone on an open gateway; return req.session or None for session-only stickiness"},

		{"builtin", "provider(name, kind, base_url=None, api_key=None, priority=1, weight=100, models=None, headers=None, timeout=None, oauth=None, auto_cache=True)", "declare an upstream; kind is openai, anthropic, gemini or demo (load time only)"},
		{"builtin", `target(provider, model="", priority=None, weight=None)`, "a candidate with model, priority or weight overrides (model \"\" keeps the provider's); provider may be a target to override again"},
		{"builtin", "key(name, secret)", "declare a client key; with none the gateway is open (load time only)"},
		{"builtin", "admin_key(secret)", "protect the dashboard and its API (load time only)"},
		{"builtin", "price(model, input=, output=, cache_read=, cache_write=)", "USD per million tokens, overriding the embedded price table (load time only)"},
		{"builtin", "env(name, default=None)", "an environment variable, or default when unset or empty"},
		{"builtin", "note(msg)", "attach a line to the decision (eval output, request log); at most 32 per decision, 1024 bytes each"},
		{"builtin", "cooldown(seconds)", "classify result: cool the provider down, then fail over; seconds may be a number or a time.duration"},
		{"builtin", "default_class(err)", "classify result: the built-in classification of err"},
		{"builtin", "limit(name, rpm=None, tpm=None, usd=None, per=None, concurrency=None, keys=None, models=None, each=None, shadow=False, wait=None)", "declare a budget, rate limit or quota, enforced before any upstream with 429 (load time only): rpm and tpm per sliding minute, usd per calendar \"day\" or \"month\", concurrency in flight; keys and models (patterns with *) restrict which requests count; each (\"key\", \"user\", \"session\" or \"metadata.NAME\") keeps one counter per value; shadow = True only records would-refuse; wait queues up to that many seconds for capacity"},
		{"builtin", "refuse(status, message, retry_after=None)", "route result: answer the client with status 400, 403, 404 or 429 and message, in its protocol's error shape (retry_after seconds as Retry-After), instead of trying a provider"},
		{"builtin", `"retry" / "failover" / "fail"`, "classify results: retry once, try the next candidate, return the error"},
		{"builtin", "hash_bucket(s, n)", "stable FNV-1a bucket of s in [0, n), for A/B splits"},
		{"builtin", "re.match/search/find/groups/sub/split(pattern, ...)", "Go RE2 regular expressions, compiled patterns cached"},
		{"builtin", "json.encode/decode/indent", "JSON (go.starlark.net lib/json)"},
		{"builtin", "math.*", "math functions and constants (go.starlark.net lib/math)"},
		{"builtin", "time.now()/parse_time/parse_duration/...", "time (go.starlark.net lib/time); now() is the injected clock"},
		{"builtin", `load("@stock/NAME.star", ...)`, "stock modules: fallback.star (healthy_first, available), models.star (family, tier)"},
		{"builtin", `load("lib/x.star", ...)`, "a module inside the policy directory"},
		{"builtin", "fail(msg)", "raise an error (the request fails; a test fails)"},

		{"provider", "name", "unique name of the upstream instance, used in health, logs and metrics"},
		{"provider", "kind", "wire protocol: openai, anthropic, gemini or demo (in-process, offline)"},
		{"provider", "base_url=", "endpoint; defaults to the public API (https://api.openai.com/v1, https://api.anthropic.com, https://generativelanguage.googleapis.com)"},
		{"provider", "api_key=", "upstream credential, sent as the kind expects (Bearer, x-api-key, x-goog-api-key); never logged or shown; required (non-empty) for every kind but demo unless oauth= is given or api_key = None is written literally"},
		{"provider", "priority=", "tier, lower first (default 1)"},
		{"provider", "weight=", "share of first picks within its tier (default 100; 0 = only after the weighted ones)"},
		{"provider", "models=", "dict mapping a requested model to the upstream's model name"},
		{"provider", "headers=", "dict of extra headers sent upstream"},
		{"provider", "timeout=", "seconds (or a time.duration) one attempt may take; None means the gateway's default"},
		{"provider", "oauth=", "name of a subscription account logged in with `llmgw oauth login`, used instead of api_key"},
		{"provider", "auto_cache=", "False keeps prompt-cache hints the client did not send out of requests converted for this provider (Anthropic cache_control breakpoints, OpenAI's derived prompt_cache_key); default True"},

		{"value", "provider.name / provider.kind / provider.base_url", "attributes of what provider() returns"},
		{"value", "provider.priority / provider.weight / provider.timeout / provider.models", "attributes of what provider() returns (timeout in seconds)"},
		{"value", "target.provider / target.model / target.priority / target.weight", "attributes of what target() returns (priority and weight resolved)"},
		{"value", "class.action / class.cooldown / class.mark_failed", "attributes of what cooldown() and default_class() return"},

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

		{"ctx", "ctx.health(provider)", "the provider's health (see health.*); provider is a provider, a target or a declared name (another name is an error)"},
		{"ctx", "ctx.sticky", "the provider this session is bound to, or None"},
		{"ctx", "ctx.now", "the decision's time (a time.time)"},
		{"ctx", "ctx.usage(name)", "the usage of the request's counter of limit name (see usage.*); another name is an error"},

		{"usage", "usage.requests / usage.tokens", "requests and tokens (input and output) of the last 60 seconds"},
		{"usage", "usage.usd", "US dollars spent this day or month (the limit's per)"},
		{"usage", "usage.in_flight", "requests in flight"},
		{"usage", "usage.share", "the used fraction of the limit's tightest bound, 0..1 (1 or more: spent)"},
		{"usage", "usage.remaining", "dict of what is left of each bound the limit sets: rpm, tpm, usd, concurrency"},
		{"usage", "usage.applies", "False when the request does not count against the limit (keys or models exclude it); the counts are then 0"},
		{"usage", "usage.limit", "the limit's name"},

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

		{"test", "decide(request, health={}, sticky=None, now=None, seed=None, usage={})", "the decision eval --json prints, plus providers, tried and served_by (see result); within a tier highest weight first, or drawn as live from seed"},
		{"test", "walk(request, errors={name: 429|\"timeout\"}, health=, sticky=, now=, seed=, usage=)", "decide() with simulated upstream errors: the failover walk calls classify for each; \"cut\" and \"stall\" break a started stream (no failover, the client gets an error event)"},
		{"test", "usage={name: {requests, tokens, usd, in_flight}}", "decide()/walk(): fake limit counters, which ctx.usage reads and the request is checked against (a limit left out is at zero)"},
		{"test", "assert_eq(got, want, msg=None) / assert_ne / assert_true / assert_contains", "assertions; a failure ends the test with its file:line"},
		{"test", "assert_fails(fn, pattern=None)", "fn() must fail, with an error matching pattern"},

		{"result", `["policy"]`, "the policy version's hash"},
		{"result", `["candidates"]`, "candidates in failover order, each {provider, model, priority, weight, share}; share is the chance to be tried first (live picks within a tier are weighted-random)"},
		{"result", `["returned"]`, "the candidates as route returned them, each {provider, model, priority, weight}"},
		{"result", `["providers"]`, "candidate provider names in failover order"},
		{"result", `["sticky_key"]`, "the sticky key, or None"},
		{"result", `["sticky"]`, "the provider the sticky key is bound to (present only when bound)"},
		{"result", `["notes"]`, "the note() lines of the decision"},
		{"result", `["explain"]`, "why the core reordered or removed candidates"},
		{"result", `["attempts"]`, "the walk, each {provider, model, status, error, class, cooldown_s, mark_failed, stream_error}; class is ok or the classify action"},
		{"result", `["tried"]`, "the walk as \"provider:class\" strings"},
		{"result", `["refusal"]`, "route's refuse(...): {status, message, retry_after}, or None when route did not refuse"},
		{"result", `["outcome"]`, "how the walk ended: {result, provider, status}; result is served, refused, stream_failed, failed, exhausted, no_candidates or limited"},
		{"result", `["served_by"]`, "the provider that served, or None"},
		{"result", `["limited"]`, "the limit that refused the request before any upstream (outcome limited, status 429): {limit, each, bound, shadow, retry_after_ns}, or None"},
		{"result", `["would_refuse"]`, "the shadow limits the request went over, each {limit, each, bound, shadow}; it was served"},
	}
}
