package gateway

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/llmgw/llmgw/imagefetch"
	"github.com/llmgw/llmgw/llm"
)

// Bounds on the remote media one request may have llmgw fetch.
const (
	// maxRemoteMedia is the most distinct URLs fetched for one request.
	maxRemoteMedia = 64
	// maxRemoteMediaBytes bounds the bytes fetched for one request, all
	// files together, so that a request cannot make llmgw hold more than
	// this in memory. Gemini takes at most 20 MB per request anyway.
	maxRemoteMediaBytes = 20 << 20
	// mediaFetches is how many fetches of one request run at once.
	mediaFetches = 4
)

// inlineImages fetches the remote images and documents of req and inlines
// them as base64 data: the Gemini Developer API reads only inline bytes,
// its own Files API URIs and YouTube links, not arbitrary URLs. Each
// distinct URL is fetched once, a few at a time. The inlined messages
// replace the exchange's decoded request too, so that a failover to
// another candidate does not fetch them again (every protocol accepts
// inline images).
//
// A URL that is refused (a private, loopback or link-local address, a
// scheme other than http and https) or fails (too large, too slow, not an
// image) rules this candidate out with a 400 in the caller's shape,
// logged as bad_request; the request gets it unless a candidate of
// another protocol, which takes the URL itself, serves it.
func (x *exchange) inlineImages(ctx context.Context, req *llm.Request) error {
	urls := remoteMedia(req.Messages)
	if len(urls) == 0 {
		return nil
	}
	got, err := x.fetchMedia(ctx, urls)
	if err != nil {
		return err
	}
	req.Messages = inlineMessages(req.Messages, got)
	if x.clientReq != nil {
		c := *x.clientReq
		c.Messages = req.Messages
		x.clientReq = &c
	}
	return nil
}

// inlined is one fetched file.
type inlined struct {
	mediaType string
	data      string // base64
}

// fetchMedia fetches urls concurrently, failing on the first error.
func (x *exchange) fetchMedia(ctx context.Context, urls []string) (map[string]inlined, error) {
	if len(urls) > maxRemoteMedia {
		return nil, errorf(http.StatusBadRequest, "too many remote images to fetch for a Gemini upstream: %d, at most %d", len(urls), maxRemoteMedia)
	}
	f := x.s.cfg.Images
	out := make([]inlined, len(urls))
	var total atomic.Int64 // bytes fetched so far, checked as they arrive
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(mediaFetches)
	for i, u := range urls {
		g.Go(func() error {
			mt, data, err := f.Fetch(gctx, u)
			if err != nil {
				return err
			}
			if total.Add(int64(len(data))) > maxRemoteMediaBytes {
				return errorf(http.StatusBadRequest, "remote images too large together: more than %d bytes", maxRemoteMediaBytes)
			}
			out[i] = inlined{mediaType: mt, data: base64.StdEncoding.EncodeToString(data)}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, mediaError(err)
	}
	got := make(map[string]inlined, len(urls))
	for i, u := range urls {
		got[u] = out[i]
	}
	return got, nil
}

// mediaError turns a fetch failure into the client's 400; the cause stays
// in the log.
func mediaError(err error) error {
	var fe *imagefetch.Error
	var he *HTTPError
	switch {
	case errors.As(err, &fe):
		return &HTTPError{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Message: fe.Message(), Err: err}
	case errors.As(err, &he):
		return he
	}
	return fmt.Errorf("gateway: fetch images: %w", err) // the request was cancelled
}

// remoteMedia lists the distinct URLs of image and document parts that a
// Gemini upstream cannot read itself, in order of appearance, tool
// results included.
func remoteMedia(msgs []llm.Message) []string {
	var urls []string
	seen := map[string]bool{}
	var walk func(parts []llm.Part)
	walk = func(parts []llm.Part) {
		for _, p := range parts {
			if p.Kind == llm.PartToolResult {
				walk(p.Content)
				continue
			}
			if needsFetch(p) && !seen[p.URL] {
				seen[p.URL] = true
				urls = append(urls, p.URL)
			}
		}
	}
	for _, m := range msgs {
		walk(m.Parts)
	}
	return urls
}

// needsFetch reports whether p is an image or document given by a URL that
// Gemini cannot fetch: not a data URL, a gs:// URI, a Files API URI or a
// YouTube link.
func needsFetch(p llm.Part) bool {
	if p.Kind != llm.PartImage && p.Kind != llm.PartDocument || p.Data != "" || p.URL == "" {
		return false
	}
	u := p.URL
	switch {
	case strings.HasPrefix(u, "data:"), strings.HasPrefix(u, "gs://"),
		strings.HasPrefix(u, "https://generativelanguage.googleapis.com/"),
		strings.HasPrefix(u, "https://www.youtube.com/"), strings.HasPrefix(u, "https://youtube.com/"),
		strings.HasPrefix(u, "https://youtu.be/"):
		return false
	}
	return true
}

// inlineMessages returns msgs with the fetched URLs replaced by their
// bytes. Messages and parts are copied where they change, never modified:
// the decoded request they come from is shared.
func inlineMessages(msgs []llm.Message, got map[string]inlined) []llm.Message {
	out := make([]llm.Message, len(msgs))
	for i, m := range msgs {
		out[i] = m
		out[i].Parts, _ = inlineParts(m.Parts, got)
	}
	return out
}

// inlineParts returns parts with the fetched URLs inlined, a copy when
// anything changed, parts itself otherwise.
func inlineParts(parts []llm.Part, got map[string]inlined) ([]llm.Part, bool) {
	var out []llm.Part // allocated on the first change
	for i, p := range parts {
		changed := false
		switch {
		case p.Kind == llm.PartToolResult:
			p.Content, changed = inlineParts(p.Content, got)
		case needsFetch(p):
			if b, ok := got[p.URL]; ok {
				p.MediaType, p.Data, p.URL, changed = b.mediaType, b.data, "", true
			}
		}
		if changed && out == nil {
			out = append(make([]llm.Part, 0, len(parts)), parts[:i]...)
		}
		if out != nil {
			out = append(out, p)
		}
	}
	if out == nil {
		return parts, false
	}
	return out, true
}
