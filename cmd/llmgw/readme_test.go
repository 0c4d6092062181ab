package main

import (
	"bufio"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// repoRoot is the repository, relative to this package's directory (where
// go test runs).
const repoRoot = "../.."

// TestBinary builds the llmgw binary once, stamped with its VCS revision
// when the repository is a git work tree, and runs what only a real
// process shows: README.md's commands, `llmgw version`, and SIGHUP.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin, revs := buildStamped(t)
	t.Run("README", func(t *testing.T) { testREADMECommands(t, bin) })
	t.Run("version", func(t *testing.T) { testVersionOfBinary(t, bin, revs) })
	t.Run("SIGHUP", func(t *testing.T) { testSIGHUPUnchanged(t, bin) })
}

// buildStamped builds llmgw with -buildvcs=true when git can read the
// repository (so that `llmgw version` has a revision to print) and returns
// it with the revisions HEAD had around the build (other commits may land
// meanwhile); without git it builds as buildLLMGW does and returns none.
func buildStamped(t *testing.T) (string, []string) {
	t.Helper()
	head := func() string {
		out, err := exec.Command("git", "-C", repoRoot, "rev-parse", "HEAD").Output()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(out))
	}
	before := head()
	if before == "" {
		return buildLLMGW(t), nil
	}
	bin := filepath.Join(t.TempDir(), "llmgw")
	if out, err := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin, []string{before, head()}
}

// readmeCommand is one command of a ```sh block of README.md, its
// backslash continuations joined.
type readmeCommand struct {
	line int // where it starts in README.md
	text string
}

// readmeCommands returns the commands of README.md's ```sh blocks, in
// order, without blank and comment-only lines.
func readmeCommands(t *testing.T) []readmeCommand {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cmds []readmeCommand
	var cur *readmeCommand
	in := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case !in:
			in = strings.TrimSpace(line) == "```sh"
			continue
		case strings.TrimSpace(line) == "```":
			in = false
			if cur != nil {
				t.Errorf("README.md:%d: a continued command runs into the end of its block", cur.line)
				cur = nil
			}
			continue
		}
		if cur == nil {
			trimmed := strings.TrimSpace(line)
			if trimmed == "" || strings.HasPrefix(trimmed, "#") {
				continue
			}
			cmds = append(cmds, readmeCommand{line: n})
			cur = &cmds[len(cmds)-1]
		}
		body, continued := strings.CutSuffix(strings.TrimRight(line, " \t"), `\`)
		cur.text += strings.TrimSpace(body) + " "
		if !continued {
			cur.text = strings.TrimSpace(cur.text)
			cur = nil
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cmds
}

// readmeSkips are the README commands this test does not run, with why.
var readmeSkips = []struct{ prefix, why string }{
	{"curl ", "needs the running gateway; TestREADMEQuickStart sends these requests"},
	{"scripts/test", "is the test suite itself"},
	{"go install ./cmd/llmgw", "the binary this test built is on its PATH instead"},
	{"export PATH=", "the binary this test built is on its PATH"},
}

// testREADMECommands runs every llmgw command of README.md's ```sh blocks
// in order, as a reader on a fresh clone would, offline: in a directory
// holding copies of the repository's top-level files and examples/, with
// no API key in the environment and the built binary first on PATH.
// `go run ./cmd/llmgw` is the same program as that binary. Each command
// must exit 0. A `start` line runs until it listens, serves one request
// (so that replay has traffic to re-decide) and exits 0 on SIGTERM;
// LLMGW_LISTEN gives it a free port. Other commands the README asks the
// reader to run (cp) run as written; curl and the other readmeSkips are
// left out. Afterwards every file the commands wrote must be covered by
// .gitignore.
func testREADMECommands(t *testing.T, bin string) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to run the README's commands with")
	}
	work := t.TempDir()
	copyRepoFiles(t, work)
	before := listFiles(t, work)
	environ := []string{
		"PATH=" + filepath.Dir(bin) + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + work,
		"LLMGW_LISTEN=127.0.0.1:0",
	}

	ran, started := 0, 0
	for _, c := range readmeCommands(t) {
		text := c.text
		if rest, ok := strings.CutPrefix(text, "go run ./cmd/llmgw "); ok {
			text = "llmgw " + rest
		}
		where := fmt.Sprintf("README.md:%d: %s", c.line, c.text)
		switch {
		case strings.HasPrefix(text, "llmgw start"):
			args, _, _ := strings.Cut(text, " #")
			runREADMEStart(t, where, bin, strings.Fields(args)[2:], work, environ)
			started++
		case strings.HasPrefix(text, "llmgw ") || strings.Contains(text, "| llmgw ") || strings.HasPrefix(text, "cp "):
			cmd := exec.Command(sh, "-c", text)
			cmd.Dir, cmd.Env = work, environ
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Errorf("%s\nfailed: %v\n%s", where, err, out)
				continue
			}
			t.Logf("%s\n%s", where, out)
			if strings.Contains(text, "llmgw ") {
				ran++
			}
		default:
			skipped := false
			for _, s := range readmeSkips {
				if strings.HasPrefix(text, s.prefix) {
					t.Logf("%s\nnot run: %s", where, s.why)
					skipped = true
				}
			}
			if !skipped {
				t.Errorf("%s\nthis test does not know how to run it: teach testREADMECommands", where)
			}
		}
	}
	if ran < 5 || started < 2 {
		t.Errorf("ran %d llmgw commands and %d starts from README.md, want at least 5 and 2: are its ```sh blocks still there?", ran, started)
	}

	ignore := gitignorePatterns(t)
	for f := range listFiles(t, work) {
		if !before[f] && !ignored(ignore, f) {
			t.Errorf("the README's commands wrote %s, which .gitignore does not cover", f)
		}
	}
}

