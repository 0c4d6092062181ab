// Package engine runs llmgw's routing policy: a Starlark program that
// declares providers, client keys and prices, and defines the hooks
// route(req, ctx) (required), classify(err, ctx) and sticky_key(req, ctx).
//
// # Lifecycle
//
// New loads the policy (a file, or a directory with main.star or
// policies.star): it reads the files, compiles them with an explicit
// syntax.FileOptions (no while, no recursion, no top-level control flow,
// no global reassignment), executes them, freezes the globals, checks the
// hooks, checks the policy (check.go: static checks of its syntax and
// load-time checks of its providers; smoke.go: the hooks run on synthetic
// requests and errors) and runs its *_test.star tests. The result is a
// Policy: an immutable snapshot, safe for concurrent use without locks;
// its Findings are the warnings that did not refuse it. Check runs all but
// the tests (`llmgw check`, `llmgw test`).
//
// Reload (called on SIGHUP) and Watch (fsnotify on the policy's directory,
// debounced, content-hashed) build a new version off to the side and swap
// it in atomically only if it loads, passes its checks and its tests pass;
// otherwise the live version keeps serving and Status reports the error
// with file:line.
//
// # Per request
//
// The gateway takes e.Policy() once per request and keeps that snapshot
// for the whole retry chain:
//
//	pol := e.Policy()
//	req := engine.NewRequest(protocol, features, len(body), headers) // features: the client adapter's llm.Features
//	dec, err := pol.Decide(ctx, req, env)         // candidates in policy order
//	order, _ := route.Order(dec.Candidates, ...)   // failover order
//	route.Walk(ctx, order, maxAttempts, driver)     // the attempts, in order
//	class, err := pol.Classify(ctx, errInfo, env)  // the driver, after each failed attempt
//	cost, src, ok := pol.PriceTable().Cost(model, usage)
//
// Policy.Eval runs the same Decide, Order and Walk with simulated
// attempts, so that a dry run shows what a live request does.
//
// route may also return refuse(status, message) (Decision.Refusal): the
// gateway answers with it and tries no provider.
//
// limit(...) declarations become Policy.Limits (package limits' Defs);
// Policy.Charges gives the counters a request counts in, which the gateway
// admits against its limits.Store after Decide and before the walk.
// ctx.usage(name) reads the request's counter through Env.Usage, and Eval
// checks the charges against EvalOptions.Usage (decide()/walk()'s usage=).
//
// Every hook call runs on a fresh starlark.Thread bounded by
// Config.MaxSteps, Config.HookTimeout and ctx (a watchdog timer stops a
// call whose single steps are heavy). A hook that fails, overruns
// or returns the wrong shape yields a *HookError with the file:line of the
// fault; the gateway answers that request with an error and keeps serving.
//
// # Stock modules and load()
//
// load("lib/x.star", ...) resolves inside the policy directory only (a
// path with .. that leaves it, or a symlink resolving outside, is refused);
// load("@stock/NAME.star", ...) loads a module embedded from the policies
// package (StockPrefix).
//
// # Tests and dry runs
//
// RunTests runs a policy's tests (`llmgw test`); Policy.Eval dry-runs one
// request with simulated health, sticky binding, clock and upstream
// errors (`llmgw eval`, POST /api/eval). Both are deterministic and never
// touch the network: within a tier the order is highest weight first, or
// drawn from EvalOptions.Seed, and each candidate carries its share of
// live first picks (Shares).
//
// Trust model: policies are operator configuration. The step limit and
// timeouts stop accidents (an endless loop), not a hostile author; memory
// is not bounded.
//
// engine imports builtins, policies, route and fsnotify; the gateway and
// cmd/llmgw import engine.
package engine
