// Package builtins holds the Go functions a routing policy can call that do
// not depend on the engine's own types: hash_bucket, the re module, note,
// env, the test assertions, and the reference list of every name a policy
// can see (Capabilities, printed by `llmgw test --capabilities`).
//
// Per-call services (the note sink, the assertion reporter, the clock)
// reach builtins through thread-locals set by the caller, following
// go.starlark.net's lib/time.SetNow pattern, so frozen module values can be
// shared by every request without locks.
//
// builtins imports only go.starlark.net and the standard library; engine
// imports it, never the reverse. It does not log: errors are returned to
// the Starlark caller.
package builtins
