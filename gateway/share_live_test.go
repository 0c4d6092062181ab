package gateway

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"testing"

	"github.com/llmgw/llmgw/engine"
)

// The live-versus-eval table: the gateway picks within a tier at random
// by weight, and eval's share for each candidate is the rate at which live
// traffic tries it first. Stickiness is off (sticky_key returns None), so
// every request is an independent draw.
func TestLivePicksMatchEvalShares(t *testing.T) {
	h := newHarness(t, `
a = provider("a", kind = "demo", weight = 60)
b = provider("b", kind = "demo", weight = 30)
c = provider("c", kind = "demo", weight = 10)
d = provider("d", kind = "demo", priority = 2)
def route(req, ctx):
    return [a, b, c, d]
def sticky_key(req, ctx):
    return None
`)
	res, err := h.eng.Policy().Eval(context.Background(), &engine.Request{Model: "m", Protocol: "openai"}, engine.EvalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 600
	served := map[string]int{}
	for i := range n {
		resp, body := h.post("/v1/chat/completions", fmt.Sprintf(`{"model":"m","messages":[{"role":"user","content":"r%d"}]}`, i))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, body)
		}
		served[resp.Header.Get("X-LLMGW-Provider")]++
	}
	t.Logf("provider  eval share  live (of %d requests)", n)
	for _, c := range res.Candidates {
		live := float64(served[c.Provider]) / n
		t.Logf("%-8s  %10.3f  %10.3f", c.Provider, c.Share, live)
		// 600 draws: a binomial's standard deviation is at most 0.021;
		// 0.08 is about four of them.
		if math.Abs(live-c.Share) > 0.08 {
			t.Errorf("%s: live %.3f, eval share %.3f", c.Provider, live, c.Share)
		}
	}
}
