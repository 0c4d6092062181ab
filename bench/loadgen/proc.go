package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat: 100
// on every Linux architecture Go supports.
const clockTicks = 100

// ProcStat is one reading of a process's resources.
type ProcStat struct {
	CPU time.Duration // user + system time since the process started
	RSS int64         // resident set, bytes (VmRSS)
	HWM int64         // peak resident set, bytes (VmHWM)
	// RSS in two parts (RssAnon, RssFile): anonymous memory (heaps,
	// stacks, SQLite's caches) and file-backed pages, mostly the
	// executable's own code and tables, which the kernel maps in 64 KB
	// runs around each page touched and which other processes running
	// the same binary share.
	RSSAnon, RSSFile int64
	Threads          int
	FDs              int
}

// ReadProc reads /proc/PID/stat, /proc/PID/status and /proc/PID/fd.
func ReadProc(pid int) (ProcStat, error) {
	var s ProcStat
	dir := fmt.Sprintf("/proc/%d", pid)
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return s, fmt.Errorf("loadgen: read stat: %w", err)
	}
	// The command name may hold spaces: fields start after its ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return s, fmt.Errorf("loadgen: malformed %s/stat", dir)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return s, fmt.Errorf("loadgen: short %s/stat", dir)
	}
	// Fields 14 and 15 of stat (utime, stime) are 11 and 12 after ')'.
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	s.CPU = time.Duration(ut+st) * time.Second / clockTicks
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return s, fmt.Errorf("loadgen: read status: %w", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			s.RSS = n << 10
		case "VmHWM":
			s.HWM = n << 10
		case "RssAnon":
			s.RSSAnon = n << 10
		case "RssFile":
			s.RSSFile = n << 10
		case "Threads":
			s.Threads = int(n)
		}
	}
	fds, err := os.ReadDir(dir + "/fd")
	if err != nil {
		return s, fmt.Errorf("loadgen: read fds: %w", err)
	}
	s.FDs = len(fds)
	return s, nil
}

// ProcReport is what a Sampler saw over a run.
type ProcReport struct {
	PID        int     `json:"pid"`
	CPUSeconds float64 `json:"cpu_s"`        // CPU time used during the run
	RSSStartMB float64 `json:"rss_start_mb"` // at the start
	RSSEndMB   float64 `json:"rss_end_mb"`   // at the end
	RSSPeakMB  float64 `json:"rss_peak_mb"`  // highest sample
	// RSSEndMB's anonymous and file-backed parts (RssAnon, RssFile; see
	// ProcStat), zero when the kernel does not report them.
	RSSAnonEndMB float64 `json:"rss_anon_end_mb,omitempty"`
	RSSFileEndMB float64 `json:"rss_file_end_mb,omitempty"`
	Threads      [2]int  `json:"threads"` // start, max
	FDs          [3]int  `json:"fds"`     // start, max, end
	Samples      int     `json:"samples"`
}

// Sampler reads a process's resources every Interval until stopped.
type Sampler struct {
	pid   int
	stop  context.CancelFunc
	done  chan struct{}
	first ProcStat

	// guards the following
	mu   sync.Mutex
	last ProcStat
	rep  ProcReport
}

// SampleInterval is how often a Sampler reads /proc.
const SampleInterval = 250 * time.Millisecond

// StartSampler takes a first reading of pid and keeps sampling it every
// SampleInterval until Stop.
func StartSampler(pid int) (*Sampler, error) {
	first, err := ReadProc(pid)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sampler{pid: pid, stop: cancel, done: make(chan struct{}), first: first, last: first}
	s.rep = ProcReport{PID: pid, RSSStartMB: mb(first.RSS), RSSPeakMB: mb(first.RSS),
		Threads: [2]int{first.Threads, first.Threads}, FDs: [3]int{first.FDs, first.FDs, first.FDs}, Samples: 1}
	go s.run(ctx)
	return s, nil
}

func (s *Sampler) run(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(SampleInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.sample()
		}
	}
}

func (s *Sampler) sample() {
	st, err := ReadProc(s.pid)
	if err != nil {
		return // the process ended: keep what was seen
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = st
	s.rep.Samples++
	s.rep.RSSPeakMB = max(s.rep.RSSPeakMB, mb(st.RSS))
	s.rep.Threads[1] = max(s.rep.Threads[1], st.Threads)
	s.rep.FDs[1] = max(s.rep.FDs[1], st.FDs)
}

// Stop takes a last reading and returns the report.
func (s *Sampler) Stop() ProcReport {
	s.stop()
	<-s.done
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rep
	r.CPUSeconds = (s.last.CPU - s.first.CPU).Seconds()
	r.RSSEndMB = mb(s.last.RSS)
	r.RSSAnonEndMB, r.RSSFileEndMB = mb(s.last.RSSAnon), mb(s.last.RSSFile)
	r.FDs[2] = s.last.FDs
	return r
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }
