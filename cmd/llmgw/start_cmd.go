package main

import (
	"context"
	"errors"
)

// runStart implements 'llmgw start'. TODO: being built.
func runStart(ctx context.Context, args []string, e env) error {
	return errors.New("start: not implemented yet")
}
