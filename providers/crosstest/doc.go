// Package crosstest holds the cross-direction conversion suite: each
// recorded fixture is decoded with its own protocol's converter and
// encoded with every other one (requests for the upstream, responses and
// streams for the client), the output is compared with golden files under
// testdata/golden (rewrite them with go test -update), and the result is
// decoded again by the target's own decoder to check that the content,
// stop reason and usage survived.
//
// The package has no non-test code; it imports every converter package
// under providers/ and nothing imports it.
package crosstest
