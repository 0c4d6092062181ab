package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func policyV(version string) string {
	return `
a = provider("a", kind = "demo")
b = provider("b", kind = "demo")
def route(req, ctx):
    note("` + version + `")
    return [a, b]
`
}

const passingTest = `
def test_has_a():
    assert_eq(decide("m")["providers"][0], "a")
`

// saveByRename writes a file the way editors do: a temporary file in the
// same directory, then a rename over the original.
func saveByRename(t testing.TB, path, content string) {
	t.Helper()
	tmp := path + ".swp~"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func notesOf(t testing.TB, p *Policy) string {
	t.Helper()
	d, err := p.Decide(context.Background(), &Request{Model: "m"}, Env{})
	if err != nil {
		t.Fatalf("Decide: %v", err)
	}
	return strings.Join(d.Notes, ",")
}

func TestReload(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"policies.star": policyV("v1"), "policies_test.star": passingTest})
	var mu sync.Mutex
	var seen []Status
	e, err := New(context.Background(), Config{Kinds: testKinds(), Path: dir, OnReload: func(s Status) {
		mu.Lock()
		seen = append(seen, s)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	old := e.Policy()

	// Identical files: nothing happens.
	if err := e.Reload(context.Background()); err != nil || e.Status().Reloads != 0 || len(seen) != 0 {
		t.Fatalf("Reload(unchanged) = %v, status %+v, callbacks %d", err, e.Status(), len(seen))
	}

	// A good edit swaps; the old snapshot keeps working unchanged.
	saveByRename(t, filepath.Join(dir, "policies.star"), policyV("v2"))
	if err := e.Reload(context.Background()); err != nil {
		t.Fatalf("Reload(v2) = %v", err)
	}
	if got := notesOf(t, e.Policy()); got != "v2" {
		t.Errorf("after reload notes = %q, want v2", got)
	}
	if got := notesOf(t, old); got != "v1" {
		t.Errorf("old snapshot notes = %q, want v1", got)
	}

	// A broken edit keeps v2 and reports file:line.
	saveByRename(t, filepath.Join(dir, "policies.star"), policyV("v3")+"\nprovider(\"a\", kind = \"demo\")\n")
	if err := e.Reload(context.Background()); err == nil {
		t.Fatal("Reload(broken) = nil, want an error")
	}
	st := e.Status()
	if !strings.Contains(st.LastError, "policies.star:8:9") || !strings.Contains(st.LastError, `duplicate provider name "a"`) || st.LastErrorAt.IsZero() {
		t.Errorf("Status.LastError = %q, want the duplicate at policies.star:8:9", st.LastError)
	}
	if got := notesOf(t, e.Policy()); got != "v2" {
		t.Errorf("after broken edit notes = %q, want v2 still", got)
	}

	// An edit whose own tests fail is refused.
	saveByRename(t, filepath.Join(dir, "policies.star"), strings.Replace(policyV("v4"), "[a, b]", "[b, a]", 1))
	if err := e.Reload(context.Background()); err == nil {
		t.Fatal("Reload(failing tests) = nil, want an error")
	}
	st = e.Status()
	if len(st.FailedTests) != 1 || st.FailedTests[0] != "test_has_a" || !strings.Contains(st.LastError, "test_has_a") {
		t.Errorf("Status = %+v, want test_has_a refused", st)
	}
	if got := notesOf(t, e.Policy()); got != "v2" {
		t.Errorf("after refused edit notes = %q, want v2 still", got)
	}

	// Back to the live version: the error clears, nothing reloads.
	saveByRename(t, filepath.Join(dir, "policies.star"), policyV("v2"))
	if err := e.Reload(context.Background()); err != nil {
		t.Fatalf("Reload(back to v2) = %v", err)
	}
	st = e.Status()
	if st.LastError != "" || st.FailedTests != nil || st.Reloads != 1 || st.ReloadFailures != 2 || st.Hash != e.Policy().Hash {
		t.Errorf("Status = %+v, want clean with 1 reload and 2 failures", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 4 {
		t.Errorf("OnReload called %d times, want 4", len(seen))
	}
}

func TestNewRefusesFailingTests(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"main.star": policyV("v1"), "x_test.star": "def test_x():\n    fail(\"nope\")\n"})
	if _, err := New(context.Background(), Config{Kinds: testKinds(), Path: dir}); err == nil || !strings.Contains(err.Error(), "test_x (") || !strings.Contains(err.Error(), "fail: nope") {
		t.Errorf("New() = %v, want test_x failure", err)
	}
	if _, err := New(context.Background(), Config{Kinds: testKinds(), Path: dir, SkipTests: true}); err != nil {
		t.Errorf("New(SkipTests) = %v", err)
	}
}

// waitFor polls cond for up to 10 s; file events on a loaded machine can
// be slow, and the test asserts the outcome, not the latency.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 1000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestWatch(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"policies.star": policyV("v1"), "lib/x.star": "x = 1\n"})
	e, err := New(context.Background(), Config{Kinds: testKinds(), Path: dir, Debounce: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Watch(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch = %v", err)
		}
	}()
	// The watcher may not be set up yet: keep saving until it sees one.
	waitFor(t, "rename-save to load v2", func() bool {
		saveByRename(t, filepath.Join(dir, "policies.star"), policyV("v2"))
		time.Sleep(30 * time.Millisecond)
		return notesOf(t, e.Policy()) == "v2"
	})

	// A broken in-place write keeps v2.
	if err := os.WriteFile(filepath.Join(dir, "policies.star"), []byte("def route(req, ctx)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the broken edit to be reported", func() bool { return strings.Contains(e.Status().LastError, "policies.star:2:1") })
	if got := notesOf(t, e.Policy()); got != "v2" {
		t.Errorf("notes = %q, want v2", got)
	}

	// A module in a subdirectory is watched too.
	saveByRename(t, filepath.Join(dir, "policies.star"), "load(\"lib/x.star\", \"x\")\n"+policyV("v3"))
	waitFor(t, "v3", func() bool { return notesOf(t, e.Policy()) == "v3" })
	saveByRename(t, filepath.Join(dir, "lib/x.star"), "x = 2\nnote(\"lib changed\")\n")
	waitFor(t, "the module edit", func() bool { return strings.Contains(strings.Join(e.Policy().Notes, ","), "lib changed") })
}

// TestWatchSymlinkSwap follows a Kubernetes ConfigMap update: the policy
// path is a symlink through ..data, which is swapped atomically; no event
// names the policy file itself.
func TestWatchSymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"..v1/policies.star": policyV("v1"), "..v2/policies.star": policyV("v2")})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink("..v1", filepath.Join(dir, "..data")))
	must(os.Symlink("..data/policies.star", filepath.Join(dir, "policies.star")))
	e, err := New(context.Background(), Config{Kinds: testKinds(), Path: dir, Debounce: 20 * time.Millisecond})
	must(err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Watch(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "the ..data swap to load v2", func() bool {
		_ = os.Remove(filepath.Join(dir, "..data_tmp"))
		must(os.Symlink("..v2", filepath.Join(dir, "..data_tmp")))
		must(os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
		time.Sleep(30 * time.Millisecond)
		return notesOf(t, e.Policy()) == "v2"
	})
}

func TestReloadSameFailureOnce(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"policies.star": policyV("v1")})
	calls := 0
	e, err := New(context.Background(), Config{Kinds: testKinds(), Path: dir, OnReload: func(Status) { calls++ }})
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"policies.star": "oops("})
	for range 3 {
		if err := e.Reload(context.Background()); err == nil {
			t.Fatal("Reload(broken) = nil")
		}
	}
	if st := e.Status(); st.ReloadFailures != 1 || calls != 1 {
		t.Errorf("after 3 identical failures: ReloadFailures = %d, callbacks = %d, want 1 and 1", st.ReloadFailures, calls)
	}
	writeFiles(t, dir, map[string]string{"policies.star": "oops(("})
	_ = e.Reload(context.Background())
	if st := e.Status(); st.ReloadFailures != 2 {
		t.Errorf("after a different failure: ReloadFailures = %d, want 2", st.ReloadFailures)
	}
}

