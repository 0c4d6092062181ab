// Command llmgw is an LLM API gateway: one binary between LLM clients
// (OpenAI, Anthropic and Gemini wire protocols) and providers, routed by a
// Starlark policy. See README.md and the contract for the user-facing
// surface.
//
// This package is the only one that knows every other package: it parses
// flags (each also read from an LLMGW_* environment variable), builds the
// concrete pieces and runs the long-lived loops under an errgroup.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
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

const usage = `usage: llmgw <command> [flags]

commands:
  start    serve the gateway
  test     validate the policy and run its *_test.star tests
  eval     dry-run the policy for one request
  replay   re-decide logged traffic with a candidate policy
  stats    tokens, cost, latency and errors from the request log
  fmt      format policy files
  oauth    log in to subscription accounts (login, status, refresh, logout)
  version  print the version

Run 'llmgw <command> -h' for the flags of a command.`

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return exitError{code: 2}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "start":
		return runStart(ctx, rest, e)
	case "test":
		return runTest(ctx, rest, e)
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
		fmt.Fprintln(stdout, "llmgw "+version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q (run 'llmgw help')", cmd)
}
