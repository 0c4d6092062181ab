package builtins

import (
	"container/list"
	"regexp"
	"sync"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// DefaultRegexpCache is the number of compiled patterns a Regexps keeps
// when NewRegexps is given a size of zero or less.
const DefaultRegexpCache = 256

// Regexps compiles regular expressions (Go RE2 syntax) for the re module
// and keeps the most recently used ones, so a policy that matches the same
// pattern on every request compiles it once. It is safe for concurrent
// use; one Regexps serves every request of an engine.
type Regexps struct {
	max int

	// mu guards the following.
	mu    sync.Mutex
	byPat map[string]*list.Element
	lru   *list.List // of *reEntry, most recent first
}

type reEntry struct {
	pattern string
	re      *regexp.Regexp
}

// NewRegexps returns a cache holding at most max compiled patterns
// (DefaultRegexpCache when max <= 0).
func NewRegexps(max int) *Regexps {
	if max <= 0 {
		max = DefaultRegexpCache
	}
	return &Regexps{max: max, byPat: make(map[string]*list.Element), lru: list.New()}
}

// Compile returns the compiled pattern, from the cache when possible.
func (c *Regexps) Compile(pattern string) (*regexp.Regexp, error) {
	c.mu.Lock()
	if el, ok := c.byPat[pattern]; ok {
		c.lru.MoveToFront(el)
		re := el.Value.(*reEntry).re
		c.mu.Unlock()
		return re, nil
	}
	c.mu.Unlock()

	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byPat[pattern]; ok { // compiled concurrently
		return el.Value.(*reEntry).re, nil
	}
	c.byPat[pattern] = c.lru.PushFront(&reEntry{pattern, re})
	for c.lru.Len() > c.max {
		old := c.lru.Remove(c.lru.Back()).(*reEntry)
		delete(c.byPat, old.pattern)
	}
	return re, nil
}

// Len reports how many compiled patterns the cache holds.
func (c *Regexps) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// Module returns the Starlark module re, backed by c. Its functions:
//
//	re.match(pattern, s)       True if pattern matches at the start of s
//	re.search(pattern, s)      True if pattern matches anywhere in s
//	re.find(pattern, s)        the leftmost match, or None
//	re.groups(pattern, s)      the leftmost match's submatches as a tuple (whole match first), or None
//	re.sub(pattern, repl, s)   s with every match replaced by repl ($1 expands groups)
//	re.split(pattern, s)       s split around the matches, as a list
func (c *Regexps) Module() *starlarkstruct.Module {
	return &starlarkstruct.Module{
		Name: "re",
		Members: starlark.StringDict{
			"match":  starlark.NewBuiltin("re.match", c.match),
			"search": starlark.NewBuiltin("re.search", c.search),
			"find":   starlark.NewBuiltin("re.find", c.find),
			"groups": starlark.NewBuiltin("re.groups", c.groups),
			"sub":    starlark.NewBuiltin("re.sub", c.sub),
			"split":  starlark.NewBuiltin("re.split", c.split),
		},
	}
}

// unpack reads (pattern, s) and compiles the pattern.
func (c *Regexps) unpack(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (*regexp.Regexp, string, error) {
	var pattern, s string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "pattern", &pattern, "s", &s); err != nil {
		return nil, "", err
	}
	re, err := c.Compile(pattern)
	if err != nil {
		return nil, "", errorf(b, "%v", err)
	}
	return re, s, nil
}

func (c *Regexps) match(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	re, s, err := c.unpack(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	loc := re.FindStringIndex(s)
	return starlark.Bool(loc != nil && loc[0] == 0), nil
}

func (c *Regexps) search(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	re, s, err := c.unpack(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	return starlark.Bool(re.MatchString(s)), nil
}

func (c *Regexps) find(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	re, s, err := c.unpack(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	loc := re.FindStringIndex(s)
	if loc == nil {
		return starlark.None, nil
	}
	return starlark.String(s[loc[0]:loc[1]]), nil
}

func (c *Regexps) groups(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	re, s, err := c.unpack(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	m := re.FindStringSubmatch(s)
	if m == nil {
		return starlark.None, nil
	}
	t := make(starlark.Tuple, len(m))
	for i, g := range m {
		t[i] = starlark.String(g)
	}
	return t, nil
}

func (c *Regexps) sub(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var pattern, repl, s string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "pattern", &pattern, "repl", &repl, "s", &s); err != nil {
		return nil, err
	}
	re, err := c.Compile(pattern)
	if err != nil {
		return nil, errorf(b, "%v", err)
	}
	return starlark.String(re.ReplaceAllString(s, repl)), nil
}

func (c *Regexps) split(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	re, s, err := c.unpack(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	parts := re.Split(s, -1)
	l := make([]starlark.Value, len(parts))
	for i, p := range parts {
		l[i] = starlark.String(p)
	}
	return starlark.NewList(l), nil
}
