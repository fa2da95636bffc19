package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/a74b11dd/etcdkit/internal/attemptclock"
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
	// oneShot marks a request that the official client sends to one
	// endpoint only (Create, Delete): when it fails, the call returns the
	// failed attempt's own error, not a *ClusterError, as the official
	// client does. It still moves on from an endpoint it never reached.
	oneShot bool
	// onHeader, when set, is called with the status and headers of each
	// final (not redirected) response before its body is read. The watcher
	// uses it to learn where a long poll started; it may change query for
	// the next attempt.
	onHeader func(status int, h http.Header)
	// replies reads what the failover engine needs of the API's replies;
	// nil for replies that show no index (see replyChecks).
	replies replyChecks
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
// reference into body unless owned is set (json.Unmarshal copies what it
// keeps).
type reply struct {
	status int
	header http.Header
	body   []byte
	// owned is set when body is a buffer of this reply's own, too large
	// for the pool: a decoder may keep strings that point into it, and
	// release forgets it instead of reusing it.
	owned bool
	// pooled is the pool's buffer, kept while body is an owned one.
	pooled []byte
}

var replyPool = sync.Pool{New: func() any { return &reply{body: make([]byte, 0, 1024)} }}

func newReply() *reply { return replyPool.Get().(*reply) }

// maxPooledBody is the largest buffer the pool keeps. Up to it, a body is
// read into a pooled buffer, which the decoder copies only the strings out
// of, and which the next reply reuses: a large reply then costs its
// decoded size in new memory, not its body size, and no page the kernel
// has to provide afresh. (Reading each large body into a buffer of its own,
// which the reply then pointed into, cost 1.5 times the CPU for a 230 KB
// recursive get with 4 or 64 callers, most of it in page faults and in the
// runtime returning the freed buffers to the OS.) A larger body is read into
// a buffer of its own, which the reply points into, and which is forgotten
// after it.
const maxPooledBody = 4 << 20

// hintedBody is the body size from which the next body of a path whose
// length is not said is expected to be as large (see bodyHints).
const hintedBody = 64 << 10

// maxBody bounds how much of one response the client reads into memory.
const maxBody = 512 << 20

var errBodyTooLarge = errors.New("client: response body exceeds 512 MiB")

// bodyHints remember, by request path, the size of the last body larger
// than hintedBody (0 after a smaller one): the guess for the next body of
// that path whose length the server does not say (etcd sends large replies
// chunked). Paths share 64 slots by hash; a wrong guess costs one
// allocation of the wrong size, and is then corrected.
var bodyHints [64]atomic.Int64

func bodyHint(resp *http.Response) *atomic.Int64 {
	path := ""
	if resp.Request != nil && resp.Request.URL != nil {
		path = resp.Request.URL.Path
	}
	h := uint32(2166136261)
	for i := 0; i < len(path); i++ {
		h = (h ^ uint32(path[i])) * 16777619
	}
	return &bodyHints[h%uint32(len(bodyHints))]
}

func (r *reply) release() {
	if r.owned {
		r.body, r.pooled, r.owned = r.pooled, nil, false
	}
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
	// hint is the guess at the size of a body of unknown length.
	var hint *atomic.Int64
	switch n := resp.ContentLength; {
	case n < 0:
		hint = bodyHint(resp)
		if h := int(hint.Load()); h > cap(buf) && h <= maxBody {
			buf = r.grow(buf, h+h/16+1)
		}
	case n > int64(cap(buf)) && n <= maxBody:
		buf = r.grow(buf, int(n)+1) // +1: room to see io.EOF without growing
	}
	for {
		if len(buf) == cap(buf) {
			if len(buf) >= maxBody {
				r.body = buf[:0]
				return errBodyTooLarge
			}
			buf = r.grow(buf, 2*cap(buf))
		}
		n, err := resp.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			r.body = buf
			switch {
			case hint == nil:
			case len(buf) > hintedBody:
				hint.Store(int64(len(buf)))
			case hint.Load() != 0:
				hint.Store(0)
			}
			return nil
		}
		if err != nil {
			r.body = buf[:0]
			return err
		}
	}
}

