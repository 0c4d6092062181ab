package main

import (
	"context"
	"errors"
)

// runStats implements 'llmgw stats'. TODO: being built.
func runStats(ctx context.Context, args []string, e env) error {
	return errors.New("stats: not implemented yet")
}
