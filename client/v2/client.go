package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/version"

	"github.com/a74b11dd/etcdkit/internal/attemptclock"
	"github.com/a74b11dd/etcdkit/internal/latency"
	"github.com/a74b11dd/etcdkit/internal/wake"
)

// DefaultRequestTimeout is a conventional overall timeout for one call. The
// client applies no overall timeout by itself: put one on the call's context.
var DefaultRequestTimeout = 5 * time.Second

// CancelableTransport is an http.RoundTripper that can also cancel a request
// in flight, as net/http.Transport can. The client cancels through each
// request's context, which every net/http transport honours, and never calls
// CancelRequest; the method is kept so that existing transports fit.
type CancelableTransport interface {
	http.RoundTripper
	CancelRequest(req *http.Request)
}

// DefaultTransport is the transport used when Config.Transport is nil.
//
// Unlike net/http's default, it keeps up to 256 idle connections per member:
// a program that issues many concurrent calls then reuses its connections
// instead of closing all but two after each burst and dialling again, which
// under load fills the machine with TIME_WAIT sockets and costs a TCP (and
// TLS) handshake per call. It closes a connection that stayed idle for 90
// seconds, as net/http's default transport does, so that what a burst left
// open does not stay open for good.
var DefaultTransport CancelableTransport = &http.Transport{
	Proxy: http.ProxyFromEnvironment,
	DialContext: (&net.Dialer{
		Timeout:   30 * time.Second,
		KeepAlive: 30 * time.Second,
	}).DialContext,
	TLSHandshakeTimeout: 10 * time.Second,
	MaxIdleConnsPerHost: 256,
	IdleConnTimeout:     90 * time.Second,
}

// CheckRedirectFunc decides whether to follow one more HTTP redirect; via is
// the number of requests already made for the call on that endpoint. A
// non-nil error stops the call with that error.
type CheckRedirectFunc func(via int) error

// DefaultCheckRedirect follows up to 10 redirects, but no more.
var DefaultCheckRedirect CheckRedirectFunc = func(via int) error {
	if via > 10 {
		return ErrTooManyRedirects
	}
	return nil
}

// EndpointSelectionMode is the policy for choosing the member that requests
// go to first.
type EndpointSelectionMode int

const (
	// EndpointSelectionRandom, the default, shuffles the endpoints once and
	// sticks to the first one that works.
	EndpointSelectionRandom EndpointSelectionMode = iota

	// EndpointSelectionPrioritizeLeader sends requests to the leader first,
	// which saves followers forwarding writes. The client learns who leads
	// only in Sync, so a client in this mode should run AutoSync to follow
	// leader changes; between syncs, a failed leader is replaced by the other
	// endpoints in turn until it recovers.
	EndpointSelectionPrioritizeLeader
)

// Config configures a Client.
type Config struct {
	// Endpoints are the base URLs (scheme, host, port and an optional path
	// prefix) of the cluster's members, for example
	// "http://node1.example.com:2379". A call tries them in turn until one
	// works. Sync may replace them with the members' advertised client URLs.
	Endpoints []string

	// Transport sends the HTTP requests; nil means DefaultTransport.
	Transport CancelableTransport

	// CheckRedirect decides whether to follow a redirect; nil means
	// DefaultCheckRedirect.
	CheckRedirect CheckRedirectFunc

	// Username, when not empty, is sent with Password as HTTP basic
	// authentication on every request.
	Username string

	// Password goes with Username.
	Password string

	// HeaderTimeoutPerRequest bounds how long one attempt on one endpoint
	// may take to get response headers, redirects and connecting included.
	// An attempt that exceeds it counts as a failed endpoint, and the call
	// moves to the next endpoint where that is safe (see the package
	// documentation). Watch requests ignore it: they wait for an event by
	// design. Zero means no limit for writes, and, for reads, a limit the
	// client derives from the latency of recent reads (at least a second;
	// see the package documentation). Bound the whole call with its
	// context.
	HeaderTimeoutPerRequest time.Duration

	// SelectionMode chooses the member requests go to first.
	SelectionMode EndpointSelectionMode
}