// runREADMEStart runs `llmgw start args` in dir until it listens, sends
// it one chat completion, then SIGTERM; it must exit 0.
func runREADMEStart(t *testing.T, where, bin string, args []string, dir string, environ []string) {
	t.Helper()
	for _, a := range args {
		if strings.ContainsAny(a, `'"$`) {
			t.Errorf("%s\nuses shell quoting this test does not interpret", where)
			return
		}
	}
	logs := &syncBuffer{}
	cmd := exec.Command(bin, append([]string{"start"}, args...)...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, environ, logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	url := ""
	for deadline := time.Now().Add(30 * time.Second); url == "" && time.Now().Before(deadline); {
		for line := range strings.Lines(logs.String()) {
			if u, ok := strings.CutPrefix(strings.TrimSpace(line), "llmgw listening on "); ok {
				url = u
			}
		}
		select {
		case err := <-done:
			t.Errorf("%s\nexited before listening: %v\n%s", where, err, logs.String())
			done <- err
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	if url == "" {
		t.Errorf("%s\ndid not listen within 30 s:\n%s", where, logs.String())
		return
	}
	resp, err := http.Post(url+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello!"}]}`))
	if err != nil {
		t.Errorf("%s\nrequest: %v", where, err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s\nanswered %d, want 200", where, resp.StatusCode)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("%s\nexit after SIGTERM: %v, want 0\n%s", where, err, logs.String())
		}
		done <- err
	case <-time.After(30 * time.Second):
		t.Errorf("%s\ndid not exit within 30 s of SIGTERM", where)
	}
	t.Logf("%s\n%s", where, logs.String())
}

// copyRepoFiles copies the repository's top-level regular files and the
// examples/ tree into dir: what the README's commands read. Files that
// .gitignore covers (a request log or policy of the developer's) are not
// in a fresh clone and are left out.
func copyRepoFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	ignore := gitignorePatterns(t)
	for _, e := range entries {
		if e.Type().IsRegular() && !ignored(ignore, e.Name()) {
			copyFile(t, filepath.Join(repoRoot, e.Name()), filepath.Join(dir, e.Name()))
		}
	}
	src := filepath.Join(repoRoot, "examples")
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, "examples", rel), 0o755)
		}
		copyFile(t, path, filepath.Join(dir, "examples", rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// listFiles returns the files under dir, as slash-separated paths
// relative to it.
func listFiles(t *testing.T, dir string) map[string]bool {
	t.Helper()
	files := map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files[filepath.ToSlash(rel)] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// gitignorePatterns reads the repository's .gitignore.
func gitignorePatterns(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, ".gitignore"))
	if err != nil {
		t.Fatal(err)
	}
	var pats []string
	for line := range strings.Lines(string(b)) {
		if p := strings.TrimSpace(line); p != "" && !strings.HasPrefix(p, "#") {
			pats = append(pats, p)
		}
	}
	return pats
}

// ignored reports whether a .gitignore pattern covers the relative path
// rel. It knows the forms llmgw's .gitignore uses: a glob matching a file
// name anywhere, a /glob anchored at the root, and dir/ for a directory
// anywhere; negations (!) are not supported.
func ignored(patterns []string, rel string) bool {
	parts := strings.Split(rel, "/")
	for _, p := range patterns {
		switch {
		case strings.HasPrefix(p, "/"):
			if ok, _ := filepath.Match(p[1:], rel); ok {
				return true
			}
		case strings.HasSuffix(p, "/"):
			for _, dir := range parts[:len(parts)-1] {
				if ok, _ := filepath.Match(strings.TrimSuffix(p, "/"), dir); ok {
					return true
				}
			}
		default:
			if ok, _ := filepath.Match(p, parts[len(parts)-1]); ok {
				return true
			}
		}
	}
	return false
}

// testVersionOfBinary: `llmgw version` of a stamped build names the
// revision it was built from and the Go version.
func testVersionOfBinary(t *testing.T, bin string, revs []string) {
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("llmgw version: %v", err)
	}
	line := strings.TrimSpace(string(out))
	if !strings.HasPrefix(line, "llmgw ") || !strings.Contains(line, " go1.") {
		t.Errorf("llmgw version = %q, want the module and Go versions", line)
	}
	if revs == nil {
		t.Logf("no git: not checking the revision of %q", line)
		return
	}
	found := false
	for _, r := range revs {
		found = found || strings.Contains(line, " rev "+r[:12]+" (")
	}
	if !found {
		t.Errorf("llmgw version = %q, want the revision (one of %v) and its time", line, revs)
	}
}

// testSIGHUPUnchanged: a SIGHUP with the policy unchanged makes the
// running gateway log that it checked and found nothing new.
func testSIGHUPUnchanged(t *testing.T, bin string) {
	g := startBinary(t, bin, "d = provider(\"demo\", kind = \"demo\")\n\ndef route(req, ctx):\n    return [d]\n", nil)
	if err := g.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(g.logs.String(), "policy checked on SIGHUP: unchanged"); {
		if time.Now().After(deadline) {
			t.Fatalf("no log line about the SIGHUP within 20 s:\n%s", g.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := g.wait(t, 20*time.Second); code != 0 {
		t.Errorf("exit after SIGTERM = %d, want 0", code)
	}
}

// TestGitignore checks the repository's .gitignore, through the matcher
// testREADMECommands uses: it covers what the gateway writes and the
// operator's copied policy, never the tracked example policies.
func TestGitignore(t *testing.T) {
	pats := gitignorePatterns(t)
	for path, want := range map[string]bool{
		"llmgw.db":                              true,
		"llmgw.db-wal":                          true,
		"llmgw.db-shm":                          true,
		"llmgw.db-journal":                      true,
		"data/gateway.db":                       true,
		"llmgw.key":                             true,
		"data/llmgw.key":                        true,
		"policies.star":                         true,
		"policies_test.star":                    true,
		"artifacts/screenshots/overview.png":    true,
		"llmgw":                                 true,
		"policies.star.example":                 false,
		"policies_test.star.example":            false,
		"examples/claude-code/policies.star":    false,
		"examples/team-keys/policies_test.star": false,
		"cmd/llmgw/main.go":                     false,
	} {
		if got := ignored(pats, path); got != want {
			t.Errorf("ignored(%s) = %v, want %v", path, got, want)
		}
	}
}
