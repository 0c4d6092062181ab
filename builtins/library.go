package builtins

import (
	"time"

	"go.starlark.net/lib/json"
	"go.starlark.net/lib/math"
	starlarktime "go.starlark.net/lib/time"
	"go.starlark.net/starlark"
)

// Options configures Library. The zero value is usable: no environment,
// a private regexp cache.
type Options struct {
	// Getenv backs env(name, default). Nil means every variable is unset,
	// so env() returns its default.
	Getenv func(string) string
	// Regexps is the compiled-pattern cache behind the re module. Nil
	// means a new cache of DefaultRegexpCache patterns.
	Regexps *Regexps
}

// Library returns the predeclared names this package provides to every
// policy file, its modules and its tests:
//
//	hash_bucket(s, n)      stable FNV-1a bucket in [0, n)
//	env(name, default)     an environment variable, or default when unset or empty
//	note(msg)              attach a line of explanation to the decision
//	json, math, time       go.starlark.net's lib/json, lib/math, lib/time (time.now() is the injected clock)
//	re                     regular expressions (see Regexps.Module)
//
// The result is a fresh dict: the caller may add its own names to it.
func Library(opts Options) starlark.StringDict {
	rx := opts.Regexps
	if rx == nil {
		rx = NewRegexps(0)
	}
	return starlark.StringDict{
		"hash_bucket": starlark.NewBuiltin("hash_bucket", hashBucket),
		"env":         envBuiltin(opts.Getenv),
		"note":        starlark.NewBuiltin("note", note),
		"json":        json.Module,
		"math":        math.Module,
		"time":        starlarktime.Module,
		"re":          rx.Module(),
	}
}

// SetNow sets the clock that time.now() and the engine's ctx.now read on
// this thread. Every thread that runs policy code gets one, so evaluation
// and tests are deterministic.
func SetNow(thread *starlark.Thread, now func() time.Time) {
	starlarktime.SetNow(thread, func() (time.Time, error) { return now(), nil })
}

func envBuiltin(getenv func(string) string) *starlark.Builtin {
	return starlark.NewBuiltin("env", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var name string
		var def starlark.Value = starlark.None
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "default?", &def); err != nil {
			return nil, err
		}
		if getenv != nil {
			if v := getenv(name); v != "" {
				return starlark.String(v), nil
			}
		}
		return def, nil
	})
}

// Limits on note(): the notes of one decision go to the request log, so a
// policy that notes in a loop must not flood it.
const (
	MaxNotes   = 32   // notes kept per thread; later ones are dropped
	MaxNoteLen = 1024 // bytes kept of one note
)

// notesKey is the thread-local key of the *[]string note() appends to.
const notesKey = "llmgw.notes"

// SetNotes makes note() calls on thread append to *notes (at most
// MaxNotes, each cut to MaxNoteLen bytes). Without it note() does nothing. It must be called before the thread runs.
func SetNotes(thread *starlark.Thread, notes *[]string) {
	thread.SetLocal(notesKey, notes)
}

func note(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var msg starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &msg); err != nil {
		return nil, err
	}
	s, ok := starlark.AsString(msg)
	if !ok {
		s = msg.String()
	}
	if notes, ok := thread.Local(notesKey).(*[]string); ok && notes != nil && len(*notes) < MaxNotes {
		if len(s) > MaxNoteLen {
			s = s[:MaxNoteLen] + "…"
		}
		*notes = append(*notes, s)
	}
	return starlark.None, nil
}
