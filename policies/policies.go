// Package policies embeds the stock Starlark modules a policy can load
// with load("@stock/NAME.star", ...). Each module documents its functions
// at its top and is tested by its *_test.star file.
//
// The package holds data only; engine imports it.
package policies

import (
	"embed"
	"io/fs"
)

//go:embed *.star
var files embed.FS

// FS returns the stock modules.
func FS() fs.FS { return files }
