package clientv3_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/internal/balancer"
)

// A guarded read may be asked again (its answer was older than one the
// client had seen) while the hedge its slow first attempt launched is
// still running. The hedge belongs to the call, not to an attempt: it must
// not read what the retry loop changes for the next attempt (run with
// -race: CI's race detector once caught the hedge reading the call's
// context while the loop rewrote it), and the read asked again goes to
// another member than the one that answered from the past.
func TestAHedgeStillRunningWhenItsReadIsAskedAgainSharesNothingWithTheNextAttempt(t *testing.T) {
	k := key(t, "k")
	var (
		calls         atomic.Int32
		hedgeStarted  = make(chan struct{})
		askedAgain    = make(chan struct{})
		hedgeLookedUp atomic.Int64
		behindAt      atomic.Value // the member that answered from the past
		askedAt       atomic.Value // the member the read was asked again
	)
	type probeKey struct{}
	spy := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if r, ok := req.(*pb.RangeRequest); !ok || string(r.Key) != k {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		switch calls.Add(1) {
		case 1: // the first attempt: answered, but only after the hedge started, and from the past
			if err := invoker(ctx, method, req, reply, cc, opts...); err != nil {
				return err
			}
			behindAt.Store(balancer.AttemptFrom(ctx).Addr())
			select {
			case <-hedgeStarted:
			case <-time.After(10 * time.Second):
				t.Error("no hedge was launched for a read unanswered past its bound")
			}
			reply.(*pb.RangeResponse).Header.Revision = 1
			return nil
		case 2: // the hedge: looks at its context until the read is asked again
			// One look before the first attempt may return, so that the
			// hedge has read its context whatever the scheduling (CI once
			// asked again before the hedge's first look).
			ctx.Value(probeKey{})
			hedgeLookedUp.Add(1)
			close(hedgeStarted)
			deadline := time.After(10 * time.Second)
			for {
				select {
				case <-askedAgain:
					return context.Canceled
				case <-ctx.Done():
					return ctx.Err()
				case <-deadline:
					t.Error("the read whose answer was behind was not asked again")
					return context.Canceled
				default:
				}
				ctx.Value(probeKey{})
				hedgeLookedUp.Add(1)
			}
		case 3: // the read asked again
			close(askedAgain)
			err := invoker(ctx, method, req, reply, cc, opts...)
			askedAt.Store(balancer.AttemptFrom(ctx).Addr())
			return err
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	cli := newClient(t, func(c *clientv3.Config) {
		c.DialOptions = append(c.DialOptions, grpc.WithChainUnaryInterceptor(spy))
	})
	putRev := put(t, cli, k, "v")

	resp, err := cli.Get(ctxT(t), k, clientv3.WithSerializable())
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got, want := resp.Header.Revision, putRev; got < want {
		t.Errorf("Get answered at revision %d, older than the put's %d", got, want)
	}
	if calls.Load() < 3 || hedgeLookedUp.Load() == 0 {
		t.Fatalf("the scenario did not happen: %d attempts, %d lookups by the hedge", calls.Load(), hedgeLookedUp.Load())
	}
	if behind, again := behindAt.Load(), askedAt.Load(); behind == again {
		t.Errorf("the read was asked again of %v, the member that had answered from the past", again)
	}
}
