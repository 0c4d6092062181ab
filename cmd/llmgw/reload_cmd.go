package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/llmgw/llmgw/engine"
)

// defaultGateway is the running gateway `llmgw reload` and `llmgw status`
// talk to without --gateway or LLMGW_GATEWAY: llmgw start's default
// listen address.
const defaultGateway = "http://127.0.0.1:8080"

// adminClient is the admin API of a running gateway.
type adminClient struct {
	base, key string
	http      *http.Client
}

// adminFlags adds --gateway and --admin-key.
func adminFlags(fs *flag.FlagSet, e env) (gateway, key *string) {
	gateway = envString(fs, e, "gateway", "LLMGW_GATEWAY", defaultGateway, "the running gateway's `URL`")
	key = envString(fs, e, "admin-key", "LLMGW_ADMIN_KEY", "", "the policy's admin_key(), when it declares one (without one only loopback clients are served)")
	return gateway, key
}

func newAdminClient(gateway, key string) *adminClient {
	// A reload runs the policy's checks and tests: allow it their time.
	return &adminClient{base: strings.TrimRight(gateway, "/"), key: key, http: &http.Client{Timeout: 60 * time.Second}}
}

// do sends one admin request and decodes its JSON answer into out. It
// returns the HTTP status; an answer that is not JSON is an error.
func (c *adminClient) do(ctx context.Context, method, path string, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return 0, err
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w (is llmgw start running there? --gateway, env LLMGW_GATEWAY)", method, c.base+path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: %w", method, c.base+path, err)
	}
	var apiErr struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusNotImplemented {
		_ = json.Unmarshal(body, &apiErr)
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, c.base+path, resp.StatusCode, apiErr.Error.Message)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: %d, not the admin API's JSON: %w", method, c.base+path, resp.StatusCode, err)
	}
	return resp.StatusCode, nil
}

// reloadAnswer is POST /api/policy/reload's answer.
type reloadAnswer struct {
	OK     bool          `json:"ok"`
	Error  string        `json:"error"`
	Status engine.Status `json:"status"`
}

// runReload implements 'llmgw reload': ask the running gateway to reload
// its policy now, as saving a file or SIGHUP would, and report the
// outcome; exit 1 when the new version was refused.
func runReload(ctx context.Context, args []string, e env) error {
	fs := flagSet("reload", e)
	gateway, key := adminFlags(fs, e)
	asJSON := fs.Bool("json", false, "print the gateway's answer as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var ans reloadAnswer
	if _, err := newAdminClient(*gateway, *key).do(ctx, http.MethodPost, "/api/policy/reload", &ans); err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	if *asJSON {
		if err := printJSON(e.stdout, ans); err != nil {
			return err
		}
	} else if ans.OK {
		fmt.Fprintf(e.stdout, "policy %s live (loaded %s)\n", ans.Status.Hash, ans.Status.LoadedAt.Format(time.RFC3339))
		for _, w := range ans.Status.Warnings {
			fmt.Fprintln(e.stdout, "warning: "+w)
		}
	} else {
		fmt.Fprintf(e.stdout, "reload refused; policy %s keeps serving\n%s\n", ans.Status.Hash, ans.Error)
		for _, t := range ans.Status.FailedTests {
			fmt.Fprintln(e.stdout, "failed test: "+t)
		}
	}
	if !ans.OK {
		return exitError{code: 1}
	}
	return nil
}
