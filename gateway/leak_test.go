package gateway

import (
	"os"
	"runtime"
	"testing"
	"time"
)

// Leak checking: a test calls noLeaks first thing, and when it and all
// of its cleanups are done (servers closed, idle connections dropped) the
// number of goroutines and of open file descriptors must come back to
// what it was, give or take a little slack for the runtime's own
// goroutines and for connections the kernel is still tearing down.

const (
	// leakWait bounds how long a test waits for goroutines and
	// descriptors to wind down.
	leakWait = 5 * time.Second
	// goroutineSlack and fdSlack absorb runtime and net/http housekeeping
	// (a timer goroutine, a connection closing on the far side).
	goroutineSlack = 3
	fdSlack        = 3
)

// noLeaks snapshots goroutines and file descriptors and registers a
// cleanup that, after every cleanup registered later by the test has run,
// calls closeIdle (the client's and the gateway's transports) and then
// waits up to leakWait for both counts to return to the snapshot. It must
// be called before the test starts any server, so that its cleanup runs
// last.
func noLeaks(t *testing.T, closeIdle ...func()) {
	t.Helper()
	g0, fd0 := runtime.NumGoroutine(), openFDs(t)
	t.Cleanup(func() {
		for _, f := range closeIdle {
			f()
		}
		deadline := time.Now().Add(leakWait)
		for {
			g, fd := runtime.NumGoroutine(), openFDs(t)
			if g <= g0+goroutineSlack && fd <= fd0+fdSlack {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("leak: %d goroutines (was %d), %d open fds (was %d) %v after the test; goroutines:\n%s",
					g, g0, fd, fd0, leakWait, buf)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// openFDs counts the process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd on this system: %v", err)
	}
	return len(ents)
}

// closeIdle drops the gateway's idle upstream connections (a test hook:
// the gateway itself keeps them for reuse until IdleConnTimeout).
func (c *clientCache) closeIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cc := range c.clients {
		cc.client.CloseIdleConnections()
	}
}
