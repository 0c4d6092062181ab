// Package imagefetch downloads the remote images (and PDFs) of a request
// for an upstream that cannot fetch them itself: the Gemini Developer API
// takes only inline bytes or its own Files API URIs, so an image_url sent
// by an OpenAI or Anthropic client is fetched by llmgw and inlined.
//
// Fetching a URL chosen by a client is a server-side request forgery risk,
// so a Fetcher refuses everything but public addresses (see PublicAddr).
// The check runs when a connection is dialled, on the address DNS
// resolved to, so that neither a hostname resolving to a private address
// (DNS rebinding included) nor a redirect to one gets through. Size and
// time are bounded, and only images and PDFs are accepted.
//
// imagefetch imports only the standard library; gateway uses it.
package imagefetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Defaults for the zero values of Config.
const (
	DefaultMaxBytes     = 10 << 20
	DefaultTimeout      = 10 * time.Second
	DefaultMaxRedirects = 3
)

// Config configures a Fetcher. The zero value is the production
// configuration.
type Config struct {
	// MaxBytes caps the size of one fetched file, in bytes; 0 means
	// DefaultMaxBytes (10 MiB, which base64 turns into about 13.4 MiB of
	// the 20 MB a Gemini request may hold).
	MaxBytes int64
	// Timeout bounds one fetch, from dialling to the last byte, redirects
	// included; 0 means DefaultTimeout (10 s).
	Timeout time.Duration
	// MaxRedirects is how many redirects a fetch follows; 0 means
	// DefaultMaxRedirects (3), a negative value none.
	MaxRedirects int
	// Allow decides whether an address may be dialled. Nil means
	// PublicAddr. Tests allow loopback to reach httptest servers; nothing
	// else should set it.
	Allow func(netip.Addr) bool
}

// Reasons a fetch fails, wrapped by *Error. Their text is fit for the
// client that sent the URL.
var (
	ErrScheme    = errors.New("image URL refused: only http and https URLs can be fetched")
	ErrAddress   = errors.New("image URL refused: resolves to a private, loopback or link-local address")
	ErrTooLarge  = errors.New("image too large")
	ErrTimeout   = errors.New("image fetch timed out")
	ErrNotImage  = errors.New("image URL does not point to an image or PDF")
	ErrRedirects = errors.New("image fetch followed too many redirects")
	ErrStatus    = errors.New("image server answered with an error")
	ErrFetch     = errors.New("image could not be fetched")
)

// Error is a refused or failed fetch. Reason is one of the Err* values
// above; Detail adds a client-safe particular (the size limit, the HTTP
// status); Err is the underlying cause, for the log.
type Error struct {
	// URL is the fetched URL without its query and fragment, which may
	// hold signatures or tokens.
	URL    string
	Reason error
	Detail string
	Err    error
}

