package clientv3

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// Responses of Cluster calls and the member type; they are the wire
// messages under client names.
type (
	Member                pb.Member
	MemberListResponse    pb.MemberListResponse
	MemberAddResponse     pb.MemberAddResponse
	MemberRemoveResponse  pb.MemberRemoveResponse
	MemberUpdateResponse  pb.MemberUpdateResponse
	MemberPromoteResponse pb.MemberPromoteResponse
)

// Cluster manages cluster membership.
type Cluster interface {
	// MemberList lists the members; WithSerializable lets the local
	// member answer without consensus.
	MemberList(ctx context.Context, opts ...OpOption) (*MemberListResponse, error)

	// MemberAdd adds a voting member with the given peer URLs.
	MemberAdd(ctx context.Context, peerAddrs []string) (*MemberAddResponse, error)

	// MemberAddAsLearner adds a non-voting learner with the given peer URLs.
	MemberAddAsLearner(ctx context.Context, peerAddrs []string) (*MemberAddResponse, error)

	// MemberRemove removes the member with the given ID.
	MemberRemove(ctx context.Context, id uint64) (*MemberRemoveResponse, error)

	// MemberUpdate replaces the peer URLs of the member with the given ID.
	MemberUpdate(ctx context.Context, id uint64, peerAddrs []string) (*MemberUpdateResponse, error)

	// MemberPromote makes the learner with the given ID a voting member.
	MemberPromote(ctx context.Context, id uint64) (*MemberPromoteResponse, error)
}

type cluster struct {
	remote pb.ClusterClient
	c      *Client
}

// NewCluster returns a Cluster that uses c's connection.
func NewCluster(c *Client) Cluster { return &cluster{c: c} }

// NewClusterFromClusterClient returns a Cluster over remote; c, which may
// be nil, supplies call options and the logger.
func NewClusterFromClusterClient(remote pb.ClusterClient, c *Client) Cluster {
	return &cluster{remote: remote, c: c}
}

func (cl *cluster) MemberList(ctx context.Context, opts ...OpOption) (*MemberListResponse, error) {
	return nil, errNotImplemented
}

func (cl *cluster) MemberAdd(ctx context.Context, peerAddrs []string) (*MemberAddResponse, error) {
	return nil, errNotImplemented
}

func (cl *cluster) MemberAddAsLearner(ctx context.Context, peerAddrs []string) (*MemberAddResponse, error) {
	return nil, errNotImplemented
}

func (cl *cluster) MemberRemove(ctx context.Context, id uint64) (*MemberRemoveResponse, error) {
	return nil, errNotImplemented
}

func (cl *cluster) MemberUpdate(ctx context.Context, id uint64, peerAddrs []string) (*MemberUpdateResponse, error) {
	return nil, errNotImplemented
}

func (cl *cluster) MemberPromote(ctx context.Context, id uint64) (*MemberPromoteResponse, error) {
	return nil, errNotImplemented
}
