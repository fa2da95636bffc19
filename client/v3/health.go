package clientv3

import (
	"context"
	"errors"
	"sync"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/a74b11dd/etcdkit/client/v3/internal/balancer"
	"github.com/a74b11dd/etcdkit/client/v3/internal/retry"
)

// Fault tolerance, in one place: how the client learns that a member is
// unfit and what it does about it. The decisions themselves live in
// internal/balancer's Health; this file connects it to the client.
//
//   - Probes: while the client is in use, every READY endpoint is asked
//     for its Maintenance.Status over the client's own connection to it,
//     every second (every 250 ms while it is suspect), with a 500 ms
//     deadline, without auth token and with require-leader. No answer:
//     the member is down (silent). ErrNoLeader, or a status naming no
//     leader: down (no leader). Any other answer (an auth error on a
//     cluster with auth on, say) shows the member serving. Down endpoints are avoided by the
//     picker until a probe finds them serving with a leader; if every
//     endpoint is avoided, all are tried.
//   - Idempotent unary calls: an attempt still unanswered after
//     Health.AttemptBound (at least 500 ms) is watched: its member is
//     probed at once unless it answered something since the attempt
//     began, and if the member is declared down while another endpoint is
//     fit, the attempt is abandoned and re-sent there. A slow call on a
//     member that answers probes is left to finish. Writes are never
//     re-sent this way.
//   - Require-leader: every request carries the hasleader metadata, so a
//     member without a leader rejects it at once with ErrNoLeader instead
//     of holding it; the retry layer then re-sends it elsewhere (writes
//     included: such a rejection provably applied nothing). Exempt are
//     the calls a member serves from its own state, which the official
//     client lets a leaderless member answer: serializable reads,
//     MemberList and Maintenance calls. The picker still steers those
//     away from leaderless members when it can.
//   - Streams: watch and keep-alive streams follow their member's down
//     verdicts and reopen elsewhere, resuming where they were.
//   - gRPC keep-alive: on by default (10 s, 3 s timeout; the server
//     refuses pings more often than every 5 s), the last resort that
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
func (c *Client) probe(ctx context.Context, addr string) (balancer.ProbeResult, error) {
	ctx = balancer.WithProbe(balancer.WithPin(ctx, addr))
	var resp pb.StatusResponse
	err := c.conn.Invoke(ctx, statusMethod, &pb.StatusRequest{}, &resp, c.callOpts...)
	switch {
	case err == nil:
		if resp.Leader == 0 {
			return balancer.Leaderless, nil
		}
		return balancer.Serving, nil
	case balancer.IsNoLeader(err):
		return balancer.Leaderless, nil
	case answered(err):
		// Refused for a reason of its own (an expired token, say): the
		// member is alive, and whether it has a leader the calls will
		// tell.
		return balancer.Serving, nil
	}
	return 0, err
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

// startProber runs the probes of c's endpoints until c is closed.
func (c *Client) startProber() {
	h := c.health()
	if h == nil || c.conn == nil {
		return
	}
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		h.RunProber(c.ctx, c.probe)
	}()
}

// errHedgeWon is the cause with which an attempt is canceled because its
// hedge answered first.
var errHedgeWon = errors.New("etcdclient: hedge answered first")

