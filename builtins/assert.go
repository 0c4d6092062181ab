package builtins

import (
	"fmt"
	"regexp"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Assertions returns the names policy tests (*_test.star) get on top of
// the policy's own: assert_eq(got, want, msg=None), assert_ne(a, b,
// msg=None), assert_true(cond, msg=None), assert_contains(container, x,
// msg=None) and assert_fails(fn, pattern=None). The universal fail(msg)
// also ends a test. A failed assertion is a Starlark error, so the test
// stops there and its report carries the file:line of the assertion.
func Assertions() starlark.StringDict {
	return starlark.StringDict{
		"assert_eq":       starlark.NewBuiltin("assert_eq", assertEq),
		"assert_ne":       starlark.NewBuiltin("assert_ne", assertNe),
		"assert_true":     starlark.NewBuiltin("assert_true", assertTrue),
		"assert_contains": starlark.NewBuiltin("assert_contains", assertContains),
		"assert_fails":    starlark.NewBuiltin("assert_fails", assertFails),
	}
}

// failure builds an assertion error, with the caller's message first when
// there is one.
func failure(b *starlark.Builtin, msg string, format string, args ...any) error {
	text := fmt.Sprintf(format, args...)
	if msg != "" {
		text = msg + ": " + text
	}
	return fmt.Errorf("%s: %s", b.Name(), text)
}

func assertEq(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var got, want starlark.Value
	var msg string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "got", &got, "want", &want, "msg?", &msg); err != nil {
		return nil, err
	}
	eq, err := starlark.Equal(got, want)
	if err != nil {
		return nil, failure(b, msg, "%v", err)
	}
	if !eq {
		return nil, failure(b, msg, "got %s, want %s", got, want)
	}
	return starlark.None, nil
}

func assertNe(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, y starlark.Value
	var msg string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "a", &x, "b", &y, "msg?", &msg); err != nil {
		return nil, err
	}
	eq, err := starlark.Equal(x, y)
	if err != nil {
		return nil, failure(b, msg, "%v", err)
	}
	if eq {
		return nil, failure(b, msg, "both are %s", x)
	}
	return starlark.None, nil
}

func assertTrue(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var cond starlark.Value
	var msg string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "cond", &cond, "msg?", &msg); err != nil {
		return nil, err
	}
	if !cond.Truth() {
		return nil, failure(b, msg, "%s is not true", cond)
	}
	return starlark.None, nil
}

func assertContains(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var container, x starlark.Value
	var msg string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "container", &container, "x", &x, "msg?", &msg); err != nil {
		return nil, err
	}
	in, err := starlark.Binary(syntax.IN, x, container)
	if err != nil {
		return nil, failure(b, msg, "%v", err)
	}
	if !in.Truth() {
		return nil, failure(b, msg, "%s not in %s", x, container)
	}
	return starlark.None, nil
}

func assertFails(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var fn starlark.Callable
	var pattern string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "fn", &fn, "pattern?", &pattern); err != nil {
		return nil, err
	}
	_, err := starlark.Call(thread, fn, nil, nil)
	if err == nil {
		return nil, failure(b, "", "%s did not fail", fn.Name())
	}
	if pattern == "" {
		return starlark.None, nil
	}
	re, rerr := regexp.Compile(pattern)
	if rerr != nil {
		return nil, failure(b, "", "bad pattern: %v", rerr)
	}
	text := err.Error()
	if ee, ok := err.(*starlark.EvalError); ok {
		text = ee.Msg
	}
	if !re.MatchString(text) {
		return nil, failure(b, "", "error %q does not match %q", text, pattern)
	}
	return starlark.None, nil
}
