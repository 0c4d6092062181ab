package gemini_test

import (
	"fmt"

	"github.com/llmgw/llmgw/providers/gemini"
)

func ExampleParseModelAction() {
	model, action, ok := gemini.ParseModelAction("/v1beta/models/gemini-2.5-flash:streamGenerateContent")
	fmt.Println(model, action, ok)
	// Output: gemini-2.5-flash streamGenerateContent true
}

func ExampleDecodeRequestModel() {
	req, err := gemini.DecodeRequestModel("models/gemini-2.5-pro", []byte(`{"contents":[{"role":"user","parts":[{"text":"Hi"}]}],"generationConfig":{"candidateCount":2}}`))
	fmt.Println(req.Model, len(req.Messages), err, gemini.Convertible(req) != nil)
	// Output: gemini-2.5-pro 1 <nil> true
}
