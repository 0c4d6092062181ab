package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/gateway"
	"github.com/llmgw/llmgw/oauth"
)

// TestHelpEveryCommand asks every command for its help, with -h and
// --help: it goes to stdout, exits 0 and starts with the command's usage
// and what it does.
func TestHelpEveryCommand(t *testing.T) {
	for _, c := range commands {
		for _, h := range []string{"-h", "--help"} {
			args := append(strings.Fields(c.name), h)
			out, errOut, code := runCmd(t, "", nil, args...)
			if code != 0 || errOut != "" {
				t.Errorf("llmgw %s = exit %d, stderr %q; want 0 and nothing on stderr", strings.Join(args, " "), code, errOut)
			}
			if want := strings.TrimSpace("usage: llmgw "+c.name+" "+c.synopsis) + "\n"; !strings.HasPrefix(out, want) {
				t.Errorf("llmgw %s printed %q, want it to start with %q", strings.Join(args, " "), out, want)
			}
			first, _, _ := strings.Cut(c.about, "\n")
			if !strings.Contains(out, first) {
				t.Errorf("llmgw %s does not say what the command does (%q):\n%s", strings.Join(args, " "), first, out)
			}
		}
		// `llmgw help NAME` is the same text.
		want, _, _ := runCmd(t, "", nil, append(strings.Fields(c.name), "-h")...)
		if got, _, code := runCmd(t, "", nil, append([]string{"help"}, strings.Fields(c.name)...)...); code != 0 || got != want {
			t.Errorf("llmgw help %s = exit %d, %q; want 0 and the -h text", c.name, code, got)
		}
	}
	out, _, code := runCmd(t, "", nil, "help")
	if h, _, _ := runCmd(t, "", nil, "help", "-h"); h != out {
		t.Errorf("llmgw help -h = %q, want the command list", h)
	}
	for _, c := range commands {
		if !strings.Contains(c.name, " ") && !strings.Contains(out, "  "+c.name+" ") {
			t.Errorf("llmgw help does not list %s:\n%s", c.name, out)
		}
	}
	if code != 0 {
		t.Errorf("llmgw help = exit %d, want 0", code)
	}
	if _, errOut, code := runCmd(t, "", nil, "help", "nope"); code != 1 || !strings.Contains(errOut, `unknown command "nope"`) {
		t.Errorf("llmgw help nope = exit %d, %q", code, errOut)
	}
}

// TestStartHelpListsEveryFlag checks that start's help names each flag of
// startFlags with its default and its environment variable, and that the
// variable really sets the default.
func TestStartHelpListsEveryFlag(t *testing.T) {
	out, _, code := runCmd(t, "", nil, "start", "--help")
	if code != 0 {
		t.Fatalf("start --help = exit %d", code)
	}
	fs, _ := startFlags(env{getenv: func(string) string { return "" }, stderr: &bytes.Buffer{}})
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		n++
		envName := "LLMGW_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if !strings.Contains(out, "  -"+f.Name+" ") {
			t.Errorf("start --help does not list -%s", f.Name)
		}
		if !strings.Contains(f.Usage, "(env "+envName+")") || !strings.Contains(out, "(env "+envName+")") {
			t.Errorf("-%s: usage %q, want it to name %s", f.Name, f.Usage, envName)
		}
		if f.DefValue != "" && !strings.Contains(out, `(default "`+f.DefValue+`")`) {
			t.Errorf("start --help does not show -%s's default %q", f.Name, f.DefValue)
		}
		// The variable sets the default.
		fromEnv, _ := startFlags(env{getenv: func(k string) string {
			if k == envName {
				return "from-env"
			}
			return ""
		}, stderr: &bytes.Buffer{}})
		if got := fromEnv.Lookup(f.Name).DefValue; got != "from-env" {
			t.Errorf("with %s=from-env, -%s defaults to %q", envName, f.Name, got)
		}
	})
	if n < 8 {
		t.Errorf("startFlags defines %d flags, want at least 8", n)
	}
}

func TestBadFlagExits2(t *testing.T) {
	for _, cmd := range []string{"start", "test", "eval", "replay", "stats", "fmt", "version"} {
		out, errOut, code := runCmd(t, "", nil, cmd, "--no-such-flag")
		if code != 2 || out != "" || !strings.Contains(errOut, "no-such-flag") || !strings.Contains(errOut, "llmgw "+cmd+" -h") {
			t.Errorf("llmgw %s --no-such-flag = exit %d, stdout %q, stderr %q; want 2 and the error with a pointer to -h", cmd, code, out, errOut)
		}
	}
	if _, errOut, code := runCmd(t, "", nil, "oauth"); code != 2 || !strings.Contains(errOut, "usage: llmgw oauth") {
		t.Errorf("llmgw oauth = exit %d, %q; want 2 and the usage", code, errOut)
	}
	if _, errOut, code := runCmd(t, "", nil); code != 2 || !strings.Contains(errOut, "usage: llmgw <command>") {
		t.Errorf("llmgw = exit %d, %q; want 2 and the usage", code, errOut)
	}
}

