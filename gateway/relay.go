package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/internal/wirejson"
	"github.com/llmgw/llmgw/llm"
	"github.com/llmgw/llmgw/sse"
)

// upstreamBody returns the body of an attempt to a provider speaking up
// (ua its adapter): the client's bytes, as the adapter edits them, when
// the protocols match (the model rewritten only when the candidate says
// so; OpenAI's include_usage forced so that every stream reports usage); a
// conversion otherwise (with remote images fetched and inlined for an
// upstream that cannot fetch them), and also when the adapter cannot
// forward the bytes (an Anthropic history replaying thinking Claude would
// refuse). warnings name what a conversion left out: the attempt's own,
// sent as X-LLMGW-Warnings if it is the one that answers. prov's policy
// says whether a conversion adds prompt-cache hints.
func (x *exchange) upstreamBody(ctx context.Context, prov engine.Provider, up llm.Protocol, ua Adapter) (body []byte, warnings []string, err error) {
	if up == x.ep.proto {
		e := llm.PassEdit{Op: x.ep.op, Stream: x.feat.Stream, Member: x.passMember}
		if x.upModel != x.feat.Model {
			e.Model = x.upModel
		}
		p, err := ua.EditBody(x.body, e)
		if err != nil {
			return nil, nil, errorf(http.StatusBadRequest, "invalid request body: %v", err)
		}
		if !p.Reencode {
			x.hideUsage = p.HideUsage
			return p.Body, nil, nil
		}
	}
	if x.ep.op != opGenerate {
		return nil, nil, nil // count_tokens and embeddings are not converted
	}
	req, err := x.decodeClient()
	if err != nil {
		return nil, nil, err
	}
	if up != x.ep.proto {
		// State only the client's vendor holds (a stored conversation)
		// would be lost in a conversion: this candidate is skipped, and
		// the refusal (a 400 naming the field) is the answer when no
		// candidate of the client's protocol follows.
		if err := x.ca.Convertible(req); err != nil {
			return nil, nil, err
		}
	}
	r2 := *req
	r2.Model = x.upModel
	r2.Stream = x.feat.Stream
	r2.IncludeUsage = r2.Stream // read by the encoders whose protocol has it
	// Prompt-cache hints the client did not send, unless the provider's
	// policy turns them off (provider(auto_cache = False)).
	if prov.NoAutoCache {
		r2.NoAutoCache = true
	} else {
		r2.CacheKey = llm.CacheKeyFor(x.feat.Session)
	}
	if ua.InlineImages() {
		if err := x.inlineImages(ctx, &r2); err != nil {
			return nil, nil, err
		}
	}
	return ua.EncodeRequest(&r2)
}

// decodeClient decodes the client's request into neutral form, once. A
// model and stream flag named by the door's URL (Gemini's) are the
// request's.
func (x *exchange) decodeClient() (*llm.Request, error) {
	if x.clientReq != nil {
		return x.clientReq, nil
	}
	req, err := x.ca.DecodeRequest(x.body)
	if err != nil {
		return nil, err
	}
	if x.ep.model != "" {
		req.Model, req.Stream = x.ep.model, x.ep.stream
	}
	x.clientReq = req
	return req, nil
}

// responseHeaders copies an upstream's response headers that a client of
// the same protocol may read (rate limits, request ids, retry hints).
func responseHeaders(dst, src http.Header) {
	var buf [64]byte
	for k, vs := range src {
		lk := appendLower(buf[:0], k)
		switch string(lk) {
		case "content-encoding", "set-cookie", "date", "server", "alt-svc", "x-request-id":
			continue
		}
		// CORS headers are the gateway's to send, and only as configured
		// (Config.AllowedOrigins): an upstream's Access-Control-Allow-Origin:
		// * would let any web page read the answer.
		if hopHeaders[string(lk)] || bytes.HasPrefix(lk, llmgwHeaderPrefix) || bytes.HasPrefix(lk, corsHeaderPrefix) {
			continue
		}
		dst[k] = vs
	}
	if id := src.Get("X-Request-Id"); id != "" {
		dst.Set("X-Upstream-Request-Id", id)
	}
}

