package main

import (
	"flag"
	"fmt"
	"strings"
	"time"
)

// flagSet returns a FlagSet for a command whose errors and usage go to
// the command's stderr and which does not exit the process.
func flagSet(name string, e env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// envDefault returns the environment variable's value, or def when it is
// unset: every flag also reads an LLMGW_* variable.
func envDefault(e env, name, def string) string {
	if v := e.getenv(name); v != "" {
		return v
	}
	return def
}

// parseDays parses a duration that may use a "d" (days) suffix.
func parseDays(v string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(v, "d"); ok {
		var d int
		if _, err := fmt.Sscanf(n, "%d", &d); err != nil || d < 0 {
			return 0, fmt.Errorf("bad duration %q", v)
		}
		return time.Duration(d) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q", v)
	}
	return d, nil
}