// Client is a connection to an etcd cluster over the v2 HTTP API. It is safe
// for concurrent use. Build one with New and hand it to NewKeysAPI,
// NewMembersAPI, NewAuthAPI, NewAuthUserAPI or NewAuthRoleAPI.
type Client interface {
	// Sync replaces the endpoints with the client URLs that the cluster's
	// members advertise. In EndpointSelectionPrioritizeLeader mode it also
	// asks who leads and sends requests there first.
	Sync(context.Context) error

	// AutoSync calls Sync every interval until ctx ends or a Sync fails, and
	// returns that error (ctx.Err() when ctx ended). An interval between ten
	// seconds and a minute follows membership changes without loading the
	// cluster. Run it in its own goroutine, in a loop:
	//
	//	for {
	//		err := c.AutoSync(ctx, 10*time.Second)
	//		if err == context.DeadlineExceeded || err == context.Canceled {
	//			break
	//		}
	//		log.Print(err)
	//	}
	AutoSync(context.Context, time.Duration) error

	// Endpoints returns a copy of the endpoints in the order the client
	// tries them after its preferred one.
	Endpoints() []string

	// SetEndpoints replaces the endpoints. It fails, changing nothing, if
	// eps is empty or holds a string that does not parse as a URL.
	SetEndpoints(eps []string) error

	// GetVersion asks a member for its server and cluster versions.
	GetVersion(ctx context.Context) (*version.Versions, error)

	httpClient
}

// httpClient is how the APIs of this package send their requests. Its
// action type is unexported, which seals Client: only this package
// implements it, and other types satisfy it only by embedding a Client.
type httpClient interface {
	// Do sends act to the cluster under the failover rules of do, and
	// returns the response with its body already read.
	Do(context.Context, httpAction) (*http.Response, []byte, error)

	// cluster returns the client that Do sends through. A type that embeds
	// a Client (a wrapper for metrics, say) inherits it as it inherits Do,
	// so the APIs reach the same client through any such wrapper.
	cluster() *httpClusterClient
}

// httpAction is a request that can be sent to any endpoint.
type httpAction interface {
	// HTTPRequest returns the request for the endpoint whose base URL is
	// ep, or nil if there is none.
	HTTPRequest(ep url.URL) *http.Request
}

// impl returns the implementation behind c, which is always this package's
// (Client is sealed), however c wraps it; the APIs use its allocation-lean
// internal path, which Do also takes.
func impl(c Client) *httpClusterClient { return c.cluster() }

func (c *httpClusterClient) cluster() *httpClusterClient { return c }

