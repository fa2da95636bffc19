package client

// The package's test helpers: clusters, clients (with a recorder of where
// requests went), contexts, keys and error assertions that the test files
// share. Helpers of one scenario live with its tests.

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a74b11dd/etcdkit/etcdtest"
)

// newV2Cluster starts a v2-enabled etcd 3.5 cluster of size members for
// one test; it is removed when t ends.
func newV2Cluster(t *testing.T, size int, opts ...etcdtest.Option) *etcdtest.Cluster {
	opts = append([]etcdtest.Option{etcdtest.WithVersion(etcdtest.V3_5), etcdtest.WithV2(), etcdtest.WithSize(size)}, opts...)
	return etcdtest.NewCluster(t, opts...)
}

// recorder is a transport of its own for one test, which records the host of
// every request it sends, health probes excepted.
type recorder struct {
	*http.Transport
	mu    sync.Mutex
	hosts []string
}

// newRecorder returns a recorder whose idle connections close when t ends.
func newRecorder(t testing.TB) *recorder {
	r := &recorder{Transport: DefaultTransport.(*http.Transport).Clone()}
	t.Cleanup(r.CloseIdleConnections)
	return r
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Path == "/health" {
		return r.Transport.RoundTrip(req)
	}
	r.mu.Lock()
	r.hosts = append(r.hosts, req.URL.Host)
	r.mu.Unlock()
	return r.Transport.RoundTrip(req)
}

// sent returns the hosts of the requests sent so far.
func (r *recorder) sent() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.hosts)
}

// last returns the host of the last request sent.
func (r *recorder) last() string {
	h := r.sent()
	if len(h) == 0 {
		return ""
	}
	return h[len(h)-1]
}

// attempts returns the hosts requested since the recorder had sent n.
func attempts(rec *recorder, n int) []string { return rec.sent()[n:] }

// newClient returns a client of urls with a transport of its own; cfg may
// set other fields.
func newClient(t testing.TB, urls []string, cfg Config) (Client, *recorder) {
	t.Helper()
	rec := newRecorder(t)
	cfg.Endpoints = urls
	cfg.Transport = rec
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%v): %v", urls, err)
	}
	return c, rec
}

// mustClient is newClient with a zero Config, for callers that need no
// recorder.
func mustClient(t *testing.T, urls []string) Client {
	c, _ := newClient(t, urls, Config{})
	return c
}

// clientPinnedTo returns a client of urls whose preferred endpoint is first,
// which must be one of urls: New shuffles, so try until it comes first.
func clientPinnedTo(t *testing.T, first string, urls []string, cfg Config) (Client, *recorder) {
	t.Helper()
	for range 200 {
		c, rec := newClient(t, urls, cfg)
		if c.Endpoints()[0] == first {
			return c, rec
		}
	}
	t.Fatalf("New never put %s first", first)
	return nil, nil
}

// sharedKeys returns a KeysAPI on the shared cluster.
func sharedKeys(t testing.TB) KeysAPI {
	c, _ := newClient(t, shared.ClientURLs(), Config{HeaderTimeoutPerRequest: 5 * time.Second})
	return NewKeysAPI(c)
}

// hostOf returns the host:port of a URL.
func hostOf(t testing.TB, rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// memberAt returns the member of c whose client URL has host.
func memberAt(t testing.TB, c *etcdtest.Cluster, host string) *etcdtest.Member {
	t.Helper()
	for _, m := range c.Members() {
		if hostOf(t, m.ClientURL()) == host {
			return m
		}
	}
	t.Fatalf("no member serves %s", host)
	return nil
}

// testCtx returns a context that ends with the test, bounded so that a hang
// fails the test instead of the package.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// keyDir returns a directory unique to this run of the test.
func keyDir(t testing.TB) string { return etcdtest.KeyPrefix(t) }

// key returns a key unique to this run of the test.
func key(t testing.TB, name string) string { return keyDir(t) + "/" + name }

// wantCode fails t unless err is an Error with code.
func wantCode(t *testing.T, err error, code int) Error {
	t.Helper()
	var e Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("got error %v (%T), want an Error with code %d", err, err, code)
	}
	return e
}

// wantClusterError fails t unless err is a *ClusterError of n attempt
// errors whose message starts with ErrClusterUnavailable's.
func wantClusterError(t *testing.T, err error, n int) *ClusterError {
	t.Helper()
	cerr, ok := err.(*ClusterError)
	if !ok {
		t.Fatalf("got %v (%T), want a *ClusterError", err, err)
	}
	if len(cerr.Errors) != n {
		t.Fatalf("got %d attempt errors (%s), want %d", len(cerr.Errors), cerr.Detail(), n)
	}
	if !strings.HasPrefix(cerr.Error(), ErrClusterUnavailable.Error()) {
		t.Fatalf("message %q does not start with %q", cerr.Error(), ErrClusterUnavailable)
	}
	return cerr
}

// getOnce sends GET url on a connection of its own, closed after, and
// returns the status and body.
func getOnce(t testing.TB, rawURL string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Close = true
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}
