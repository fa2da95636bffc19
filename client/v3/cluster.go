package clientv3

import (
	"context"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"

	"github.com/a74b11dd/etcdkit/internal/peerurl"
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
	remote   pb.ClusterClient
	callOpts []grpc.CallOption
	c        *Client // nil when made from a bare ClusterClient
}

// NewCluster returns a Cluster that uses c's connection.
func NewCluster(c *Client) Cluster {
	return &cluster{remote: RetryClusterClient(c), callOpts: c.apiCallOptions(), c: c}
}

// NewClusterFromClusterClient returns a Cluster over remote; c, which may
// be nil, supplies the call options.
func NewClusterFromClusterClient(remote pb.ClusterClient, c *Client) Cluster {
	return &cluster{remote: remote, callOpts: c.callOptions()}
}

func (cl *cluster) MemberList(ctx context.Context, opts ...OpOption) (*MemberListResponse, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	op := OpGet("", opts...)
	resp, err := cl.remote.MemberList(ctx, &pb.MemberListRequest{Linearizable: !op.serializable}, cl.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	return (*MemberListResponse)(resp), nil
}

func (cl *cluster) MemberAdd(ctx context.Context, peerAddrs []string) (*MemberAddResponse, error) {
	return cl.memberAdd(ctx, peerAddrs, false)
}

func (cl *cluster) MemberAddAsLearner(ctx context.Context, peerAddrs []string) (*MemberAddResponse, error) {
	return cl.memberAdd(ctx, peerAddrs, true)
}

func (cl *cluster) memberAdd(ctx context.Context, peerAddrs []string, learner bool) (*MemberAddResponse, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	if err := peerurl.Check(peerAddrs); err != nil {
		return nil, err
	}
	resp, err := cl.remote.MemberAdd(ctx, &pb.MemberAddRequest{PeerURLs: peerAddrs, IsLearner: learner}, cl.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	return (*MemberAddResponse)(resp), nil
}

func (cl *cluster) MemberRemove(ctx context.Context, id uint64) (*MemberRemoveResponse, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	resp, err := cl.remote.MemberRemove(ctx, &pb.MemberRemoveRequest{ID: id}, cl.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	if h := cl.c.health(); h != nil {
		h.MemberRemoved(id)
	}
	return (*MemberRemoveResponse)(resp), nil
}

func (cl *cluster) MemberUpdate(ctx context.Context, id uint64, peerAddrs []string) (*MemberUpdateResponse, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	if err := peerurl.Check(peerAddrs); err != nil {
		return nil, err
	}
	resp, err := cl.remote.MemberUpdate(ctx, &pb.MemberUpdateRequest{ID: id, PeerURLs: peerAddrs}, cl.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	return (*MemberUpdateResponse)(resp), nil
}

func (cl *cluster) MemberPromote(ctx context.Context, id uint64) (*MemberPromoteResponse, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	resp, err := cl.remote.MemberPromote(ctx, &pb.MemberPromoteRequest{ID: id}, cl.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	return (*MemberPromoteResponse)(resp), nil
}

// validatePeerURLs checks peer URLs the way the server will, so that a
// typo fails before a membership change is proposed.