// relayBody relays a non-streaming response.
// creds are the credentials sent with the request, scrubbed from the body.
func (x *exchange) relayBody(prov engine.Provider, up llm.Protocol, ua Adapter, resp *http.Response, creds [][]byte) (relayed, *failure) {
	defer resp.Body.Close()
	var r relayed
	br := &budgetReader{r: resp.Body, b: x.s.respBudget, limit: x.s.cfg.MaxResponseBytes}
	defer br.release() // the body is written before relayBody returns
	var b []byte
	err := br.reserve(max(resp.ContentLength, 0))
	if err == nil {
		b, err = readAll(br, resp.ContentLength, x.s.cfg.MaxResponseBytes, nil)
	}
	switch {
	case errors.Is(err, errBudget):
		// The gateway's own limit, not the provider's fault: refused in
		// the caller's shape, the provider's health untouched.
		return r, &failure{prov: prov, up: up, final: &HTTPError{Status: http.StatusBadGateway, Type: llm.ErrAPI, Message: errBudget.Error() + "; try again", Err: err}}
	case errors.Is(err, errBodyTooLarge):
		return r, &failure{prov: prov, up: up, err: &llm.UpstreamError{Provider: prov.Name, Kind: "stream", Err: err, Message: fmt.Sprintf("%v (%d bytes)", errBodyTooLarge, x.s.cfg.MaxResponseBytes)}}
	case err != nil:
		return r, &failure{prov: prov, up: up, err: &llm.UpstreamError{Provider: prov.Name, Kind: "stream", Err: err, Message: "reading the response: " + err.Error()}}
	}
	b = scrubBytes(b, creds)
	var answer *answerMembers // the spans' model, id and finish reason, from the same pass
	if x.tr != nil && x.tr.wantsAnswer() {
		answer = &answerMembers{}
	}
	info := inspectBody(b, ua.UsageMember(), answer)
	if !info.valid {
		// An HTML error page from a proxy, a truncated or empty body: the
		// provider did not answer, whatever its status says.
		return r, &failure{prov: prov, up: up, err: &llm.UpstreamError{Provider: prov.Name, Kind: "stream", Message: "the response is not JSON (" + describeBody(resp.Header, b) + ")"}}
	}
	if info.isErr {
		return r, &failure{prov: prov, up: up, err: &llm.UpstreamError{Provider: prov.Name, Kind: "http", Status: info.status, Message: info.message, Body: b}}
	}
	if answer != nil {
		x.tr.noteAnswer(answer)
	}
	out := b
	if up == x.ep.proto {
		r.usage, r.usageKnown = ua.ParseUsage(info.usage)
		responseHeaders(x.w.Header(), resp.Header)
		if x.tr != nil && x.tr.capturing() {
			lr, _ := ua.DecodeResponse(b)
			x.tr.noteResponseParts(lr)
		}
	} else {
		lr, err := ua.DecodeResponse(b)
		if err != nil {
			return r, &failure{prov: prov, up: up, err: &llm.UpstreamError{Provider: prov.Name, Kind: "stream", Status: http.StatusBadGateway, Err: err, Message: "undecodable response: " + err.Error()}}
		}
		if x.tr != nil {
			x.tr.noteResponseParts(lr)
		}
		r.usage, r.usageKnown = lr.Usage, !lr.Usage.IsZero()
		req, _ := x.decodeClient()
		if out, err = x.ca.EncodeResponse(lr, req); err != nil {
			return r, &failure{prov: prov, up: up, final: &HTTPError{Status: http.StatusBadGateway, Type: llm.ErrAPI, Message: "could not convert the response: " + err.Error(), Err: err}}
		}
		x.w.Header().Set("Content-Type", "application/json")
	}
	r.status = resp.StatusCode
	x.setRouteHeaders()
	x.committed = true
	// A known length spares net/http chunked encoding for bodies over its
	// 2 KB buffer (and a second write).
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusNotModified {
		x.w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	}
	x.w.WriteHeader(resp.StatusCode)
	_, _ = x.w.Write(out)
	r.ttfb, r.bytes = time.Since(x.start), len(out)
	return r, nil
}

// bodyInfo is what inspectBody finds in a non-streaming body.
type bodyInfo struct {
	valid bool // the body is JSON at all
	// isErr reports an error delivered with a 2xx status (some
	// OpenAI-compatible servers do this): a top-level "error" object and
	// none of the protocols' success fields. status and message are then
	// the error's (502 unless the body names a status).
	isErr   bool
	status  int
	message string
	usage   []byte // the value of the usage member asked for; nil when absent or null
}

