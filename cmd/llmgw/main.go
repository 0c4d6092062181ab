// Command llmgw is an LLM API gateway: one binary between LLM clients
// (OpenAI, Anthropic and Gemini wire protocols) and providers, routed by a
// Starlark policy. README.md and docs/ describe the user-facing surface;
// 'llmgw help' lists the commands.
//
// This package is the only one that knows every other package: it parses
// flags (start's, and every --policy and --db, also read from an LLMGW_*
// environment variable), builds the concrete pieces and runs the
// long-lived loops under an errgroup.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var ex exitError
		if errors.As(err, &ex) {
			if ex.msg != "" {
				fmt.Fprintln(os.Stderr, "llmgw: "+ex.msg)
			}
			os.Exit(ex.code)
		}
		fmt.Fprintln(os.Stderr, "llmgw: "+err.Error())
		os.Exit(1)
	}
}

// exitError asks main to exit with a code, printing msg when it is not
// empty (a failing `llmgw test` has already printed its report).
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return fmt.Sprintf("exit %d: %s", e.code, e.msg) }

// env gives commands their environment, so that tests never touch the
// process's own.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// command is one of llmgw's commands as `llmgw help` lists it and its own
// -h explains it.
type command struct {
	name     string // "start", or "oauth login" for a subcommand
	synopsis string // what follows the name on the command line
	summary  string // one line for `llmgw help`
	about    string // what the command does, for its -h
}

// commands is the table behind `llmgw help` and every command's -h, in
// the order help lists them.
var commands = []command{
	{"start", "[flags]", "serve the gateway", `Serve the gateway: load the policy (its *_test.star tests must pass), open
the request log and answer OpenAI, Anthropic and Gemini clients on --listen
until SIGINT or SIGTERM. Saving a policy file, or SIGHUP, reloads the policy;
a version whose tests fail is refused and the running one keeps serving.
OAuth tokens are sealed with LLMGW_SECRET_KEY, or else with the key in
llmgw.key beside --db, created on first start.`},
	{"test", "[flags]", "validate the policy and run its *_test.star tests", `Load the policy, run the tests in its *_test.star files and print a report.
Exits 1 when a test fails or the policy does not load.`},
	{"check", "[flags]", "check the policy as start and every reload do, without serving", `Load the policy and run everything that stands between it and traffic: the
static checks of its functions (unknown keyword arguments, req/ctx/err
attributes that do not exist, route() paths that return nothing, undeclared
provider names), the load-time checks of its providers (an empty api_key, a
base_url without scheme), the smoke gate (route, sticky_key and classify on
built-in synthetic requests and errors) and its *_test.star tests. Prints
every finding with its file:line; exits 1 when the policy would be refused.`},
	{"reload", "[flags]", "ask the running gateway to reload its policy now", `Ask the running gateway (--gateway, env LLMGW_GATEWAY) to reload its policy
now, through the same gate as a saved file or SIGHUP, and print the outcome:
the live hash, or the failed check or test. Exits 1 when the new version was
refused (the last good one keeps serving).`},
	{"status", "[flags]", "the running gateway's policy and providers' health", `Print the running gateway's policy (hash, when it was loaded, the last
refused reload with its failed tests, warnings) and every provider's health.`},
	{"show", "[flags]", "print the effective policy, secrets redacted", `Load the policy and print what its declarations come to in this environment:
providers (env() expanded; API keys and header values shown only as set or
not), model maps, priorities, weights, timeouts, client key names, price
overrides.`},
	{"eval", "--request FILE|- [flags]", "dry-run the policy for one request", `Decide one request with the policy, as the gateway would, without sending
anything: print the candidates in failover order, the policy's notes and,
with --simulate-errors, every attempt of the failover walk.`},
	{"replay", "[flags]", "re-decide logged traffic with a candidate policy", `Re-decide the requests in the request log (their routing features, never
their content) with a candidate policy and print how many decisions change
and what that does to cost. The log is the one llmgw start writes at --db.`},
	{"stats", "[flags]", "tokens, cost, latency and errors from the request log", `Print the request log's totals since --since, then the same by provider,
model and client key.`},
	{"fmt", "[--check|--diff] [FILE|DIR]...", "format policy files", `Format Starlark policy files in place; a directory means every *.star file
under it, and no argument means the working directory. Prints the files it
changed (with --check: the files it would change; with --diff: a unified
diff of the changes, writing nothing) and a summary on stderr.`},
	{"oauth", "login|status|refresh|logout [flags] [NAME]", "log in to subscription accounts", oauthAbout},
	{"oauth login", "NAME --kind KIND [flags]", "log in an account", `Log in the subscription account NAME (a provider's oauth = NAME) in a
browser and store its tokens, sealed, in the database.`},
	{"oauth status", "[flags]", "list the accounts", `List the logged-in accounts, their token expiry and last refresh; never a
token.`},
	{"oauth refresh", "NAME [flags]", "refresh an account's token now", `Refresh the account's access token now (the gateway refreshes on its own
before expiry).`},
	{"oauth logout", "NAME [flags]", "delete an account's tokens", `Delete the account's stored tokens.`},
	{"version", "", "print the version", `Print the module version, the VCS revision the binary was built from (its
commit time, and "modified" when the work tree had uncommitted changes), the
Go version and the platform.`},
}

