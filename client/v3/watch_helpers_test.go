package clientv3

import (
	"context"
	"math"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
)

// waitTimeout bounds every wait of the watch and lease tests; reaching it
// means the behaviour under test did not happen.
const waitTimeout = 15 * time.Second

var testClientSeq atomic.Int64

// newTestClient returns a client of the given endpoints whose Watcher and
// Lease are the ones under test; it is closed when t ends.
//
// It builds the Client by hand (round-robin over the endpoints) so that
// these tests do not depend on the rest of the package.
func newTestClient(t testing.TB, eps []string) *Client {
	t.Helper()
	r := manual.NewBuilderWithScheme("wltest" + strconv.FormatInt(testClientSeq.Add(1), 10))
	var addrs []resolver.Address
	for _, ep := range eps {
		addrs = append(addrs, resolver.Address{Addr: ep})
	}
	r.InitialState(resolver.State{Addresses: addrs})
	cc, err := grpc.NewClient(r.Scheme()+":///etcd",
		grpc.WithResolvers(r),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`),
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{
		conn:     cc,
		ctx:      ctx,
		cancel:   cancel,
		lg:       zap.NewNop(),
		callOpts: []grpc.CallOption{grpc.WaitForReady(true), grpc.MaxCallRecvMsgSize(math.MaxInt32)},
	}
	c.Watcher = NewWatcher(c)
	c.Lease = NewLease(c)
	t.Cleanup(func() {
		c.Watcher.Close()
		c.Lease.Close()
		cancel()
		cc.Close()
	})
	return c
}

// sharedClient returns a client of the shared cluster.
func sharedClient(t testing.TB) *Client {
	return newTestClient(t, sharedCluster.Endpoints())
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

func kvOf(c *Client) pb.KVClient { return pb.NewKVClient(c.ActiveConnection()) }

// put writes key=val and returns the revision of the write.
func put(t testing.TB, c *Client, key, val string, leaseID ...LeaseID) int64 {
	t.Helper()
	req := &pb.PutRequest{Key: []byte(key), Value: []byte(val)}
	if len(leaseID) > 0 {
		req.Lease = int64(leaseID[0])
	}
	resp, err := kvOf(c).Put(testCtx(t), req, c.callOpts...)
	if err != nil {
		t.Fatalf("put %q: %v", key, err)
	}
	return resp.Header.Revision
}

func del(t testing.TB, c *Client, key string) int64 {
	t.Helper()
	resp, err := kvOf(c).DeleteRange(testCtx(t), &pb.DeleteRangeRequest{Key: []byte(key)}, c.callOpts...)
	if err != nil {
		t.Fatalf("delete %q: %v", key, err)
	}
	return resp.Header.Revision
}

func compact(t testing.TB, c *Client, rev int64) {
	t.Helper()
	if _, err := kvOf(c).Compact(testCtx(t), &pb.CompactionRequest{Revision: rev, Physical: true}, c.callOpts...); err != nil {
		t.Fatalf("compact at %d: %v", rev, err)
	}
}

// createOnce writes key=val unless key exists, retrying failures until it
// knows the write happened exactly once: a write that fails ambiguously is
// retried, and the compare makes the retry a no-op if the first attempt
// was applied after all. It returns false if ctx ends first.
func createOnce(ctx context.Context, kv pb.KVClient, key, val string) bool {
	for ctx.Err() == nil {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := kv.Txn(actx, &pb.TxnRequest{
			Compare: []*pb.Compare{{
				Key: []byte(key), Target: pb.Compare_CREATE, Result: pb.Compare_EQUAL,
				TargetUnion: &pb.Compare_CreateRevision{CreateRevision: 0},
			}},
			Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestPut{
				RequestPut: &pb.PutRequest{Key: []byte(key), Value: []byte(val)},
			}}},
		}, grpc.WaitForReady(true))
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

// next returns the next response of wch, failing t if none comes or the
// channel closes.
func next(t testing.TB, wch WatchChan) WatchResponse {
	t.Helper()
	select {
	case wr, ok := <-wch:
		if !ok {
			t.Fatal("watch channel closed; want a response")
		}
		return wr
	case <-time.After(waitTimeout):
		t.Fatal("no watch response")
	}
	panic("unreachable")
}

// nextEvents collects n events from wch, failing t on anything else.
func nextEvents(t testing.TB, wch WatchChan, n int) []*Event {
	t.Helper()
	var evs []*Event
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
func expectClosed(t testing.TB, wch WatchChan) {
	t.Helper()
	timeout := time.After(waitTimeout)
	for {
		select {
		case wr, ok := <-wch:
			if !ok {
				return
			}
			if len(wr.Events) > 0 {
				t.Fatalf("got %d events; want the channel closed", len(wr.Events))
			}
		case <-timeout:
			t.Fatal("watch channel still open; want it closed")
		}
	}
}

// countingWatchClient is a pb.WatchClient adapter, with no connection of
// its own, that counts the streams opened and the fragments received.
type countingWatchClient struct {
	pb.WatchClient
	streams   atomic.Int64
	creates   atomic.Int64
	fragments atomic.Int64
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
	return resp, err
}

// countingLeaseClient is a pb.LeaseClient adapter that counts keep-alive
// streams.
type countingLeaseClient struct {
	pb.LeaseClient
	streams atomic.Int64
}

func (c *countingLeaseClient) LeaseKeepAlive(ctx context.Context, opts ...grpc.CallOption) (pb.Lease_LeaseKeepAliveClient, error) {
	s, err := c.LeaseClient.LeaseKeepAlive(ctx, opts...)
	if err == nil {
		c.streams.Add(1)
	}
	return s, err
}
