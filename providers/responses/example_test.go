package responses_test

import (
	"fmt"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/providers/responses"
)

func ExampleNewStreamEncoder() {
	e := responses.NewStreamEncoder(nil)
	var out []byte
	for _, ev := range []llm.Event{
		{Kind: llm.EventStart, ID: "msg_1", Model: "claude-sonnet-4"},
		{Kind: llm.EventBlockStart, Block: llm.PartText},
		{Kind: llm.EventDelta, Text: "Hi"},
		{Kind: llm.EventBlockStop},
		{Kind: llm.EventFinish, StopReason: llm.StopEnd},
	} {
		out = e.Encode(out, ev)
	}
	out = e.Close(out)
	fmt.Println(len(out) > 0)
	// Output: true
}

func ExampleConvertible() {
	req, _ := responses.DecodeRequest([]byte(`{"model":"claude-sonnet-4","input":"Hi","previous_response_id":"resp_1"}`))
	fmt.Println(responses.Convertible(req) != nil)
	// Output: true
}
