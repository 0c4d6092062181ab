package requestlog

import (
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestNetpollYieldWaitsBehindTheQueue checks, on one P, the two things the
// quiet writer's yield is for: every goroutine already runnable when it
// yields runs before it does (a timed park let the writer jump ahead of
// those still waiting once its timer fired), and the network is polled
// before it returns, so that requests whose bytes arrived meanwhile are
// runnable (runtime.Gosched came back without a poll).
func TestNetpollYieldWaitsBehindTheQueue(t *testing.T) {
	y := startNetpollYield()
	if y == nil {
		t.Skip("pipes are not pollable on this system; yield parks instead")
	}
	defer y.stop()
	client, server := tcpPair(t)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	y.yield() // the helper is now waiting for its kick, as it is in use

	const spinners = 3
	for round := range 20 {
		// Let the scheduler go idle, so that its own blocking poll is the
		// last one: sysmon polls the network itself when none has for
		// 10 ms, at any moment, and a poll of its between the helper's
		// byte and the client's would end the yield early.
		time.Sleep(time.Millisecond)
		var spun atomic.Int32
		var reading, read atomic.Bool
		done := make(chan struct{})
		go func() {
			defer close(done)
			buf := make([]byte, 1)
			reading.Store(true)
			if _, err := server.Read(buf); err == nil {
				read.Store(true)
			}
		}()
		for i := 0; !reading.Load() && i < 1000; i++ {
			runtime.Gosched() // on one P the reader runs until it blocks
		}
		for range spinners {
			go func() {
				// Longer than the old 20 µs park, so its timer would fire.
				for t0 := time.Now(); time.Since(t0) < 100*time.Microsecond; {
				}
				spun.Add(1)
			}()
		}
		go func() { _, _ = client.Write([]byte{1}) }()

		t0 := time.Now()
		y.yield()
		el := time.Since(t0)
		if n := spun.Load(); n != spinners {
			t.Fatalf("round %d: yield returned after %d of %d runnable goroutines ran (%v)", round, n, spinners, el)
		}
		// The reader was woken by the same poll as the yield, so it runs
		// before a goroutine that calls Gosched runs again. After a
		// Gosched yield it never does: nothing polled the network.
		for i := 0; i < 3 && !read.Load(); i++ {
			runtime.Gosched()
		}
		if !read.Load() {
			t.Fatalf("round %d: yield returned before the network was polled (%v)", round, el)
		}
		<-done
	}
}

// TestNetpollYieldBounded checks that a yield whose wake-up never comes
// (the helper is gone) still returns, and that the fallback parks.
func TestNetpollYieldBounded(t *testing.T) {
	y := startNetpollYield()
	if y == nil {
		t.Skip("pipes are not pollable on this system")
	}
	y.w.Close() // the helper's write now fails: only the deadline ends a yield
	done := make(chan struct{})
	go func() {
		defer close(done)
		y.yield()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("yield did not return without its wake-up")
	}
	close(y.kick)
	<-y.done
	y.r.Close()

	var none *netpollYield // where pipes cannot be polled
	none.yield()
	none.stop()
}

func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}
