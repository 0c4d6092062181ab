package engine

import (
	"fmt"
	"strings"

	"github.com/llmgw/llmgw/route"
)

// cands builds candidates from "provider/priority/weight" strings (an
// optional fourth part is the model).
func cands(specs ...string) []route.Candidate {
	out := make([]route.Candidate, len(specs))
	for i, s := range specs {
		parts := strings.Split(s, "/")
		c := route.Candidate{Provider: parts[0]}
		fmt.Sscan(parts[1], &c.Priority)
		fmt.Sscan(parts[2], &c.Weight)
		if len(parts) > 3 {
			c.Model = parts[3]
		}
		out[i] = c
	}
	return out
}