func TestVersionLine(t *testing.T) {
	platform := " " + runtime.GOOS + "/" + runtime.GOARCH
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"no build info", nil, "llmgw devel rev unknown " + runtime.Version() + platform},
		{"work tree, no vcs", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "(devel)"}},
			"llmgw devel rev unknown go1.26.1" + platform},
		{"clean commit", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-12-06T14:45:16Z"}, {Key: "vcs.modified", Value: "false"}}},
			"llmgw devel rev 0123456789ab (2026-12-06T14:45:16Z) go1.26.1" + platform},
		{"modified tree", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef"}, {Key: "vcs.time", Value: "2026-12-06T14:45:16Z"}, {Key: "vcs.modified", Value: "true"}}},
			"llmgw devel rev 0123456789ab (2026-12-06T14:45:16Z, modified) go1.26.1" + platform},
		{"module version", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "v1.2.3"}},
			"llmgw v1.2.3 rev unknown go1.26.1" + platform},
	}
	for _, tt := range tests {
		if got := versionLine(tt.bi); got != tt.want {
			t.Errorf("%s: versionLine = %q, want %q", tt.name, got, tt.want)
		}
	}
	out, _, code := runCmd(t, "", nil, "version")
	if code != 0 || !strings.HasPrefix(out, "llmgw ") || !strings.Contains(out, " rev ") || !strings.HasSuffix(out, platform+"\n") {
		t.Errorf("llmgw version = exit %d, %q", code, out)
	}
}

// TestFmtWithoutPathSaysWhatItDid runs `llmgw fmt` with no argument in a
// directory: it formats the .star files under it and says so on stderr,
// also when there was nothing to do.
func TestFmtWithoutPathSaysWhatItDid(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if _, errOut, code := runCmd(t, "", nil, "fmt"); code != 0 || !strings.Contains(errOut, "no .star files under the working directory") {
		t.Errorf("fmt in an empty directory = exit %d, stderr %q", code, errOut)
	}
	os.WriteFile("a.star", []byte("x=provider( 'a',kind='demo' )\n"), 0o644)
	os.WriteFile("b.star", []byte("x = 1\n"), 0o644)
	if out, errOut, code := runCmd(t, "", nil, "fmt", "--check"); code != 1 || out != "a.star\n" || !strings.Contains(errOut, "1 of 2 .star files need formatting") {
		t.Errorf("fmt --check = exit %d, %q, stderr %q", code, out, errOut)
	}
	if out, errOut, code := runCmd(t, "", nil, "fmt"); code != 0 || out != "a.star\n" || !strings.Contains(errOut, "formatted 1 of 2 .star files under the working directory") {
		t.Errorf("fmt = exit %d, %q, stderr %q", code, out, errOut)
	}
	if out, errOut, code := runCmd(t, "", nil, "fmt"); code != 0 || out != "" || !strings.Contains(errOut, "formatted 0 of 2") {
		t.Errorf("fmt again = exit %d, %q, stderr %q", code, out, errOut)
	}
}

// TestMissingPolicySaysHowToStart runs the policy commands without
// --policy where there is no ./policies.star: the error says how to start
// from the example when it is at hand.
func TestMissingPolicySaysHowToStart(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, args := range [][]string{{"start"}, {"test"}, {"replay"}, {"eval", "--request", "-"}} {
		_, errOut, code := runCmd(t, "{}", nil, args...)
		if code != 1 || !strings.Contains(errOut, "no policy") || !strings.Contains(errOut, "policies.star.example") {
			t.Errorf("llmgw %s without a policy = exit %d, %q", args[0], code, errOut)
		}
	}
	os.WriteFile("policies.star.example", []byte(`d = provider("demo", kind = "demo")
def route(req, ctx):
    return [d]
`), 0o644)
	_, errOut, _ := runCmd(t, "", nil, "start")
	if !strings.Contains(errOut, "cp policies.star.example policies.star") {
		t.Errorf("start beside the example = %q, want the cp command", errOut)
	}
	if entries, _ := os.ReadDir("."); len(entries) != 1 {
		t.Errorf("start without a policy left files behind: %v", entries)
	}
}

