package builtins

import (
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// exec runs src with the library and the assertions predeclared, and
// returns the notes it emitted.
func exec(t *testing.T, src string, getenv func(string) string) ([]string, error) {
	t.Helper()
	pre := Library(Options{Getenv: getenv})
	maps.Copy(pre, Assertions())
	thread := &starlark.Thread{Name: "test"}
	var notes []string
	SetNotes(thread, &notes)
	SetNow(thread, func() time.Time { return time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC) })
	_, err := starlark.ExecFileOptions(&syntax.FileOptions{}, thread, "t.star", src, pre)
	return notes, err
}

func TestLibrary(t *testing.T) {
	src := `
assert_eq(hash_bucket("session-1", 100), hash_bucket("session-1", 100))
assert_true(0 <= hash_bucket("x", 7) and hash_bucket("x", 7) < 7)
assert_eq(hash_bucket("a", 1), 0)
assert_eq(env("SET"), "v")
assert_eq(env("UNSET"), None)
assert_eq(env("UNSET", "d"), "d")
assert_eq(env("EMPTY", "d"), "d")
assert_true(re.match("gpt-4", "gpt-4.1"))
assert_true(not re.match("4.1", "gpt-4.1"))
assert_true(re.search("4\\.1", "gpt-4.1"))
assert_eq(re.find("[0-9]+", "gpt-41o"), "41")
assert_eq(re.find("z", "abc"), None)
assert_eq(re.groups("(\\w+)-(\\d)", "claude-4"), ("claude-4", "claude", "4"))
assert_eq(re.sub("-latest$", "", "claude-3-5-haiku-latest"), "claude-3-5-haiku")
assert_eq(re.split(",\\s*", "a, b,c"), ["a", "b", "c"])
assert_eq(json.decode(json.encode({"a": [1, 2]})), {"a": [1, 2]})
assert_eq(math.floor(2.7), 2)
assert_eq(time.now().year, 2026)
assert_eq(time.now().hour, 5)
assert_contains([1, 2], 2)
assert_ne(1, 2)
assert_fails(lambda: fail("boom"), "bo+m")
assert_fails(lambda: hash_bucket("x", 0), "n must be positive")
assert_fails(lambda: re.match("(", "x"), "missing closing")
note("first")
note(42)
`
	env := map[string]string{"SET": "v", "EMPTY": ""}
	notes, err := exec(t, src, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("exec: %v", err)
	}
	if got := strings.Join(notes, "|"); got != "first|42" {
		t.Errorf("notes = %q, want first|42", got)
	}
}

func TestAssertionsFail(t *testing.T) {
	tests := []struct{ src, want string }{
		{`assert_eq(1, 2)`, "assert_eq: got 1, want 2"},
		{`assert_eq(1, 2, "ctx")`, "assert_eq: ctx: got 1, want 2"},
		{`assert_ne(1, 1)`, "assert_ne: both are 1"},
		{`assert_true([])`, "assert_true: [] is not true"},
		{`assert_contains([1], 3)`, "assert_contains: 3 not in [1]"},
		{`assert_fails(lambda: 1)`, "assert_fails: lambda did not fail"},
		{`assert_fails(lambda: fail("x"), "y")`, `assert_fails: error "fail: x" does not match "y"`},
		{`env(1)`, "env: for parameter name: got int, want string"},
	}
	for _, tt := range tests {
		_, err := exec(t, tt.src, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("exec(%s) = %v, want error containing %q", tt.src, err, tt.want)
		}
	}
}

func TestNotesBounded(t *testing.T) {
	notes, err := exec(t, `[note("x" * 5000) for i in range(100)]`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != MaxNotes || len(notes[0]) != MaxNoteLen+len("…") {
		t.Errorf("notes = %d of %d bytes, want %d of %d", len(notes), len(notes[0]), MaxNotes, MaxNoteLen+len("…"))
	}
}

func TestNoteWithoutSink(t *testing.T) {
	thread := &starlark.Thread{}
	if _, err := starlark.Call(thread, Library(Options{})["note"], starlark.Tuple{starlark.String("x")}, nil); err != nil {
		t.Errorf("note() without a sink = %v, want nil", err)
	}
}

func TestBucket(t *testing.T) {
	// Pinned values: a change would reshuffle every A/B split in use.
	tests := []struct {
		s    string
		n    int
		want uint32
	}{
		{"", 100, 61}, {"a", 100, 20}, {"session-1", 100, 97}, {"team-a:abc", 10, 8},
	}
	for _, tt := range tests {
		if got := Bucket(tt.s, tt.n); got != tt.want {
			t.Errorf("Bucket(%q, %d) = %d, want %d", tt.s, tt.n, got, tt.want)
		}
	}
}

func TestRegexpsBounded(t *testing.T) {
	c := NewRegexps(4)
	for i := range 10 {
		if _, err := c.Compile(fmt.Sprintf("p%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if c.Len() != 4 {
		t.Errorf("Len() = %d, want 4", c.Len())
	}
	a, _ := c.Compile("p9")
	b, _ := c.Compile("p9")
	if a != b {
		t.Errorf("Compile(p9) twice returned different regexps, want the cached one")
	}
	if _, err := c.Compile("("); err == nil {
		t.Errorf("Compile(\"(\") = nil error")
	}
	if c.Len() != 4 {
		t.Errorf("after a bad pattern Len() = %d, want 4", c.Len())
	}
}

func TestRegexpsConcurrent(t *testing.T) {
	c := NewRegexps(8)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				if _, err := c.Compile(fmt.Sprintf("p%d", (i+g)%16)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if c.Len() > 8 {
		t.Errorf("Len() = %d, want at most 8", c.Len())
	}
}

func TestCapabilitiesCoverLibrary(t *testing.T) {
	names := map[string]bool{}
	for _, c := range Capabilities() {
		names[c.Name] = true
		if c.Doc == "" || c.Group == "" {
			t.Errorf("capability %q has no doc or group", c.Name)
		}
	}
	var all strings.Builder
	for n := range names {
		all.WriteString(n + "\n")
	}
	for name := range Library(Options{}) {
		if !strings.Contains(all.String(), name) {
			t.Errorf("Capabilities() does not list %q", name)
		}
	}
	for name := range Assertions() {
		if !strings.Contains(all.String(), name) {
			t.Errorf("Capabilities() does not list %q", name)
		}
	}
}
