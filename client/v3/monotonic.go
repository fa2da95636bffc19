package clientv3

import (
	"context"
	"time"

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
// answer is older to another member, once per other endpoint, and then up
// to behindWaits times more after a short wait (a member catching up after
// a restart is behind by milliseconds, and it may be the only other one
// up); if every answer is still behind, the last is returned, as the
// official client would. A client of one endpoint has nowhere else to ask
// and returns the answer at once.

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

// behindWaits is how many times a serializable read still behind after
// every other endpoint was asked is asked again, after 5, 10 and 20 ms.
const behindWaits = 3

// behind reports whether reply, the answer to a serializable read, is older
// than an answer the client has already had, so that it should be asked
// again (see behindWait), given that it has been asked again tries times.
func (c *Client) behind(ctx context.Context, reply any, tries int) bool {
	if b, _ := ctx.Value(leaderOptionalKey{}).(bool); !b || c.resolver == nil || balancer.Pinned(ctx) {
		return false
	}
	if n := c.resolver.Len(); n < 2 || tries >= n-1+behindWaits {
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

// behindWait is how long to wait before asking again after tries answers
// that were behind: nothing while there are other endpoints to ask.
func (c *Client) behindWait(tries int) time.Duration {
	extra := tries - (c.resolver.Len() - 1)
	if extra < 0 {
		return 0
	}
	return 5 * time.Millisecond << extra
}
