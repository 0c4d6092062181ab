package loadgen

import (
	"os"
	"testing"
)

// TestReadProcSplitsRSS checks that the anonymous and file-backed parts
// are read and add up to about VmRSS (the rest is shared memory, which a
// Go test has none of).
func TestReadProcSplitsRSS(t *testing.T) {
	s, err := ReadProc(os.Getpid())
	if err != nil {
		t.Fatalf("ReadProc(self): %v", err)
	}
	if s.RSSAnon <= 0 || s.RSSFile <= 0 {
		t.Fatalf("ReadProc(self) = %+v, want positive RSSAnon and RSSFile", s)
	}
	// The three fields are read in one pass over status; allow a page of
	// difference for counters the kernel updates lazily.
	if d := s.RSS - s.RSSAnon - s.RSSFile; d < -64<<10 || d > 64<<10 {
		t.Errorf("VmRSS %d != RssAnon %d + RssFile %d (off by %d)", s.RSS, s.RSSAnon, s.RSSFile, d)
	}
}

func TestSamplerReportsSplitAtEnd(t *testing.T) {
	smp, err := StartSampler(os.Getpid())
	if err != nil {
		t.Fatalf("StartSampler: %v", err)
	}
	r := smp.Stop()
	if r.RSSAnonEndMB <= 0 || r.RSSFileEndMB <= 0 || r.RSSAnonEndMB+r.RSSFileEndMB > r.RSSEndMB+0.5 {
		t.Errorf("Stop() = anon %.2f MB + file %.2f MB, end %.2f MB; want both positive and summing to the end RSS",
			r.RSSAnonEndMB, r.RSSFileEndMB, r.RSSEndMB)
	}
}
