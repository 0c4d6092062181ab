package imagefetch

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"testing"
)

// BenchmarkFetch fetches a 1 MiB PNG from a loopback server: the cost a
// Gemini conversion adds per remote image, network aside.
func BenchmarkFetch(b *testing.B) {
	img := append(bytes.Clone(pngBytes), make([]byte, 1<<20-len(pngBytes))...)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(img)))
		_, _ = w.Write(img)
	}))
	defer srv.Close()
	f := New(Config{Allow: func(a netip.Addr) bool { return a.IsLoopback() }})
	defer f.CloseIdleConnections()
	b.SetBytes(int64(len(img)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := f.Fetch(context.Background(), srv.URL+"/big.png"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPublicAddr(b *testing.B) {
	a := netip.MustParseAddr("2606:4700:4700::1111")
	for b.Loop() {
		PublicAddr(a)
	}
}
