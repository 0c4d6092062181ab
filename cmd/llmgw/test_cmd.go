package main

import (
	"context"
	"errors"
)

// runTest implements 'llmgw test'. TODO: being built.
func runTest(ctx context.Context, args []string, e env) error {
	return errors.New("test: not implemented yet")
}
