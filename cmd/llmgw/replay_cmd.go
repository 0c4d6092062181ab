package main

import (
	"context"
	"errors"
)

// runReplay implements 'llmgw replay'. TODO: being built.
func runReplay(ctx context.Context, args []string, e env) error {
	return errors.New("replay: not implemented yet")
}
