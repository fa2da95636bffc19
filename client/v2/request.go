package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// requestKind tells the failover rules what resending a request could do.
type requestKind uint8

const (
	// kindRead changes nothing on the server: it may be sent to any
	// member, any number of times.
	kindRead requestKind = iota
	// kindWatch is a read that waits for an event: like kindRead, except
	// that HeaderTimeoutPerRequest does not apply.
	kindWatch
	// kindWrite may change the cluster's state: once any byte of it may
	// have reached a server, it is never sent again.
	kindWrite
)

// bodyType is the media type of a request body.
type bodyType uint8

const (
	bodyNone bodyType = iota
	bodyForm
	bodyJSON
)

// request is one API call's HTTP request, independent of the endpoint it is
// sent to, so that it can be sent to several in turn.
type request struct {
	method   string
	path     string // unescaped path below the endpoint's path prefix
	query    string // encoded query string, without '?', or ""
	body     string
	bodyType bodyType
	kind     requestKind
	// secret marks a body that holds a password, which cURL debugging
	// must not print.
	secret bool
	// onHeader, when set, is called with the headers of each final (not
	// redirected) response before its body is read. The watcher uses it to
	// learn where a long poll started; it may change query for the next
	// attempt.
	onHeader func(http.Header)
}

// HTTPRequest returns req for the endpoint whose base URL is ep, without a
// context; this package's own path builds requests in send.
func (req *request) HTTPRequest(ep url.URL) *http.Request {
	e := endpoint{raw: ep.String(), scheme: ep.Scheme, host: ep.Host, path: strings.TrimRight(ep.Path, "/")}
	var body io.Reader
	if req.bodyType != bodyNone {
		body = strings.NewReader(req.body)
	}
	hreq, err := http.NewRequest(req.method, requestURL(&e, req), body)
	if err != nil {
		return nil
	}
	return hreq
}

// reply is a response read in full. Replies and their buffers are pooled:
// whoever gets one from do calls release once done with body, and keeps no
// reference into body (json.Unmarshal copies what it keeps).
type reply struct {
	status int
	header http.Header
	body   []byte
}

var replyPool = sync.Pool{New: func() any { return &reply{body: make([]byte, 0, 1024)} }}

func newReply() *reply { return replyPool.Get().(*reply) }

// maxPooledBody keeps one huge response from pinning its buffer in the pool.
const maxPooledBody = 64 << 10

// maxBody bounds how much of one response the client reads into memory.
const maxBody = 512 << 20

var errBodyTooLarge = errors.New("client: response body exceeds 512 MiB")

func (r *reply) release() {
	if cap(r.body) > maxPooledBody {
		r.body = make([]byte, 0, 1024)
	}
	r.status, r.header, r.body = 0, nil, r.body[:0]
	replyPool.Put(r)
}

// read reads resp in full into r and closes its body. Reading to the end
// lets the transport reuse the connection.
func (r *reply) read(resp *http.Response) error {
	defer resp.Body.Close()
	r.status, r.header = resp.StatusCode, resp.Header
	buf := r.body[:0]
	if n := resp.ContentLength; n > int64(cap(buf)) && n <= maxBody {
		buf = make([]byte, 0, n+1) // +1: room to see io.EOF without growing
	}
	for {
		if len(buf) == cap(buf) {
			if len(buf) >= maxBody {
				r.body = buf[:0]
				return errBodyTooLarge
			}
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := resp.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			r.body = buf
			return nil
		}
		if err != nil {
			r.body = buf[:0]
			return err
		}
	}
}

// requestURL returns the absolute URL of req on ep.
func requestURL(ep *endpoint, req *request) string {
	p := req.path
	if ep.path != "" {
		p = ep.path + p
	}
	u := url.URL{Path: p}
	escaped := u.EscapedPath()
	var b strings.Builder
	b.Grow(len(ep.scheme) + 3 + len(ep.host) + len(escaped) + 1 + len(req.query))
	b.WriteString(ep.scheme)
	b.WriteString("://")
	b.WriteString(ep.host)
	b.WriteString(escaped)
	if req.query != "" {
		b.WriteByte('?')
		b.WriteString(req.query)
	}
	return b.String()
}

