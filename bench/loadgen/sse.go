package loadgen

import (
	"bytes"
	"errors"
	"io"
	"time"

	"github.com/llmgw/llmgw/sse"
)

// streamTiming is what the SSE timer measured on one stream.
type streamTiming struct {
	ttfc   time.Duration   // from the request's start to the first content event
	gaps   []time.Duration // between consecutive content events
	events int             // content events
}

// timeStream reads an SSE body to its end. A content event is one that
// carries generated text in any of the protocols: an OpenAI chat chunk with
// delta content, a Responses output_text.delta, an Anthropic
// content_block_delta, a Gemini chunk with a text part. The stream must end
// with its protocol's final event ([DONE], response.completed,
// message_stop, or a Gemini finishReason).
func timeStream(body io.Reader, start time.Time) (streamTiming, error) {
	var st streamTiming
	var last time.Time
	ended := false
	rd := sse.NewReader(body)
	for {
		ev, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return st, err
		}
		now := time.Now()
		if isFinal(ev) {
			ended = true
		}
		if !isContent(ev) {
			continue
		}
		if st.events == 0 {
			st.ttfc = now.Sub(start)
		} else {
			st.gaps = append(st.gaps, now.Sub(last))
		}
		last = now
		st.events++
	}
	if !ended {
		return st, errNoEnd
	}
	return st, nil
}

var (
	openAIContent = []byte(`"delta":{"content":"`)
	geminiText    = []byte(`"parts":[{"text":"`)
	geminiFinish  = []byte(`"finishReason":"`)
)

func isContent(ev sse.Event) bool {
	switch ev.Name {
	case "content_block_delta", "response.output_text.delta":
		return true
	case "":
		return bytes.Contains(ev.Data, openAIContent) && !bytes.Contains(ev.Data, []byte(`"content":""`)) ||
			bytes.Contains(ev.Data, geminiText) && !bytes.Contains(ev.Data, []byte(`"text":""`))
	}
	return false
}

func isFinal(ev sse.Event) bool {
	switch ev.Name {
	case "message_stop", "response.completed", "response.incomplete":
		return true
	case "":
		return bytes.Equal(ev.Data, []byte("[DONE]")) || bytes.Contains(ev.Data, geminiFinish)
	}
	return false
}
