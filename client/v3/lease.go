package clientv3

import (
	"context"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// This file is a placeholder owned by the watch/lease helper, who replaces
// it with the real lease client.

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

// ErrKeepAliveHalted is returned by KeepAlive when the client's keep-alive
// loop stopped on an error; KeepAliveOnce may still work.
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

// Lease grants, renews and revokes leases.
type Lease interface {
	// Grant creates a lease that expires after ttl seconds unless renewed.
	Grant(ctx context.Context, ttl int64) (*LeaseGrantResponse, error)

	// Revoke revokes a lease, deleting the keys attached to it.
	Revoke(ctx context.Context, id LeaseID) (*LeaseRevokeResponse, error)

	// TimeToLive describes a lease.
	TimeToLive(ctx context.Context, id LeaseID, opts ...LeaseOption) (*LeaseTimeToLiveResponse, error)

	// Leases lists all leases.
	Leases(ctx context.Context) (*LeaseLeasesResponse, error)

	// KeepAlive renews a lease until ctx ends, delivering each renewal on
	// the returned channel; renewals the reader is too slow for are
	// dropped. The channel closes when the lease expires or ctx ends.
	KeepAlive(ctx context.Context, id LeaseID) (<-chan *LeaseKeepAliveResponse, error)

	// KeepAliveOnce renews a lease once.
	KeepAliveOnce(ctx context.Context, id LeaseID) (*LeaseKeepAliveResponse, error)

	// Close stops all keep-alives.
	Close() error
}

type stubLease struct{}

// NewLease returns a Lease that uses c's connection.
func NewLease(c *Client) Lease { return stubLease{} }

// NewLeaseFromLeaseClient returns a Lease over remote; keepAliveTimeout
// bounds how long a keep-alive may go unanswered.
func NewLeaseFromLeaseClient(remote pb.LeaseClient, c *Client, keepAliveTimeout time.Duration) Lease {
	return stubLease{}
}

func (stubLease) Grant(ctx context.Context, ttl int64) (*LeaseGrantResponse, error) {
	return nil, errNotImplemented
}
func (stubLease) Revoke(ctx context.Context, id LeaseID) (*LeaseRevokeResponse, error) {
	return nil, errNotImplemented
}
func (stubLease) TimeToLive(ctx context.Context, id LeaseID, opts ...LeaseOption) (*LeaseTimeToLiveResponse, error) {
	return nil, errNotImplemented
}
func (stubLease) Leases(ctx context.Context) (*LeaseLeasesResponse, error) {
	return nil, errNotImplemented
}
func (stubLease) KeepAlive(ctx context.Context, id LeaseID) (<-chan *LeaseKeepAliveResponse, error) {
	return nil, errNotImplemented
}
func (stubLease) KeepAliveOnce(ctx context.Context, id LeaseID) (*LeaseKeepAliveResponse, error) {
	return nil, errNotImplemented
}
func (stubLease) Close() error { return nil }