// TestWatchIgnoresTheDatabaseBesideThePolicy writes the files of a
// request log kept beside the policy (llmgw start's default layout) and
// checks that they cause no reload, while any other file in the directory
// still does: each reload loads the policy, which reads PROBE through env().
func TestWatchIgnoresTheDatabaseBesideThePolicy(t *testing.T) {
	t.Run("absolute paths", func(t *testing.T) {
		dir := t.TempDir()
		watchIgnoresDatabase(t, dir, filepath.Join(dir, "policies.star"), filepath.Join(dir, "llmgw.db"))
	})
	t.Run("relative paths", func(t *testing.T) { // llmgw start's defaults
		dir := t.TempDir()
		t.Chdir(dir)
		watchIgnoresDatabase(t, dir, "policies.star", "llmgw.db")
	})
}

func watchIgnoresDatabase(t *testing.T, dir, policy, db string) {
	writeFiles(t, dir, map[string]string{"policies.star": "probe = env(\"PROBE\", \"\")\n" + policyV("v1")})
	var loads atomic.Int64
	e, err := New(context.Background(), Config{
		Kinds:    testKinds(),
		Path:     policy,
		Debounce: 10 * time.Millisecond,
		Getenv:   func(string) string { loads.Add(1); return "" },
		Ignore:   []string{db, db + "-wal", db + "-shm", db + "-journal"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Watch(ctx) }()
	defer func() { cancel(); <-done }()
	// The watcher may not be set up yet: touch an unrelated file until a
	// load shows that it is.
	other := filepath.Join(dir, "notes.txt")
	otherReloads := func() bool {
		before := loads.Load()
		if err := os.WriteFile(other, []byte(time.Now().String()), 0o644); err != nil {
			t.Fatal(err)
		}
		time.Sleep(40 * time.Millisecond)
		return loads.Load() > before
	}
	waitFor(t, "a write beside the policy to reload it", otherReloads)
	// Let the reloads of those writes finish: the count holds still.
	before := loads.Load()
	for range 50 {
		time.Sleep(100 * time.Millisecond)
		if now := loads.Load(); now == before {
			break
		} else {
			before = now
		}
	}
	for i := range 20 {
		for _, f := range []string{db, db + "-wal", db + "-shm", db + "-journal"} {
			if err := os.WriteFile(f, []byte{byte(i)}, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(60 * time.Millisecond) // past the debounce
	if got := loads.Load() - before; got != 0 {
		t.Errorf("%d policy loads after writes to the database's files, want 0", got)
	}
	// The watcher is still alive: an unrelated file still counts.
	waitFor(t, "a later write beside the policy to reload it", otherReloads)
}