// inspectBody checks an upstream's non-streaming body in one strict pass
// of the scanner, and picks up the value of its usageMember on the way:
// the usage is then read from that value alone, instead of in a second
// pass over the whole body (the member comes last in OpenAI's bodies).
// A traced request's answer (non-nil) gets the members that name the
// answer's model, id and finish reason on the same pass.
func inspectBody(b []byte, usageMember string, answer *answerMembers) bodyInfo {
	var errObj, usage []byte
	success, seenUsage := false, false
	err := wirejson.Fields(b, func(k, v []byte) bool {
		if answer != nil {
			answer.note(k, v)
		}
		switch string(k) {
		case "error":
			if len(v) > 0 && v[0] == '{' {
				errObj = v
			}
		case "choices", "content", "candidates", "output", "data", "id":
			success = true
		}
		if !seenUsage && string(k) == usageMember {
			// The first occurrence, as wirejson.Member would find it.
			seenUsage = true
			if !wirejson.IsNull(v) {
				usage = v
			}
		}
		return true
	})
	if err != nil {
		return bodyInfo{valid: wirejson.Valid(b)} // JSON, but not an object
	}
	if errObj == nil || success {
		return bodyInfo{valid: true, usage: usage}
	}
	var eb struct {
		Message string `json:"message"`
		Code    any    `json:"code"`
	}
	_ = json.Unmarshal(errObj, &eb)
	info := bodyInfo{valid: true, isErr: true, status: http.StatusBadGateway, message: eb.Message}
	if c, ok := eb.Code.(float64); ok && c >= 400 && c < 600 {
		info.status = int(c)
	}
	return info
}

// relayStream relays a streaming response event by event, with creds
// scrubbed from it, flushing before each read of the upstream (see sink).
// Nothing is sent to the client until the first upstream event has
// arrived and is not an error, so that a stream failing before its first
// byte can still fail over. Once the stream started, what breaks it is
// the result's streamErr (the client got its protocol's error event), not
// a failure: there is no failover after the first byte.
func (x *exchange) relayStream(ctx context.Context, deadline *time.Timer, prov engine.Provider, up llm.Protocol, ua Adapter, resp *http.Response, creds [][]byte) (relayed, *failure) {
	defer resp.Body.Close()
	var r relayed
	// Every read of the stream happens before this function returns, and
	// nothing it read is kept (what outlives it is copied): its buffers go
	// back for the next stream.
	bufs := x.s.streams.get()
	defer x.s.streams.put(bufs)
	body := bufs.scrubbed(resp.Body, creds)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	idle := newIdleReader(body, x.s.cfg.StreamIdleTimeout, func() {
		// Cancelling ctx alone would not reach the read in progress: the
		// request was made with the attempt's context. Closing the body
		// does, and drops the silent connection.
		cancel(errIdle)
		resp.Body.Close()
	})
	defer idle.stop()
	fr := &flushBeforeRead{r: idle}
	rd := bufs.events
	rd.Reset(fr)

	first, err := firstEvent(rd)
	if err != nil {
		kind := "stream"
		if errors.Is(context.Cause(ctx), errIdle) {
			kind = "timeout"
		}
		return r, &failure{prov: prov, up: up, err: &llm.UpstreamError{Provider: prov.Name, Kind: kind, Err: err, Message: "stream ended before its first event"}}
	}
	if !opensStream(first) {
		return r, &failure{prov: prov, up: up, err: &llm.UpstreamError{Provider: prov.Name, Kind: "stream", Message: "the response is not an event stream (" + describeBody(resp.Header, first.Raw) + ")"}}
	}
	if st, typ, msg, ok := streamError(first); ok {
		// An error event in place of the first event is the provider's
		// answer with that status (overloaded = 529), classified as such.
		return r, &failure{prov: prov, up: up, err: &llm.UpstreamError{Provider: prov.Name, Kind: "http", Status: st, Type: typ, Message: msg, Body: append([]byte(nil), first.Data...)}}
	}

	// Commit: from here on there is no failover.
	deadline.Stop()
	h := x.w.Header()
	if up == x.ep.proto {
		responseHeaders(h, resp.Header)
	}
	h.Set("Content-Type", "text/event-stream")
	if x.ep.geminiArray {
		h.Set("Content-Type", "application/json")
	}
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	r.status = http.StatusOK
	x.setRouteHeaders()
	x.committed = true
	x.w.WriteHeader(http.StatusOK)
	out := newSink(x.w, x.ep.geminiArray)
	fr.out = out

	var rerr error
	if up == x.ep.proto {
		rerr = x.passStream(rd, first, out, &r)
	} else {
		rerr = x.convertStream(rd, first, ua, out, &r)
	}
	if rerr != nil && !errors.Is(rerr, io.EOF) {
		x.streamFailed(ctx, rerr, out, &r)
	}
	out.close()
	return r, nil
}

