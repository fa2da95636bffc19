package clientv3_test

// The package's test helpers: clients, contexts, keys and writes that every
// test file uses, and the watch assertions. Helpers of one area (faults,
// leases, auth) live with its tests.

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/etcdtest"
)

// waitTimeout bounds every wait of the watch and lease tests; reaching it
// means the behaviour under test did not happen.
const waitTimeout = 15 * time.Second

// newClientAt returns a client of the endpoints eps, closed when t ends.
func newClientAt(t testing.TB, eps []string, mod ...func(*clientv3.Config)) *clientv3.Client {
	t.Helper()
	cfg := clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second, Logger: zap.NewNop()}
	for _, f := range mod {
		f(&cfg)
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		t.Fatalf("clientv3.New: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// newClient returns a client of the shared cluster, closed when t ends.
func newClient(t testing.TB, mod ...func(*clientv3.Config)) *clientv3.Client {
	t.Helper()
	return newClientAt(t, shared.Endpoints(), mod...)
}

// newClientOf returns a client of every member of c, closed when t ends.
func newClientOf(t testing.TB, c *etcdtest.Cluster, mod ...func(*clientv3.Config)) *clientv3.Client {
	t.Helper()
	return newClientAt(t, c.Endpoints(), mod...)
}

// pinnedClient returns a client of one member of the shared cluster, for
// tests that need their watches to see the store exactly as their writes
// left it: a member answers a write only once it has applied it, but other
// members may apply it a moment later.
func pinnedClient(t testing.TB) *clientv3.Client {
	return newClientAt(t, shared.Endpoints()[:1])
}

// startCluster starts a 3.7 cluster of n members for a test that breaks
// it; it is removed when t ends.
func startCluster(t testing.TB, n int, opts ...etcdtest.Option) *etcdtest.Cluster {
	t.Helper()
	return etcdtest.NewCluster(t, append([]etcdtest.Option{etcdtest.WithSize(n)}, opts...)...)
}

// ctxT returns a context bounded to 20 seconds, canceled when t ends.
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// key returns a key unique to this run of the test: its prefix, a slash,
// and suffix.
func key(t testing.TB, suffix string) string { return etcdtest.KeyPrefix(t) + "/" + suffix }

// keyPrefix returns the run's key prefix without the trailing slash: a key
// (or a watch prefix) of its own, outside every key(t, …).
func keyPrefix(t testing.TB) string { return etcdtest.KeyPrefix(t) }

// must reports err, if any, as an error of what.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", what, err)
	}
}

// put writes key=val and returns the revision of the write.
func put(t testing.TB, c *clientv3.Client, key, val string, opts ...clientv3.OpOption) int64 {
	t.Helper()
	resp, err := c.Put(ctxT(t), key, val, opts...)
	if err != nil {
		t.Fatalf("put %q: %v", key, err)
	}
	return resp.Header.Revision
}

// del deletes key and returns the revision of the delete.
func del(t testing.TB, c *clientv3.Client, key string) int64 {
	t.Helper()
	resp, err := c.Delete(ctxT(t), key)
	if err != nil {
		t.Fatalf("delete %q: %v", key, err)
	}
	return resp.Header.Revision
}

// compact compacts the store physically at rev.
func compact(t testing.TB, c *clientv3.Client, rev int64) {
	t.Helper()
	if _, err := c.Compact(ctxT(t), rev, clientv3.WithCompactPhysical()); err != nil {
		t.Fatalf("compact at %d: %v", rev, err)
	}
}

// createOnce writes key=val unless key exists, retrying failures until it
// knows the write happened exactly once: a write that fails ambiguously is
// retried, and the compare makes the retry a no-op if the first attempt
// was applied after all. It returns false if ctx ends first.
func createOnce(ctx context.Context, c *clientv3.Client, key, val string) bool {
	for ctx.Err() == nil {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := c.Txn(actx).
			If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
			Then(clientv3.OpPut(key, val)).
			Commit()
		cancel()
		if err == nil {
			return true
		}
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
	return false
}

// receive returns the next value on ch, failing t if ch closes or nothing
// comes within waitTimeout; what names the values in the failure.
func receive[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatalf("channel closed; want a %s", what)
		}
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("no %s within %v", what, waitTimeout)
	}
	panic("unreachable")
}

// next returns the next response of wch, failing t if none comes or the
// channel closes.
func next(t testing.TB, wch clientv3.WatchChan) clientv3.WatchResponse {
	t.Helper()
	return receive(t, wch, "watch response")
}

// nextEvents collects n events from wch, failing t on anything else.
func nextEvents(t testing.TB, wch clientv3.WatchChan, n int) []*clientv3.Event {
	t.Helper()
	var evs []*clientv3.Event
	for len(evs) < n {
		wr := next(t, wch)
		if err := wr.Err(); err != nil {
			t.Fatalf("watch response error after %d events: %v", len(evs), err)
		}
		evs = append(evs, wr.Events...)
	}
	if len(evs) != n {
		t.Fatalf("got %d events, want %d", len(evs), n)
	}
	return evs
}

