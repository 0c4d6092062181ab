package gemini

import "github.com/llmgw/llmgw/providers/internal/neutralcases"

// The neutral parts, tool and cases shared with the other converters'
// golden tests (providers/internal/neutralcases).
var (
	text             = neutralcases.Text
	call             = neutralcases.Call
	weatherTool      = neutralcases.WeatherTool()
	neutralRequests  = neutralcases.Requests()
	neutralResponses = neutralcases.Responses()
	neutralStreams   = neutralcases.Streams()
)
