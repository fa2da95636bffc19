package clientv3

import (
	"context"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/a74b11dd/etcdkit/client/v3/internal/balancer"
	"github.com/a74b11dd/etcdkit/internal/backoff"
)

// A client's serializable reads never go back in time: a member may answer
// one from its own state, and a member cut off from its peers, or one that
// has not yet learned of a commit, answers from the past. The official
// client returns that answer, so that a program reading its own write
// serializably may not see it, and two reads in a row may see revisions go
// backwards (tools/robustness finds both). This client remembers the highest
// revision any answer to a call has shown it (watch events are not counted), and re-sends a serializable read whose
// answer is older to another member, once per other endpoint, and then up
// to behindWaits times more after a short wait (a member catching up after
// a restart is behind by milliseconds, and it may be the only other one
// up); if every answer is still behind, the last is returned, as the
// official client would. A client of one endpoint has nowhere else to ask
// and returns the answer at once.

// fresh reports whether reply, a successful answer of an API call, may be
// returned, and if so raises the client's highest seen revision to its
// revision. It may not when it answers a serializable read (a Range or a
// Txn marked leader-optional by kv.go) with a revision older than one the
// client has already had, and the read can still be asked again, having
// been asked again tries times (see behindWait). It runs on every call, so
// it looks at the reply's type before anything else.
func (c *Client) fresh(ctx context.Context, reply any, tries int) bool {
	var h *pb.ResponseHeader
	read := false
	switch r := reply.(type) {
	case *pb.RangeResponse:
		h, read = r.Header, true
	case *pb.TxnResponse:
		h, read = r.Header, true
	case interface{ GetHeader() *pb.ResponseHeader }:
		h = r.GetHeader()
	}
	rev := h.GetRevision()
	if rev == 0 {
		return true
	}
	cur := c.seenRev.Load()
	if read && rev < cur && c.mayAskAgain(ctx, tries) {
		return false
	}
	for rev > cur && !c.seenRev.CompareAndSwap(cur, rev) {
		cur = c.seenRev.Load()
	}
	return true
}

// behindWaits is how many times a serializable read still behind after
// every other endpoint was asked is asked again, after 5, 10 and 20 ms.
const behindWaits = 3

// mayAskAgain reports whether a read of ctx answered from the past, already
// asked again tries times, is asked once more: it is serializable (only
// those may be answered from a member's own state), not pinned to one
// member, and there is another endpoint or a wait left.
func (c *Client) mayAskAgain(ctx context.Context, tries int) bool {
	if c.resolver == nil || balancer.Pinned(ctx) {
		return false
	}
	if n := c.resolver.Len(); n < 2 || tries >= n-1+behindWaits {
		return false
	}
	serializable, _ := ctx.Value(leaderOptionalKey{}).(bool)
	return serializable
}

// behindWait is how long to wait before asking again after tries answers
// that were behind: nothing while there are other endpoints to ask.
func (c *Client) behindWait(tries int) time.Duration {
	extra := tries - (c.resolver.Len() - 1)
	if extra < 0 {
		return 0
	}
	return behindBackoff.Delay(extra + 1)
}

// behindBackoff paces the behindWaits last askings: 5, 10 and 20 ms.
var behindBackoff = backoff.Exponential{Base: 5 * time.Millisecond, Max: 20 * time.Millisecond}