func (e *Error) Error() string {
	s := "imagefetch: " + e.URL + ": " + e.Reason.Error()
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	if e.Err != nil && !errors.Is(e.Err, e.Reason) {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the reason and the cause, so that errors.Is matches
// either.
func (e *Error) Unwrap() []error { return []error{e.Reason, e.Err} }

// Message is the error as the client that sent the URL may see it: the
// reason, its detail and the URL, without the underlying cause.
func (e *Error) Message() string {
	s := e.Reason.Error()
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s + ": " + e.URL
}

// Fetcher fetches remote images. It is safe for concurrent use and keeps
// connections alive between fetches.
type Fetcher struct {
	cfg    Config
	client *http.Client
}

// New returns a Fetcher for cfg.
func New(cfg Config) *Fetcher {
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxRedirects == 0 {
		cfg.MaxRedirects = DefaultMaxRedirects
	}
	if cfg.Allow == nil {
		cfg.Allow = PublicAddr
	}
	f := &Fetcher{cfg: cfg}
	d := &net.Dialer{Timeout: cfg.Timeout, ControlContext: f.control}
	tr := &http.Transport{
		Proxy:                  nil, // a proxy would be dialled instead of the checked address
		DialContext:            d.DialContext,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    cfg.Timeout,
		ResponseHeaderTimeout:  cfg.Timeout,
		MaxResponseHeaderBytes: 64 << 10,
		MaxIdleConns:           32,
		IdleConnTimeout:        90 * time.Second,
	}
	f.client = &http.Client{Transport: tr, CheckRedirect: f.checkRedirect}
	return f
}

// CloseIdleConnections closes the connections kept alive from earlier
// fetches, for a Fetcher that is no longer needed.
func (f *Fetcher) CloseIdleConnections() { f.client.CloseIdleConnections() }

// control runs for every connection after DNS resolution and before the
// connect system call: address is the IP and port about to be dialled.
func (f *Fetcher) control(_ context.Context, network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("imagefetch: dial %s %q: %w", network, address, ErrAddress)
	}
	if !f.cfg.Allow(ap.Addr().Unmap()) {
		return fmt.Errorf("imagefetch: dial %s: %w", ap.Addr(), ErrAddress)
	}
	return nil
}

func (f *Fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > f.cfg.MaxRedirects {
		return ErrRedirects
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return ErrScheme
	}
	return nil
}

// Fetch downloads rawURL and returns its media type and bytes. The media
// type is sniffed from the bytes, or taken from the Content-Type header
// for image formats the sniffer does not know (HEIC, AVIF); anything but
// an image or a PDF is refused. Errors are *Error; ctx's cancellation is
// returned as ctx.Err().
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) (mediaType string, data []byte, err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", nil, &Error{URL: shortURL(rawURL, nil), Reason: ErrFetch, Detail: "invalid URL", Err: err}
	}
	shown := shortURL(rawURL, u)
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", nil, &Error{URL: shown, Reason: ErrScheme}
	}
	fctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(fctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", nil, &Error{URL: shown, Reason: ErrFetch, Err: err}
	}
	req.Header.Set("Accept", "image/*, application/pdf;q=0.9")
	req.Header.Set("User-Agent", "llmgw-imagefetch")
	resp, err := f.client.Do(req)
	if err != nil {
		return "", nil, f.fail(ctx, shown, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", nil, &Error{URL: shown, Reason: ErrStatus, Detail: "HTTP " + strconv.Itoa(resp.StatusCode)}
	}
	limit := "larger than " + strconv.FormatInt(f.cfg.MaxBytes, 10) + " bytes"
	if resp.ContentLength > f.cfg.MaxBytes {
		return "", nil, &Error{URL: shown, Reason: ErrTooLarge, Detail: limit}
	}
	data, err = readAll(resp.Body, f.cfg.MaxBytes+1, resp.ContentLength)
	if err != nil {
		return "", nil, f.fail(ctx, shown, err)
	}
	if int64(len(data)) > f.cfg.MaxBytes {
		return "", nil, &Error{URL: shown, Reason: ErrTooLarge, Detail: limit}
	}
	mt, ok := MediaType(resp.Header.Get("Content-Type"), data)
	if !ok {
		return "", nil, &Error{URL: shown, Reason: ErrNotImage, Detail: mt}
	}
	return mt, data, nil
}

// readAll reads at most limit bytes of r, into a buffer of the declared
// length when there is one.
func readAll(r io.Reader, limit, declared int64) ([]byte, error) {
	r = io.LimitReader(r, limit)
	if declared <= 0 {
		return io.ReadAll(r)
	}
	var buf bytes.Buffer
	buf.Grow(int(min(declared+bytes.MinRead, limit)))
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}

// fail classifies a transport error.
func (f *Fetcher) fail(ctx context.Context, shown string, err error) error {
	switch {
	case ctx.Err() != nil:
		return ctx.Err() // the caller gave up: not the URL's fault
	case errors.Is(err, ErrAddress):
		return &Error{URL: shown, Reason: ErrAddress, Err: err}
	case errors.Is(err, ErrRedirects):
		return &Error{URL: shown, Reason: ErrRedirects, Detail: "more than " + strconv.Itoa(f.cfg.MaxRedirects), Err: err}
	case errors.Is(err, ErrScheme):
		return &Error{URL: shown, Reason: ErrScheme, Detail: "redirected", Err: err}
	case isTimeout(err):
		return &Error{URL: shown, Reason: ErrTimeout, Detail: "after " + f.cfg.Timeout.String(), Err: err}
	}
	return &Error{URL: shown, Reason: ErrFetch, Err: err}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// MediaType decides the media type of fetched bytes: the sniffed type
// when the sniffer recognises an image or a PDF, else the declared
// Content-Type when the sniffer knows nothing of the bytes and the header
// says image (formats it cannot sniff: HEIC, HEIF, AVIF). ok is false for
// anything else; mt then names what was found.
func MediaType(contentType string, data []byte) (mt string, ok bool) {
	sniffed, _, _ := mime.ParseMediaType(http.DetectContentType(data))
	if acceptable(sniffed) {
		return sniffed, true
	}
	declared, _, err := mime.ParseMediaType(contentType)
	if err == nil && sniffed == "application/octet-stream" && strings.HasPrefix(declared, "image/") && declared != "image/svg+xml" {
		return declared, true
	}
	return sniffed, false
}

// acceptable reports the media types an upstream takes inline: raster
// images and PDFs. SVG is text that may carry script, and Gemini does not
// take it.
func acceptable(mt string) bool {
	return strings.HasPrefix(mt, "image/") && mt != "image/svg+xml" || mt == "application/pdf"
}

// shortURL renders a URL for messages and logs: without user info, query
// and fragment, at most 200 bytes.
func shortURL(raw string, u *url.URL) string {
	s := raw
	if u != nil {
		v := *u
		v.User, v.RawQuery, v.ForceQuery, v.Fragment, v.RawFragment = nil, "", false, "", ""
		s = v.String()
	} else if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "…"
	}
	return s
}
