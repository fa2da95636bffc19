package clientv3_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
)

// probeCountingClient returns a client of one member of the shared
// cluster and the count of the Status calls it has sent: its probes, as
// the tests here make no Status call of their own.
func probeCountingClient(t *testing.T) (*clientv3.Client, *atomic.Int64) {
	var statusCalls atomic.Int64
	spy := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if method == "/etcdserverpb.Maintenance/Status" {
			statusCalls.Add(1)
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	cli := newClientAt(t, shared.Endpoints()[:1], func(c *clientv3.Config) {
		c.DialOptions = append(c.DialOptions, grpc.WithChainUnaryInterceptor(spy))
	})
	return cli, &statusCalls
}

// A client probes its members only while it is in use (a call or stream
// open, or one in the last 5 s): an idle client sends nothing, and the
// next call starts the probes again.
func TestProbesStopWhenTheClientIsIdleAndResumeWithTheNextCall(t *testing.T) {
	cli, statusCalls := probeCountingClient(t)
	k := key(t, "k")
	if _, err := cli.Get(ctxT(t), k); err != nil {
		t.Fatalf("Get: %v", err)
	}
	waitUntil(t, "the first call starts the probes", func() bool { return statusCalls.Load() > 0 })

	time.Sleep(6 * time.Second) // past the 5 s after the last call
	before := statusCalls.Load()
	time.Sleep(1500 * time.Millisecond)
	if n := statusCalls.Load() - before; n != 0 {
		t.Fatalf("an idle client sent %d probes in 1.5 s; want none", n)
	}
	if _, err := cli.Get(ctxT(t), k); err != nil {
		t.Fatalf("Get: %v", err)
	}
	waitUntil(t, "the next call starts the probes again", func() bool { return statusCalls.Load() > before })
}

// A busy keep-alive stream proves that its member follows a live leader,
// as often as a probe would: the member is not probed as well (each probe
// is a round trip that wakes an otherwise quiet client).
func TestABusyKeepAliveStreamStandsInForItsMembersProbes(t *testing.T) {
	cli, statusCalls := probeCountingClient(t)
	ctx := ctxT(t)
	// Leases of four TTLs, granted 25 ms apart, are renewed in batches of
	// four periods (a third of each TTL, give or take): together, a proof
	// more often than the probe interval (500 ms), most of the time.
	for i := range 40 {
		g, err := cli.Grant(ctx, []int64{2, 3, 5, 7}[i%4])
		if err != nil {
			t.Fatalf("Grant: %v", err)
		}
		ch, err := cli.KeepAlive(ctx, g.ID)
		if err != nil {
			t.Fatalf("KeepAlive: %v", err)
		}
		go func() {
			for range ch {
			}
		}()
		time.Sleep(25 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	before := statusCalls.Load()
	const window = 4 * time.Second
	time.Sleep(window)
	// Probed every 500 ms, the member would get 8; allow those that fall
	// in the odd gap between batches.
	n := statusCalls.Load() - before
	t.Logf("probes of the stream's member in %v: %d", window, n)
	if n > 4 {
		t.Errorf("the keep-alive stream's member was probed %d times in %v while its renewals kept coming; want at most 4 (8 without the stream's proofs)", n, window)
	}
}
