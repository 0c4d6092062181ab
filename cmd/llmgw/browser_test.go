package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestDashboardInBrowser loads every dashboard page in Debian's chromium
// (scripts/test installs it) against a gateway that has served real
// traffic, checks that the charts are drawn, that the numbers match
// `llmgw stats --json`, that the Overview's top tables fit their cards at
// 1400 px (cost column included), that the Requests page names each
// request's protocols and that the Policy page shows the live source, and
// saves a screenshot of each page under artifacts/screenshots.
func TestDashboardInBrowser(t *testing.T) {
	chrome, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (scripts/test installs it)")
	}
	g := startGateway(t, map[string]string{}, "--policy", examplePolicy(t), "--log-level", "warn")
	for i := range 7 {
		postJSON(t, g.url+"/v1/chat/completions", fmt.Sprintf(`{"model":"gpt-4o-mini","stream":%v,"messages":[{"role":"user","content":"hello %d"}]}`, i%2 == 0, i))
	}
	postJSON(t, g.url+"/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`, "anthropic-version", "2023-06-01")
	want := waitForRows(t, g.db, 8)

	artifacts, _ := filepath.Abs("../../artifacts/screenshots")
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.WindowSize(1366, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	shot := func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			var buf []byte
			// Quality 100 is a PNG (below it chromedp writes a JPEG, which
			// the .png name would misdescribe).
			if err := chromedp.FullScreenshot(&buf, 100).Do(ctx); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(artifacts, name+".png"), buf, 0o644)
		})
	}

	// Overview at 1400 px: totals match the log, charts are drawn, and no
	// top table's cell reaches past its card (the cost column was clipped
	// at this width), even with a busy gateway's long names and wide
	// numbers written into the cells.
	var total, output string
	var drawn bool
	var clipped []string
	err = chromedp.Run(ctx,
		chromedp.EmulateViewport(1400, 900),
		chromedp.Navigate(g.url+"/#/?range=24h"),
		chromedp.WaitVisible(`[data-test="total-requests"][data-value]`),
		chromedp.Poll(`document.querySelector('[data-test="total-requests"]').getAttribute('data-value') === '`+strconv.FormatInt(want.Requests, 10)+`'`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.AttributeValue(`[data-test="total-requests"]`, "data-value", &total, nil),
		chromedp.AttributeValue(`[data-test="total-output_tokens"]`, "data-value", &output, nil),
		chromedp.Poll(canvasDrawn(`chart-requests`), nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Evaluate(canvasDrawn(`chart-tokens`), &drawn),
		chromedp.WaitVisible(`[data-test="top-models"] [data-test="cost"]`),
		shot("overview"),
		chromedp.Evaluate(`document.querySelectorAll('.tables [data-test="top-row"]').forEach(tr => {
			const wide = { cost: '$12,345.67', tokens: '987.7M / 12.3M', 'attempt-errors': '98,765 / 9,876,543' };
			Array.from(tr.children).forEach((td, i) => {
				td.textContent = i === 0 ? 'us.anthropic.claude-sonnet-4-5-20250929-v1:0 → a-long-deployment-name' : wide[td.dataset.test] ?? '9,876,543';
			});
		})`, nil),
		chromedp.Evaluate(`Array.from(document.querySelectorAll('.tables table td')).filter(td => {
			const card = td.closest('.card').getBoundingClientRect(), r = td.getBoundingClientRect();
			return r.right > card.right - 1 || r.left < card.left;
		}).map(td => td.closest('table').dataset.test + ': ' + td.textContent.trim())`, &clipped),
		shot("overview-wide-numbers"),
		chromedp.EmulateViewport(1366, 900),
	)
	if err != nil {
		t.Fatalf("overview: %v", err)
	}
	if !drawn {
		t.Error("the tokens chart's canvas is blank")
	}
	if total != strconv.FormatInt(want.Requests, 10) || output != strconv.FormatInt(want.OutputTokens, 10) {
		t.Errorf("dashboard shows %s requests / %s output tokens; stats --json says %d / %d", total, output, want.Requests, want.OutputTokens)
	}
	if len(clipped) > 0 {
		t.Errorf("at 1400 px these top-table cells overflow their card: %q", clipped)
	}

	// Requests, a request's detail, providers and policy pages.
	var rows, protocols []string
	var hash, sourceFile, source string
	err = chromedp.Run(ctx,
		chromedp.Navigate(g.url+"/#/requests"),
		chromedp.WaitVisible(`[data-test="request-row"]`),
		chromedp.Evaluate(`Array.from(document.querySelectorAll('[data-test="request-row"]')).map(r => r.getAttribute('data-id'))`, &rows),
		chromedp.Evaluate(`Array.from(document.querySelectorAll('[data-test="request-row"] [data-test="protocol"]')).map(td => td.textContent.trim())`, &protocols),
		shot("requests"),
		chromedp.Click(`[data-test="request-row"]`),
		chromedp.WaitVisible(`[data-test="attempt-row"]`),
		shot("request-detail"),
		chromedp.Navigate(g.url+"/#/providers"),
		chromedp.WaitVisible(`[data-test="provider-row"]`),
		shot("providers"),
		chromedp.Navigate(g.url+"/#/policy"),
		chromedp.WaitVisible(`[data-test="policy-hash"]`),
		chromedp.Text(`[data-test="policy-hash"]`, &hash),
		chromedp.WaitVisible(`[data-test="policy-source"]`),
		chromedp.AttributeValue(`[data-test="policy-source"]`, "data-file", &sourceFile, nil),
		chromedp.Text(`[data-test="policy-source"]`, &source),
		shot("policy"),
	)
	if err != nil {
		t.Fatalf("pages: %v", err)
	}
	if int64(len(rows)) != want.Requests {
		t.Errorf("requests page lists %d rows, want %d", len(rows), want.Requests)
	}
	if strings.TrimSpace(hash) == "" {
		t.Error("policy page shows no hash")
	}
	// Seven OpenAI chat requests and one Anthropic message, each served in
	// its own protocol by the demo provider.
	if n := strings.Count(strings.Join(protocols, "|"), "openai"); len(protocols) != len(rows) || n != 7 || !slices.Contains(protocols, "anthropic") {
		t.Errorf("requests page protocol column = %q, want openai 7 times and anthropic once", protocols)
	}
	if sourceFile != filepath.Base(examplePolicy(t)) || !strings.Contains(source, "def route(req, ctx)") {
		t.Errorf("policy page shows %q: %.200q, want the entry's source", sourceFile, source)
	}
}

// canvasDrawn is a JS expression: the chart's canvas has a non-transparent
// pixel.
func canvasDrawn(test string) string {
	return `(() => { const c = document.querySelector('[data-test="` + test + `"] canvas');
		if (!c || c.width === 0) return false;
		const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
		for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return true;
		return false; })()`
}

type statsTotals struct {
	Requests     int64 `json:"requests"`
	OutputTokens int64 `json:"output_tokens"`
}

// waitForRows polls `llmgw stats --json` until n requests are logged (the
// writer commits within a second).
func waitForRows(t *testing.T, db string, n int64) statsTotals {
	t.Helper()
	var st statsTotals
	for range 100 {
		var out strings.Builder
		if err := run(context.Background(), []string{"stats", "--db", db, "--json"}, func(string) string { return "" }, nil, &out, io.Discard); err == nil {
			if json.Unmarshal([]byte(out.String()), &st) == nil && st.Requests >= n {
				return st
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("only %d of %d requests logged", st.Requests, n)
	return st
}
