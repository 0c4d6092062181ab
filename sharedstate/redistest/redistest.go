// Package redistest runs a private redis-server for tests that stop and
// restart Redis under load, which the shared server of the machine must
// not suffer. The server keeps nothing on disk.
package redistest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/llmgw/llmgw/internal/testservices"
)

// Binary is where the tests look for redis-server first; PATH is searched
// next.
const Binary = "/usr/bin/redis-server"

// Server is a private redis-server on a loopback port.
type Server struct {
	t    testing.TB
	bin  string
	Port int
	cmd  *exec.Cmd
}

// Start starts a redis-server on a free loopback port, or skips the test
// when there is no redis-server binary (fails it under
// LLMGW_REQUIRE_SERVICES=1, as the replica tests' other services do). It is
// stopped at the end of the test.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Binary
	if _, err := exec.LookPath(bin); err != nil {
		if bin, err = exec.LookPath("redis-server"); err != nil {
			msg := "no redis-server binary to start a private Redis: " + err.Error()
			if os.Getenv(testservices.RequireEnv) == "1" {
				t.Fatal(msg + "; " + testservices.RequireEnv + "=1 forbids skipping")
			}
			t.Skip(msg)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &Server{t: t, bin: bin, Port: port}
	s.Restart()
	t.Cleanup(s.Kill)
	return s
}

// URL is the server's redis:// URL.
func (s *Server) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", s.Port) }

// Kill stops the server at once (SIGKILL); connections drop.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Restart starts the server again on the same port (empty: nothing is
// kept) and waits until it accepts connections.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	cmd := exec.Command(s.bin, "--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--protected-mode", "no")
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("redis-server: %v", err)
	}
	s.cmd = cmd
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)), 100*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("redis-server on port %d did not start within 5s", s.Port)
}
