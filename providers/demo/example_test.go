package demo_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/llmgw/llmgw/providers/demo"
)

// A gateway gives providers of kind "demo" an http.Client whose transport
// serves requests in process: no sockets, no key.
func ExampleServer_Transport() {
	client := &http.Client{Transport: demo.New(demo.Config{}).Transport()}
	resp, err := client.Post("http://demo.invalid/v1beta/models/demo:streamGenerateContent?alt=sse",
		"application/json", strings.NewReader(`{"contents":[{"parts":[{"text":"Hi!"}]}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	first, _, _ := strings.Cut(string(body), "\n")
	fmt.Println(resp.Status, resp.Header.Get("Content-Type"))
	fmt.Println(first)
	// Output:
	// 200 OK text/event-stream
	// data: {"candidates":[{"content":{"parts":[{"text":"This"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":2,"candidatesTokenCount":1,"totalTokenCount":3,"promptTokensDetails":[{"modality":"TEXT","tokenCount":2}]},"modelVersion":"demo","responseId":"cd5d2462acb40797332380f8"}
}

func ExampleCountTokens() {
	fmt.Println(demo.CountTokens("Hello, world!"))
	// Output: 4
}