// lookupCommand returns the command named name.
func lookupCommand(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// usage is the text of `llmgw help`.
func usage() string {
	var b strings.Builder
	b.WriteString("usage: llmgw <command> [flags]\n\ncommands:\n")
	for _, c := range commands {
		if !strings.Contains(c.name, " ") {
			fmt.Fprintf(&b, "  %-8s %s\n", c.name, c.summary)
		}
	}
	b.WriteString("\nRun 'llmgw <command> -h' (or 'llmgw help <command>') for what a command\ndoes and its flags.")
	return b.String()
}

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage())
		return exitError{code: 2}
	}
	err := runCommand(ctx, args[0], args[1:], e)
	var help helpRequested
	if errors.As(err, &help) {
		// -h is a request, not a failure: the help goes to stdout and
		// the exit status is 0.
		_, err = io.WriteString(stdout, help.text)
	}
	return err
}

// runCommand runs the command cmd with its arguments.
func runCommand(ctx context.Context, cmd string, rest []string, e env) error {
	switch cmd {
	case "start":
		return runStart(ctx, rest, e)
	case "test":
		return runTest(ctx, rest, e)
	case "check":
		return runCheck(ctx, rest, e)
	case "reload":
		return runReload(ctx, rest, e)
	case "status":
		return runStatus(ctx, rest, e)
	case "show":
		return runShow(ctx, rest, e)
	case "eval":
		return runEval(ctx, rest, e)
	case "replay":
		return runReplay(ctx, rest, e)
	case "stats":
		return runStats(ctx, rest, e)
	case "fmt":
		return runFmt(ctx, rest, e)
	case "oauth":
		return runOAuth(ctx, rest, e)
	case "version", "-version", "--version":
		return runVersion(rest, e)
	case "help", "-h", "--help":
		return runHelp(ctx, rest, e)
	}
	return fmt.Errorf("unknown command %q (run 'llmgw help')", cmd)
}

// runHelp implements 'llmgw help [COMMAND [SUBCOMMAND]]': the list of
// commands, or what 'llmgw COMMAND -h' prints.
func runHelp(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(e.stdout, usage())
		return nil
	}
	name := strings.Join(args, " ")
	if _, ok := lookupCommand(name); !ok {
		return fmt.Errorf("help: unknown command %q (run 'llmgw help')", name)
	}
	return runCommand(ctx, args[0], append(args[1:len(args):len(args)], "-h"), e)
}
