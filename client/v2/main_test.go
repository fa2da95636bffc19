package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a74b11dd/etcdkit/etcdtest"
	"go.uber.org/goleak"
)

// shared is the cluster that tests which break nothing use, each under keys
// of its own (see key). Tests that inject faults start their own.
var shared *etcdtest.Cluster

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	c, err := etcdtest.Start(ctx, etcdtest.WithVersion(etcdtest.V3_5), etcdtest.WithV2(), etcdtest.WithSize(3))
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the shared etcd cluster:", err)
		os.Exit(1)
	}
	shared = c
	code := m.Run()
	shared.Close()
	// Every client's prober ends by itself once the client is idle; wait
	// for that rather than count them as leaks.
	if err := waitProbersEnded(10 * time.Second); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	// Connections idle in the package-wide transport would count as
	// leaked goroutines.
	DefaultTransport.(*http.Transport).CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// testRuns numbers each run of a test, so that -count=N reruns against
// the shared cluster get fresh keys too.
var (
	testRuns sync.Map // testing.TB -> int64
	lastRun  atomic.Int64
)

// keyDir returns a directory unique to this run of the test.
func keyDir(t testing.TB) string {
	run, _ := testRuns.LoadOrStore(t, lastRun.Add(1))
	return fmt.Sprintf("/%s.%d", t.Name(), run)
}

// key returns a key unique to this run of the test.
func key(t testing.TB, name string) string { return keyDir(t) + "/" + name }

// testCtx returns a context that ends with the test, bounded so that a hang
// fails the test instead of the package.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitProbersEnded waits until no client has a prober goroutine.
func waitProbersEnded(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for probersRunning.Load() > 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d probers still running %v after the last test", probersRunning.Load(), limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// recorder is a transport of its own for one test, which records the host of
// every request it sends, health probes excepted.
type recorder struct {
	*http.Transport
	mu    sync.Mutex
	hosts []string
}

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
