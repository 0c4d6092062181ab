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

// call runs one hook on a fresh thread with the step limit, the hook
// timeout and ctx's cancellation.
func (p *Policy) call(ctx context.Context, hook string, fn *starlark.Function, now time.Time, notes *[]string, args ...starlark.Value) (starlark.Value, error) {
	thread := &starlark.Thread{Name: hook}
	p.prepare(thread, now, notes)
	thread.SetMaxExecutionSteps(p.limits.maxSteps)
	stop := watchdog(ctx, thread, p.limits.hookTimeout)
	v, err := starlark.Call(thread, fn, args, nil)
	stop()
	if err != nil {
		return nil, hookError(hook, err, ctx)
	}
	return v, nil
}

// prepare sets the thread-locals every policy thread carries.
func (p *Policy) prepare(thread *starlark.Thread, now time.Time, notes *[]string) {
	builtins.SetNow(thread, func() time.Time { return now })
	if notes != nil {
		builtins.SetNoteSink(thread, func(s string) { *notes = append(*notes, s) })
	}
}

// cancelReasons tell hookError why a thread was cancelled.
const (
	reasonTimeout  = "llmgw: hook timeout"
	reasonCanceled = "llmgw: request canceled"
)

// watchdog cancels thread when ctx is done or after timeout (if > 0). The
// returned func releases the timers.
func watchdog(ctx context.Context, thread *starlark.Thread, timeout time.Duration) (stop func()) {
	var t *time.Timer
	if timeout > 0 {
		t = time.AfterFunc(timeout, func() { thread.Cancel(reasonTimeout) })
	}
	stopCtx := func() bool { return false }
	if ctx.Done() != nil {
		stopCtx = context.AfterFunc(ctx, func() { thread.Cancel(reasonCanceled) })
	}
	return func() {
		if t != nil {
			t.Stop()
		}
		stopCtx()
	}
}

// hookError wraps a Starlark failure with the position of the fault.
func hookError(hook string, err error, ctx context.Context) error {
	pos, msg := fault(err)
	cause := errors.New(msg)
	switch {
	case strings.Contains(msg, "too many steps"):
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
