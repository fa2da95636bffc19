package clientv3

import (
	"context"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"

	"github.com/a74b11dd/etcdkit/client/v3/internal/balancer"
	"github.com/a74b11dd/etcdkit/client/v3/internal/retry"
)

// Fault tolerance: how the client learns that a member is unfit and what
// it does about it. The verdicts live in internal/balancer's Health, the
// one place that decides; this file and guard.go connect it to the client.
// The default bounds:
//
//   - Probes: while the client is in use (a call or stream open, or one in
//     the last 5 s), every READY endpoint is asked for its
//     Maintenance.Status over the client's own connection to it, without
//     auth token and with require-leader: every second, every 250 ms while
//     any endpoint is suspect, each with a 500 ms deadline. The verdicts:
//     no answer, down (silent); ErrNoLeader or no leader named, down (no
//     leader); a store revision that another member had passed 250 ms
//     earlier, down (lagging: cut off from its peers without knowing it
//     yet); otherwise serving (an auth error also counts: the member
//     answered). Down endpoints are avoided until a probe finds them
//     serving; if every endpoint is avoided, all are tried.
//   - Idempotent unary calls (guard.go): an attempt unanswered after
//     Health.AttemptBound (twice the usual worst latency, at least 300 ms)
//     is hedged to another fit member and watched; it is abandoned and
//     re-sent if its member is declared down. A silent member therefore
//     costs a read about 300 ms, never a failure; a slow call on a live
//     member is never cut short.
//   - Writes go to the leader (as the probes last named it, from the
//     highest raft term) when it is fit, and are never re-sent unless
//     provably unapplied: a follower's fault does not touch them.
//   - Require-leader: every request carries the hasleader metadata, so a
//     member without a leader rejects it at once with ErrNoLeader instead
//     of holding it; the retry layer then re-sends it elsewhere (writes
//     included: such a rejection provably applied nothing). Exempt are
//     the calls a member serves from its own state, which the official
//     client lets a leaderless member answer: serializable reads,
//     MemberList and Maintenance calls. The picker still steers those
//     away from down members when it can.
//   - Streams: watch and keep-alive streams follow their member's down
//     verdicts and reopen on a fit member, resuming where they were; the
//     keep-alive stream also leaves a member that leaves keep-alives
//     unanswered for 1.5 s. A watch on a silent, cut-off or leaderless
//     member thus moves within about a second.
//   - gRPC keep-alive: on by default (10 s, 3 s timeout; etcd refuses
//     pings more often than every 5 s by default), the last resort that
//     closes a connection to a silent member, failing what is stuck on it
//     (writes included) within about 13 s.

// Defaults of the gRPC keep-alive when Config leaves DialKeepAliveTime
// zero. etcd's --grpc-keepalive-min-time defaults to 5 s; pinging more
// often gets the connection closed (too_many_pings), and grpc-go never
// pings more often than every 10 s anyway.
const (
	defaultPingTime    = 10 * time.Second
	defaultPingTimeout = 3 * time.Second
)

const statusMethod = "/etcdserverpb.Maintenance/Status"

// errMemberDown is the cause with which an attempt is abandoned because
// its member was declared down; Unavailable, so that the retry policy
// re-sends it.
var errMemberDown = status.Error(codes.Unavailable, "etcdclient: member declared down (silent or without a leader)")

// health returns the Health of c's connection, nil if c has none.
func (c *Client) health() *balancer.Health {
	if c == nil || c.resolver == nil {
		return nil
	}
	return c.resolver.Health()
}

// probe asks the member at addr for its status over c's connection,
// pinned to that member. It implements balancer.ProbeFunc.
func (c *Client) probe(ctx context.Context, addr string) (balancer.ProbeReport, error) {
	ctx = balancer.WithProbe(balancer.WithPin(ctx, addr))
	var resp pb.StatusResponse
	err := c.conn.Invoke(ctx, statusMethod, &pb.StatusRequest{}, &resp, c.callOpts...)
	switch {
	case err == nil:
		rep := balancer.ProbeReport{
			Cluster:  resp.GetHeader().GetClusterId(),
			Member:   resp.GetHeader().GetMemberId(),
			Leader:   resp.Leader,
			Term:     resp.RaftTerm,
			Revision: resp.GetHeader().GetRevision(),
		}
		if resp.Leader == 0 {
			rep.Result = balancer.Leaderless
		}
		return rep, nil
	case retry.IsNoLeader(err):
		return balancer.ProbeReport{Result: balancer.Leaderless}, nil
	case answered(err):
		// Refused for a reason of its own (an expired token, say): the
		// member is alive, and whether it has a leader the calls will
		// tell.
		return balancer.ProbeReport{Result: balancer.Serving}, nil
	}
	return balancer.ProbeReport{}, err
}

// answered reports whether err is an answer from an etcd server rather
// than a failure to get one.
func answered(err error) bool {
	if _, ok := rpctypes.Error(err).(rpctypes.EtcdError); ok {
		return status.Code(err) != codes.Unavailable
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled, codes.Unknown, codes.Internal:
		return false
	}
	_, ok := status.FromError(err)
	return ok
}

// startProber runs the probes of c's endpoints until c is closed, or its
// connection is: a program may close the connection itself
// (ActiveConnection().Close()), and then nothing of the client's may keep
// running, as nothing of the official client's does.
func (c *Client) startProber() {
	h := c.health()
	if h == nil || c.conn == nil {
		return
	}
	ctx, cancel := context.WithCancel(c.ctx)
	c.resolver.OnClose(func() {
		if c.conn.GetState() == connectivity.Shutdown {
			cancel()
		}
	})
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		defer cancel()
		h.RunProber(ctx, c.probe)
	}()
}

type leaderOptionalKey struct{}

// withLeaderOptional marks ctx's calls as ones a member without a leader
// may serve (serializable reads): they do not carry require-leader.
func withLeaderOptional(ctx context.Context) context.Context {
	return context.WithValue(ctx, leaderOptionalKey{}, true)
}

// leaderFreeMethods are served by a member from its own state; the
// official client lets a leaderless member answer them, and so do we. A
// watch delivers its member's own history: a watch stream without the
// caller's WithRequireLeader stays open on a member without a leader, as
// the official client's does, and the client moves it to a member with
// one when there is one, on the probes' verdict (watch_stream.go).
var leaderFreeMethods = map[string]bool{
	"/etcdserverpb.Watch/Watch":            true,
	"/etcdserverpb.Cluster/MemberList":     true,
	"/etcdserverpb.Maintenance/Alarm":      true,
	"/etcdserverpb.Maintenance/Status":     true,
	"/etcdserverpb.Maintenance/Defragment": true,
	"/etcdserverpb.Maintenance/Hash":       true,
	"/etcdserverpb.Maintenance/HashKV":     true,
	"/etcdserverpb.Maintenance/Snapshot":   true,
	"/etcdserverpb.Maintenance/MoveLeader": true,
	"/etcdserverpb.Maintenance/Downgrade":  true,
}

// requiresLeader reports whether a call of method with ctx and opts gets
// the client's implicit require-leader metadata: calls made through this
// package's API (apiConn), unless a member serves them from its own state.
// A caller's own WithRequireLeader is in ctx's metadata, and goes out
// whatever this says.
func requiresLeader(ctx context.Context, method string, opts []grpc.CallOption) bool {
	if leaderFreeMethods[method] || !isAPICall(opts) {
		return false
	}
	b, _ := ctx.Value(leaderOptionalKey{}).(bool)
	return !b
}
