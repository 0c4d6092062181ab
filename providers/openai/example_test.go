package openai_test

import (
	"fmt"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/providers/openai"
	"github.com/llmgw/llmgw/sse"
)

// A client's chat completions request, decoded for the policy and
// re-encoded for an OpenAI upstream.
func ExampleDecodeRequest() {
	req, err := openai.DecodeRequest([]byte(`{"model":"gpt-4o","stream":true,
		"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]}`))
	if err != nil {
		panic(err)
	}
	body, warnings, _ := openai.EncodeRequest(req)
	fmt.Println(req.Model, req.System[0].Text, len(req.Messages), len(warnings))
	fmt.Println(string(body))
	// Output:
	// gpt-4o Be brief. 1 0
	// {"messages":[{"content":"Be brief.","role":"system"},{"content":"Hi","role":"user"}],"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true}}
}

// An upstream stream decoded event by event into neutral events.
func ExampleStreamDecoder() {
	d := openai.NewStreamDecoder()
	for _, data := range []string{
		`{"id":"chatcmpl-1","model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":"Hello"}}]}`,
		`{"id":"chatcmpl-1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
		`{"id":"chatcmpl-1","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}`,
		`[DONE]`,
	} {
		evs, _ := d.Decode(sse.Event{Data: []byte(data)})
		for _, ev := range evs {
			switch ev.Kind {
			case llm.EventDelta:
				fmt.Printf("delta %q\n", ev.Text)
			case llm.EventFinish:
				fmt.Println("finish", ev.StopReason)
			case llm.EventUsage:
				fmt.Println("usage", ev.Usage.InputTokens, ev.Usage.OutputTokens)
			}
		}
	}
	// Output:
	// delta "Hello"
	// finish end
	// usage 9 1
}