// opensStream reports whether ev can start an LLM stream: every protocol's
// events carry a JSON object as data. Anything else (an HTML page served
// as text/event-stream, random bytes) is caught here, before the first
// byte reaches the client, so that the request can still fail over.
func opensStream(ev sse.Event) bool {
	return bytes.HasPrefix(bytes.TrimSpace(ev.Data), []byte("{"))
}

// describeBody names what an upstream sent instead of the expected body:
// its content type and size, never its content (which may be anything, and
// the message can reach the client).
func describeBody(h http.Header, b []byte) string {
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "no content type"
	}
	return fmt.Sprintf("%s, %d bytes", ct, len(b))
}

// passStream forwards a same-protocol stream byte for byte, noting in r
// what it relayed.
//
// Once the client has the stream's final event (finalEvent), the answer is
// complete: a client that hangs up then (SDKs stop reading at [DONE],
// message_stop or response.completed and close the connection), or an
// upstream that breaks its connection after it, ends the relay as a
// success, not as a cancelled or broken stream.
func (x *exchange) passStream(rd *sse.Reader, ev sse.Event, out *sink, r *relayed) error {
	scan := x.ca.NewUsageScanner()
	ended := false
	partial := false // the last bytes relayed end inside an event
	for {
		scan.Observe(ev)
		if x.tr != nil {
			x.tr.noteStreamEvent(ev.Data)
			x.tr.notePassEvent(x.ca, ev)
		}
		if raw, data, send := x.ca.RelayEvent(ev, x.hideUsage); send {
			if r.ttfb == 0 && len(ev.Data) > 0 {
				r.ttfb = time.Since(x.start)
			}
			r.bytes += len(data)
			if err := out.event(raw, data); err != nil {
				return err
			}
			partial = len(raw) > 0 && !bytes.HasSuffix(raw, []byte("\n\n")) && !bytes.HasSuffix(raw, []byte("\r\n\r\n"))
			ended = ended || finalEvent(ev)
		}
		if u, ok := scan.Usage(); ok {
			r.usage, r.usageKnown = u, true
		}
		var err error
		if ev, err = rd.Next(); err != nil {
			if ended {
				return io.EOF
			}
			if errors.Is(err, io.EOF) {
				// The upstream closed a stream it never finished: a
				// truncation, not a success. A cut event is ended first,
				// so that the error event that follows parses.
				if partial {
					_ = out.write([]byte("\n\n"))
				}
				return errUnterminated
			}
			return err
		}
	}
}

// errUnterminated ends a pass-through stream that the upstream closed
// before its protocol's final event ([DONE], message_stop,
// response.completed, Gemini's chunk with a finishReason).
var errUnterminated = errors.New("the upstream closed the stream before its final event")

// finalEvent reports a stream's last event, in any protocol's shape:
// OpenAI's data: [DONE], Anthropic's message_stop, a Responses
// response.completed or response.incomplete (also from an upstream that
// writes no event: lines, by its type), or a Gemini chunk with a
// finishReason (Gemini has no closing event: its last chunk carries the
// reason). Like streamError it asks no adapter: a compatible server may
// speak another vendor's dialect. Key names are matched with their quotes,
// which no JSON formatting changes and string content cannot contain
// unescaped.
func finalEvent(ev sse.Event) bool {
	switch ev.Name {
	case "message_stop", "response.completed", "response.incomplete":
		return true
	case "":
	default:
		return false
	}
	d := bytes.TrimSpace(ev.Data)
	switch {
	case string(d) == "[DONE]":
		return true
	case bytes.Contains(d, []byte(`"finishReason"`)):
		return true
	case bytes.Contains(d, []byte(`"message_stop"`)) || bytes.Contains(d, []byte(`"response.completed"`)) || bytes.Contains(d, []byte(`"response.incomplete"`)):
		switch string(wirejson.Member(d, "type")) {
		case `"message_stop"`, `"response.completed"`, `"response.incomplete"`:
			return true
		}
	}
	return false
}