// headerTimeoutError reports an attempt that got no response headers within
// Config.HeaderTimeoutPerRequest. It deliberately does not wrap
// context.DeadlineExceeded, which belongs to the caller's context.
type headerTimeoutError struct{ endpoint string }

func (e *headerTimeoutError) Error() string {
	return "client: endpoint " + e.endpoint + " exceeded header timeout"
}

// Timeout reports true, as net.Error timeouts do.
func (e *headerTimeoutError) Timeout() bool { return true }

var errNoLocation = errors.New("client: redirect response without a Location header")

// send makes one attempt of req on ep, following redirects, and reads the
// final response into rep, whatever its status. It reports whether any byte
// of req may have reached a server (a redirect proves the redirecting server
// did not act, so only the last hop counts). When ctx ends, send returns
// ctx.Err() itself.
func (c *httpClusterClient) send(ctx context.Context, ep *endpoint, req *request, rep *reply) (sent bool, err error) {
	actx := ctx
	var timer *time.Timer
	if c.headerTimeout > 0 && req.kind != kindWatch {
		var cancel context.CancelFunc
		actx, cancel = context.WithCancel(ctx)
		defer cancel()
		timer = time.AfterFunc(c.headerTimeout, cancel)
		defer timer.Stop()
	}
	// Whether a write may have left is known from whether the transport
	// got a connection: before that, nothing was written anywhere. Reads
	// are resent regardless, so they skip the cost of the trace.
	var gotConn atomic.Bool
	if req.kind == kindWrite {
		actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{
			GotConn: func(httptrace.GotConnInfo) { gotConn.Store(true) },
		})
	}
	fail := func(target string, err error) (bool, error) {
		switch {
		case ctx.Err() != nil:
			return gotConn.Load(), ctx.Err()
		case actx.Err() != nil:
			return gotConn.Load(), &headerTimeoutError{endpoint: ep.raw}
		}
		return gotConn.Load(), &url.Error{Op: req.method, URL: target, Err: err}
	}

	target := requestURL(ep, req)
	for via := 0; ; via++ {
		var body io.Reader
		if req.bodyType != bodyNone {
			body = strings.NewReader(req.body)
		}
		hreq, err := http.NewRequestWithContext(actx, req.method, target, body)
		if err != nil {
			return false, err
		}
		hreq.Header = c.headers.forType(req.bodyType)
		if cURLDebug.Load() {
			printCURL(hreq, req, c.username)
		}
		gotConn.Store(false)
		resp, err := c.transport.RoundTrip(hreq)
		if err != nil {
			return fail(target, err)
		}
		if resp.StatusCode/100 == 3 {
			loc := resp.Header.Get("Location")
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			if loc == "" {
				return true, &url.Error{Op: req.method, URL: target, Err: errNoLocation}
			}
			if err := c.checkRedirect(via + 1); err != nil {
				return false, err
			}
			next, err := hreq.URL.Parse(loc)
			if err != nil {
				return false, &url.Error{Op: req.method, URL: target, Err: err}
			}
			target = next.String()
			continue
		}
		if timer != nil && !timer.Stop() {
			// The timer fired as the headers arrived: the body read
			// would fail, so count the attempt as timed out now.
			resp.Body.Close()
			return fail(target, context.Canceled)
		}
		if req.onHeader != nil {
			req.onHeader(resp.Header)
		}
		if err := rep.read(resp); err != nil {
			return fail(target, err)
		}
		return true, nil
	}
}

func (h *headerSet) forType(t bodyType) http.Header {
	switch t {
	case bodyForm:
		return h.form
	case bodyJSON:
		return h.json
	}
	return h.plain
}
