package clientv3

import (
	"context"
	"reflect"
	"sync"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/a74b11dd/etcdkit/client/v3/internal/retry"
)

// LeaseID identifies a lease.
type LeaseID int64

const (
	// NoLease is the lease ID of a key without a lease.
	NoLease LeaseID = 0
)

// MaxLeaseTTL is the largest TTL, in seconds, a lease can be granted.
const MaxLeaseTTL = 9000000000

// LeaseResponseChSize is the buffer size of a KeepAlive channel. Tests
// only: do not change it.
var LeaseResponseChSize = 16

// LeaseRevokeResponse is the response of Revoke.
type LeaseRevokeResponse pb.LeaseRevokeResponse

// LeaseGrantResponse is the response of Grant.
type LeaseGrantResponse struct {
	*pb.ResponseHeader
	ID    LeaseID
	TTL   int64
	Error string
}

// LeaseKeepAliveResponse is one renewal of a lease.
type LeaseKeepAliveResponse struct {
	*pb.ResponseHeader
	ID  LeaseID
	TTL int64
}

// LeaseTimeToLiveResponse describes a lease.
type LeaseTimeToLiveResponse struct {
	*pb.ResponseHeader
	ID LeaseID `json:"id"`

	// TTL is the remaining time in seconds; the lease expires within
	// TTL+1 seconds. -1 for an expired lease.
	TTL int64 `json:"ttl"`

	// GrantedTTL is the TTL the lease was granted or last renewed with.
	GrantedTTL int64 `json:"granted-ttl"`

	// Keys are the keys attached to the lease, with WithAttachedKeys.
	Keys [][]byte `json:"keys"`
}

// LeaseStatus is one lease in a LeaseLeasesResponse.
type LeaseStatus struct {
	ID LeaseID `json:"id"`
}

// LeaseLeasesResponse lists the leases.
type LeaseLeasesResponse struct {
	*pb.ResponseHeader
	Leases []LeaseStatus `json:"leases"`
}

// LeaseOp is a lease request built from LeaseOptions.
type LeaseOp struct {
	id         LeaseID
	attachKeys bool
}

// LeaseOption configures a LeaseOp.
type LeaseOption func(*LeaseOp)

// WithAttachedKeys makes TimeToLive list the keys attached to the lease.
func WithAttachedKeys() LeaseOption { return func(op *LeaseOp) { op.attachKeys = true } }

// ErrKeepAliveHalted is returned by KeepAlive once the Lease's keep-alive
// loop has stopped for good, which happens when the Lease or its Client is
// closed (Reason is then context.Canceled). KeepAliveOnce may still work.
// errors.Is(err, Reason) holds.
type ErrKeepAliveHalted struct {
	Reason error
}

func (e ErrKeepAliveHalted) Error() string {
	s := "etcdclient: leases keep alive halted"
	if e.Reason != nil {
		s += ": " + e.Reason.Error()
	}
	return s
}

// Unwrap returns Reason, so that errors.Is(err, context.Canceled) holds
// for a KeepAlive refused because the Lease was closed.
func (e ErrKeepAliveHalted) Unwrap() error { return e.Reason }