// convertStream converts an upstream stream into the client's protocol,
// one upstream event at a time, noting in r what it relayed (an error
// event from the upstream is r's streamErr). Every encoder writes the
// client's final event in Close, at the upstream's end, so nothing is
// read after it: a client that hangs up then cannot fail the relay.
func (x *exchange) convertStream(rd *sse.Reader, ev sse.Event, ua Adapter, out *sink, r *relayed) error {
	dec := ua.NewStreamDecoder()
	req, _ := x.decodeClient()
	enc := x.ca.NewStreamEncoder(req)
	var buf []byte
	emit := func(evs []llm.Event) error {
		if x.tr != nil {
			x.tr.noteEvents(evs)
		}
		buf = buf[:0]
		for i := range evs {
			e := &evs[i]
			switch e.Kind {
			case llm.EventUsage, llm.EventStart:
				if e.Usage != nil {
					r.usage, r.usageKnown = *e.Usage, true
				}
			case llm.EventError:
				r.streamErr = e.Err.Message
			}
			buf = enc.Encode(buf, *e)
		}
		if len(buf) == 0 {
			return nil
		}
		if r.ttfb == 0 {
			r.ttfb = time.Since(x.start)
		}
		r.bytes += len(buf)
		return out.write(buf)
	}
	for {
		if x.tr != nil {
			x.tr.noteStreamEvent(ev.Data)
		}
		evs, err := dec.Decode(ev)
		if err != nil {
			return err
		}
		if err := emit(evs); err != nil {
			return err
		}
		if ev, err = rd.Next(); err != nil {
			if errors.Is(err, io.EOF) {
				if err := emit(dec.Close()); err != nil {
					return err
				}
				return out.write(enc.Close(buf[:0]))
			}
			return err
		}
	}
}

// streamFailed ends a started stream with the client protocol's error
// event: the client learns the stream broke instead of seeing a silent
// end.
func (x *exchange) streamFailed(ctx context.Context, err error, out *sink, r *relayed) {
	if x.r.Context().Err() != nil || out.err != nil {
		// The client hung up (net/http may see a failed write before it
		// cancels the request's context): not the provider's fault.
		r.clientGone = true
		return
	}
	msg := "upstream stream failed: " + err.Error()
	if errors.Is(context.Cause(ctx), errIdle) {
		msg = "upstream stream stalled: no event for " + x.s.cfg.StreamIdleTimeout.String()
	}
	r.streamErr = msg
	e := &llm.Error{Status: http.StatusBadGateway, Type: llm.ErrAPI, Message: msg}
	_ = out.write(x.ca.EncodeStreamError(nil, e))
}

// streamError recognises an error delivered as a stream's first event:
// Anthropic's event: error, an OpenAI or Gemini chunk that is an error
// object, or a Responses error / response.failed event. It knows every
// protocol's shape and asks no adapter, on purpose: an OpenAI-compatible
// server may answer in another vendor's error shape, and any of them in
// place of the first event means the provider failed before its first
// byte, so the request can still fail over.
func streamError(ev sse.Event) (status int, typ, msg string, ok bool) {
	// An "error" member counts only when it is not null: some compatible
	// servers put "error": null on every chunk. Members are read by the
	// scanner, whatever the JSON's layout; this runs on the first event
	// only.
	if ev.Name == "error" || ev.Name == "response.failed" ||
		bytes.Contains(ev.Data, []byte(`"error"`)) &&
			(wirejson.Member(ev.Data, "error") != nil || string(wirejson.Member(ev.Data, "type")) == `"error"`) {
		var body struct {
			Error struct {
				Type    string `json:"type"`
				Message string `json:"message"`
				Code    any    `json:"code"`
				Status  string `json:"status"`
			} `json:"error"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(ev.Data, &body)
		status = http.StatusBadGateway
		switch {
		case body.Error.Type == "overloaded_error" || body.Error.Status == "UNAVAILABLE":
			status = 529
		case body.Error.Type == "rate_limit_error" || body.Error.Status == "RESOURCE_EXHAUSTED":
			status = http.StatusTooManyRequests
		}
		if c, isNum := body.Error.Code.(float64); isNum && c >= 400 && c < 600 {
			status = int(c)
		}
		msg = body.Error.Message
		if msg == "" {
			msg = body.Message
		}
		return status, body.Error.Type, msg, true
	}
	return 0, "", "", false
}
