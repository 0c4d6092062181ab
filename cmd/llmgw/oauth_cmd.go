package main

import (
	"context"
	"errors"
)

// runOAuth implements 'llmgw oauth'. TODO: being built.
func runOAuth(ctx context.Context, args []string, e env) error {
	return errors.New("oauth: not implemented yet")
}
