package clientv3

import (
	"context"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"

	"github.com/a74b11dd/etcdkit/client/v3/internal/balancer"
	"github.com/a74b11dd/etcdkit/client/v3/internal/retry"
)

// This file connects the client to internal/balancer's Health, the one
// place that decides whether a member is fit: the probe it runs, and the
// prober's life. The bounds and choices of fault tolerance as a whole are in
// docs/ARCHITECTURE.md ("Fault tolerance (client/v3)"), stated once.

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

// startProber readies the probes of c's endpoints, which c's use runs
// until c is closed, or its connection is: a program may close the
// connection itself (ActiveConnection().Close()), and then nothing of the
// client's may keep running, as nothing of the official client's does.
func (c *Client) startProber() {
	h := c.health()
	if h == nil || c.conn == nil {
		return
	}
	c.resolver.OnClose(func() {
		if c.conn.GetState() == connectivity.Shutdown {
			h.HaltProber()
		}
	})
	h.StartProber(c.probe)
}

// stopProber ends c's probes and waits for them.
func (c *Client) stopProber() {
	if h := c.health(); h != nil {
		h.StopProber()
	}
}
