package clientv3_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc"
)

func grant(t testing.TB, l clientv3.Lease, ttl int64) clientv3.LeaseID {
	t.Helper()
	resp, err := l.Grant(ctxT(t), ttl)
	if err != nil {
		t.Fatalf("Grant(%d): %v", ttl, err)
	}
	if resp.ID == clientv3.NoLease || resp.TTL != ttl {
		t.Fatalf("Grant(%d) = ID %d, TTL %d; want a lease with TTL %d", ttl, resp.ID, resp.TTL, ttl)
	}
	return resp.ID
}

// nextKeepAlive returns the next renewal on ch, failing t if ch closes or
// stays silent.
func nextKeepAlive(t testing.TB, ch <-chan *clientv3.LeaseKeepAliveResponse) *clientv3.LeaseKeepAliveResponse {
	t.Helper()
	return receive(t, ch, "keep-alive renewal")
}

// expectKeepAliveClosed waits for ch to close, skipping renewals.
func expectKeepAliveClosed(t testing.TB, ch <-chan *clientv3.LeaseKeepAliveResponse) {
	t.Helper()
	timeout := time.After(waitTimeout)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("keep-alive channel still open; want it closed")
		}
	}
}

func TestLeaseGrantTimeToLiveAndRevoke(t *testing.T) {
	c := newClient(t)
	ctx := ctxT(t)
	id := grant(t, c, 30)
	key := keyPrefix(t)
	put(t, c, key, "v", clientv3.WithLease(id))

	ttl, err := c.TimeToLive(ctx, id, clientv3.WithAttachedKeys())
	if err != nil {
		t.Fatal(err)
	}
	if ttl.ID != id || ttl.GrantedTTL != 30 || ttl.TTL <= 0 || ttl.TTL > 30 {
		t.Fatalf("TimeToLive = ID %d, granted %d, TTL %d; want ID %d, granted 30, 0 < TTL <= 30", ttl.ID, ttl.GrantedTTL, ttl.TTL, id)
	}
	if len(ttl.Keys) != 1 || string(ttl.Keys[0]) != key {
		t.Fatalf("attached keys %q; want [%q]", ttl.Keys, key)
	}
	if noKeys, err := c.TimeToLive(ctx, id); err != nil || len(noKeys.Keys) != 0 {
		t.Fatalf("TimeToLive without clientv3.WithAttachedKeys = %v keys, %v; want none", noKeys, err)
	}

	if _, err := c.Revoke(ctx, id); err != nil {
		t.Fatal(err)
	}
	if ttl, err := c.TimeToLive(ctx, id); err != nil || ttl.TTL != -1 {
		t.Fatalf("TimeToLive after Revoke = %+v, %v; want TTL -1", ttl, err)
	}
	resp, err := c.Get(ctx, key)
	if err != nil || len(resp.Kvs) != 0 {
		t.Fatalf("key after Revoke: %v, %v; want it deleted with its lease", resp, err)
	}
	if _, err := c.Revoke(ctx, id); err != rpctypes.ErrLeaseNotFound && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		t.Fatalf("second Revoke = %v; want ErrLeaseNotFound", err)
	}
}