// invokeGuarded runs one attempt of an idempotent unary call under guard.
// If the attempt is unanswered after Health.AttemptBound:
//   - when another endpoint is fit, a hedge (the same request, into a
//     reply of its own) goes there, and whichever answers first wins; the
//     other is canceled. A call slow on a member that lost its peers, or
//     that stopped, is answered by another without waiting for a verdict.
//   - the attempt's member is watched (Health.WatchAttempt): probed at once
//     if silent since the attempt began, and the attempt is abandoned
//     (errMemberDown, re-sent by the retry loop) when the member is
//     declared down while another is fit.
//
// A slow call on a member that answers is never cut short: at worst it is
// sent twice.
func (c *Client) invokeGuarded(ctx context.Context, h *balancer.Health, att *balancer.Attempt, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts []grpc.CallOption) error {
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	g := &hedge{done: make(chan error, 1)}
	start := time.Now()
	timer := time.AfterFunc(h.AttemptBound(), func() {
		addr := att.Addr()
		for addr == "" {
			// Not sent yet: waiting for a connection is not silence.
			select {
			case <-actx.Done():
				return
			case <-time.After(h.AttemptBound()):
			}
			addr = att.Addr()
		}
		if h.HasAlternative(addr) {
			g.launch(ctx, addr, reply, func(hctx context.Context, r any) error {
				return invoker(hctx, method, req, r, cc, opts...)
			}, func() { cancel(errHedgeWon) })
		}
		h.WatchAttempt(actx, addr, start, func() { cancel(errMemberDown) })
	})
	err := invoker(actx, method, req, reply, cc, opts...)
	timer.Stop()
	if err == nil {
		g.stop()
		return nil
	}
	if ctx.Err() != nil {
		g.stop()
		return err
	}
	cause := context.Cause(actx)
	if cause != errHedgeWon && cause != errMemberDown && !retry.Retryable(retry.Idempotent, true, err) {
		// An answer about the request: the hedge would get the same.
		g.stop()
		return err
	}
	// The attempt failed, was abandoned or lost to its hedge: the hedge,
	// if there is one, decides.
	if herr, launched := g.wait(); launched && herr == nil {
		return g.copyTo(reply)
	}
	if cause == errMemberDown {
		return errMemberDown
	}
	return err
}

// hedge is the second attempt of a guarded call.
type hedge struct {
	mu       sync.Mutex
	launched bool
	stopped  bool
	cancel   context.CancelFunc
	reply    proto.Message
	done     chan error // the hedge's outcome, once launched
}

// launch sends the hedge with invoke, to an endpoint other than avoid,
// into a fresh reply of reply's type; won is called if it succeeds.
func (g *hedge) launch(ctx context.Context, avoid string, reply any, invoke func(context.Context, any) error, won func()) {
	m, ok := reply.(proto.Message)
	if !ok {
		return
	}
	g.mu.Lock()
	if g.stopped {
		g.mu.Unlock()
		return
	}
	// The hedge has its own Attempt: the call's records what happened to
	// the first attempt, which the retry policy reads.
	hctx, cancel := context.WithCancel(balancer.WithAttempt(balancer.WithAvoid(ctx, avoid), &balancer.Attempt{}))
	g.launched, g.cancel = true, cancel
	g.reply = m.ProtoReflect().New().Interface()
	g.mu.Unlock()
	go func() {
		defer cancel()
		err := invoke(hctx, g.reply)
		if err == nil {
			won()
		}
		g.done <- err
	}()
}

// stop cancels the hedge, if launched, and forbids a later launch.
func (g *hedge) stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stopped = true
	if g.cancel != nil {
		g.cancel()
	}
}

// wait forbids a later launch and returns the hedge's outcome, if one was
// launched.
func (g *hedge) wait() (err error, launched bool) {
	g.mu.Lock()
	g.stopped = true
	launched = g.launched
	g.mu.Unlock()
	if !launched {
		return nil, false
	}
	return <-g.done, true
}

// copyTo makes reply the hedge's answer.
func (g *hedge) copyTo(reply any) error {
	m, ok := reply.(proto.Message)
	if !ok {
		return errors.New("etcdclient: reply is not a protobuf message")
	}
	proto.Reset(m)
	proto.Merge(m, g.reply)
	return nil
}

type leaderOptionalKey struct{}

// withLeaderOptional marks ctx's calls as ones a member without a leader
// may serve (serializable reads): they do not carry require-leader.
func withLeaderOptional(ctx context.Context) context.Context {
	return context.WithValue(ctx, leaderOptionalKey{}, true)
}

// leaderFreeMethods are served by a member from its own state; the
// official client lets a leaderless member answer them, and so do we.
var leaderFreeMethods = map[string]bool{
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

// requiresLeader reports whether a call of method with ctx must carry
// require-leader metadata.
func requiresLeader(ctx context.Context, method string) bool {
	if leaderFreeMethods[method] {
		return false
	}
	b, _ := ctx.Value(leaderOptionalKey{}).(bool)
	return !b
}