// Lease grants, renews and revokes leases.
type Lease interface {
	// Grant creates a lease that expires after ttl seconds unless renewed.
	Grant(ctx context.Context, ttl int64) (*LeaseGrantResponse, error)

	// Revoke revokes a lease, deleting the keys attached to it.
	Revoke(ctx context.Context, id LeaseID) (*LeaseRevokeResponse, error)

	// TimeToLive describes a lease; TTL is -1 if it does not exist.
	TimeToLive(ctx context.Context, id LeaseID, opts ...LeaseOption) (*LeaseTimeToLiveResponse, error)

	// Leases lists all leases.
	Leases(ctx context.Context) (*LeaseLeasesResponse, error)

	// KeepAlive renews lease id until ctx ends, a third of its TTL after
	// each renewal or up to 500 ms later (never later than half the TTL),
	// so that renewals of many leases travel together, and delivers each
	// renewal on the returned channel. Renewals continue whether or not
	// the channel is read: a renewal that finds the channel full is
	// dropped. All leases are renewed over one stream, which moves to
	// another member when its member fails.
	//
	// The channel closes when ctx ends, when the lease expires or is
	// revoked, when no renewal succeeded for a whole TTL (the lease may
	// have expired), when the Lease is closed, or, if ctx was made with
	// WithRequireLeader, when the stream's member loses its leader.
	//
	// Once the Lease is closed, KeepAlive returns ErrKeepAliveHalted and a
	// closed channel.
	KeepAlive(ctx context.Context, id LeaseID) (<-chan *LeaseKeepAliveResponse, error)

	// KeepAliveOnce renews lease id once, retrying on errors that another
	// attempt may fix until ctx ends. It returns rpctypes.ErrLeaseNotFound
	// if the lease does not exist.
	KeepAliveOnce(ctx context.Context, id LeaseID) (*LeaseKeepAliveResponse, error)

	// Close stops all keep-alives, closing their channels, and returns
	// once the Lease's goroutines have exited.
	Close() error
}

// defaultKeepAliveTimeout is how long a new keep-alive waits for its first
// renewal before giving up on the lease, when the client sets no
// DialTimeout.
const defaultKeepAliveTimeout = 5 * time.Second

// lessor implements Lease.
type lessor struct {
	remote   pb.LeaseClient
	client   *Client // may be nil
	callOpts []grpc.CallOption
	lg       *zap.Logger

	// firstKeepAliveTimeout bounds the wait for a new keep-alive's first
	// renewal; afterwards each renewal's TTL is the bound.
	firstKeepAliveTimeout time.Duration

	// stopCtx ends the keep-alive loop; Close cancels it.
	stopCtx    context.Context
	stopCancel context.CancelFunc

	mu         sync.Mutex
	keepAlives map[LeaseID]*keepAlive
	loopErr    error // why the loop stopped; set once it has
	loopDone   chan struct{}
	wake       chan struct{}
	wakeAt     time.Time // when the loop's last tick asked to wake next

	// recvInPlace: remote is gRPC's generated client, so receiving into
	// one reused message (RecvMsg) is what its Recv does, less the
	// allocation. A caller's own LeaseClient gets Recv called, as the
	// official lessor calls it.
	recvInPlace bool
}

// generatedLeaseClient is the type of gRPC's generated LeaseClient.
var generatedLeaseClient = reflect.TypeOf(pb.NewLeaseClient(nil))

// NewLease returns a Lease that uses c's connection.
func NewLease(c *Client) Lease {
	var timeout time.Duration
	if c != nil {
		timeout = c.cfg.DialTimeout + time.Second
	}
	return newLessor(RetryLeaseClient(c), c, timeout, c.apiCallOptions())
}

// NewLeaseFromLeaseClient returns a Lease over remote. c supplies the
// context, logger and call options, and may be nil. keepAliveTimeout
// bounds the wait for a new keep-alive's first renewal (5s if it is not
// more than a second).
func NewLeaseFromLeaseClient(remote pb.LeaseClient, c *Client, keepAliveTimeout time.Duration) Lease {
	return newLessor(remote, c, keepAliveTimeout, c.callOptions())
}

// newLessor returns a Lease over remote whose calls carry callOpts.
func newLessor(remote pb.LeaseClient, c *Client, keepAliveTimeout time.Duration, callOpts []grpc.CallOption) *lessor {
	if keepAliveTimeout <= time.Second {
		keepAliveTimeout = defaultKeepAliveTimeout
	}
	l := &lessor{
		remote:                remote,
		client:                c,
		callOpts:              callOpts,
		lg:                    c.GetLogger(),
		firstKeepAliveTimeout: keepAliveTimeout,
		keepAlives:            make(map[LeaseID]*keepAlive),
		wake:                  make(chan struct{}, 1),
		recvInPlace:           reflect.TypeOf(remote) == generatedLeaseClient,
	}
	l.stopCtx, l.stopCancel = context.WithCancel(c.lifeCtx())
	return l
}