func TestLeasesListsGrantedLeases(t *testing.T) {
	// One member answers both calls: the member that granted the lease
	// has applied the grant, another may list leases a moment before it
	// does.
	c := pinnedClient(t)
	id := grant(t, c, 30)
	defer c.Revoke(context.Background(), id)
	resp, err := c.Leases(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range resp.Leases {
		if l.ID == id {
			return
		}
	}
	t.Fatalf("Leases = %v; want it to include %d", resp.Leases, id)
}

func TestKeepAliveRenewsUntilItsContextEnds(t *testing.T) {
	c := newClient(t)
	id := grant(t, c, 10)
	ctx, cancel := context.WithCancel(ctxT(t))
	ch, err := c.KeepAlive(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	r := nextKeepAlive(t, ch)
	if r.ID != id || r.TTL != 10 || r.ResponseHeader == nil {
		t.Fatalf("renewal %+v; want ID %d with TTL 10 and a header", r, id)
	}
	cancel()
	expectKeepAliveClosed(t, ch)
}

func TestKeepAliveChannelClosesWhenTheLeaseIsRevoked(t *testing.T) {
	c := newClient(t)
	id := grant(t, c, 2)
	ch, err := c.KeepAlive(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	nextKeepAlive(t, ch)
	if _, err := c.Revoke(ctxT(t), id); err != nil {
		t.Fatal(err)
	}
	expectKeepAliveClosed(t, ch)
}

func TestKeepAliveOfAnUnknownLeaseClosesTheChannel(t *testing.T) {
	c := newClient(t)
	ch, err := c.KeepAlive(ctxT(t), clientv3.LeaseID(0x7eadbeef))
	if err != nil {
		t.Fatal(err)
	}
	expectKeepAliveClosed(t, ch)
}

func TestKeepAliveSlowReaderDoesNotStallOtherLeases(t *testing.T) {
	defer func(n int) { clientv3.LeaseResponseChSize = n }(clientv3.LeaseResponseChSize)
	clientv3.LeaseResponseChSize = 1

	c := newClient(t)
	ctx := ctxT(t)
	slowID, fastID := grant(t, c, 2), grant(t, c, 2)
	slow, err := c.KeepAlive(ctx, slowID)
	if err != nil {
		t.Fatal(err)
	}
	fast, err := c.KeepAlive(ctx, fastID)
	if err != nil {
		t.Fatal(err)
	}
	// Renewals come every TTL/3; seven of them span twice the TTL, so the
	// unread lease would have expired had its renewals stopped.
	for range 7 {
		nextKeepAlive(t, fast)
	}
	ttl, err := c.TimeToLive(ctx, slowID)
	if err != nil {
		t.Fatal(err)
	}
	if !leaseAlive(ttl) {
		t.Fatalf("unread lease: TimeToLive TTL = %d; want it alive (TTL >= 0)", ttl.TTL)
	}
	if r := nextKeepAlive(t, slow); r.ID != slowID {
		t.Fatalf("unread channel holds a renewal of %d; want %d", r.ID, slowID)
	}
}

func TestKeepAlivesOfManyLeasesShareOneStream(t *testing.T) {
	c := newClient(t)
	// An adapter and no Client: the Lease needs no connection of its own.
	lc, l := countedLease(t, c, nil)
	ctx := ctxT(t)
	for range 3 {
		id := grant(t, l, 10)
		ch, err := l.KeepAlive(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		nextKeepAlive(t, ch)
	}
	if n := lc.streams.Load(); n != 1 {
		t.Fatalf("opened %d keep-alive streams; want 1", n)
	}
}

func TestFirstRenewalsOfLeasesKeptAliveOneAfterAnotherTravelTogether(t *testing.T) {
	// A program that keeps many leases alive calls KeepAlive for them one
	// after another. Each lease's first renewal may go 250 to 500 ms after
	// its KeepAlive, so those registered within a quarter second go in one
	// batch, and the loop wakes once for them, not once per lease (each
	// wake looks at every lease: a thousand leases cost a million looks).
	c := newClient(t)
	lc, l := countedLease(t, c, c)
	ctx := ctxT(t)
	const leases = 100
	ids := make([]clientv3.LeaseID, leases)
	for i := range ids {
		ids[i] = grant(t, c, 10)
	}
	chans := make([]<-chan *clientv3.LeaseKeepAliveResponse, leases)
	for i, id := range ids {
		ch, err := l.KeepAlive(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		chans[i] = ch
		time.Sleep(10 * time.Millisecond) // a second of KeepAlive calls
	}
	for _, ch := range chans {
		nextKeepAlive(t, ch)
	}
	sent := lc.sendTimes()
	if len(sent) < leases {
		t.Fatalf("%d keep-alive requests sent for %d first renewals", len(sent), leases)
	}
	// A batch is sent in one go; 5 ms apart is another wake of the loop
	// (one per lease would be 10 ms apart). About 5 wakes are expected;
	// the limit leaves room for a loaded machine pausing the sender inside
	// a batch, and is still a quarter of a wake per lease.
	batches := 1
	for i := 1; i < leases; i++ {
		if sent[i].Sub(sent[i-1]) > 5*time.Millisecond {
			batches++
		}
	}
	if batches > leases/4 {
		t.Fatalf("the first renewals of %d leases kept alive over a second went in %d batches; want about 5, at most %d", leases, batches, leases/4)
	}
}

func TestKeepAliveOnceRenewsOrReportsLeaseNotFound(t *testing.T) {
	c := newClient(t)
	ctx := ctxT(t)
	id := grant(t, c, 10)
	r, err := c.KeepAliveOnce(ctx, id)
	if err != nil || r.ID != id || r.TTL != 10 {
		t.Fatalf("KeepAliveOnce = %+v, %v; want ID %d with TTL 10", r, err, id)
	}
	if _, err := c.Revoke(ctx, id); err != nil {
		t.Fatal(err)
	}
	r, err = c.KeepAliveOnce(ctx, id)
	if err != rpctypes.ErrLeaseNotFound || !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		t.Fatalf("KeepAliveOnce of a revoked lease = %v; want rpctypes.ErrLeaseNotFound", err)
	}
	// As the official client does, the response comes with the error.
	if r == nil || r.ResponseHeader == nil || r.TTL > 0 {
		t.Fatalf("KeepAliveOnce of a revoked lease gave the response %+v; want one with a header and no TTL", r)
	}
}

func TestKeepAliveAfterCloseReturnsErrKeepAliveHalted(t *testing.T) {
	c := newClient(t)
	l := clientv3.NewLease(c)
	id := grant(t, l, 10)
	ch, err := l.KeepAlive(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	nextKeepAlive(t, ch)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	expectKeepAliveClosed(t, ch)

	ch, err = l.KeepAlive(ctxT(t), id)
	var halted clientv3.ErrKeepAliveHalted
	if !errors.As(err, &halted) || halted.Reason != context.Canceled || !errors.Is(err, context.Canceled) {
		t.Fatalf("KeepAlive after Close = %v; want clientv3.ErrKeepAliveHalted{Reason: context.Canceled}", err)
	}
	expectKeepAliveClosed(t, ch)

	// KeepAliveOnce does not need the halted loop.
	if _, err := l.KeepAliveOnce(ctxT(t), id); err != nil {
		t.Fatalf("KeepAliveOnce after Close: %v", err)
	}
}

func TestKeepAliveOnALeaseClosedBeforeUseReturnsErrKeepAliveHalted(t *testing.T) {
	c := newClient(t)
	l := clientv3.NewLease(c)
	l.Close()
	if _, err := l.KeepAlive(ctxT(t), 1); !errors.As(err, new(clientv3.ErrKeepAliveHalted)) {
		t.Fatalf("KeepAlive = %v; want clientv3.ErrKeepAliveHalted", err)
	}
}

func TestLeaseWithoutConnectionFailsClearly(t *testing.T) {
	c := clientv3.NewCtxClient(context.Background())
	defer c.Close()
	l := clientv3.NewLease(c)
	defer l.Close()
	if _, err := l.Grant(ctxT(t), 10); err == nil {
		t.Fatal("Grant without a connection succeeded; want an error")
	}
	ch, err := l.KeepAlive(ctxT(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	expectKeepAliveClosed(t, ch)

	w := clientv3.NewWatcher(c)
	defer w.Close()
	wr := next(t, w.Watch(ctxT(t), "k"))
	if !wr.Canceled || wr.Err() == nil {
		t.Fatalf("watch without a connection got %+v; want a canceled response with an error", wr)
	}
}

func TestKeepAliveOfALeaseRevokedAtOnceClosesWithoutAResponse(t *testing.T) {
	// A lease added to a running keep-alive stream is first renewed within
	// 500 ms, as the official lessor renews it, so a lease revoked right
	// away closes its channel without a response while the others keep
	// theirs.
	c := newClient(t)
	ctx := ctxT(t)
	kept := grant(t, c, 5)
	keptCh, err := c.KeepAlive(ctx, kept)
	if err != nil {
		t.Fatal(err)
	}
	revoked := grant(t, c, 5)
	revokedCh, err := c.KeepAlive(ctx, revoked)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Revoke(ctx, revoked); err != nil {
		t.Fatal(err)
	}
	nextKeepAlive(t, keptCh)
	expectClosedWithNothingDelivered(t, ctx, revokedCh)
	nextKeepAlive(t, keptCh)
}

func TestKeepAliveFirstRenewalIsNotBroughtForwardByTheStreamOpening(t *testing.T) {
	// A new Lease opens its stream on the first KeepAlive. A lease
	// registered before the stream is up keeps its own first renewal,
	// 500 ms after its KeepAlive, as with the official lessor: renewed the
	// moment the stream opened, a lease revoked right after KeepAlive would
	// deliver a response before its channel closes.
	c := newClient(t)
	gate := &gatedLeaseClient{
		LeaseClient: pb.NewLeaseClient(c.ActiveConnection()),
		release:     make(chan struct{}),
		opened:      make(chan struct{}),
	}
	l := clientv3.NewLeaseFromLeaseClient(gate, c, 0)
	defer l.Close()
	ctx := ctxT(t)
	kept, revoked := grant(t, l, 5), grant(t, l, 5)
	keptCh, err := l.KeepAlive(ctx, kept)
	if err != nil {
		t.Fatal(err)
	}
	revokedCh, err := l.KeepAlive(ctx, revoked)
	if err != nil {
		t.Fatal(err)
	}
	close(gate.release)
	<-gate.opened
	// Long enough for a renewal sent on opening to be answered, well
	// within the 500 ms before the first one is due.
	time.Sleep(100 * time.Millisecond)
	if _, err := l.Revoke(ctx, revoked); err != nil {
		t.Fatal(err)
	}
	expectClosedWithNothingDelivered(t, ctx, revokedCh)
	nextKeepAlive(t, keptCh)
}

// expectClosedWithNothingDelivered fails the test unless the keep-alive
// channel of a revoked lease closes, before ctx ends, without a response.
func expectClosedWithNothingDelivered(t *testing.T, ctx context.Context, ch <-chan *clientv3.LeaseKeepAliveResponse) {
	t.Helper()
	select {
	case resp, ok := <-ch:
		if ok {
			t.Fatalf("the revoked lease's channel delivered %v; want it closed with nothing delivered", resp)
		}
	case <-ctx.Done():
		t.Fatal("the revoked lease's channel is still open")
	}
}

// gatedLeaseClient is a pb.LeaseClient adapter whose keep-alive streams
// open only once release is closed; opened is closed when the first has.
type gatedLeaseClient struct {
	pb.LeaseClient
	release    chan struct{}
	opened     chan struct{}
	openedOnce sync.Once
}

func (c *gatedLeaseClient) LeaseKeepAlive(ctx context.Context, opts ...grpc.CallOption) (pb.Lease_LeaseKeepAliveClient, error) {
	select {
	case <-c.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s, err := c.LeaseClient.LeaseKeepAlive(ctx, opts...)
	if err == nil {
		c.openedOnce.Do(func() { close(c.opened) })
	}
	return s, err
}

// leaseAlive reports whether a TimeToLive answer says the lease is alive.
// etcd reports the seconds left rounded down, so 0 is a live lease with
// under a second left (a 2 s lease renewed a second ago); -1 is an
// expired or unknown one.
func leaseAlive(r *clientv3.LeaseTimeToLiveResponse) bool { return r != nil && r.TTL >= 0 }

// ttlOf is a TimeToLive answer's TTL, or -2 when there is none (the call
// failed): printing the response itself shows only its header.
func ttlOf(r *clientv3.LeaseTimeToLiveResponse) int64 {
	if r == nil {
		return -2
	}
	return r.TTL
}

// A keep-alive timeout of 0 (etcd's own proxy passes its DialTimeout,
// often 0) must not end keep-alives that are being answered.
func TestALeaseClientLessorWithAZeroKeepAliveTimeoutKeepsRenewing(t *testing.T) {
	c := newClient(t)
	l := clientv3.NewLeaseFromLeaseClient(pb.NewLeaseClient(c.ActiveConnection()), c, 0)
	defer l.Close()
	id := grant(t, l, 2)
	ch, err := l.KeepAlive(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	for until := time.Now().Add(3 * time.Second); time.Now().Before(until); {
		if r := nextKeepAlive(t, ch); r.TTL <= 0 {
			t.Fatalf("renewal with TTL %d, want a live lease", r.TTL)
		}
	}
}

// brokenKeepAliveClient is a caller's LeaseClient whose keep-alive streams
// fail with a plain io.EOF once broken is set.
type brokenKeepAliveClient struct {
	pb.LeaseClient
	broken atomic.Bool
}

func (c *brokenKeepAliveClient) LeaseKeepAlive(ctx context.Context, opts ...grpc.CallOption) (pb.Lease_LeaseKeepAliveClient, error) {
	s, err := c.LeaseClient.LeaseKeepAlive(ctx, opts...)
	if err != nil {
		return nil, err
	}
	return brokenKeepAliveStream{s, c}, nil
}

type brokenKeepAliveStream struct {
	pb.Lease_LeaseKeepAliveClient
	c *brokenKeepAliveClient
}

func (s brokenKeepAliveStream) Recv() (*pb.LeaseKeepAliveResponse, error) {
	r, err := s.Lease_LeaseKeepAliveClient.Recv()
	if s.c.broken.Load() {
		return nil, io.EOF
	}
	return r, err
}

func TestALeaseClientLessorHaltsOnAStreamErrorThatIsNotTheServers(t *testing.T) {
	c := newClient(t)
	lc := &brokenKeepAliveClient{LeaseClient: pb.NewLeaseClient(c.ActiveConnection())}
	l := clientv3.NewLeaseFromLeaseClient(lc, c, 5*time.Second)
	defer l.Close()
	id := grant(t, l, 2)
	ch, err := l.KeepAlive(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	nextKeepAlive(t, ch)
	lc.broken.Store(true)
	expectKeepAliveClosed(t, ch)
	_, err = l.KeepAlive(ctxT(t), id)
	var halted clientv3.ErrKeepAliveHalted
	if !errors.As(err, &halted) || halted.Reason != io.EOF {
		t.Fatalf("KeepAlive after the stream failed with io.EOF = %v; want ErrKeepAliveHalted{Reason: io.EOF}", err)
	}
}

// A lessor made with NewLeaseFromLeaseClient is part of the Client given
// to it: that Client's Close ends its keep-alives, even over a LeaseClient
// of another connection (the official lessor renews until its own Close).
func TestALeaseClientLessorEndsWithTheClientGivenToIt(t *testing.T) {
	other := newClient(t)
	cli := newClient(t)
	l := clientv3.NewLeaseFromLeaseClient(pb.NewLeaseClient(other.ActiveConnection()), cli, 0)
	defer l.Close()
	id := grant(t, l, 5)
	ch, err := l.KeepAlive(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	nextKeepAlive(t, ch)
	cli.Close()
	expectKeepAliveClosed(t, ch)
}
