package anthropic_test

import (
	"fmt"
	"os"

	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/providers/anthropic"
)

// Neutral events, from any upstream, written as a Messages stream for an
// Anthropic client. The message_delta waits for Close, so usage that
// arrives after the finish (as OpenAI sends it) is still in it.
func ExampleStreamEncoder() {
	e := anthropic.NewStreamEncoder(&llm.Request{Model: "claude-sonnet-4"})
	var out []byte
	for _, ev := range []llm.Event{
		{Kind: llm.EventStart, ID: "chatcmpl-1", Model: "gpt-4o"},
		{Kind: llm.EventBlockStart, Index: 0, Block: llm.PartText},
		{Kind: llm.EventDelta, Index: 0, Text: "Hi"},
		{Kind: llm.EventBlockStop, Index: 0},
		{Kind: llm.EventFinish, StopReason: llm.StopEnd},
		{Kind: llm.EventUsage, Usage: &llm.Usage{InputTokens: 9, OutputTokens: 1}},
	} {
		out = e.Encode(out, ev)
	}
	os.Stdout.Write(e.Close(out))
	// Output:
	// event: message_start
	// data: {"type":"message_start","message":{"id":"msg_chatcmpl-1","type":"message","role":"assistant","model":"gpt-4o","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}}
	//
	// event: content_block_start
	// data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}
	//
	// event: content_block_delta
	// data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}
	//
	// event: content_block_stop
	// data: {"type":"content_block_stop","index":0}
	//
	// event: message_delta
	// data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":9,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}
	//
	// event: message_stop
	// data: {"type":"message_stop"}
}

// A Claude Code style request converted for another upstream: the
// neutral form keeps what every protocol can express.
func ExampleDecodeRequest() {
	req, err := anthropic.DecodeRequest([]byte(`{"model":"claude-sonnet-4","max_tokens":1024,
		"system":[{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral"}}],
		"thinking":{"type":"enabled","budget_tokens":2048},
		"messages":[{"role":"user","content":"Hi"}]}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(req.Model, req.MaxTokens, req.Reasoning.BudgetTokens, string(req.System[0].CacheControl))
	// Output:
	// claude-sonnet-4 1024 2048 {"type":"ephemeral"}
}
