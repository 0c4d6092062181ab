package main

import (
	"context"
	"errors"
)

// runFmt implements 'llmgw fmt'. TODO: being built.
func runFmt(ctx context.Context, args []string, e env) error {
	return errors.New("fmt: not implemented yet")
}