// TestReplayWithoutLog does not create an empty log: it says where the
// log comes from.
func TestReplayWithoutLog(t *testing.T) {
	dir := policyDir(t, map[string]string{"policies.star": cmdPolicy})
	db := filepath.Join(dir, "llmgw.db")
	_, errOut, code := runCmd(t, "", nil, "replay", "--policy", dir, "--db", db)
	if code != 1 || !strings.Contains(errOut, "no request log at "+db) || !strings.Contains(errOut, "llmgw start") {
		t.Errorf("replay without a log = exit %d, %q", code, errOut)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("replay created %s", db)
	}
}

// TestReloadForOperator is what a SIGHUP does: an unchanged policy is
// checked and said to be unchanged; a new one is loaded (OnReload logs
// it); a broken one is refused and the error logged.
func TestReloadForOperator(t *testing.T) {
	dir := policyDir(t, map[string]string{"policies.star": cmdPolicy})
	ctx := context.Background()
	reloads := 0
	eng, err := engine.New(ctx, engine.Config{Kinds: gateway.ProviderKinds(), Path: dir, OnReload: func(engine.Status) { reloads++ }})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	logger := zerolog.New(&logs)
	reloadForOperator(ctx, eng, logger)
	if !strings.Contains(logs.String(), `"message":"policy checked on SIGHUP: unchanged"`) || !strings.Contains(logs.String(), eng.Policy().Hash) {
		t.Errorf("SIGHUP on an unchanged policy logged %q, want that it was checked and is unchanged", logs.String())
	}

	logs.Reset()
	os.WriteFile(filepath.Join(dir, "policies.star"), []byte(cmdPolicy+"\n# edited\n"), 0o644)
	reloadForOperator(ctx, eng, logger)
	if reloads != 1 || strings.Contains(logs.String(), "unchanged") {
		t.Errorf("SIGHUP on an edited policy: %d reloads, logged %q; want 1 reload and no 'unchanged'", reloads, logs.String())
	}

	logs.Reset()
	os.WriteFile(filepath.Join(dir, "policies.star"), []byte("def route(req, ctx):\n    return [nope]\n"), 0o644)
	reloadForOperator(ctx, eng, logger)
	if !strings.Contains(logs.String(), `"level":"error"`) || !strings.Contains(logs.String(), "policies.star") {
		t.Errorf("SIGHUP on a broken policy logged %q, want the error", logs.String())
	}
}

// TestKeyFileBesideDatabase starts the gateway from another working
// directory: the OAuth key file is created beside --db, the working
// directory stays empty, and the log says where both files are. With
// LLMGW_SECRET_KEY set there is no key file.
func TestKeyFileBesideDatabase(t *testing.T) {
	pol := examplePolicy(t) // before the working directory changes
	cwd := t.TempDir()
	t.Chdir(cwd)
	g := startGateway(t, map[string]string{}, "--policy", pol)
	if err := g.stop(); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(filepath.Dir(g.db), oauth.KeyFileName)
	if _, err := os.Stat(key); err != nil {
		t.Errorf("no key file beside the database: %v", err)
	}
	if entries, _ := os.ReadDir(cwd); len(entries) != 0 {
		t.Errorf("start wrote into the working directory: %v", entries)
	}
	// The oauth commands follow the same rule.
	other := filepath.Join(t.TempDir(), "other.db")
	if _, errOut, code := runCmd(t, "", nil, "oauth", "status", "--db", other); code != 0 {
		t.Fatalf("oauth status --db %s = exit %d, %s", other, code, errOut)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(other), oauth.KeyFileName)); err != nil {
		t.Errorf("oauth status made no key file beside its --db: %v", err)
	}
	if entries, _ := os.ReadDir(cwd); len(entries) != 0 {
		t.Errorf("oauth status wrote into the working directory: %v", entries)
	}
	if !strings.Contains(g.logs.String(), `"db":"`+g.db+`"`) || !strings.Contains(g.logs.String(), `"key_file":"`+key+`"`) {
		t.Errorf("start did not log where the database and key file are:\n%s", g.logs.String())
	}

	g = startGateway(t, map[string]string{oauth.KeyEnv: strings.Repeat("ab", oauth.KeySize)}, "--policy", pol)
	if err := g.stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(g.db), oauth.KeyFileName)); !os.IsNotExist(err) {
		t.Errorf("with %s set, start created a key file (%v)", oauth.KeyEnv, err)
	}
	if !strings.Contains(g.logs.String(), `"key_env":"`+oauth.KeyEnv+`"`) {
		t.Errorf("start did not log that the key comes from %s:\n%s", oauth.KeyEnv, g.logs.String())
	}
}
