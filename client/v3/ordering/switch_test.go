package ordering_test

import (
	"context"
	"errors"
	"testing"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/ordering"
)

// retriesBeforeGivingUp calls vf until it fails and returns how many times
// it let the operation be issued again, up to limit.
func retriesBeforeGivingUp(t *testing.T, vf ordering.OrderViolationFunc, prevRev int64, limit int) (int, error) {
	t.Helper()
	for n := 0; n < limit; n++ {
		if err := vf(clientv3.OpGet("k"), clientv3.OpResponse{}, prevRev); err != nil {
			return n, err
		}
	}
	return limit, nil
}

func TestSwitchClosureAllowsFiveRetriesPerEndpointPlusOneThenAlwaysFails(t *testing.T) {
	cli := clientv3.NewCtxClient(context.Background())
	defer cli.Close()
	cli.SetEndpoints("127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3")
	vf := ordering.NewOrderViolationSwitchEndpointClosure(cli)

	n, err := retriesBeforeGivingUp(t, vf, 10, 100)
	if n != 16 || !errors.Is(err, ordering.ErrNoGreaterRev) {
		t.Fatalf("with 3 endpoints: %d retries then %v; the official closure allows 5*3+1 = 16, then returns ErrNoGreaterRev", n, err)
	}
	// The official closure never resets its count, not even once a newer
	// revision has been seen.
	if err := vf(clientv3.OpGet("k"), clientv3.OpResponse{}, 11); !errors.Is(err, ordering.ErrNoGreaterRev) {
		t.Errorf("violation with a newer prevRev after giving up: %v; the official closure keeps returning ErrNoGreaterRev", err)
	}
}

func TestSwitchClosureCountsEndpointsAtEachViolation(t *testing.T) {
	cli := clientv3.NewCtxClient(context.Background())
	defer cli.Close()
	vf := ordering.NewOrderViolationSwitchEndpointClosure(cli)

	n, err := retriesBeforeGivingUp(t, vf, 10, 100)
	if n != 1 || !errors.Is(err, ordering.ErrNoGreaterRev) {
		t.Fatalf("with no endpoints: %d retries then %v; the official closure allows 5*0+1 = 1, then returns ErrNoGreaterRev", n, err)
	}
	cli.SetEndpoints("127.0.0.1:1", "127.0.0.1:2")
	n, err = retriesBeforeGivingUp(t, vf, 10, 100)
	if n != 10 || !errors.Is(err, ordering.ErrNoGreaterRev) {
		t.Errorf("after growing to 2 endpoints: %d more retries then %v; the official closure compares its count of 1 with 5*2 at each call, allowing 10 more", n, err)
	}
}

func TestSwitchClosureWithoutAClientFailsInsteadOfPanicking(t *testing.T) {
	vf := ordering.NewOrderViolationSwitchEndpointClosure(nil)
	if err := vf(clientv3.OpGet("k"), clientv3.OpResponse{}, 10); err == nil {
		t.Error("violation with a nil client: nil error; want an error (the official closure panics)")
	}
}
