package requestlog

import (
	"os"
	"time"
)

// netpollYield gives up the processor until the Go scheduler has polled
// the network, so that a quiet writer's next statement waits behind the
// requests whose bytes arrived while it was working.
//
// Neither obvious way to yield does that on one core (GOMAXPROCS=1):
//   - runtime.Gosched puts the goroutine on the global run queue, which the
//     scheduler reads before it polls the network;
//   - a goroutine woken by a timer (time.Sleep) is made the P's next
//     goroutine, ahead of every goroutine already waiting in its run queue,
//     so each timed pause let the writer jump the queue again. A trace at
//     1k RPS showed the writer running during most scheduling delays over
//     300 µs.
//
// A goroutine blocked on a file that the network poller watches is woken
// only by a poll, which the scheduler does when its run queues are empty
// (or sysmon does every 10 ms). So yield parks the writer on a pipe: a
// helper goroutine, scheduled next, writes one byte to it, and the writer
// runs again once the goroutines already waiting have run and a poll has
// seen the byte. Each yield costs about three system calls, which only a
// quiet writer pays.
type netpollYield struct {
	r, w *os.File
	kick chan struct{}
	done chan struct{}
	buf  []byte
}

// maxYield bounds one yield, so that a lost wake-up (which should not
// happen) costs a few milliseconds rather than the log.
const maxYield = 5 * time.Millisecond

// yieldPause is the fallback where a pipe cannot be polled (Windows): a
// park long enough that the timer has not fired when the scheduler next
// looks for work, so that it polls the network first at least when the
// requests waiting are quick.
const yieldPause = 20 * time.Microsecond

// startNetpollYield starts the helper goroutine; stop ends it. It returns
// nil where pipes are not pollable, and then yield parks for yieldPause.
func startNetpollYield() *netpollYield {
	r, w, err := os.Pipe()
	if err != nil {
		return nil
	}
	// A pipe the poller does not watch cannot take a deadline.
	if r.SetReadDeadline(time.Time{}) != nil {
		r.Close()
		w.Close()
		return nil
	}
	y := &netpollYield{r: r, w: w, kick: make(chan struct{}), done: make(chan struct{}), buf: make([]byte, 64)}
	go y.signal()
	return y
}

func (y *netpollYield) signal() {
	defer close(y.done)
	one := []byte{0}
	for range y.kick {
		// A failed write only means the reader's deadline ends the yield.
		_, _ = y.w.Write(one)
	}
}

// yield returns after the scheduler has polled the network, or after
// maxYield.
func (y *netpollYield) yield() {
	if y == nil {
		time.Sleep(yieldPause)
		return
	}
	_ = y.r.SetReadDeadline(time.Now().Add(maxYield))
	y.kick <- struct{}{}
	// The byte may already be there (with more than one P the helper can
	// run at once); the read then returns without parking, which is fine.
	_, _ = y.r.Read(y.buf)
}

// stop ends the helper and closes the pipe.
func (y *netpollYield) stop() {
	if y == nil {
		return
	}
	close(y.kick)
	<-y.done
	y.r.Close()
	y.w.Close()
}
