package imagefetch

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// pngBytes is a 1×1 PNG.
var pngBytes = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")

// allowLoopback is the test allowance: httptest servers listen on
// 127.0.0.1, which production refuses.
func allowLoopback(a netip.Addr) bool { return a.IsLoopback() }

// imageServer serves fixed routes for the fetch tests.
func imageServer(t *testing.T) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/cat.png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream") // sniffed, not trusted
		_, _ = w.Write(pngBytes)
	})
	mux.HandleFunc("/photo.heic", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/heic")
		_, _ = w.Write([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00"))
	})
	mux.HandleFunc("/doc.pdf", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("%PDF-1.7\n1 0 obj\n<<>>\nendobj\n"))
	})
	mux.HandleFunc("/page.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png") // lies: the bytes are HTML
		_, _ = w.Write([]byte("<!DOCTYPE html><html><body>hi</body></html>"))
	})
	mux.HandleFunc("/drawing.svg", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		_, _ = w.Write([]byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`))
	})
	mux.HandleFunc("/big-declared.png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000000")
		_, _ = w.Write(pngBytes)
	})
	mux.HandleFunc("/big-chunked.png", func(w http.ResponseWriter, r *http.Request) {
		// No Content-Length: the limit must hold while reading.
		for range 64 {
			if _, err := w.Write(bytes.Repeat(pngBytes, 16)); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/slow.png", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	mux.HandleFunc("/missing.png", http.NotFound)
	mux.HandleFunc("/to-cat", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/cat.png", http.StatusFound)
	})
	mux.HandleFunc("/to-metadata", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/iam", http.StatusFound)
	})
	mux.HandleFunc("/to-private", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://10.1.2.3/cat.png", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/to-file", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { close(release); srv.Close() })
	return srv
}

func TestFetch(t *testing.T) {
	srv := imageServer(t)
	loopback := New(Config{Allow: allowLoopback, MaxBytes: 4096, Timeout: 2 * time.Second})
	production := New(Config{MaxBytes: 4096, Timeout: 2 * time.Second})
	tests := []struct {
		name   string
		f      *Fetcher
		url    string
		wantMT string // on success
		want   error  // the reason on failure
	}{
		{"png sniffed", loopback, srv.URL + "/cat.png", "image/png", nil},
		{"heic declared", loopback, srv.URL + "/photo.heic", "image/heic", nil},
		{"pdf", loopback, srv.URL + "/doc.pdf", "application/pdf", nil},
		{"query kept", loopback, srv.URL + "/cat.png?sig=abc", "image/png", nil},
		{"redirect followed", loopback, srv.URL + "/to-cat", "image/png", nil},

		{"loopback refused", production, srv.URL + "/cat.png", "", ErrAddress},
		{"localhost refused", production, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/cat.png", "", ErrAddress},
		{"private refused", production, "http://10.0.0.1/cat.png", "", ErrAddress},
		{"metadata refused", production, "http://169.254.169.254/latest/meta-data/", "", ErrAddress},
		{"cgnat refused", production, "http://100.64.0.1/x.png", "", ErrAddress},
		{"ipv6 loopback refused", production, "http://[::1]/x.png", "", ErrAddress},
		{"ipv4-mapped refused", production, "http://[::ffff:10.0.0.1]/x.png", "", ErrAddress},
		{"unspecified refused", production, "http://0.0.0.0/x.png", "", ErrAddress},
		{"redirect to metadata refused", loopback, srv.URL + "/to-metadata", "", ErrAddress},
		{"redirect to private refused", loopback, srv.URL + "/to-private", "", ErrAddress},
		{"redirect to file refused", loopback, srv.URL + "/to-file", "", ErrScheme},
		{"redirect loop", loopback, srv.URL + "/loop", "", ErrRedirects},
		{"file scheme", loopback, "file:///etc/passwd", "", ErrScheme},
		{"gopher scheme", loopback, "gopher://127.0.0.1:70/", "", ErrScheme},
		{"no host", loopback, "http:///x.png", "", ErrScheme},
		{"oversize declared", loopback, srv.URL + "/big-declared.png", "", ErrTooLarge},
		{"oversize streamed", loopback, srv.URL + "/big-chunked.png", "", ErrTooLarge},
		{"html", loopback, srv.URL + "/page.html", "", ErrNotImage},
		{"svg", loopback, srv.URL + "/drawing.svg", "", ErrNotImage},
		{"404", loopback, srv.URL + "/missing.png", "", ErrStatus},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mt, data, err := tt.f.Fetch(context.Background(), tt.url)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("Fetch(%q) = %q, %v, want error %v", tt.url, mt, err, tt.want)
				}
				var fe *Error
				if !errors.As(err, &fe) {
					t.Fatalf("Fetch(%q) error %T, want *Error", tt.url, err)
				}
				if strings.Contains(fe.Message(), "?") {
					t.Errorf("Message() = %q, want no query string", fe.Message())
				}
				return
			}
			if err != nil {
				t.Fatalf("Fetch(%q) error: %v", tt.url, err)
			}
			if mt != tt.wantMT {
				t.Errorf("Fetch(%q) media type = %q, want %q", tt.url, mt, tt.wantMT)
			}
			if tt.wantMT == "image/png" && !bytes.Equal(data, pngBytes) {
				t.Errorf("Fetch(%q) = %d bytes, want the %d bytes served", tt.url, len(data), len(pngBytes))
			}
		})
	}
}

func TestFetchTimeout(t *testing.T) {
	srv := imageServer(t)
	f := New(Config{Allow: allowLoopback, Timeout: 100 * time.Millisecond})
	_, _, err := f.Fetch(context.Background(), srv.URL+"/slow.png")
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Fetch(slow) = %v, want %v", err, ErrTimeout)
	}
}

// TestFetchCancelled: the caller's cancellation is not blamed on the URL.
func TestFetchCancelled(t *testing.T) {
	srv := imageServer(t)
	f := New(Config{Allow: allowLoopback})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := f.Fetch(ctx, srv.URL+"/slow.png")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Fetch(cancelled) = %v, want %v", err, context.Canceled)
	}
}

// TestRefusedWithoutConnecting: a refused address is never connected to;
// the server behind the loopback URL sees no request.
func TestRefusedWithoutConnecting(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	_, _, err := New(Config{}).Fetch(context.Background(), srv.URL+"/x.png")
	if !errors.Is(err, ErrAddress) {
		t.Fatalf("Fetch(loopback) = %v, want %v", err, ErrAddress)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("server saw %d requests, want 0", n)
	}
}

func TestErrorMessage(t *testing.T) {
	e := &Error{URL: "https://example.com/a.png", Reason: ErrTooLarge, Detail: "larger than 10 bytes", Err: errors.New("cause")}
	if got, want := e.Message(), "image too large (larger than 10 bytes): https://example.com/a.png"; got != want {
		t.Errorf("Message() = %q, want %q", got, want)
	}
	if got, want := e.Error(), "imagefetch: https://example.com/a.png: image too large (larger than 10 bytes): cause"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestShortURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://user:pw@example.com/a.png?X-Amz-Signature=s#frag", "https://example.com/a.png"},
		{"https://example.com/" + strings.Repeat("a", 300), "https://example.com/" + strings.Repeat("a", 180) + "…"},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := shortURL(tt.in, u); got != tt.want {
			t.Errorf("shortURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
