package clientv3

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/a74b11dd/etcdkit/client/v3/internal/balancer"
)

// A client's serializable reads never go back in time: a member may answer
// one from its own state, and a member cut off from its peers, or one that
// has not yet learned of a commit, answers from the past. The official
// client returns that answer, so that a program reading its own write
// serializably may not see it, and two reads in a row may see revisions go
// backwards (tools/robustness finds both). This client remembers the highest
// revision any answer has shown it, and re-sends a serializable read whose
// answer is older to another member, once per other endpoint; if every
// member it tries is behind, the last answer is returned as the official
// client would.

// noteRevision raises the client's highest seen revision to reply's.
func (c *Client) noteRevision(reply any) {
	r, ok := reply.(interface{ GetHeader() *pb.ResponseHeader })
	if !ok {
		return
	}
	rev := r.GetHeader().GetRevision()
	for {
		cur := c.seenRev.Load()
		if rev <= cur || c.seenRev.CompareAndSwap(cur, rev) {
			return
		}
	}
}

// behind reports whether reply, the answer to a serializable read, is older
// than an answer the client has already had, so that another member should
// be asked: there is another endpoint to ask, and tries other members have
// already been asked.
func (c *Client) behind(ctx context.Context, reply any, tries int) bool {
	if b, _ := ctx.Value(leaderOptionalKey{}).(bool); !b || c.resolver == nil || tries >= c.resolver.Len()-1 || balancer.Pinned(ctx) {
		return false
	}
	var h *pb.ResponseHeader
	switch r := reply.(type) {
	case *pb.RangeResponse:
		h = r.Header
	case *pb.TxnResponse:
		h = r.Header
	default:
		return false
	}
	return h.GetRevision() < c.seenRev.Load()
}