// expectClosed waits for wch to close, failing t if a response with
// events arrives first or it stays open.
func expectClosed(t testing.TB, wch clientv3.WatchChan) {
	t.Helper()
	waitClosed(t, wch, false)
}

// expectClosedAfterAny is expectClosed for a channel that may still deliver
// events before it closes.
func expectClosedAfterAny(t testing.TB, wch clientv3.WatchChan) {
	t.Helper()
	waitClosed(t, wch, true)
}

// waitClosed waits for wch to close, failing t if it stays open, or if a
// response with events arrives and eventsAllowed is false.
func waitClosed(t testing.TB, wch clientv3.WatchChan, eventsAllowed bool) {
	t.Helper()
	timeout := time.After(waitTimeout)
	for {
		select {
		case wr, ok := <-wch:
			if !ok {
				return
			}
			if len(wr.Events) > 0 && !eventsAllowed {
				t.Fatalf("got %d events; want the channel closed", len(wr.Events))
			}
		case <-timeout:
			t.Fatal("watch channel still open; want it closed")
		}
	}
}

// countingWatchClient is a pb.WatchClient adapter, with no connection of
// its own, that counts the streams opened, the create requests sent, and
// the fragments and events received.
type countingWatchClient struct {
	pb.WatchClient
	streams   atomic.Int64
	creates   atomic.Int64
	fragments atomic.Int64
	events    atomic.Int64
}

func (c *countingWatchClient) Watch(ctx context.Context, opts ...grpc.CallOption) (pb.Watch_WatchClient, error) {
	s, err := c.WatchClient.Watch(ctx, opts...)
	if err != nil {
		return nil, err
	}
	c.streams.Add(1)
	return &countingWatchStream{Watch_WatchClient: s, parent: c}, nil
}

type countingWatchStream struct {
	pb.Watch_WatchClient
	parent *countingWatchClient
}

func (s *countingWatchStream) Send(req *pb.WatchRequest) error {
	if req.GetCreateRequest() != nil {
		s.parent.creates.Add(1)
	}
	return s.Watch_WatchClient.Send(req)
}

func (s *countingWatchStream) Recv() (*pb.WatchResponse, error) {
	resp, err := s.Watch_WatchClient.Recv()
	if err == nil && resp.Fragment {
		s.parent.fragments.Add(1)
	}
	if err == nil {
		s.parent.events.Add(int64(len(resp.Events)))
	}
	return resp, err
}

// countingLeaseClient is a pb.LeaseClient adapter that counts keep-alive
// streams and the requests sent on them, and records when each was sent.
type countingLeaseClient struct {
	pb.LeaseClient
	streams atomic.Int64
	sent    atomic.Int64

	mu     sync.Mutex
	sentAt []time.Time
}

func (c *countingLeaseClient) LeaseKeepAlive(ctx context.Context, opts ...grpc.CallOption) (pb.Lease_LeaseKeepAliveClient, error) {
	s, err := c.LeaseClient.LeaseKeepAlive(ctx, opts...)
	if err != nil {
		return nil, err
	}
	c.streams.Add(1)
	return countingKeepAliveStream{s, c}, nil
}

// countedLease returns a Lease over c's connection whose keep-alive
// streams and requests the returned countingLeaseClient counts, closed
// when the test ends. owner, which may be nil, is the Client the Lease
// reports to (its health learns from the keep-alives).
func countedLease(t testing.TB, c, owner *clientv3.Client) (*countingLeaseClient, clientv3.Lease) {
	lc := &countingLeaseClient{LeaseClient: pb.NewLeaseClient(c.ActiveConnection())}
	l := clientv3.NewLeaseFromLeaseClient(lc, owner, 0)
	t.Cleanup(func() { l.Close() })
	return lc, l
}

// sendTimes returns when each keep-alive request so far was sent.
func (c *countingLeaseClient) sendTimes() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sentAt)
}

type countingKeepAliveStream struct {
	pb.Lease_LeaseKeepAliveClient
	c *countingLeaseClient
}

func (s countingKeepAliveStream) Send(r *pb.LeaseKeepAliveRequest) error {
	s.c.sent.Add(1)
	s.c.mu.Lock()
	s.c.sentAt = append(s.c.sentAt, time.Now())
	s.c.mu.Unlock()
	return s.Lease_LeaseKeepAliveClient.Send(r)
}

// waitUntil polls cond until it holds, failing t after waitTimeout; what
// says what was awaited.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(waitTimeout); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting until %s", waitTimeout, what)
		}
	}
}
