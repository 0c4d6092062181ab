package imagefetch_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/llmgw/llmgw/imagefetch"
)

// A Fetcher with the production defaults refuses the cloud metadata
// address before connecting to it.
func ExampleFetcher_Fetch() {
	f := imagefetch.New(imagefetch.Config{})
	_, _, err := f.Fetch(context.Background(), "http://169.254.169.254/latest/meta-data/")
	var fe *imagefetch.Error
	if errors.As(err, &fe) && errors.Is(err, imagefetch.ErrAddress) {
		fmt.Println(fe.Message())
	}
	// Output: image URL refused: resolves to a private, loopback or link-local address: http://169.254.169.254/latest/meta-data/
}
