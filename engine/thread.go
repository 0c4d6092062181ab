package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/llmgw/llmgw/builtins"
)

// fileOptions are the Starlark dialect of policies: the zero value, i.e.
// no while loops, no recursion, no top-level if/for, no global
// reassignment. Policies are declarations plus pure functions.
var fileOptions = &syntax.FileOptions{}

// HookError is a failure of policy code: a hook that raised an error, ran
// out of steps or time, or returned a value of the wrong shape.
type HookError struct {
	// Hook is the hook's name (route, classify, sticky_key), or "load".
	Hook string
	// Pos is the file:line:col of the fault in the policy, "" when unknown.
	Pos string
	// Err is the cause.
	Err error
}

func (e *HookError) Error() string {
	if e.Pos == "" {
		return fmt.Sprintf("engine: %s: %v", e.Hook, e.Err)
	}
	return fmt.Sprintf("engine: %s: %s: %v", e.Hook, e.Pos, e.Err)
}

func (e *HookError) Unwrap() error { return e.Err }

// ErrStepLimit is the cause (within a *HookError) of a hook stopped by the
// step limit.
var ErrStepLimit = errors.New("too many steps (an endless loop?)")

// ErrTimeout is the cause of a hook stopped by Config.HookTimeout.
var ErrTimeout = errors.New("hook took too long")

// newThread returns a thread for the hooks of one request: its clock is
// now and note() appends to *notes (when notes is not nil).
func newThread(now time.Time, notes *[]string) *starlark.Thread {
	thread := &starlark.Thread{Name: "policy"}
	builtins.SetNow(thread, func() time.Time { return now })
	if notes != nil {
		builtins.SetNotes(thread, notes)
	}
	return thread
}

// call runs one hook on thread, with a fresh step budget, the hook
// timeout and ctx's cancellation. The hooks of one request share a
// thread, one after the other.
func (p *Policy) call(ctx context.Context, thread *starlark.Thread, hook string, fn *starlark.Function, args ...starlark.Value) (starlark.Value, error) {
	thread.Steps = 0
	stop := limit(ctx, thread, p.limits.maxSteps, p.limits.hookTimeout)
	v, err := starlark.Call(thread, fn, args, nil)
	stop()
	if err != nil {
		return nil, hookError(hook, err, ctx)
	}
	return v, nil
}

// cancelReasons tell hookError why a thread was cancelled.
const (
	reasonSteps    = "too many steps"
	reasonTimeout  = "llmgw: hook timeout"
	reasonCanceled = "llmgw: request canceled"
)

// checkEvery is how many steps a thread runs between checks of its
// deadline and context: about 0.1-1 ms of Starlark.
const checkEvery = 10_000

// firstCheck is the step of a thread's first check, where a thread with a
// deadline arms its watchdog timer. Most hooks end before it and pay for
// neither.
const firstCheck = 64

// limit bounds a thread: at most maxSteps steps, at most timeout of wall
// time (if > 0), and no longer than ctx. Rather than arm a timer per call,
// the interpreter's step hook checks the clock and ctx every checkEvery
// steps, which costs nothing for the short hooks that are the norm.
//
// One step can be heavy, though: s = s + s doubles a string in one step,
// and 28 of them took seconds and hundreds of MB while the step count
// stayed tiny. So a thread that runs past firstCheck steps arms a timer
// that cancels it at the deadline; the cancellation lands between steps,
// so the limit then holds to within one step, and a step that doubles
// what came before cannot take much longer than everything before it. (A
// single value is capped at 1 GiB by Starlark itself.) The returned stop
// must be called when the call ends: the hooks of one request share a
// thread, and a late timer would cancel the next hook.
func limit(ctx context.Context, thread *starlark.Thread, maxSteps uint64, timeout time.Duration) (stop func()) {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	var watchdog *time.Timer
	thread.OnMaxSteps = func(thread *starlark.Thread) {
		steps := thread.ExecutionSteps()
		switch {
		case steps >= maxSteps:
			thread.Cancel(reasonSteps)
		case ctx.Err() != nil:
			thread.Cancel(reasonCanceled)
		case !deadline.IsZero() && time.Now().After(deadline):
			thread.Cancel(reasonTimeout)
		default:
			if watchdog == nil && !deadline.IsZero() {
				watchdog = time.AfterFunc(time.Until(deadline), func() { thread.Cancel(reasonTimeout) })
			}
			thread.SetMaxExecutionSteps(min(steps+checkEvery, maxSteps))
		}
	}
	thread.SetMaxExecutionSteps(min(firstCheck, maxSteps))
	return func() {
		if watchdog != nil {
			watchdog.Stop()
		}
	}
}

// hookError wraps a Starlark failure with the position of the fault.
func hookError(hook string, err error, ctx context.Context) error {
	pos, msg := fault(err)
	cause := errors.New(msg)
	switch {
	case strings.Contains(msg, reasonSteps):
		cause = ErrStepLimit
	case strings.Contains(msg, reasonTimeout):
		cause = ErrTimeout
	case strings.Contains(msg, reasonCanceled) && ctx.Err() != nil:
		cause = ctx.Err()
	}
	return &HookError{Hook: hook, Pos: pos, Err: cause}
}

// fault extracts the innermost policy position and the message of a
// Starlark error (evaluation, syntax or resolution).
func fault(err error) (pos, msg string) {
	var ee *starlark.EvalError
	if errors.As(err, &ee) {
		for i := len(ee.CallStack) - 1; i >= 0; i-- {
			if p := ee.CallStack[i].Pos; p.IsValid() && p.Filename() != "<builtin>" {
				pos = p.String()
				break
			}
		}
		return pos, ee.Msg
	}
	var se syntax.Error
	if errors.As(err, &se) {
		return se.Pos.String(), se.Msg
	}
	var rl resolve.ErrorList
	if errors.As(err, &rl) && len(rl) > 0 {
		msg = rl[0].Msg
		if len(rl) > 1 {
			msg += fmt.Sprintf(" (and %d more errors)", len(rl)-1)
		}
		return rl[0].Pos.String(), msg
	}
	return "", err.Error()
}
