package builtins

import (
	"fmt"

	"go.starlark.net/starlark"
)

// errorf returns an error prefixed with the builtin's name, the way
// starlark.UnpackArgs reports its own errors.
func errorf(b *starlark.Builtin, format string, args ...any) error {
	return fmt.Errorf("%s: %s", b.Name(), fmt.Sprintf(format, args...))
}
