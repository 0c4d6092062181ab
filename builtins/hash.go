package builtins

import (
	"hash/fnv"

	"go.starlark.net/starlark"
)

// hashBucket implements hash_bucket(s, n): a stable bucket in [0, n) for
// the string s (32-bit FNV-1a). The same s always lands in the same
// bucket, across processes and versions, which makes it the tool for A/B
// splits and canaries (hash the session or key name).
func hashBucket(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var s string
	var n int
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "s", &s, "n", &n); err != nil {
		return nil, err
	}
	if n <= 0 {
		return nil, errorf(b, "n must be positive, got %d", n)
	}
	return starlark.MakeInt(int(Bucket(s, n))), nil
}

// Bucket returns the FNV-1a hash of s modulo n; n must be positive.
func Bucket(s string, n int) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32() % uint32(n)
}