func (c *httpClusterClient) Do(ctx context.Context, act httpAction) (*http.Response, []byte, error) {
	req, ok := act.(*request)
	if !ok || req == nil {
		return nil, nil, ErrNoRequest
	}
	rep, err := c.do(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	defer rep.release()
	resp := &http.Response{
		Status:     strconv.Itoa(rep.status) + " " + http.StatusText(rep.status),
		StatusCode: rep.status,
		Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: rep.header,
		Body:   http.NoBody,
	}
	return resp, bytes.Clone(rep.body), nil
}

// New returns a Client for cfg. It does no I/O: the first call contacts the
// cluster.
func New(cfg Config) (Client, error) {
	c := &httpClusterClient{
		transport:     cfg.Transport,
		checkRedirect: cfg.CheckRedirect,
		headerTimeout: cfg.HeaderTimeoutPerRequest,
		selection:     cfg.SelectionMode,
	}
	if c.transport == nil {
		c.transport = DefaultTransport
	}
	if c.checkRedirect == nil {
		c.checkRedirect = DefaultCheckRedirect
	}
	c.headers = newHeaderSet(cfg.Username, cfg.Password)
	if err := c.SetEndpoints(cfg.Endpoints); err != nil {
		return nil, err
	}
	c.startProber()
	return c, nil
}

// httpClusterClient is the one Client implementation.
type httpClusterClient struct {
	transport     CancelableTransport
	checkRedirect CheckRedirectFunc
	headerTimeout time.Duration
	selection     EndpointSelectionMode
	headers       headerSet

	// state is replaced, never modified, so that requests read it without
	// a lock; syncMu serializes the writers that rebuild it from scratch.
	state  atomic.Pointer[endpointState]
	syncMu sync.Mutex

	prober     probeState
	clock      attemptclock.Clock
	lat        latency.Estimator
	recoveries atomic.Uint64  // how many times an endpoint came back up
	recovery   wake.Broadcast // signalled after each of those
	// failedAt is when a call last found a member failing, in unix
	// nanoseconds: a write goes only to a member that proved it can commit
	// since (writeCheck).
	failedAt atomic.Int64
	// floor is the highest X-Etcd-Index the client has received: a read
	// answered below it comes from a member that lags (see do).
	floor atomic.Uint64
}

// endpointState is an immutable list of endpoints with the index of the
// preferred one.
type endpointState struct {
	eps    []endpoint
	pinned int
	// leader marks pinned as the leader a Sync found in PrioritizeLeader
	// mode: the user asked for it, so it is kept while healthy even when
	// another member answers faster.
	leader bool
}

// endpoint is one parsed base URL.
type endpoint struct {
	raw    string // as given, for Endpoints and error messages
	scheme string
	host   string
	path   string // path prefix without a trailing slash, or ""
	h      *record
}

// parseEndpoint parses s as the official client does: anything url.Parse
// accepts is an endpoint. One that is not an http or https base URL fails
// when a request is sent to it, with the transport's error, unless the
// Config's Transport knows how to reach it (a custom scheme, say).
func parseEndpoint(s string) (endpoint, error) {
	u, err := url.Parse(s)
	if err != nil {
		return endpoint{}, err
	}
	p := u.Path
	for len(p) > 0 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	return endpoint{raw: u.String(), scheme: u.Scheme, host: u.Host, path: p}, nil
}

func parseEndpoints(eps []string) ([]endpoint, error) {
	if len(eps) == 0 {
		return nil, ErrNoEndpoints
	}
	out := make([]endpoint, 0, len(eps))
	for _, s := range eps {
		ep, err := parseEndpoint(s)
		if err != nil {
			return nil, err
		}
		out = append(out, ep)
	}
	return out, nil
}

func (c *httpClusterClient) SetEndpoints(eps []string) error {
	parsed, err := parseEndpoints(eps)
	if err != nil {
		return err
	}
	rand.Shuffle(len(parsed), func(i, j int) { parsed[i], parsed[j] = parsed[j], parsed[i] })
	c.syncMu.Lock()
	var old []endpoint
	if cur := c.state.Load(); cur != nil {
		old = cur.eps
	}
	if adoptHealth(parsed, old) == 0 {
		// No endpoint in common: probably another cluster, whose
		// indexes say nothing about the one the client knew.
		c.floor.Store(0)
	}
	c.state.Store(&endpointState{eps: parsed})
	c.syncMu.Unlock()
	return nil
}

func (c *httpClusterClient) Endpoints() []string {
	st := c.state.Load()
	out := make([]string, len(st.eps))
	for i, ep := range st.eps {
		out[i] = ep.raw
	}
	return out
}

// pin makes index k of st the preferred endpoint, unless the endpoints were
// replaced meanwhile: then the newer state wins. The leader a Sync chose in
// PrioritizeLeader mode stays preferred: while it is unhealthy the calls go
// elsewhere (pick), and they return to it once it recovers, instead of
// staying on whichever member answered until the next Sync.
func (c *httpClusterClient) pin(st *endpointState, k int) {
	if st.pinned == k || st.leader {
		return
	}
	c.state.CompareAndSwap(st, &endpointState{eps: st.eps, pinned: k})
}

func (c *httpClusterClient) Sync(ctx context.Context) error {
	members, err := NewMembersAPI(c).List(ctx)
	if err != nil {
		return err
	}
	var urls []string
	for _, m := range members {
		urls = append(urls, m.ClientURLs...)
	}
	eps, err := parseEndpoints(urls)
	if err != nil {
		return err
	}
	pinned := 0
	switch c.selection {
	case EndpointSelectionRandom:
	case EndpointSelectionPrioritizeLeader:
		adoptHealth(eps, c.state.Load().eps)
		if pinned, err = c.leaderIndex(ctx, eps); err != nil {
			return err
		}
	default:
		return errors.New("invalid endpoint selection mode: " + strconv.Itoa(int(c.selection)))
	}

	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	cur := c.state.Load()
	if c.selection == EndpointSelectionRandom {
		if sameEndpoints(cur.eps, eps) {
			// Keep the order and the preferred endpoint: moving every
			// client of a stable cluster on each sync would only cost
			// connections.
			return nil
		}
		rand.Shuffle(len(eps), func(i, j int) { eps[i], eps[j] = eps[j], eps[i] })
		adoptHealth(eps, cur.eps)
	}
	c.state.Store(&endpointState{eps: eps, pinned: pinned, leader: c.selection == EndpointSelectionPrioritizeLeader})
	return nil
}

// leaderIndex asks the members at eps, in their order, which of them leads,
// and returns its index in eps; 0 when its client URL is not among them.
// Any failure to learn the leader is ErrNoLeaderEndpoint, the official
// client's answer. While the cluster elects a leader, the call waits for
// the election as a read does (see do).
func (c *httpClusterClient) leaderIndex(ctx context.Context, eps []endpoint) (int, error) {
	var leader Member
	req := &request{method: http.MethodGet, path: membersPrefix + "/leader", kind: kindRead}
	if err := c.decodeOn(ctx, &endpointState{eps: eps}, req, membersLeaderReply(&leader)); err != nil {
		return 0, ErrNoLeaderEndpoint
	}
	if len(leader.ClientURLs) == 0 {
		return 0, ErrNoLeaderEndpoint
	}
	k := slices.IndexFunc(eps, func(ep endpoint) bool { return ep.raw == leader.ClientURLs[0] })
	return max(k, 0), nil
}

// sameEndpoints reports whether a and b hold the same URLs, as many times
// each, in any order.
func sameEndpoints(a, b []endpoint) bool {
	if len(a) != len(b) {
		return false
	}
	sa, sb := make([]string, len(a)), make([]string, len(b))
	for i := range a {
		sa[i], sb[i] = a[i].raw, b[i].raw
	}
	slices.Sort(sa)
	slices.Sort(sb)
	return slices.Equal(sa, sb)
}

// AutoSync syncs at once, then every interval, as the official client does:
// a client started on a seed list learns the members before its first
// interval has passed.
func (c *httpClusterClient) AutoSync(ctx context.Context, interval time.Duration) error {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		if err := c.Sync(ctx); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
	}
}

func (c *httpClusterClient) GetVersion(ctx context.Context) (*version.Versions, error) {
	var v version.Versions
	if err := c.decode(ctx, &request{method: http.MethodGet, path: "/version", kind: kindRead}, versionReply(&v)); err != nil {
		return nil, err
	}
	return &v, nil
}

// headerSet holds the request headers a client sends, built once: requests
// share these maps, which nothing modifies after New (an http.RoundTripper
// must not modify its request).
type headerSet struct {
	plain, form, json http.Header
}

func newHeaderSet(username, password string) headerSet {
	mk := func(contentType string) http.Header {
		h := http.Header{}
		if contentType != "" {
			h["Content-Type"] = []string{contentType}
		}
		if username != "" {
			cred := base64.StdEncoding.EncodeToString([]byte(username + ":" + password))
			h["Authorization"] = []string{"Basic " + cred}
		}
		return h
	}
	return headerSet{
		plain: mk(""),
		form:  mk("application/x-www-form-urlencoded"),
		json:  mk("application/json"),
	}
}