// grow returns buf with room for at least want bytes. Up to maxPooledBody
// the pool's buffer grows; past it, the body moves once to a buffer of its
// own.
func (r *reply) grow(buf []byte, want int) []byte {
	want = min(want, maxBody+1)
	if want <= maxPooledBody || r.owned {
		return slices.Grow(buf, want-len(buf))
	}
	r.pooled, r.owned = buf[:0], true
	owned := make([]byte, len(buf), want)
	copy(owned, buf)
	return owned
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

// requestURLOf returns the URL that parsing requestURL(ep, req) gives. It
// returns a value so that the caller decides where the URL lives (send keeps
// it in the attempt's guard, saving an allocation).
func requestURLOf(ep *endpoint, req *request) url.URL {
	p := req.path
	if ep.path != "" {
		p = ep.path + p
	}
	return url.URL{Scheme: ep.scheme, Host: ep.host, Path: p, RawQuery: req.query}
}

// headerTimeoutError reports an attempt that got no response headers within
// its deadline: Config.HeaderTimeoutPerRequest, or the one a read derives
// from recent latency. It deliberately does not wrap
// context.DeadlineExceeded, which belongs to the caller's context. Its text
// is the official client's, which callers may match; after says how long
// the deadline was, for this package's tests.
type headerTimeoutError struct {
	endpoint string
	after    time.Duration
}

func (e *headerTimeoutError) Error() string {
	return "client: endpoint " + e.endpoint + " exceeded header timeout"
}

// Timeout reports true, as net.Error timeouts do.
func (e *headerTimeoutError) Timeout() bool { return true }

// unhealthyError reports a read or watch moved off its endpoint because the
// probe found the endpoint down while the request was in flight.
type unhealthyError struct{ endpoint string }

func (e *unhealthyError) Error() string {
	return "client: endpoint " + e.endpoint + " failed its health probe while the request was in flight"
}

// movedError reports a read or watch sent to an unhealthy endpoint (all
// were) and resent when an endpoint recovered.
type movedError struct{ endpoint string }

func (e *movedError) Error() string {
	return "client: request to unhealthy endpoint " + e.endpoint + " resent after an endpoint recovered"
}

// isCut reports whether err is an attempt that the client cut short: the
// member may be alive, only silent or unable to serve now.
func isCut(err error) bool {
	switch err.(type) {
	case *headerTimeoutError, *unhealthyError, *movedError:
		return true
	}
	return false
}

// guard cuts one attempt short: when its deadline (bound, if not zero)
// passes before the response headers arrive, and, for reads and watches
// (health), when its endpoint's health says it should move. The client's
// attempt clock checks it at the deadline and every checkInterval, so that
// an attempt that ends quickly costs no timer of its own.
//
// A guard is also where send keeps the rest of the attempt's small state
// (the first hop's URL, the write's connection trace), so that an attempt
// allocates it all at once: it lives as long as the attempt anyway.
type guard struct {
	ep     *endpoint
	bound  time.Duration
	health bool

	// set by send
	start      time.Time
	wasDown    bool
	recoveries uint64
	recovered  *atomic.Uint64
	cancel     context.CancelCauseFunc
	headers    atomic.Bool
	// latency is how long the response headers took, once they came.
	latency time.Duration

	// The client's attempt clock's record of the attempt.
	clock attemptclock.Entry

	// url is the first hop's URL. The transport may keep a reference to
	// it until the response body is read, so it is never reused.
	url url.URL
	// gotConn records, for a write, whether the transport obtained a
	// connection for it (see send); trace is what tells it.
	gotConn atomic.Bool
	trace   httptrace.ClientTrace
}

func (g *guard) onGotConn(httptrace.GotConnInfo) { g.gotConn.Store(true) }

// active reports whether g has anything to watch.
func (g *guard) active() bool { return g.bound > 0 || g.health }

// firstCheck returns when g, whose attempt began at g.start, is first
// checked; zero if never.
func (g *guard) firstCheck() time.Time {
	d, ok := checkInterval, g.health
	if g.bound > 0 && (!ok || g.bound < d) {
		d, ok = g.bound, true
	}
	if !ok {
		return time.Time{}
	}
	return g.start.Add(d)
}

// nextCheck returns how long until g must be checked again, or false if
// never.
func (g *guard) nextCheck() (time.Duration, bool) {
	d, ok := checkInterval, g.health
	if g.bound > 0 && !g.headers.Load() {
		left := g.bound - time.Since(g.start)
		if !ok || left < d {
			d, ok = left, true
		}
	}
	return d, ok
}

// check cuts the attempt if it must be, and otherwise returns when to check
// again, as nextCheck does. The attempt clock calls it.
func (g *guard) Check() (time.Duration, bool) {
	if g.bound > 0 && !g.headers.Load() && time.Since(g.start) >= g.bound {
		g.cancel(&headerTimeoutError{endpoint: g.ep.raw, after: g.bound})
		return 0, false
	}
	if g.health {
		if !g.wasDown && g.ep.h.IsDown() {
			g.cancel(&unhealthyError{endpoint: g.ep.raw})
			return 0, false
		}
		// Sent to an endpoint already down, because all were, the
		// attempt may wait for nothing: a member without a leader can
		// lose a quorum read. Once any endpoint recovers, resend.
		if g.wasDown && g.recovered.Load() != g.recoveries {
			g.cancel(&movedError{endpoint: g.ep.raw})
			return 0, false
		}
	}
	return g.nextCheck()
}

// The errors of a redirect that cannot be followed, with the official
// client's texts.
var (
	errNoLocation = errors.New("location header not set")
	// errTooManyRedirectChecks ends an attempt after maxHops requests even
	// when CheckRedirect would go on.
	errTooManyRedirectChecks = errors.New("client: too many redirect checks")
)

// maxHops is how many requests one attempt makes at most, redirects
// included, whatever CheckRedirect says.
const maxHops = 100

// send makes one attempt of req on g.ep, under g, following redirects, and
// reads the final response into rep, whatever its status. It reports whether
// any byte of req may have reached a server (a redirect proves the
// redirecting server did not act, so only the last hop counts). When ctx
// ends, send returns ctx.Err() itself; when g cuts the attempt short, the
// reason; otherwise the transport's or the body read's error as is, as the
// official client reports it (a *net.OpError when the member cannot be
// dialled).
func (c *httpClusterClient) send(ctx context.Context, g *guard, req *request, rep *reply) (sent bool, err error) {
	ep := g.ep
	actx := ctx
	if g.active() {
		var cancel context.CancelCauseFunc
		actx, cancel = context.WithCancelCause(ctx)
		g.start, g.cancel = time.Now(), cancel
		g.wasDown, g.recovered = ep.h.IsDown(), &c.recoveries
		g.recoveries = c.recoveries.Load()
		c.clock.Add(&g.clock, g, g.firstCheck())
		defer func() {
			c.clock.Remove(&g.clock)
			cancel(nil)
		}()
	}
	// Whether a write may have left is known from whether the transport
	// got a connection: before that, nothing was written anywhere. Reads
	// are resent regardless, so they skip the cost of the trace.
	gotConn := &g.gotConn
	if req.kind == kindWrite {
		g.trace.GotConn = g.onGotConn
		actx = httptrace.WithClientTrace(actx, &g.trace)
	}
	fail := func(err error) (bool, error) {
		switch {
		case ctx.Err() != nil:
			return gotConn.Load(), ctx.Err()
		case actx.Err() != nil:
			return gotConn.Load(), context.Cause(actx)
		}
		return gotConn.Load(), err
	}

	// target is "" until a redirect: the first hop's URL is built as a
	// url.URL, which saves formatting a string for NewRequest to parse.
	target := ""
	for via := 0; ; via++ {
		hreq, err := c.hop(actx, g, req, target)
		if err != nil {
			return false, err
		}
		gotConn.Store(false)
		resp, err := c.transport.RoundTrip(hreq)
		if err != nil {
			return fail(err)
		}
		if resp.StatusCode/100 == 3 {
			next, sent, err := c.follow(resp, hreq, via+1)
			if err != nil {
				return sent, err
			}
			target = next
			continue
		}
		if g.active() {
			g.headers.Store(true)
			g.latency = time.Since(g.start)
			if actx.Err() != nil {
				// Cut as the headers arrived: the body read would
				// fail, so count the attempt as cut now.
				resp.Body.Close()
				return fail(context.Canceled)
			}
		}
		if req.onHeader != nil {
			req.onHeader(resp.StatusCode, resp.Header)
		}
		if err := rep.read(resp); err != nil {
			return fail(err)
		}
		return true, nil
	}
}

// hop builds the HTTP request of one hop of an attempt under g: the first
// from g's URL, a redirected one from target.
func (c *httpClusterClient) hop(actx context.Context, g *guard, req *request, target string) (*http.Request, error) {
	var hreq *http.Request
	if target == "" {
		g.url = requestURLOf(g.ep, req)
		hreq = newHTTPRequest(actx, req, &g.url, strings.TrimSuffix(g.ep.host, ":"))
	} else {
		var body io.Reader
		if req.bodyType != bodyNone {
			body = strings.NewReader(req.body)
		}
		var err error
		hreq, err = http.NewRequestWithContext(actx, req.method, target, body)
		if err != nil {
			return nil, err
		}
	}
	hreq.Header = c.headers.forType(req.bodyType)
	if cURLDebug.Load() {
		printCURL(hreq, req)
	}
	return hreq, nil
}

// follow reads resp, the redirect that hreq got, and returns where it
// points for hop number via (from 1) of the attempt. When it returns an
// error, the attempt ends with it, and sent says whether the request may
// have been acted on. The errors, and when CheckRedirect is asked, are the
// official client's.
func (c *httpClusterClient) follow(resp *http.Response, hreq *http.Request, via int) (next string, sent bool, err error) {
	loc := resp.Header.Get("Location")
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if loc == "" {
		return "", true, errNoLocation
	}
	u, err := hreq.URL.Parse(loc)
	if err != nil {
		return "", false, errors.New("location header not valid URL: " + loc)
	}
	if via >= maxHops {
		return "", false, errTooManyRedirectChecks
	}
	if err := c.checkRedirect(via); err != nil {
		return "", false, err
	}
	return u.String(), false, nil
}

// newHTTPRequest returns the request that http.NewRequestWithContext would
// build for req at u, whose host is host without an empty port, but without
// parsing a URL string or making a header map that the caller replaces.
func newHTTPRequest(ctx context.Context, req *request, u *url.URL, host string) *http.Request {
	r := http.Request{
		Method: req.method, URL: u, Host: host,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
	}
	if req.bodyType != bodyNone {
		body := req.body
		r.ContentLength = int64(len(body))
		// As NewRequest does: an empty body is NoBody, and GetBody lets
		// the transport resend the body on a fresh connection.
		if body == "" {
			r.Body = http.NoBody
			r.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
		} else {
			// A *strings.Reader under io.NopCloser, which net/http
			// knows to be in memory: it then writes the headers and the
			// body in one go.
			r.Body = io.NopCloser(strings.NewReader(body))
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
		}
	}
	return r.WithContext(ctx)
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
