package main

import (
	"context"
	"errors"
)

// runEval implements 'llmgw eval'. TODO: being built.
func runEval(ctx context.Context, args []string, e env) error {
	return errors.New("eval: not implemented yet")
}