// Grant implements Lease.
func (l *lessor) Grant(ctx context.Context, ttl int64) (*LeaseGrantResponse, error) {
	resp, err := l.remote.LeaseGrant(ctx, &pb.LeaseGrantRequest{TTL: ttl}, l.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	return &LeaseGrantResponse{ResponseHeader: resp.Header, ID: LeaseID(resp.ID), TTL: resp.TTL, Error: resp.Error}, nil
}

// Revoke implements Lease.
func (l *lessor) Revoke(ctx context.Context, id LeaseID) (*LeaseRevokeResponse, error) {
	resp, err := l.remote.LeaseRevoke(ctx, &pb.LeaseRevokeRequest{ID: int64(id)}, l.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	return (*LeaseRevokeResponse)(resp), nil
}

// TimeToLive implements Lease.
func (l *lessor) TimeToLive(ctx context.Context, id LeaseID, opts ...LeaseOption) (*LeaseTimeToLiveResponse, error) {
	op := LeaseOp{id: id}
	for _, o := range opts {
		if o != nil {
			o(&op)
		}
	}
	resp, err := l.remote.LeaseTimeToLive(ctx, &pb.LeaseTimeToLiveRequest{ID: int64(op.id), Keys: op.attachKeys}, l.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	return &LeaseTimeToLiveResponse{
		ResponseHeader: resp.Header,
		ID:             LeaseID(resp.ID),
		TTL:            resp.TTL,
		GrantedTTL:     resp.GrantedTTL,
		Keys:           resp.Keys,
	}, nil
}

// Leases implements Lease.
func (l *lessor) Leases(ctx context.Context) (*LeaseLeasesResponse, error) {
	resp, err := l.remote.LeaseLeases(ctx, &pb.LeaseLeasesRequest{}, l.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	leases := make([]LeaseStatus, len(resp.Leases))
	for i, s := range resp.Leases {
		leases[i] = LeaseStatus{ID: LeaseID(s.ID)}
	}
	return &LeaseLeasesResponse{ResponseHeader: resp.Header, Leases: leases}, nil
}

// KeepAliveOnce implements Lease. Each call uses a stream of its own, so
// that it works even when the shared keep-alive loop has halted.
func (l *lessor) KeepAliveOnce(ctx context.Context, id LeaseID) (*LeaseKeepAliveResponse, error) {
	var bo streamBackoff
	refreshed := false
	for {
		resp, err := l.keepAliveOnce(ctx, id)
		if err == nil {
			if resp.TTL <= 0 {
				// The response comes with the error, as the official
				// client gives it: its header says when.
				return resp, rpctypes.ErrLeaseNotFound
			}
			return resp, nil
		}
		if !refreshed && l.client != nil && l.client.maybeRefreshToken(ctx, err) {
			// The stream carried a stale token; the next one has a new one.
			refreshed = true
			continue
		}
		if !retryableStreamErr(ctx, err) {
			return nil, toErr(ctx, err)
		}
		t := time.NewTimer(bo.next())
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, toErr(ctx, ctx.Err())
		}
	}
}

func (l *lessor) keepAliveOnce(ctx context.Context, id LeaseID) (*LeaseKeepAliveResponse, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := l.remote.LeaseKeepAlive(ctx, l.callOpts...)
	if err != nil {
		return nil, err
	}
	if err := stream.Send(&pb.LeaseKeepAliveRequest{ID: int64(id)}); err != nil {
		// The reason the stream failed is what Recv reports.
		if _, rerr := stream.Recv(); rerr != nil {
			return nil, rerr
		}
		return nil, err
	}
	resp, err := stream.Recv()
	if err != nil {
		return nil, err
	}
	return &LeaseKeepAliveResponse{ResponseHeader: resp.Header, ID: LeaseID(resp.ID), TTL: resp.TTL}, nil
}

// retryableStreamErr reports whether KeepAliveOnce opens a stream again
// after one failed with err: ctx is alive and retry.ReopenStream says so.
func retryableStreamErr(ctx context.Context, err error) bool {
	return ctx.Err() == nil && retry.ReopenStream(retry.KeepAliveOnceStream, err)
}
