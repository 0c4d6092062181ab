package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestStartTimeoutFlags: --body-timeout, --header-timeout and
// --max-concurrent reach the server. A stalled body gets its 408 after the
// configured time, and the connection is closed; stalled headers close the
// connection after theirs.
func TestStartTimeoutFlags(t *testing.T) {
	g := startGateway(t, map[string]string{"LLMGW_HEADER_TIMEOUT": "500ms"}, "--policy", examplePolicy(t), "--body-timeout", "300ms", "--max-concurrent", "1")
	addr := strings.TrimPrefix(g.url, "http://")
	body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`

	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", addr, len(body), body[:10])
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("stalled body: no answer: %v", err)
	}
	_, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("stalled body = %d, want 408", resp.StatusCode)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 5*time.Second {
		t.Errorf("408 after %v, want about --body-timeout (300ms)", d)
	}
	if !resp.Close {
		t.Errorf("408 without Connection: close")
	}
	if _, err := br.ReadByte(); err == nil || isTimeout(err) {
		t.Errorf("the connection stayed open after the 408 (read: %v)", err)
	}

	// The only slot is free again.
	resp2, b := postJSON(t, g.url+"/v1/chat/completions", body)
	if resp2.StatusCode != http.StatusOK {
		t.Errorf("after the 408: %d %s", resp2.StatusCode, b)
	}

	hc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Close()
	_ = hc.SetDeadline(time.Now().Add(10 * time.Second))
	start = time.Now()
	fmt.Fprintf(hc, "POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\n", addr)
	_, _ = io.ReadAll(hc) // until the server closes it
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stalled headers held the connection %v, want about --header-timeout (500ms)", d)
	}
}

// TestStartResponseBodyFlag: --max-response-body reaches the server: an
// answer longer than it fails instead of being buffered.
func TestStartResponseBodyFlag(t *testing.T) {
	g := startGateway(t, map[string]string{"LLMGW_RESPONSE_BUDGET": "1048576"}, "--policy", examplePolicy(t), "--max-response-body", "64")
	resp, b := postJSON(t, g.url+"/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello!"}]}`)
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("answer over --max-response-body = %d %.200s, want 502", resp.StatusCode, b)
	}
}

// isTimeout reports a read that gave up on its deadline: the peer had
// neither sent anything nor closed.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
